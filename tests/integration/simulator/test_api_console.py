"""The container console over the simulator's real HTTPS port: `termproxy` + `vncwebsocket`.

The WebSocket client is written here (asyncio TLS stream + wsproto), as a browser's
xterm.js would talk (pve-xtermjs): `USER:TICKET\\n` first, answered `OK`, then
`0:LEN:DATA` input, `1:COLS:ROWS:` resize, `2` keepalive; output arrives raw.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)

SHELL_VMID, TTY_VMID, STOPPED_VMID = 9401, 9402, 9403
CT_PASSWORD = "console-pass-1"


class Console:
    """One WebSocket to vncwebsocket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.output = bytearray()
        self.closed = False

    @classmethod
    async def open(
        cls, sim: Any, node: str, vmid: int, port: int, ticket: str, auth: str | None = None
    ) -> tuple[Console, int | None]:
        """-> (console, HTTP status): 101 on success, the status of a refusal, None when
        the server closed the connection without an answer."""
        url = httpx.URL(sim.api)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(url.host, url.port, ssl=context)
        console = cls(reader, writer)
        query = urllib.parse.urlencode({"port": port, "vncticket": ticket})
        target = f"/api2/json/nodes/{node}/lxc/{vmid}/vncwebsocket?{query}"
        credentials = auth or sim.token_header()
        name = b"Cookie" if credentials.startswith("PVEAuthCookie=") else b"Authorization"
        headers = [(name, credentials.encode())]
        writer.write(
            console.conn.send(
                Request(
                    host=f"{url.host}:{url.port}",
                    target=target,
                    subprotocols=["binary"],
                    extra_headers=headers,
                )
            )
        )
        while True:
            data = await asyncio.wait_for(reader.read(65536), 10)
            if not data:
                return console, None
            console.conn.receive_data(data)
            for event in console.conn.events():
                if isinstance(event, AcceptConnection):
                    return console, 101
                if isinstance(event, RejectConnection):
                    return console, event.status_code

    async def send(self, data: str | bytes) -> None:
        self.writer.write(
            self.conn.send(TextMessage(data) if isinstance(data, str) else BytesMessage(data))
        )
        await self.writer.drain()

    async def type(self, text: str) -> None:
        """What xterm.js sends for typed text: `0:LEN:DATA` (LEN in bytes)."""
        raw = text.encode()
        await self.send(b"0:%d:" % len(raw) + raw)

    async def read_until(self, expected: str | bytes, timeout: float = 10) -> str:
        want = expected.encode() if isinstance(expected, str) else expected
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while want not in self.output:
            if self.closed:
                raise AssertionError(f"closed before {want!r}; got {bytes(self.output)!r}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {want!r} in {bytes(self.output)!r}")
            await self._receive(remaining)
        index = self.output.index(want) + len(want)
        text = bytes(self.output[:index]).decode("utf-8", "replace")
        del self.output[:index]
        return text

    async def _receive(self, timeout: float) -> None:
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        if not data:
            self.closed = True
            return
        self.conn.receive_data(data)
        for event in self.conn.events():
            if isinstance(event, BytesMessage):
                self.output.extend(event.data)
            elif isinstance(event, TextMessage):
                self.output.extend(event.data.encode())
            elif isinstance(event, CloseConnection):
                self.closed = True

    async def wait_closed(self, timeout: float = 10) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            await self._receive(max(0.01, deadline - loop.time()))
        return bytes(self.output)

    def close(self) -> None:
        self.writer.close()


def _termproxy(client: httpx.Client, node: str, vmid: int) -> httpx.Response:
    return client.post(f"/nodes/{node}/lxc/{vmid}/termproxy")


