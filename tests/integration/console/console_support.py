"""Helpers of the console's integration tests (the `lab` fixture is in conftest.py): a small simulator of our own (one PVE
node, SSH with root's password), a migrated database with nodes of two users, the real
backend (granian + the Reflex app + our routes, as `serve` runs it) on that database and
the session's Redis, and sessions in Redis as sign-in would create them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode
from lxc_manager.nodes import NodeInput, NodeView, create_node
from lxc_manager.nodes.secrets import seal
from lxc_manager.security.sessions import COOKIE_NAME, create_session
from lxc_manager.settings import get_settings
from tests.support.backend import Backend
from tests.support.simulator import SimProcess
from tests.support.ws_client import WsClient

USER_A = ("root@pam", "e1")
USER_B = ("alice@pve", "e1")
IDLE_MINUTES = "0.15"  # 9 s
MAX_PER_USER = 2


@dataclass
class Lab:
    sim: SimProcess
    backend: Backend
    data_dir: Path
    full: NodeView  # USER_A's node whose token holds VM.Console
    no_console: NodeView  # USER_A's node whose token lacks VM.Console (PVEAuditor)
    other: NodeView  # USER_B's node
    running: int  # a running container
    secrets: dict[str, str]

    @property
    def origin(self) -> str:
        return self.backend.base_url

    def api(self, token: str = "ci") -> httpx.Client:
        return httpx.Client(
            base_url=self.sim.ready["api"] + "/api2/json",
            verify=False,
            timeout=10,
            headers={"Authorization": f"PVEAPIToken=root@pam!{token}={self.secrets[token]}"},
        )

    async def session(self, user: tuple[str, str] = USER_A, admin: bool = False) -> str:
        from lxc_manager.redis_client import RedisDb, async_client

        return await create_session(
            async_client(RedisDb.APP),
            get_settings(),
            username=user[0],
            endpoint_id=user[1],
            endpoint_label="pve:8006",
            is_admin=admin,
        )

    async def open(
        self,
        node: NodeView,
        vmid: int,
        session_id: str | None,
        origin: str | None = None,
        cols: int = 80,
        rows: int = 24,
    ) -> WsClient:
        headers = {"Origin": origin or self.origin}
        if session_id is not None:
            headers["Cookie"] = f"{COOKIE_NAME}={session_id}"
        path = f"/console/ws/{node.id}/{vmid}?cols={cols}&rows={rows}"
        return await WsClient.connect(self.backend.port, path, headers)


def _node(name: str, ready: dict[str, Any], token: str, secret: str, password: str) -> NodeInput:
    host, _, port = ready["api"].removeprefix("https://").rpartition(":")
    return NodeInput(
        name=name,
        host=host,
        port=int(port),
        token_id=f"root@pam!{token}",
        token_secret=secret,
        tls_fingerprint=ready["tls_sha256"],
        ssh_port=int(ready["ssh"].rpartition(":")[2]),
        ssh_secret=password,
        ssh_host_key=ready["ssh_host_key"],
    )


async def _nodes(ready: dict[str, Any], secrets: dict[str, str], password: str) -> list[NodeView]:
    made = []
    for user, name in ((USER_A, "full"), (USER_A, "no-console"), (USER_B, "other")):
        result = await create_node(
            f"{user[0]}@{user[1]}", _node(name, ready, "ci", secrets["ci"], password)
        )
        assert isinstance(result, NodeView), result
        made.append(result)
    # Saving a node needs VM.PowerMgmt, which every predefined role grants together with
    # VM.Console: the privilege is taken away afterwards, as an administrator may do, by
    # giving the node a token that lacks it (PVEAuditor).
    with session_scope() as db:
        row = db.get(ProxmoxNode, made[1].id)
        assert row is not None and row.id is not None
        row.token_id = "root@pam!ro"
        row.token_secret = seal(row.id, "token_secret", secrets["ro"])
        db.add(row)
    return made


def _running_container(ready: dict[str, Any], secret: str) -> int:
    with httpx.Client(verify=False, timeout=10) as api:
        answer = api.get(
            ready["api"] + "/api2/json/cluster/resources",
            params={"type": "vm"},
            headers={"Authorization": f"PVEAPIToken=root@pam!ci={secret}"},
        )
    running = [
        r["vmid"]
        for r in answer.json()["data"]
        if r["type"] == "lxc" and r.get("status") == "running"
    ]
    assert running, answer.text
    vmid = int(sorted(running)[0])
    # cmode shell: Proxmox's console is a root shell (lxc-attach) rather than a getty login
    # (pve-container PVE::LXC::get_console_command), as `pct enter` is
    with httpx.Client(verify=False, timeout=10) as api:
        changed = api.put(
            ready["api"] + f"/api2/json/nodes/pve1/lxc/{vmid}/config",
            data={"cmode": "shell"},
            headers={"Authorization": f"PVEAPIToken=root@pam!ci={secret}"},
        )
    assert changed.status_code == 200, changed.text
    return vmid
