"""Helpers of the containers service's integration tests (fixtures are in conftest.py)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

import httpx

from lxc_manager import redis_client
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode
from lxc_manager.nodes import NodeInput, NodeView, create_node
from tests.support.simulator import SimulatorInfo

USER_A = "root@pam@1"
USER_B = "alice@pve@1"
SIM_TOKEN_ID = "root@pam!ci"


def host_port(api: str) -> tuple[str, int]:
    parts = urlsplit(api)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def sim_input(simulator: SimulatorInfo, name: str = "lab", **changes: Any) -> NodeInput:
    host, port = host_port(simulator.api)
    data = NodeInput(
        name=name,
        host=host,
        port=port,
        token_id=simulator.token_id,
        token_secret=simulator.token_secret,
        tls_fingerprint=simulator.tls_sha256,
    )
    return dataclasses.replace(data, **changes)


def ready_input(ready: dict[str, Any], token_secret: str, name: str) -> NodeInput:
    """The form for an extra simulator (its READY line)."""
    host, port = host_port(ready["api"])
    return NodeInput(
        name=name,
        host=host,
        port=port,
        token_id=SIM_TOKEN_ID,
        token_secret=token_secret,
        tls_fingerprint=ready["tls_sha256"],
    )


async def add_node(user_id: str, data: NodeInput) -> NodeView:
    result = await create_node(user_id, data)
    assert isinstance(result, NodeView), result
    return result


def spoil_token_secret(node_id: int, donor_id: int) -> None:
    """Give the node another row's ciphertext: bound to that row, it no longer decrypts."""
    with session_scope() as db:
        node, donor = db.get(ProxmoxNode, node_id), db.get(ProxmoxNode, donor_id)
        assert node is not None and donor is not None
        node.token_secret = donor.token_secret
        db.add(node)


def sim_state(simulator: SimulatorInfo) -> dict[str, Any]:
    state: dict[str, Any] = simulator.admin_call("GET", "/_sim/state")
    return state


def sim_container(simulator: SimulatorInfo, vmid: int) -> dict[str, Any] | None:
    return next((c for c in sim_state(simulator)["containers"] if c["vmid"] == vmid), None)


def remove_container(simulator: SimulatorInfo, node: str, vmid: int) -> None:
    """Stop (if running) and destroy a test container through the API."""
    with simulator.client() as api:
        found = sim_container(simulator, vmid)
        if found is None:
            return
        if found["status"] == "running":
            response = api.post(f"/nodes/{node}/lxc/{vmid}/status/stop")
            if response.status_code == 200:
                simulator.wait_task(api, response.json()["data"])
        response = api.delete(f"/nodes/{node}/lxc/{vmid}")
        if response.status_code == 200:
            simulator.wait_task(api, response.json()["data"])


def admin_post(ready: dict[str, Any], body: dict[str, Any]) -> None:
    httpx.post(f"{ready['admin']}/_sim/faults", json=body, timeout=10).raise_for_status()


def forget_vmid_caches() -> None:
    """Drop every user's cache of taken VMIDs (`vmids:*`) from Redis."""
    client = redis_client.sync_client()
    keys = list(client.scan_iter(match="vmids:*", count=500))
    if keys:
        client.delete(*keys)


def forget_known_containers() -> None:
    """Drop the listing's memory (addresses, last listings) of every user from Redis."""
    client = redis_client.sync_client()
    for pattern in ("ct-ips:*", "ct-known:*", "ct-known-digest:*"):
        keys = list(client.scan_iter(match=pattern, count=500))
        if keys:
            client.delete(*keys)
