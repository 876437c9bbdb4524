"""Nodes of the app on the test simulator."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from lxc_manager.nodes import NodeInput, NodeView, create_node
from tests.support.simulator import SimulatorInfo


def node_input(
    simulator: SimulatorInfo,
    name: str,
    *,
    ssh: bool = False,
    token: tuple[str, str] | None = None,
    **changes: Any,
) -> NodeInput:
    """A node on the simulator's API with its CI token (or `token`, id and secret) and,
    with `ssh`, root's SSH credentials; `changes` replace fields."""
    parts = urlsplit(simulator.api)
    assert parts.hostname and parts.port
    token_id, token_secret = token or (simulator.token_id, simulator.token_secret)
    data = NodeInput(
        name=name,
        host=parts.hostname,
        port=parts.port,
        token_id=token_id,
        token_secret=token_secret,
        tls_fingerprint=simulator.tls_sha256,
    )
    if ssh:
        assert simulator.ssh_port and simulator.ssh_host_key
        data = dataclasses.replace(
            data,
            ssh_port=simulator.ssh_port,
            ssh_secret=simulator.root_password,
            ssh_host_key=simulator.ssh_host_key,
        )
    return dataclasses.replace(data, **changes)


async def add_node(user_id: str, data: NodeInput) -> NodeView:
    """Add the node for the user; the test fails when the app refuses it."""
    result = await create_node(user_id, data)
    assert isinstance(result, NodeView), result
    return result