def _task_log(sim: Any, upid: str) -> list[dict[str, Any]]:
    with sim.client() as api:
        return list(api.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/log").json()["data"])


def _task_status(sim: Any, upid: str) -> dict[str, Any]:
    with sim.client() as api:
        response = api.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/status")
        return dict(response.json()["data"])


@pytest.fixture(scope="module")
def consoles(simulator: Any) -> Iterator[str]:
    """Three containers on the first node: cmode=shell running, tty (default) running with a
    root password, and a stopped one."""
    node = simulator.nodes[0]
    layout = (
        (SHELL_VMID, {"cmode": "shell"}, True),
        (TTY_VMID, {"password": CT_PASSWORD}, True),
        (STOPPED_VMID, {}, False),
    )
    with simulator.client() as api:
        for vmid, params, start in layout:
            final = simulator.create_container(api, node, vmid, hostname=f"con-{vmid}", **params)
            assert final["exitstatus"] == "OK", final
            if start:
                response = api.post(f"/nodes/{node}/lxc/{vmid}/status/start")
                assert simulator.wait_task(api, response.json()["data"])["exitstatus"] == "OK"
        yield node
        for vmid, _, start in layout:
            if start:
                response = api.post(f"/nodes/{node}/lxc/{vmid}/status/stop")
                simulator.wait_task(api, response.json()["data"])
            simulator.wait_task(api, api.delete(f"/nodes/{node}/lxc/{vmid}").json()["data"])


def _open_termproxy(sim: Any, node: str, vmid: int, **client: Any) -> httpx.Response:
    with sim.client(**client) as api:
        return _termproxy(api, node, vmid)


async def _data(sim: Any, node: str, vmid: int) -> dict[str, Any]:
    response = await asyncio.to_thread(_open_termproxy, sim, node, vmid)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


async def _stopped_task(sim: Any, upid: str) -> dict[str, Any]:
    for _ in range(100):
        status = await asyncio.to_thread(_task_status, sim, upid)
        if status["status"] == "stopped":
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {upid} still running")


async def _connected(sim: Any, node: str, vmid: int) -> tuple[Console, dict[str, Any]]:
    response = await asyncio.to_thread(_open_termproxy, sim, node, vmid)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    console, status = await Console.open(sim, node, vmid, data["port"], data["ticket"])
    assert status == 101
    await console.send(f"{data['user']}:{data['ticket']}\n")
    assert await console.read_until("OK") == "OK"
    return console, data


def test_termproxy_needs_vm_console(simulator: Any, consoles: str) -> None:
    with simulator.client(simulator.privsep_token_id, simulator.privsep_token_secret) as ro:
        refused = _termproxy(ro, consoles, SHELL_VMID)
    assert refused.status_code == 403
    assert refused.json()["message"] == f"Permission check failed (/vms/{SHELL_VMID}, VM.Console)\n"
    with simulator.client() as api:
        elsewhere = _termproxy(api, simulator.nodes[1], SHELL_VMID)
    assert elsewhere.status_code == 500
    assert "does not exist" in elsewhere.json()["message"]


def test_termproxy_answers_a_ticket_bound_to_the_token_and_a_running_vncproxy_task(
    simulator: Any, consoles: str
) -> None:
    with simulator.client() as api:
        data = _termproxy(api, consoles, SHELL_VMID).json()["data"]
    assert set(data) == {"user", "ticket", "port", "upid"}
    assert data["user"] == simulator.token_id
    assert data["ticket"].startswith("PVEVNC:")
    assert simulator.token_id not in data["ticket"]  # the user is not in plain text
    assert 5900 <= data["port"] <= 5999
    parts = data["upid"].split(":")
    assert (parts[1], parts[5], parts[6], parts[7]) == (
        consoles,
        "vncproxy",
        str(SHELL_VMID),
        simulator.token_id,
    )
    assert _task_status(simulator, data["upid"])["status"] == "running"


async def test_shell_console_echo_hostname_resize_ctrl_c_and_exit(
    simulator: Any, consoles: str
) -> None:
    console, data = await _connected(simulator, consoles, SHELL_VMID)
    try:
        first = await console.read_until(f"root@con-{SHELL_VMID}:/# ")
        assert first.startswith("\x1b[H\x1b[J")  # dtach clears the screen on attach
        await console.type("hostname\r")
        assert await console.read_until(f"con-{SHELL_VMID}\r\n") == (
            f"hostname\r\ncon-{SHELL_VMID}\r\n"
        )
        await console.read_until("# ")
        await console.send("2")  # keepalive: ignored
        await console.type("tput cols; stty size; tput lines\r")
        assert (await console.read_until("# ")).endswith("80\r\n20 80\r\n20\r\nroot@con-9401:/# ")
        await console.send("1:132:43:")
        await console.type("tput cols; stty size; echo $COLUMNS\r")
        assert "132\r\n43 132\r\n132\r\n" in await console.read_until("# ")
        await console.type("echo abcd\x7f\x7fX\r")  # Backspace (DEL) erases
        assert "echo abcd\b \b\b \bX\r\nabX\r\n" in await console.read_until("# ")
        await console.type("sleep 60\r")
        await console.read_until("sleep 60\r\n")
        await console.type("\x03")
        assert await console.read_until("# ") == "^C\r\nroot@con-9401:/# "
        await console.type("partial\x15echo after-kill\r")
        assert "after-kill\r\n" in await console.read_until("# ")
        await console.type("exit\r")
        tail = await console.wait_closed()
        assert tail.endswith(b"exit\r\n\x1b[999H\r\n[EOF - dtach terminating]\r\n\x1b[?25h")
    finally:
        console.close()
    status = await _stopped_task(simulator, data["upid"])
    assert status["exitstatus"] == "OK"


async def test_tty_console_is_the_login_prompt(simulator: Any, consoles: str) -> None:
    console, _ = await _connected(simulator, consoles, TTY_VMID)
    try:
        banner = await console.read_until(f"con-{TTY_VMID} login: ")
        assert f"Debian GNU/Linux 12 con-{TTY_VMID} tty1\r\n" in banner
        await console.type("root\r")
        await console.read_until("Password: ")
        await console.type("wrong-password\r")
        after = await console.read_until(f"con-{TTY_VMID} login: ")
        assert "wrong-password" not in after  # no echo
        assert "Login incorrect" in after
        await console.type("root\r")
        await console.read_until("Password: ")
        await console.type(CT_PASSWORD + "\r")
        shell = await console.read_until(f"root@con-{TTY_VMID}:~# ")
        assert CT_PASSWORD not in shell
        await console.type("tty\r")
        assert "/dev/tty1\r\n" in await console.read_until("# ")
        await console.type("exit\r")  # logout: the getty starts over, the console stays
        again = await console.read_until(f"con-{TTY_VMID} login: ")
        assert again.startswith("exit\r\nlogout\r\n")
    finally:
        console.close()


async def test_stopped_container_console_says_so_and_ends(simulator: Any, consoles: str) -> None:
    console, _ = await _connected(simulator, consoles, STOPPED_VMID)
    try:
        output = (await console.wait_closed()).decode()
    finally:
        console.close()
    assert f"{STOPPED_VMID} is not running\r\n" in output
    assert output.endswith("[EOF - dtach terminating]\r\n\x1b[?25h")


async def test_wrong_replayed_foreign_and_expired_tickets_are_refused(
    reset_faults: Any, consoles: str
) -> None:
    sim = reset_faults
    data = await _data(sim, consoles, SHELL_VMID)
    other = await _data(sim, consoles, SHELL_VMID)
    port, ticket = data["port"], data["ticket"]
    forged = ticket[:-4] + ("AAAA" if not ticket.endswith("AAAA") else "BBBB")
    for bad_port, bad_ticket in ((port, forged), (other["port"], ticket)):
        console, status = await Console.open(sim, consoles, SHELL_VMID, bad_port, bad_ticket)
        console.close()
        assert status == 401
    # another vmid: the ticket's path is /vms/SHELL_VMID
    console, status = await Console.open(sim, consoles, TTY_VMID, port, ticket)
    console.close()
    assert status == 401
    # another auth id than the one the ticket was made for
    root = sim.token_header(sim.root_token_id, sim.root_token_secret)
    console, status = await Console.open(sim, consoles, SHELL_VMID, port, ticket, auth=root)
    console.close()
    assert status == 401
    # a token without VM.Console: 403 before the ticket is looked at
    ro = sim.token_header(sim.privsep_token_id, sim.privsep_token_secret)
    console, status = await Console.open(sim, consoles, SHELL_VMID, port, ticket, auth=ro)
    console.close()
    assert status == 403
    # the right one works once; a replay finds nobody listening: no answer at all
    first, status = await Console.open(sim, consoles, SHELL_VMID, port, ticket)
    assert status == 101
    replay, status = await Console.open(sim, consoles, SHELL_VMID, port, ticket)
    replay.close()
    assert status is None
    first.close()
    # 40 seconds later the other ticket has expired
    await asyncio.to_thread(sim.admin_call, "POST", "/_sim/advance", {"seconds": 41})
    console, status = await Console.open(sim, consoles, SHELL_VMID, other["port"], other["ticket"])
    console.close()
    assert status == 401


async def test_a_wrong_first_line_ends_the_termproxy_with_an_error(
    simulator: Any, consoles: str
) -> None:
    data = await _data(simulator, consoles, SHELL_VMID)
    other = await _data(simulator, consoles, SHELL_VMID)
    console, status = await Console.open(
        simulator, consoles, SHELL_VMID, data["port"], data["ticket"]
    )
    assert status == 101
    await console.send(f"{data['user']}:{other['ticket']}\n")  # not the pinned ticket
    try:
        assert await console.wait_closed() == b""
    finally:
        console.close()
    status_data = await _stopped_task(simulator, data["upid"])
    assert status_data["exitstatus"].startswith("command '/usr/bin/termproxy ")
    assert status_data["exitstatus"].endswith("failed: exit code 1")
    log = await asyncio.to_thread(_task_log, simulator, data["upid"])
    assert "authentication request failed" in [line["t"] for line in log]


async def test_ticket_cookie_works_for_the_upgrade(simulator: Any, consoles: str) -> None:
    login = await asyncio.to_thread(simulator.login)

    def with_ticket() -> dict[str, Any]:
        cookies = {"PVEAuthCookie": login["ticket"]}
        headers = {"CSRFPreventionToken": login["CSRFPreventionToken"]}
        with httpx.Client(
            base_url=simulator.base, verify=False, cookies=cookies, headers=headers
        ) as api:
            return dict(_termproxy(api, consoles, SHELL_VMID).json()["data"])

    data = await asyncio.to_thread(with_ticket)
    assert data["user"] == "root@pam"
    console, status = await Console.open(
        simulator,
        consoles,
        SHELL_VMID,
        data["port"],
        data["ticket"],
        auth=f"PVEAuthCookie={login['ticket']}",
    )
    try:
        assert status == 101
        await console.send(f"root@pam:{data['ticket']}\n")
        await console.read_until("OK")
        await console.read_until("# ")
    finally:
        console.close()


def test_an_acl_on_the_container_takes_vm_console_away_and_back(
    simulator: Any, consoles: str
) -> None:
    """PUT /access/acl (pve-access-control API2/ACL.pm `update_acl`): PVEAuditor for the
    vmadmin token on /vms/VMID replaces the PVEVMAdmin it inherits from / (the most
    specific path wins), so that container's console is refused; deleting the entry gives
    it back. Changing ACLs needs Permissions.Modify (or VM.Allocate on /vms/...)."""
    path = f"/vms/{SHELL_VMID}"
    vmadmin = (simulator.vmadmin_token_id, simulator.vmadmin_token_secret)
    acl = {"path": path, "roles": "PVEAuditor", "tokens": simulator.vmadmin_token_id}
    with simulator.client(simulator.privsep_token_id, simulator.privsep_token_secret) as ro:
        refused = ro.put("/access/acl", data=acl)
    assert refused.status_code == 403
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as root:
        assert root.put("/access/acl", data=acl).status_code == 200
        try:
            assert _open_termproxy(simulator, consoles, SHELL_VMID, token_id=vmadmin[0],
                                   secret=vmadmin[1]).status_code == 403  # fmt: skip
            assert _open_termproxy(simulator, consoles, TTY_VMID, token_id=vmadmin[0],
                                   secret=vmadmin[1]).status_code == 200  # fmt: skip
            unknown = root.put("/access/acl", data={**acl, "roles": "NoSuchRole"})
            assert unknown.status_code == 500 and "does not exist" in unknown.text
        finally:
            assert root.put("/access/acl", data={**acl, "delete": 1}).status_code == 200
    back = _open_termproxy(simulator, consoles, SHELL_VMID, token_id=vmadmin[0], secret=vmadmin[1])
    assert back.status_code == 200
