"""Sign-in: trusted endpoints, the Proxmox login (with two-factor), rate limits, sessions."""
