"""`/settings/nodes`: the signed-in user's Proxmox nodes (API-token endpoints)."""
