"""A Proxmox answer larger than LXCM_MAX_PROXMOX_RESPONSE_BYTES is refused with a clear
message and changes nothing (issue 12 path 10): here a real simulator whose cluster holds
400 containers answers /cluster/resources with about 115 KiB."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from ct_support import USER_A, add_node, ready_input

from lxc_manager import redis_client
from lxc_manager.containers.known import cluster_key_of, known_key
from lxc_manager.containers.listing import list_containers
from lxc_manager.nodes import NodeView
from lxc_manager.proxmox import shared
from lxc_manager.settings import get_settings

CAP = 64 * 1024
BIG = 400  # containers: /cluster/resources is about 115 KiB


def use_cap(monkeypatch: pytest.MonkeyPatch, node: NodeView, cap: int | None) -> None:
    """Set (or unset) the cap; the node's shared client is rebuilt with it."""
    if cap is None:
        monkeypatch.delenv("LXCM_MAX_PROXMOX_RESPONSE_BYTES", raising=False)
    else:
        monkeypatch.setenv("LXCM_MAX_PROXMOX_RESPONSE_BYTES", str(cap))
    get_settings.cache_clear()
    shared.forget(("node", node.id))


async def test_an_answer_over_the_cap_is_refused_and_changes_nothing(
    ct_db: Any, small_sim: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, secret = await asyncio.to_thread(small_sim, nodes=1, containers=BIG)
    big = await add_node(USER_A, ready_input(sim.ready, secret, "pve-big"))
    memory = known_key(USER_A, cluster_key_of(big))

    listed = await list_containers(USER_A, learn_ips=False)  # the default cap: 16 MiB
    assert listed.problems == () and len(listed.containers) == BIG
    remembered = redis_client.sync_client().hgetall(memory)
    assert len(remembered) == BIG

    use_cap(monkeypatch, big, CAP)
    refused = await list_containers(USER_A, learn_ips=False)

    port = sim.ready["api"].rsplit(":", 1)[1]
    assert [(p.node_id, p.message) for p in refused.problems] == [
        (big.id, f"pve-big: The answer of 127.0.0.1:{port} was larger than 64 KiB")
    ]
    # Shown as last known, and the memory of the cluster is what it was.
    assert len(refused.containers) == BIG and all(r.last_known for r in refused.containers)
    assert redis_client.sync_client().hgetall(memory) == remembered

    use_cap(monkeypatch, big, None)
    again = await list_containers(USER_A, learn_ips=False)
    assert again.problems == () and not any(r.last_known for r in again.containers)
