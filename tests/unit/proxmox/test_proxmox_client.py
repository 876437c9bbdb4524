"""`ProxmoxClient` against `httpx.MockTransport`: auth headers, error mapping, retries,
redirects, encoding, sign-in flows. (The real TLS path is covered by the integration tests.)"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lxc_manager.proxmox import (
    AuthenticationError,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProxmoxClient,
    ProxmoxError,
    TicketAuth,
    Timeouts,
    TlsPolicy,
    TokenAuth,
    TwoFactorRequired,
    Unreachable,
)

PIN = "AB:" * 31 + "AB"
SECRET = "5f0c2d9e-3b1a-4c8e-9d7f-0a1b2c3d4e5f"
TOKEN = TokenAuth("root@pam!lxcm", SECRET)
TICKET = "PVE:root@pam:6654A1B2::K7q+Vt/9xyzSIGNATURE=="
CSRF = "6654A1B2:Zm9vYmFyY3NyZg"

Handler = Callable[[httpx.Request], httpx.Response]


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"data": data})


def client(handler: Handler, **kwargs: Any) -> ProxmoxClient:
    kwargs.setdefault("auth", TOKEN)
    kwargs.setdefault("retry_backoff", 0.001)
    return ProxmoxClient(
        kwargs.pop("host", "pve.example"),
        kwargs.pop("port", 8006),
        tls=TlsPolicy(fingerprint=PIN),
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


class Recorder:
    """A handler that records requests and answers from a queue (last answer repeats)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers) or [ok(None)]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def form(request: httpx.Request) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(request.content.decode()))


# -- URLs, auth headers, encoding ---------------------------------------------------------------


async def test_base_url_and_token_header() -> None:
    rec = Recorder(ok({"version": "8.2.4", "release": "8.2", "repoid": "faa83925"}))
    async with client(rec) as pve:
        version = await pve.version()
    assert version.release == "8.2"
    (request,) = rec.requests
    assert str(request.url) == "https://pve.example:8006/api2/json/version"
    assert request.headers["Authorization"] == f"PVEAPIToken=root@pam!lxcm={SECRET}"
    assert "Cookie" not in request.headers and "CSRFPreventionToken" not in request.headers


@pytest.mark.parametrize("host", ["fd00::5", "[fd00::5]"])
async def test_ipv6_hosts_are_bracketed(host: str) -> None:
    rec = Recorder()
    async with client(rec, host=host) as pve:
        await pve.get("/nodes")
        assert pve.base_url == "https://[fd00::5]:8006/api2/json"
    assert str(rec.requests[0].url) == "https://[fd00::5]:8006/api2/json/nodes"


async def test_ticket_auth_sends_cookie_always_and_csrf_only_on_writes() -> None:
    rec = Recorder(ok("UPID:pve1:00001234:00005678:6654A1B2:vzstart:100:root@pam:"))
    auth = TicketAuth(ticket=TICKET, csrf_token=CSRF, username="root@pam")
    async with client(rec, auth=auth) as pve:
        await pve.get("/nodes")
        await pve.post("/nodes/pve1/lxc/100/status/start")
        await pve.put("/nodes/pve1/lxc/100/config", {"memory": 1024})
        await pve.delete("/nodes/pve1/lxc/100")
    cookies = [r.headers["Cookie"] for r in rec.requests]
    assert all(urllib.parse.unquote(c) == f"PVEAuthCookie={TICKET}" for c in cookies)
    assert [r.headers.get("CSRFPreventionToken") for r in rec.requests] == [None, CSRF, CSRF, CSRF]
    assert all("Authorization" not in r.headers for r in rec.requests)


async def test_booleans_become_1_0_and_none_is_dropped() -> None:
    rec = Recorder()
    async with client(rec) as pve:
        await pve.post(
            "/nodes/pve1/lxc",
            {"vmid": 105, "unprivileged": True, "start": False, "pool": None, "tags": "a;b"},
        )
        await pve.get("/cluster/resources", {"type": None})
    assert form(rec.requests[0]) == {
        "vmid": "105",
        "unprivileged": "1",
        "start": "0",
        "tags": "a;b",
    }
    assert rec.requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert rec.requests[1].url.query == b""


