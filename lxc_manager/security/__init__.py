"""Security pieces: secrets at rest, audit trail (sessions and rate limits follow)."""
