"""The Proxmox client against the simulator over real HTTPS (the shared `simulator` fixture).

Tests that flip faults use `sim` (resets before and after, and waits for the port). Containers these tests create
use VMIDs from 93100 up (other suites use 700+, 800+, 9101, 9102) and are deleted again.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest

from lxc_manager.proxmox import (
    AuthenticationError,
    CertificateMismatch,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProxmoxClient,
    ProxmoxError,
    ProxmoxTimeout,
    TaskFailed,
    TicketAuth,
    Timeouts,
    TlsPolicy,
    TokenAuth,
    TwoFactorRequired,
    Unreachable,
    Upid,
    fetch_fingerprint,
)
from tests.support.simulator import SimulatorInfo

OSTEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
WRONG_PIN = "00:" * 31 + "00"
_vmids = itertools.count(93100)


def address(simulator: SimulatorInfo) -> tuple[str, int]:
    url = urlsplit(simulator.api)
    assert url.hostname == "127.0.0.1" and url.port
    return url.hostname, url.port


def make_client(simulator: SimulatorInfo, auth: Any = None, **kwargs: Any) -> ProxmoxClient:
    host, port = address(simulator)
    kwargs.setdefault("timeouts", Timeouts(connect=2.0, read=5.0))
    kwargs.setdefault("retry_backoff", 0.02)
    tls = kwargs.pop("tls", TlsPolicy(fingerprint=simulator.tls_sha256))
    return ProxmoxClient(host, port, tls=tls, auth=auth, **kwargs)


def root_token(simulator: SimulatorInfo) -> TokenAuth:
    return TokenAuth(simulator.token_id, simulator.token_secret)


@pytest.fixture
def sim(simulator: SimulatorInfo) -> Iterator[SimulatorInfo]:
    """The simulator with faults reset before and after the test."""
    simulator.reset()
    yield simulator
    simulator.reset()
    wait_until_serving(simulator)


def wait_until_serving(simulator: SimulatorInfo, timeout: float = 3.0) -> None:
    """After a `refuse` fault the listener reopens shortly after the reset."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(address(simulator), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, "the simulator's API port did not come back"
            time.sleep(0.05)


@pytest.fixture
async def pve(simulator: SimulatorInfo) -> AsyncIterator[ProxmoxClient]:
    async with make_client(simulator, root_token(simulator)) as client:
        yield client


@pytest.fixture
async def container(simulator: SimulatorInfo, pve: ProxmoxClient) -> AsyncIterator[tuple[str, int]]:
    """A fresh stopped container on the first node: (node, vmid); deleted afterwards."""
    node, vmid = simulator.nodes[0], next(_vmids)
    assert await pve.next_id(vmid) == vmid
    upid = await pve.lxc_create(
        node,
        {
            "vmid": vmid,
            "ostemplate": OSTEMPLATE,
            "rootfs": "local-lvm:4",
            "hostname": f"client-test-{vmid}",
            "unprivileged": True,
            "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
        },
    )
    await pve.wait_for_task(node, upid, timeout=10, poll=0.05)
    yield node, vmid
    simulator.reset()
    status = await pve.lxc_status(node, vmid)
    if status.running:
        await pve.wait_for_task(node, await pve.lxc_action(node, vmid, "stop"), timeout=10)
    await pve.wait_for_task(node, await pve.lxc_delete(node, vmid, purge=True), timeout=10)


# -- TLS ------------------------------------------------------------------------------------------


async def test_fingerprint_and_pinned_connection(simulator: SimulatorInfo) -> None:
    host, port = address(simulator)
    assert await fetch_fingerprint(host, port, timeout=3.0) == simulator.tls_sha256
    async with make_client(simulator, root_token(simulator)) as pve:
        version = await pve.version()
    assert version.version and version.release


async def test_wrong_pin_reaches_nothing(simulator: SimulatorInfo, pve: ProxmoxClient) -> None:
    """With a wrong pin, even a start request changes nothing: it never reached the server."""
    node, vmid = await stopped_container(pve)
    tasks_before = simulator.admin_call("GET", "/_sim/state")["tasks"]
    async with make_client(
        simulator, root_token(simulator), tls=TlsPolicy(fingerprint=WRONG_PIN)
    ) as bad:
        with pytest.raises(CertificateMismatch) as info:
            await bad.lxc_action(node, vmid, "start")
    assert info.value.actual == simulator.tls_sha256
    assert simulator.admin_call("GET", "/_sim/state")["tasks"] == tasks_before
    assert not (await pve.lxc_status(node, vmid)).running