async def test_path_segments_are_quoted_but_upids_stay_readable() -> None:
    upid = "UPID:pve1:00001234:00005678:6654A1B2:vzstart:100:root@pam!lxcm:"
    rec = Recorder(
        ok({"upid": upid, "node": "pve1", "status": "stopped", "exitstatus": "OK"}),
    )
    async with client(rec) as pve:
        await pve.task_status("pve1", upid)
    assert rec.requests[0].url.raw_path == f"/api2/json/nodes/pve1/tasks/{upid}/status".encode()


async def test_timeouts_are_passed_to_httpx() -> None:
    rec = Recorder()
    async with client(rec, timeouts=Timeouts(connect=1.5, read=7.0)) as pve:
        await pve.get("/version")
    timeout = rec.requests[0].extensions["timeout"]
    assert timeout["connect"] == 1.5 and timeout["read"] == 7.0


# -- errors ---------------------------------------------------------------------------------------


def error(status: int, message: str | None, errors: dict[str, str] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"data": None}
    if message is not None:
        body["message"] = message + "\n"
    if errors:
        body["errors"] = errors
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("answer", "kind", "detail"),
    [
        (httpx.Response(401, extensions={"reason_phrase": b"invalid token value!"}),
         AuthenticationError, "invalid token value!"),
        (error(403, "Permission check failed (/vms/100, VM.PowerMgmt)"),
         PermissionDenied, "Permission check failed (/vms/100, VM.PowerMgmt)"),
        (error(500, "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"),
         NotFound, "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"),
        (error(500, "CT 100 already running"), ProxmoxError, "CT 100 already running"),
    ],
)  # fmt: skip
async def test_errors_are_typed(
    answer: httpx.Response, kind: type[ProxmoxError], detail: str
) -> None:
    async with client(Recorder(answer)) as pve:
        with pytest.raises(kind) as info:
            await pve.post("/nodes/pve1/lxc/100/status/start")
    assert type(info.value) is kind
    assert info.value.detail == detail


async def test_parameter_error_lists_parameters() -> None:
    answer = error(400, "Parameter verification failed.", {"memory": "value must be at least 16"})
    async with client(Recorder(answer)) as pve:
        with pytest.raises(ParameterError) as info:
            await pve.put("/nodes/pve1/lxc/100/config", {"memory": 1})
    assert info.value.errors == {"memory": "value must be at least 16"}


async def test_595_from_a_proxied_member_is_unreachable() -> None:
    answer = httpx.Response(595, extensions={"reason_phrase": b"No route to host"})
    async with client(Recorder(answer)) as pve:
        with pytest.raises(Unreachable) as info:
            await pve.lxc_list("pve3")
    assert info.value.node == "pve3" and info.value.status == 595


async def test_a_read_timeout_on_a_proxied_call_names_the_member() -> None:
    # pveproxy waits up to 30 s for a member before its 595/596: past our read timeout
    rec = Recorder(httpx.ReadTimeout("timed out"))
    async with client(rec, timeouts=Timeouts(read=2.5)) as pve:
        with pytest.raises(Unreachable) as info:
            await pve.get("/nodes/pve2/lxc/105/status/current")
    assert info.value.node == "pve2"
    assert info.value.user_message == (
        "PVE node pve2 is not answering (no answer within 2.5 s), reached through pve.example:8006"
    )


async def test_596_names_the_member_with_its_reason() -> None:
    answer = httpx.Response(596, extensions={"reason_phrase": b"Connection timed out"})
    async with client(Recorder(answer)) as pve:
        with pytest.raises(Unreachable) as info:
            await pve.get("/nodes/pve3/lxc")
    assert info.value.user_message.startswith(
        "PVE node pve3 is not answering (596 Connection timed out)"
    )


