"""Issue 12, paths 6, 9 and 10 on nodes, against real servers (the simulator, and servers an
attacker would run that record what they receive), a real SQLite and Redis.

- Path 6: whoever holds the owner's session (a stolen tab) edits the node to point at
  their own server, leaving the secret fields blank ("keep the stored one"): the stored
  token secret and SSH password must never reach that server.
- Path 9: connection tests are counted per user before anything is contacted, and a test
  with newly typed SSH credentials does not tell a wrong password from a failing `pct`.
- Path 10: a user has at most LXCM_MAX_NODES_PER_USER nodes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from node_support import USER_A, USER_B, add_node, sim_input
from sqlmodel import select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode
from lxc_manager.nodes import (
    CheckResult,
    NodeInput,
    NodeView,
    check_node,
    create_node,
    list_nodes,
    update_node,
)
from lxc_manager.nodes.checks import MSG_SSH_GENERIC
from lxc_manager.security import audit
from lxc_manager.settings import get_settings
from tests.support.recorders import SshRecorder, TlsRecorder, start_ssh_recorder, start_tls_recorder
from tests.support.simulator import SimulatorInfo

pytestmark = pytest.mark.usefixtures("nodes_db")

USER_C = "carol@pve@1"


@pytest.fixture
async def evil_tls() -> AsyncIterator[TlsRecorder]:
    recorder = await start_tls_recorder()
    yield recorder
    await recorder.close()


@pytest.fixture
async def evil_ssh() -> AsyncIterator[SshRecorder]:
    recorder = await start_ssh_recorder()
    yield recorder
    await recorder.close()


def _row(node_id: int) -> dict[str, Any]:
    """Every stored column of the node, ciphertexts included."""
    with session_scope() as db:
        node = db.exec(select(ProxmoxNode).where(ProxmoxNode.id == node_id)).one()
        return node.model_dump()


def _set_limit(monkeypatch: pytest.MonkeyPatch, name: str, value: int) -> None:
    monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()


def _recorder_input(tls: TlsRecorder, name: str = "evil", **changes: Any) -> NodeInput:
    data = NodeInput(
        name=name,
        host="127.0.0.1",
        port=tls.port,
        token_id="root@pam!probe",
        token_secret="guessed-token",
        tls_fingerprint=tls.fingerprint,
    )
    return dataclasses.replace(data, **changes)


# -- path 6 ----------------------------------------------------------------------------------


async def test_an_edit_never_sends_the_stored_secrets_to_a_new_address(
    simulator: SimulatorInfo, evil_tls: TlsRecorder, evil_ssh: SshRecorder
) -> None:
    node = await add_node(USER_A, sim_input(simulator, ssh=True))
    before = _row(node.id)
    # The attacker, in the owner's session, points the node at their servers and confirms
    # their fingerprints, leaving the secret fields blank.
    moved = sim_input(
        simulator,
        port=evil_tls.port,
        tls_fingerprint=evil_tls.fingerprint,
        token_secret=None,
        ssh_port=evil_ssh.port,
        ssh_host_key=evil_ssh.host_key,
        ssh_secret=None,
    )
    for attempt in (
        lambda: update_node(USER_A, node.id, moved),
        lambda: check_node(USER_A, moved, node.id),
    ):
        result = await attempt()
        assert simulator.token_secret.encode() not in evil_tls.everything, "token secret sent"
        assert ("root", simulator.root_password) not in evil_ssh.passwords, "password sent"
        assert evil_tls.connections == 0 and evil_ssh.passwords == []
        assert isinstance(result, CheckResult) and not result.ok
        assert result.field_errors == {
            "token_secret": "Enter the token secret again: the address changed",
            "ssh_secret": "Enter the SSH password again: the SSH port changed",
        }
        assert (result.tls_fingerprint, result.ssh_host_key) == ("", "")
    assert _row(node.id) == before
    assert [e for e in audit.recent() if e.action == "node.update"] == []

    # With secrets typed, the test does reach the new address (the recorders work): only
    # what was typed arrives there, never the stored secrets, and nothing is saved.
    typed = dataclasses.replace(moved, token_secret="typed-token", ssh_secret="typed-password")
    result = await update_node(USER_A, node.id, typed)
    assert isinstance(result, CheckResult) and not result.ok
    assert b"typed-token" in evil_tls.everything
    assert ("root", "typed-password") in evil_ssh.passwords
    assert simulator.token_secret.encode() not in evil_tls.everything
    assert all(simulator.root_password not in password for _, password in evil_ssh.passwords)
    assert _row(node.id) == before


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"host": "LOCALHOST"}, {"token_secret": "address", "ssh_secret": "address"}),
        ({"token_id": "root@pam!other"}, {"token_secret": "token ID"}),
        ({"port": 1}, {"token_secret": "address"}),
        ({"ssh_user": "admin"}, {"ssh_secret": "SSH user"}),
        ({"ssh_port": 2}, {"ssh_secret": "SSH port"}),
        ({"port": 1, "token_id": "root@pam!other"}, {"token_secret": "address and token ID"}),
        ({"ssh_port": 2, "clear_ssh": True}, {}),  # dropping SSH sends nothing
        ({"ssh_port": 2, "ssh_secret": "typed"}, {}),  # typed again: fine (tested live)
    ],
)
async def test_moving_a_stored_secret_needs_it_typed_again(
    simulator: SimulatorInfo, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    node = await add_node(USER_A, sim_input(simulator, ssh=True))
    before = _row(node.id)
    kept = {"token_secret": None, "ssh_port": simulator.ssh_port, "ssh_secret": None}
    edit = sim_input(simulator, **{**kept, **changes})
    result = await check_node(USER_A, edit, node.id)
    expected = {
        "token_secret": "Enter the token secret again: the {} changed",
        "ssh_secret": "Enter the SSH password again: the {} changed",
    }
    moved = {field: expected[field].format(what) for field, what in errors.items()}
    assert {k: v for k, v in result.field_errors.items() if k in expected} == moved
    assert _row(node.id) == before


# -- path 9: how many tests, and what they tell --------------------------------------------


async def test_connection_tests_are_counted_per_user_before_any_contact(
    evil_tls: TlsRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_limit(monkeypatch, "LXCM_NODE_CHECKS_PER_MINUTE", 3)
    for _ in range(3):
        result = await check_node(USER_A, _recorder_input(evil_tls))
        assert result.field_errors == {"token_secret": "The token was refused"}
    contacted = evil_tls.connections
    per_test = contacted // 3  # the handshake alone, then the request
    assert per_test >= 1 and contacted == 3 * per_test

    refused = await create_node(USER_A, _recorder_input(evil_tls))
    assert isinstance(refused, CheckResult) and not refused.ok and refused.field_errors == {}
    match = re.fullmatch(
        r"Too many connection tests \(at most 3 a minute\): wait (\d+) seconds? and try again",
        refused.error,
    )
    assert match and 1 <= int(match.group(1)) <= 60, refused.error
    assert evil_tls.connections == contacted  # nothing was contacted
    assert await list_nodes(USER_A) == []
    # a refused test writes no audit row (path 9: no flooding)
    assert [e for e in audit.recent() if e.action == "node.create"] == []

    # another user has their own count
    other = await check_node(USER_B, _recorder_input(evil_tls))
    assert other.field_errors == {"token_secret": "The token was refused"}

    # 20 tests at once: exactly 3 reach the server (counted atomically before contact)
    before = evil_tls.connections
    results = await asyncio.gather(
        *(check_node(USER_C, _recorder_input(evil_tls)) for _ in range(20))
    )
    went = [r for r in results if r.field_errors]
    assert len(went) == 3
    assert all(r.error.startswith("Too many connection tests") for r in results if r not in went)
    assert evil_tls.connections - before == 3 * per_test


async def test_typed_ssh_credentials_get_one_answer_for_wrong_password_and_failing_pct(
    simulator: SimulatorInfo, evil_ssh: SshRecorder
) -> None:
    base = sim_input(
        simulator, ssh_port=evil_ssh.port, ssh_host_key=evil_ssh.host_key, ssh_user="root"
    )
    wrong = await check_node(USER_A, dataclasses.replace(base, ssh_secret="wrong-password"))
    right = await check_node(USER_A, dataclasses.replace(base, ssh_secret=evil_ssh.password))
    assert evil_ssh.commands == ["pct list"]  # the right password signed in, pct failed
    assert wrong.field_errors == right.field_errors == {"ssh_secret": MSG_SSH_GENERIC}
    assert (wrong.error, right.error) == ("", "")

    # The owner re-testing their own saved node with its stored (verified) secret gets
    # the precise answer.
    evil_ssh.pct_exit = 0
    saved = await create_node(USER_A, dataclasses.replace(base, ssh_secret=evil_ssh.password))
    assert isinstance(saved, NodeView), saved
    keep = dataclasses.replace(base, ssh_secret=None, token_secret=None)
    evil_ssh.pct_exit = 127
    failing = await check_node(USER_A, keep, saved.id)
    assert set(failing.field_errors) == {"ssh_user"}
    assert "`pct list` failed on the host (exit status 127)" in failing.field_errors["ssh_user"]
    evil_ssh.password = "changed-on-the-host"
    refused = await check_node(USER_A, keep, saved.id)
    assert refused.field_errors == {"ssh_secret": "SSH sign-in failed"}


# -- path 10: nodes per user ------------------------------------------------------------------


async def test_a_user_has_at_most_the_configured_number_of_nodes(
    simulator: SimulatorInfo, evil_tls: TlsRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_limit(monkeypatch, "LXCM_MAX_NODES_PER_USER", 2)
    first = await add_node(USER_A, sim_input(simulator, "one"))
    await add_node(USER_A, sim_input(simulator, "two"))
    third = await create_node(USER_A, _recorder_input(evil_tls, "three"))
    assert third == CheckResult(
        ok=False,
        error="You have 2 nodes, the most one user may add (LXCM_MAX_NODES_PER_USER): "
        "delete one before adding another",
    )
    assert evil_tls.connections == 0  # refused before any contact
    assert [n.name for n in await list_nodes(USER_A)] == ["one", "two"]
    # editing an existing node is still possible, and other users are not affected
    renamed = await update_node(USER_A, first.id, sim_input(simulator, "uno", token_secret=None))
    assert isinstance(renamed, NodeView) and renamed.name == "uno"
    assert isinstance(await create_node(USER_B, sim_input(simulator, "b")), NodeView)
