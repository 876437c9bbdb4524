"""`/login`: sign in with Proxmox credentials, confirm a new host's certificate, two-factor."""