async def test_redirects_are_not_followed() -> None:
    rec = Recorder(httpx.Response(302, headers={"Location": "https://evil.example/api2/json/x"}))
    async with client(rec) as pve:
        with pytest.raises(ProxmoxError, match="redirect"):
            await pve.get("/version")
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>pveproxy</html>"),
        httpx.Response(200, json={"something": 1}),
    ],
)
async def test_answers_without_data_are_errors(answer: httpx.Response) -> None:
    async with client(Recorder(answer)) as pve:
        with pytest.raises(ProxmoxError, match="unexpected answer"):
            await pve.get("/version")


async def test_unexpected_shapes_raise_without_echoing_values() -> None:
    rec = Recorder(ok({"version": {"nested": "s3cr3t-value"}}))
    async with client(rec) as pve:
        with pytest.raises(ProxmoxError) as info:
            await pve.version()
    assert "version" in str(info.value) and "s3cr3t-value" not in str(info.value)


# -- retries --------------------------------------------------------------------------------------


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


async def test_get_is_retried_on_connection_errors_then_succeeds() -> None:
    rec = Recorder(connect_error(), httpx.RemoteProtocolError("Server disconnected"), ok([]))
    async with client(rec, retries=2) as pve:
        assert await pve.get("/nodes") == []
    assert len(rec.requests) == 3


async def test_get_gives_up_after_retries_with_unreachable() -> None:
    rec = Recorder(connect_error())
    async with client(rec, retries=2) as pve:
        with pytest.raises(Unreachable) as info:
            await pve.get("/nodes")
    assert len(rec.requests) == 3
    assert info.value.user_message == "Unable to reach Proxmox at pve.example:8006"
    assert "Connection refused" in info.value.detail


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_writes_are_never_retried(method: str) -> None:
    rec = Recorder(connect_error(), ok(None))
    async with client(rec, retries=3) as pve:
        with pytest.raises(Unreachable):
            await pve.request(method, "/nodes/pve1/lxc/100/status/start")
    assert len(rec.requests) == 1


async def test_http_errors_and_read_timeouts_are_not_retried() -> None:
    rec = Recorder(error(500, "CT 100 already running"), ok(None))
    async with client(rec, retries=3) as pve:
        with pytest.raises(ProxmoxError):
            await pve.get("/nodes/pve1/lxc/100/status/current")
    assert len(rec.requests) == 1

    rec = Recorder(httpx.ReadTimeout("timed out"), ok(None))
    async with client(rec, retries=3) as pve:
        with pytest.raises(Unreachable, match="ReadTimeout"):
            await pve.get("/nodes")
    assert len(rec.requests) == 1


# -- sign-in --------------------------------------------------------------------------------------

TFA_TICKET = 'PVE:!tfa!{"totp"%3Atrue,"recovery"%3A[0,1]}:6654A1B2::U0lHTkFUVVJF'


async def test_login_posts_credentials_anonymously_and_returns_the_ticket() -> None:
    answer = ok(
        {
            "username": "alice@pve",
            "ticket": TICKET,
            "CSRFPreventionToken": CSRF,
            "cap": {"vms": {"VM.Audit": 1}},
            "clustername": "lab",
        }
    )
    rec = Recorder(answer)
    async with client(rec) as pve:  # a client with a token still logs in anonymously
        result = await pve.login("alice", "pa55word", realm="pve")
    (request,) = rec.requests
    assert request.method == "POST" and request.url.path == "/api2/json/access/ticket"
    assert form(request) == {"username": "alice@pve", "password": "pa55word"}
    assert "Authorization" not in request.headers and "Cookie" not in request.headers
    assert (result.username, result.ticket, result.csrf_token) == ("alice@pve", TICKET, CSRF)
    assert result.cap == {"vms": {"VM.Audit": 1}} and result.clustername == "lab"
    assert TICKET not in repr(result) and CSRF not in repr(result)


