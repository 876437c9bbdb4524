"""The per-user count of node connection tests lives in the session's Redis: tests that
add many nodes as the same user start each test with a fresh count."""

from __future__ import annotations

from lxc_manager import redis_client


def forget_node_checks() -> None:
    client = redis_client.sync_client()
    keys = list(client.scan_iter(match="node-checks:*", count=500))
    if keys:
        client.delete(*keys)
