"""Dead cluster members (issue 13 item 8): pveproxy waits for a member (30 s on PVE, scaled
by `--proxy-timeout` here) and answers 595/596 with an empty body and a reason phrase; the
app names the PVE node, not the endpoint, also when its own read timeout is shorter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lxc_manager.proxmox import ProxmoxClient, Timeouts, TlsPolicy, TokenAuth, Unreachable
from tests.support.simulator import SimProcess, start_simulator

PROXY_TIMEOUT = 0.6


@pytest.fixture(scope="module")
def member_sim() -> Iterator[SimProcess]:
    args = "--port 0 --ssh-port 0 --seed 7 --nodes 3 --containers 6 --vms 0"
    args += f" --auth-failure-delay 0 --proxy-timeout {PROXY_TIMEOUT} --log-level WARNING"
    sim = start_simulator(args.split())
    yield sim
    sim.stop()


def admin(sim: SimProcess, body: dict[str, Any]) -> Any:
    response = httpx.post(sim.ready["admin"] + "/_sim/faults", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
def sim(member_sim: SimProcess) -> Iterator[SimProcess]:
    httpx.post(member_sim.ready["admin"] + "/_sim/reset", json={}, timeout=5)
    yield member_sim
    httpx.post(member_sim.ready["admin"] + "/_sim/reset", json={}, timeout=5)


def token_header(sim: SimProcess) -> dict[str, str]:
    token = sim.ready["tokens"][0]
    return {"Authorization": f"PVEAPIToken={token['id']}={token['secret']}"}


def raw_get(sim: SimProcess, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    with httpx.Client(base_url=sim.ready["api"] + "/api2/json", verify=False, timeout=10) as c:
        response = c.get(path, headers=token_header(sim))
    return response, time.monotonic() - started


def client(sim: SimProcess, read: float = 5.0) -> ProxmoxClient:
    url = urlsplit(sim.ready["api"])
    assert url.hostname and url.port
    token = sim.ready["tokens"][0]
    return ProxmoxClient(
        url.hostname,
        url.port,
        tls=TlsPolicy(fingerprint=sim.ready["tls_sha256"]),
        auth=TokenAuth(token["id"], token["secret"]),
        timeouts=Timeouts(connect=2.0, read=read),
        retry_backoff=0.02,
    )


def test_silent_member_answers_595_after_the_proxy_timeout(sim: SimProcess) -> None:
    admin(sim, {"node": "pve2", "online": False, "unreachable": "timeout"})
    response, took = raw_get(sim, "/nodes/pve2/lxc")
    assert (response.status_code, response.reason_phrase) == (595, "Connection timed out")
    assert response.content == b"" and took >= PROXY_TIMEOUT


def test_hanging_member_answers_596_and_stays_a_member(sim: SimProcess) -> None:
    assert admin(sim, {"node": "pve3", "hang": True})["hanging"] == ["pve3"]
    response, took = raw_get(sim, "/nodes/pve3/status")
    assert (response.status_code, response.reason_phrase) == (596, "Connection timed out")
    assert response.content == b"" and took >= PROXY_TIMEOUT
    status, _ = raw_get(sim, "/cluster/status")
    pve3 = next(e for e in status.json()["data"] if e.get("name") == "pve3")
    assert pve3["online"] == 1  # corosync still sees it; only its pveproxy hangs
    fine, took = raw_get(sim, "/nodes/pve1/status")
    assert fine.status_code == 200 and took < PROXY_TIMEOUT


def test_powered_off_member_answers_no_route_at_once(sim: SimProcess) -> None:
    admin(sim, {"node": "pve2", "online": False})
    response, took = raw_get(sim, "/nodes/pve2/lxc")
    assert (response.status_code, response.reason_phrase) == (595, "No route to host")
    assert response.content == b"" and took < PROXY_TIMEOUT


async def test_the_app_names_the_dead_member(sim: SimProcess) -> None:
    admin(sim, {"node": "pve3", "hang": True})
    async with client(sim) as pve:
        with pytest.raises(Unreachable) as info:
            await pve.get("/nodes/pve3/lxc")
    assert info.value.node == "pve3" and info.value.status == 596
    assert info.value.user_message.startswith(
        "PVE node pve3 is not answering (596 Connection timed out)"
    )


async def test_a_read_timeout_shorter_than_pveproxys_wait_blames_the_member(
    sim: SimProcess,
) -> None:
    admin(sim, {"node": "pve2", "online": False, "unreachable": "timeout"})
    async with client(sim, read=PROXY_TIMEOUT / 3) as pve:
        with pytest.raises(Unreachable) as info:
            await pve.get("/nodes/pve2/status")
        assert info.value.node == "pve2"
        assert info.value.user_message.startswith("PVE node pve2 is not answering (no answer")
        assert "Unable to reach Proxmox at" not in info.value.user_message
        assert (await pve.get("/version"))["version"]  # the endpoint itself is fine
