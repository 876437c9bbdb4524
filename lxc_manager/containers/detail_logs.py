"""The journal of one systemd unit in a container: the last lines, or followed live.

`journalctl` runs through `pct exec` on the container's node; failures raise
`DetailUnavailable` with a message for the user.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from lxc_manager.ssh import SshError, SshPool

from .detail_access import (
    COMMAND_TIMEOUT,
    MSG_SSH_FAILED,
    DetailUnavailable,
    _check,
    _check_unit,
    _node_target,
    _pool_scope,
)

MAX_LOG_LINES = 5000

MSG_LOG_FAILED = "Could not read the log in the container"


def _journal_argv(unit: str, lines: int, follow: bool) -> list[str]:
    argv = ["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "--output=short-iso"]
    return [*argv, "-f"] if follow else argv


def _clamp_lines(lines: int) -> int:
    if isinstance(lines, bool) or not isinstance(lines, int):
        raise ValueError("The number of lines must be a number")
    return max(0, min(MAX_LOG_LINES, lines))


def _log_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() != "-- No entries --"]


async def tail_log(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    unit: str,
    lines: int = 100,
    *,
    pool: SshPool | None = None,
) -> list[str]:
    """The last `lines` journal lines of a unit (`journalctl -u UNIT -n N`), oldest first.
    Raises DetailUnavailable (no SSH, container stopped, command failed)."""
    _check(pve_node, vmid)
    _check_unit(unit)
    count = _clamp_lines(lines)
    target = await _node_target(user_id, node_id, pve_node)
    try:
        async with _pool_scope(pool) as ssh:
            result = await ssh.pct_exec(
                target, vmid, _journal_argv(unit, count, False), timeout=COMMAND_TIMEOUT
            )
    except SshError as exc:
        raise DetailUnavailable(MSG_SSH_FAILED, str(exc)) from exc
    if not result.ok:
        raise DetailUnavailable(MSG_LOG_FAILED, result.stderr.strip()[:300])
    return _log_lines(result.stdout)


def follow_log(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    unit: str,
    *,
    lines: int = 0,
    pool: SshPool | None = None,
) -> AsyncGenerator[str, None]:
    """New journal lines of a unit as they come (`journalctl -f`), after the last `lines`
    old ones. Input is checked here (ValueError); the node is resolved on the first
    iteration (NodeNotFound, DetailUnavailable). `aclose()` or cancelling the consuming
    task closes the SSH channel, which stops the remote command."""
    _check(pve_node, vmid)
    _check_unit(unit)
    count = _clamp_lines(lines)
    return _follow(user_id, node_id, pve_node, vmid, _journal_argv(unit, count, True), pool)


async def _follow(
    user_id: str, node_id: int, pve_node: str, vmid: int, argv: list[str], pool: SshPool | None
) -> AsyncGenerator[str, None]:
    target = await _node_target(user_id, node_id, pve_node)
    errors: list[str] = []
    try:
        async with _pool_scope(pool) as ssh, ssh.pct_exec_stream(target, vmid, argv) as stream:
            async for line in stream:
                if line.stream == "stdout":
                    if line.text.strip() != "-- No entries --":
                        yield line.text
                elif len(errors) < 5:
                    errors.append(line.text)
    except SshError as exc:
        raise DetailUnavailable(MSG_SSH_FAILED, str(exc)) from exc
    if stream.exit_status not in (0, None):
        raise DetailUnavailable(MSG_LOG_FAILED, " ".join(errors)[:300])
