"""Pure helpers of the containers service: tags, rows, grouping, messages, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lxc_manager.containers.lifecycle import (
    MSG_RUNNING,
    _log_lines,
    _task_node,
    lock_key,
    short_message,
    validation_error,
)
from lxc_manager.containers.listing import (
    cluster_groups,
    parse_tags,
    problem_message,
    row_from_resource,
)
from lxc_manager.nodes import NodeSecretError, NodeView
from lxc_manager.proxmox import (
    AuthenticationError,
    CertificateMismatch,
    ClusterResource,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProxmoxError,
    ProxmoxTimeout,
    TaskFailed,
    Unreachable,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def node(
    node_id: int,
    name: str,
    key: str = "cluster:homelab:pve1",
    *,
    default: bool = False,
    age: int = 0,
) -> NodeView:
    return NodeView(
        id=node_id, name=name, host="10.0.0.1", port=8006, token_id="root@pam!x",
        ssh_user="root", ssh_port=22, has_ssh=False, tls_fingerprint="AA", ssh_host_key=None,
        is_default=default, cluster_name="homelab", cluster_key=key, pve_nodes=["pve1"],
        created_at=T0 - timedelta(days=age), updated_at=T0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        (None, ()),
        ("", ()),
        ("web", ("web",)),
        ("prod;web", ("prod", "web")),
        ("web;prod;web", ("prod", "web")),
        ("b, a c;;", ("a", "b", "c")),
    ],
)
def test_tags(text: str | None, tags: tuple[str, ...]) -> None:
    assert parse_tags(text) == tags


def test_row_of_a_container_and_not_of_a_vm() -> None:
    lab = node(3, "lab")
    ct = ClusterResource.model_validate(
        {"id": "lxc/105", "type": "lxc", "node": "pve2", "vmid": "105", "name": "web-01",
         "status": "running", "cpu": 0.25, "maxcpu": 2, "mem": 10, "maxmem": 20, "disk": 1,
         "maxdisk": 2, "uptime": 99, "tags": "web;prod", "template": 0}
    )  # fmt: skip
    row = row_from_resource(lab, ct)
    assert row is not None
    assert (row.key, row.node_id, row.node_name, row.pve_node, row.vmid) == (
        "3:105", 3, "lab", "pve2", 105,
    )  # fmt: skip
    assert (row.cpu, row.maxcpu, row.mem, row.maxmem, row.uptime) == (0.25, 2, 10, 20, 99)
    assert row.tags == ("prod", "web") and row.template is False
    vm = ClusterResource.model_validate({"id": "qemu/100", "type": "qemu", "vmid": 100})
    assert row_from_resource(lab, vm) is None
    bare = row_from_resource(
        lab, ClusterResource.model_validate({"id": "lxc/7", "type": "lxc", "vmid": 107})
    )
    assert bare is not None and (bare.name, bare.status, bare.cpu, bare.maxmem) == (
        "CT 107", "unknown", 0.0, 0,
    )  # fmt: skip


def test_cluster_groups_prefer_the_default_then_the_oldest() -> None:
    young, old, default = node(1, "young", age=1), node(2, "old", age=5), node(3, "d", default=True)
    alone, keyless = node(4, "alone", "endpoint:10.0.0.9:8006"), node(5, "x", "")
    other_keyless = node(6, "y", "")
    groups = cluster_groups([young, old, alone, default, keyless, other_keyless])
    assert [[n.id for n in g] for g in groups] == [[3, 2, 1], [4], [5], [6]]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (TimeoutError(), "pve-lab did not answer within 5 s — retrying"),
        (Unreachable("10.0.0.1", 8006, "refused"), "pve-lab unreachable — retrying"),
        (NodeSecretError("x"), NodeSecretError.user_message),
        (CertificateMismatch("AA", "BB"), "pve-lab: The server's certificate changed"),
        (AuthenticationError("no"), "pve-lab: Proxmox refused the API token"),
        (PermissionDenied("no"), "pve-lab: the API token may not list guests"),
        (ProxmoxError("weird"), "pve-lab: Proxmox reported an error"),
    ],
)
def test_problem_messages(error: BaseException, message: str) -> None:
    assert problem_message("pve-lab", error, 5.0) == message


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ProxmoxError("CT 100 already running", status=500), "The container is already running"),
        (ProxmoxError("CT 100 not running", status=500), "The container is not running"),
        (ProxmoxError("unable to destroy CT 100 - container is running"), MSG_RUNNING),
        (ProxmoxError("CT is locked (backup)"), "The container is locked (backup)"),
        (ProxmoxError("can't remove CT 100 - protection mode enabled"), "The container is protected (protection)"),
        (NotFound("Configuration file 'nodes/pve1/lxc/100.conf' does not exist"), "The container does not exist"),
        (NotFound(""), "The container does not exist"),
        (ParameterError("Parameter verification failed.", errors={"timeout": "bad"}), "Proxmox refused the request's parameters"),
        (TaskFailed("UPID:x", "command 'lxc-start'\n failed:  exit code 1"), "The task failed: command 'lxc-start' failed: exit code 1"),
        (TaskFailed("UPID:x", "x" * 500), "The task failed: " + "x" * 199 + "…"),
        (ProxmoxTimeout("UPID:x", 5), "Proxmox did not finish in time; the task may still be running"),
        (Unreachable("h", 8006, "No route to host", status=595, node="pve2"), "PVE node pve2 is not answering (595 No route to host), reached through h:8006"),
        (AuthenticationError(""), "Proxmox refused the node's API token"),
        (PermissionDenied("Permission check failed (/vms/100, VM.PowerMgmt)"), "Permission denied: the node's API token may not do this"),
        (ProxmoxError("some perl stack trace at line 5"), "Proxmox reported an error"),
        (RuntimeError("boom"), "Unexpected error; see the server log"),
    ],
)  # fmt: skip
def test_short_messages(error: BaseException, message: str) -> None:
    assert short_message(error) == message


@pytest.mark.parametrize(
    ("pve_node", "vmid", "action", "ok"),
    [
        ("pve1", 100, "start", True),
        ("pve-2", 999_999_999, "reboot", True),
        ("pve1", 100, None, True),
        ("pve1", 99, "start", False),
        ("pve1", 1_000_000_000, "stop", False),
        ("pve1", True, "stop", False),
        ("pve1", "100", "stop", False),
        ("pve1", 100, "suspend", False),
        ("pve1", 100, "delete", False),
        ("", 100, "start", False),
        ("-pve", 100, "start", False),
        ("pve1/../x", 100, "start", False),
        ("pve1?x=1", 100, "start", False),
        ("a" * 64, 100, "start", False),
    ],
)
def test_validation(pve_node: str, vmid: int, action: str | None, ok: bool) -> None:
    assert (validation_error(pve_node, vmid, action) is None) is ok


def test_helpers() -> None:
    assert (
        lock_key("root@pam@1", "cluster:homelab:pve1,pve2", 105)
        == "ct-action:root@pam@1:cluster:homelab:pve1,pve2:105"
    )
    upid = "UPID:pve3:00001234:00000001:65000000:vzstart:100:root@pam!ci:"
    assert _task_node(upid, "pve1") == "pve3" and _task_node("junk", "pve1") == "pve1"
    entries = [{"n": i, "t": f"line {i}"} for i in range(1, 121)]
    assert _log_lines(entries) == tuple(f"line {i}" for i in range(71, 121))
    assert _log_lines(None) == () and _log_lines([{"n": 1}, "x"]) == ("",)