async def stopped_container(pve: ProxmoxClient) -> tuple[str, int]:
    for resource in await pve.cluster_resources(type="vm"):
        if resource.type == "lxc" and resource.status == "stopped" and resource.node:
            assert resource.vmid is not None
            return resource.node, resource.vmid
    pytest.fail("the seeded simulator has no stopped container")


# -- token and ticket auth ----------------------------------------------------------------------------


async def test_token_auth_typed_calls(simulator: SimulatorInfo, pve: ProxmoxClient) -> None:
    status = await pve.cluster_status()
    assert status.name == simulator.cluster
    assert status.node_names == tuple(sorted(simulator.nodes))
    assert status.local_node is not None and status.local_node.name == simulator.nodes[0]
    resources = await pve.cluster_resources(type="vm")
    containers = [r for r in resources if r.type == "lxc"]
    assert len(containers) >= 12
    assert all(r.vmid and r.node in simulator.nodes and r.maxmem for r in containers)
    assert {n.node for n in await pve.nodes()} == set(simulator.nodes)
    permissions = await pve.permissions()
    assert permissions.allows("/vms/100", "VM.PowerMgmt", "VM.Audit")
    node, vmid = containers[0].node, containers[0].vmid
    assert node is not None and vmid is not None
    config = await pve.lxc_config(node, vmid)
    assert config.digest and config.hostname
    current = await pve.lxc_status(node, vmid)
    assert current.vmid == vmid


async def test_ticket_auth_sends_csrf_on_writes(
    simulator: SimulatorInfo, container: tuple[str, int]
) -> None:
    node, vmid = container
    async with make_client(simulator) as pve:
        login = await pve.login("root@pam", simulator.root_password)
        assert login.username == "root@pam" and login.ticket.startswith("PVE:root@pam:")
        pve.auth = TicketAuth.from_login(login)
        assert (await pve.version()).version
        upid = await pve.lxc_action(node, vmid, "start")
        final = await pve.wait_for_task(node, upid, timeout=10, poll=0.05)
        assert final.exitstatus == "OK"
        assert (await pve.lxc_status(node, vmid)).running

        pve.auth = TicketAuth(ticket=login.ticket, csrf_token="6654A1B2:not-the-token")
        await pve.lxc_status(node, vmid)  # GETs need no CSRF token
        with pytest.raises(AuthenticationError):
            await pve.lxc_action(node, vmid, "stop")


async def test_login_with_realm_parameter(simulator: SimulatorInfo) -> None:
    user, realm = simulator.auditor_user.split("@")
    async with make_client(simulator) as pve:
        login = await pve.login(user, simulator.auditor_password, realm=realm)
    assert login.username == simulator.auditor_user


async def test_wrong_password(simulator: SimulatorInfo) -> None:
    async with make_client(simulator) as pve:
        with pytest.raises(AuthenticationError) as info:
            await pve.login("root@pam", "not-the-password")
    assert "not-the-password" not in str(info.value)


async def test_bad_token_secret(simulator: SimulatorInfo) -> None:
    token = TokenAuth(simulator.token_id, "00000000-0000-0000-0000-000000000000")
    async with make_client(simulator, token) as pve:
        with pytest.raises(AuthenticationError):
            await pve.version()


# -- two-factor ------------------------------------------------------------------------------------------


async def test_two_factor_with_totp(simulator: SimulatorInfo) -> None:
    async with make_client(simulator) as pve:
        with pytest.raises(TwoFactorRequired) as info:
            await pve.login(simulator.tfa_user, simulator.tfa_password)
        pending = info.value
        assert pending.username == simulator.tfa_user
        assert pending.pending_ticket.startswith("PVE:!tfa!")
        assert "totp" in pending.methods

        with pytest.raises(AuthenticationError):
            await pve.complete_two_factor(pending.username, pending.pending_ticket, "totp:000000")
        code = pyotp.TOTP(simulator.totp_secret).now()
        login = await pve.complete_two_factor(
            pending.username, pending.pending_ticket, f"totp:{code}"
        )
        assert login.username == simulator.tfa_user
        pve.auth = TicketAuth.from_login(login)
        assert (await pve.version()).version


async def test_two_factor_with_recovery_key(simulator: SimulatorInfo) -> None:
    key = simulator.recovery_keys[2]  # single use; the simulator's own tests use [0]
    async with make_client(simulator) as pve:
        with pytest.raises(TwoFactorRequired) as info:
            await pve.login(simulator.tfa_user, simulator.tfa_password)
        pending = info.value
        assert "recovery" in pending.methods
        login = await pve.complete_two_factor(
            pending.username, pending.pending_ticket, f"recovery:{key}"
        )
        assert login.ticket
        with pytest.raises(TwoFactorRequired) as again:
            await pve.login(simulator.tfa_user, simulator.tfa_password)
        with pytest.raises(AuthenticationError):  # used up
            await pve.complete_two_factor(
                simulator.tfa_user, again.value.pending_ticket, f"recovery:{key}"
            )


