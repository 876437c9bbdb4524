"""Shared UI pieces: the app shell (sidebar + header) and empty states."""
