"""Helpers of the node service's integration tests (fixtures are in conftest.py)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from lxc_manager.nodes import NodeInput
from tests.support.nodes import add_node as add_node
from tests.support.nodes import node_input
from tests.support.simulator import SimProcess, SimulatorInfo

USER_A = "root@pam@1"
USER_B = "alice@pve@1"
SIM_TOKEN_ID = "root@pam!ci"


def host_port(api: str) -> tuple[str, int]:
    parts = urlsplit(api)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def sim_input(
    simulator: SimulatorInfo, name: str = "lab", *, ssh: bool = False, **changes: Any
) -> NodeInput:
    """The form for the shared simulator with everything confirmed."""
    return node_input(simulator, name, ssh=ssh, **changes)


@dataclasses.dataclass
class SmallSim:
    """A one-node (standalone) simulator of our own: it can be stopped and restarted on the
    same ports, with a new certificate and a new SSH host key."""

    process: SimProcess
    token_secret: str
    root_password: str

    @property
    def ready(self) -> dict[str, Any]:
        return self.process.ready

    @property
    def api_port(self) -> int:
        return host_port(self.ready["api"])[1]

    @property
    def ssh_port(self) -> int:
        return int(self.ready["ssh"].rpartition(":")[2])

    def endpoint(self, index: int) -> dict[str, Any]:
        return dict(self.ready["endpoints"][index])

    def input(self, name: str = "small", *, ssh: bool = False, endpoint: int = 0) -> NodeInput:
        ready = self.endpoint(endpoint)
        host, port = host_port(ready["api"])
        data = NodeInput(
            name=name,
            host=host,
            port=port,
            token_id=SIM_TOKEN_ID,
            token_secret=self.token_secret,
            tls_fingerprint=ready["tls_sha256"],
        )
        if ssh:
            data = dataclasses.replace(
                data,
                ssh_port=int(ready["ssh"].rpartition(":")[2]),
                ssh_secret=self.root_password,
                ssh_host_key=ready["ssh_host_key"],
            )
        return data
