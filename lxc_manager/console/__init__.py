"""The browser console (issue 16): a terminal in a container, through Proxmox's own
console (termproxy) or SSH (`pct enter`), with limits, audit and optional recording.

Reflex-free: the route (`lxc_manager/console_routes.py`) hands a WebSocket to
`session.ConsoleSession` with an upstream from `connect.open_upstream`.
"""
