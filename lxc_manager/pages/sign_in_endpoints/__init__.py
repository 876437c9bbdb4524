"""`/settings/sign-in`: the Proxmox hosts users may sign in against (DESIGN §3.2)."""
