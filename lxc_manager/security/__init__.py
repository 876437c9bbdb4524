"""Security pieces: secrets at rest, sessions and sign-in grants, sign-in rate limits,
who the client is (trusted proxies), the app's own web origins, and the audit trail."""