async def test_login_with_second_factor() -> None:
    rec = Recorder(
        ok(
            {"username": "tfa@pve", "ticket": TFA_TICKET, "CSRFPreventionToken": CSRF, "NeedTFA": 1}
        ),
        ok({"username": "tfa@pve", "ticket": TICKET, "CSRFPreventionToken": CSRF, "cap": {}}),
    )
    async with client(rec, auth=None) as pve:
        with pytest.raises(TwoFactorRequired) as info:
            await pve.login("tfa@pve", "pa55word")
        pending = info.value
        assert pending.pending_ticket == TFA_TICKET and pending.username == "tfa@pve"
        result = await pve.complete_two_factor(pending.username, pending.pending_ticket, "123456")
    assert result.ticket == TICKET
    assert form(rec.requests[1]) == {
        "username": "tfa@pve",
        "tfa-challenge": TFA_TICKET,
        "password": "totp:123456",
    }


async def test_wrong_password_is_authentication_error() -> None:
    rec = Recorder(error(401, "authentication failure"))
    async with client(rec, auth=None) as pve:
        with pytest.raises(AuthenticationError):
            await pve.login("root@pam", "wrong")


async def test_auth_can_be_switched_to_the_ticket() -> None:
    rec = Recorder(ok({"username": "root@pam", "ticket": TICKET, "CSRFPreventionToken": CSRF}))
    async with client(rec, auth=None) as pve:
        pve.auth = TicketAuth.from_login(await pve.login("root@pam", "pw"))
        await pve.post("/nodes/pve1/lxc/100/status/start")
    assert rec.requests[1].headers["CSRFPreventionToken"] == CSRF


# -- typed calls over the mock ----------------------------------------------------------------------


async def test_typed_calls_parse_answers() -> None:
    answers = {
        "/api2/json/cluster/status": [
            {"type": "cluster", "id": "cluster", "name": "lab", "nodes": 2, "quorate": 1, "version": 4},
            {"type": "node", "id": "node/pve1", "name": "pve1", "nodeid": 1, "online": 1,
             "local": 1, "ip": "10.0.0.11", "level": ""},
            {"type": "node", "id": "node/pve2", "name": "pve2", "nodeid": 2, "online": 0,
             "local": 0, "ip": "10.0.0.12", "level": ""},
        ],
        "/api2/json/access/permissions": {"/": {"Sys.Audit": 1}, "/vms/100": {"VM.PowerMgmt": 0}},
        "/api2/json/cluster/nextid": "106",
    }  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        return ok(answers[request.url.path])

    async with client(handler) as pve:
        status = await pve.cluster_status()
        permissions = await pve.permissions()
        next_id = await pve.next_id()
    assert status.name == "lab" and status.quorate is True
    assert [(n.name, n.online, n.local) for n in status.nodes] == [
        ("pve1", True, True),
        ("pve2", False, False),
    ]
    assert permissions.allows("/vms/100", "VM.PowerMgmt")
    assert permissions.allows("/nodes/pve1", "Sys.Audit")
    assert next_id == 106


async def test_wait_for_task_polls_the_status_endpoint() -> None:
    upid = "UPID:pve1:00001234:00005678:6654A1B2:vzstart:100:root@pam:"
    running = {"upid": upid, "node": "pve1", "status": "running", "type": "vzstart", "id": "100"}
    rec = Recorder(
        ok(running), ok(running), ok({**running, "status": "stopped", "exitstatus": "OK"})
    )
    async with client(rec) as pve:
        final = await pve.wait_for_task("pve1", upid, timeout=5, poll=0.001, max_poll=0.002)
    assert final.exitstatus == "OK"
    assert len(rec.requests) == 3
    assert {r.url.path for r in rec.requests} == {f"/api2/json/nodes/pve1/tasks/{upid}/status"}


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="port"):
        ProxmoxClient("pve", 0, tls=TlsPolicy(fingerprint=PIN))
    with pytest.raises(ValueError, match="host"):
        ProxmoxClient(" ", 8006, tls=TlsPolicy(fingerprint=PIN))
