"""The SSH layer: the only way the app reaches a Proxmox host over SSH (DESIGN §2, §3.5, §5).

    fingerprint = await fetch_host_key("pve1.example", 22)      # show it, let the user confirm
    target = SshTarget("pve1.example", password=..., host_key_fingerprint=fingerprint)
    async with SshPool(max_sessions_per_host=4) as pool:
        result = await pool.pct_exec(target, 101, ["systemctl", "is-active", "nginx"])
        async with pool.pct_exec_stream(target, 101, ["apt-get", "update"]) as stream:
            async for line in stream:
                ...                      # OutputLine(stream="stdout" | "stderr", text=...)
        status = stream.exit_status     # lines longer than 64 KiB arrive cut, with a mark
        await pool.push_file(target, 101, "/etc/motd", b"hello\\n", mode=0o644)

Commands are argv lists quoted with `shlex.join`; the host key is checked during the key
exchange, before any credential is sent. Collected output (`run`, `pct_exec`) is capped
(LXCM_MAX_SSH_OUTPUT_BYTES, `SshOutputTooLarge`); streamed output is capped per line.
"""

from .commands import VMID_MAX, VMID_MIN, command_line, pct_exec_argv, validate_vmid
from .connect import fetch_host_key
from .errors import (
    FilePushFailed,
    HostKeyMismatch,
    HostKeyNotPinned,
    SshAuthFailed,
    SshConnectionLost,
    SshError,
    SshOutputTooLarge,
    SshTimeout,
    SshUnreachable,
)
from .pool import LocalSessionLimiter, SessionLimiter, SshPool
from .results import ExecResult, ExecStream, OutputLine
from .retry import RetryPolicy
from .target import SshTarget, normalize_fingerprint

__all__ = [
    "VMID_MAX",
    "VMID_MIN",
    "ExecResult",
    "ExecStream",
    "FilePushFailed",
    "HostKeyMismatch",
    "HostKeyNotPinned",
    "LocalSessionLimiter",
    "OutputLine",
    "RetryPolicy",
    "SessionLimiter",
    "SshAuthFailed",
    "SshConnectionLost",
    "SshError",
    "SshOutputTooLarge",
    "SshPool",
    "SshTarget",
    "SshTimeout",
    "SshUnreachable",
    "command_line",
    "fetch_host_key",
    "normalize_fingerprint",
    "pct_exec_argv",
    "validate_vmid",
]
