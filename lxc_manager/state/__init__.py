"""Reflex State classes: thin, they call the services."""