# -- error mapping ---------------------------------------------------------------------------------------


async def test_parameter_errors_per_parameter(simulator: SimulatorInfo, pve: ProxmoxClient) -> None:
    with pytest.raises(ParameterError) as info:
        await pve.lxc_create(
            simulator.nodes[0],
            {"vmid": 42, "ostemplate": OSTEMPLATE, "memory": "lots"},
        )
    assert {"vmid", "memory"} <= set(info.value.errors)
    assert info.value.status == 400


async def test_auditor_is_denied_writes(simulator: SimulatorInfo, pve: ProxmoxClient) -> None:
    node, vmid = await stopped_container(pve)
    auditor = TokenAuth(simulator.auditor_token_id, simulator.auditor_token_secret)
    async with make_client(simulator, auditor) as limited:
        await limited.lxc_status(node, vmid)
        with pytest.raises(PermissionDenied) as info:
            await limited.lxc_action(node, vmid, "start")
    assert info.value.status == 403
    async with make_client(simulator) as anonymous:
        login = await anonymous.login(simulator.auditor_user, simulator.auditor_password)
        anonymous.auth = TicketAuth.from_login(login)
        with pytest.raises(PermissionDenied):
            await anonymous.lxc_action(node, vmid, "start")


async def test_offline_node_is_unreachable(sim: SimulatorInfo, pve: ProxmoxClient) -> None:
    offline = sim.nodes[1]
    sim.admin_call("POST", "/_sim/faults", {"node": offline, "online": False})
    with pytest.raises(Unreachable) as info:
        await pve.lxc_list(offline)
    assert info.value.status == 595 and info.value.node == offline
    assert await pve.lxc_list(sim.nodes[0])  # the rest keeps working
    status = await pve.cluster_status()
    assert {n.name: n.online for n in status.nodes}[offline] is False


async def test_already_running_and_missing(pve: ProxmoxClient, container: tuple[str, int]) -> None:
    node, vmid = container
    await pve.wait_for_task(node, await pve.lxc_action(node, vmid, "start"), timeout=10, poll=0.05)
    with pytest.raises(ProxmoxError) as info:
        await pve.lxc_action(node, vmid, "start")
    assert type(info.value) is ProxmoxError
    assert info.value.status == 500 and info.value.detail == f"CT {vmid} already running"
    with pytest.raises(NotFound):
        await pve.lxc_config(node, 999999990)


# -- tasks -------------------------------------------------------------------------------------------


async def test_task_success_failure_and_timeout(
    sim: SimulatorInfo, pve: ProxmoxClient, container: tuple[str, int]
) -> None:
    node, vmid = container
    sim.admin_call("POST", "/_sim/faults", {"fail_tasks": 1, "fail_message": "startup failed"})
    upid = await pve.lxc_action(node, vmid, "start")
    with pytest.raises(TaskFailed) as failed:
        await pve.wait_for_task(node, upid, timeout=10, poll=0.05)
    assert failed.value.exitstatus == "startup failed" and failed.value.upid == upid

    upid = await pve.lxc_action(node, vmid, "start")
    parsed = Upid.parse(upid)
    assert (parsed.node, parsed.type, parsed.id) == (node, "vzstart", str(vmid))
    with pytest.raises(ProxmoxTimeout):
        await pve.wait_for_task(node, upid, timeout=0.05, poll=0.02)
    final = await pve.wait_for_task(node, upid, timeout=10, poll=0.05)
    assert final.succeeded and final.exitstatus == "OK"
    assert (await pve.lxc_status(node, vmid)).running


# -- connection failures ------------------------------------------------------------------------------


async def test_refused_and_hanging_endpoint(sim: SimulatorInfo) -> None:
    sim.admin_call("POST", "/_sim/faults", {"mode": "refuse"})
    host, port = address(sim)
    deadline = time.monotonic() + 3
    while True:  # the simulator closes its listener shortly after the fault is set
        async with make_client(sim, root_token(sim), retries=2) as pve:
            try:
                await pve.version()
            except Unreachable as exc:
                assert exc.user_message == f"Unable to reach Proxmox at {host}:{port}"
                assert "ConnectError" in exc.detail
                break
        assert time.monotonic() < deadline, "the listener was never closed"
        await asyncio.sleep(0.05)
    sim.admin_call("POST", "/_sim/faults", {"mode": "hang"})
    fast = Timeouts(connect=1.0, read=0.3)
    async with make_client(sim, root_token(sim), timeouts=fast) as pve:
        with pytest.raises(Unreachable, match="ReadTimeout"):
            await pve.version()
