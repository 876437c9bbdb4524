"""Settings → API keys: a user's personal keys for /api/v1 (create, show once, revoke)."""
