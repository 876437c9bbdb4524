"""Typed SSH errors.

Every error carries a short, generic `user_message` that is safe to show in the browser and a
`str()` with the details for the log. Neither ever contains a password, a private key or a
passphrase: the messages are written here from the target's host, port and user name only.
"""

from __future__ import annotations


class SshError(Exception):
    """Base class of everything the SSH layer raises (apart from ValueError for bad input)."""

    user_message = "The SSH connection to the Proxmox host failed."

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SshUnreachable(SshError):
    """The host could not be reached or the connection broke before the command started."""

    user_message = "The Proxmox host could not be reached over SSH."


class SshAuthFailed(SshError):
    """The host refused the credentials (or the private key could not be loaded)."""

    user_message = "SSH authentication to the Proxmox host failed."


class HostKeyMismatch(SshError):
    """The host presented another key than the pinned one; nothing was sent to it."""

    user_message = "The SSH host key of the Proxmox host has changed; the connection was refused."

    def __init__(self, expected: str, actual: str, where: str = "") -> None:
        place = f" at {where}" if where else ""
        super().__init__(
            f"SSH host key mismatch{place}: pinned {expected}, server presented {actual}"
        )
        self.expected = expected
        self.actual = actual


class HostKeyNotPinned(SshError):
    """No fingerprint is pinned for the target: confirm `actual` (see `fetch_host_key`) first."""

    user_message = "The SSH host key of the Proxmox host has not been confirmed yet."

    def __init__(self, actual: str, where: str = "") -> None:
        place = f" at {where}" if where else ""
        super().__init__(
            f"no SSH host key pinned{place}; the server presented {actual} (not trusted)"
        )
        self.actual = actual


class SshTimeout(SshError):
    """A command (or a file transfer) did not finish in time; its channel was closed."""

    user_message = "The command on the Proxmox host timed out."


class SshOutputTooLarge(SshError):
    """A command printed more than the collected-output cap (LXCM_MAX_SSH_OUTPUT_BYTES,
    stdout and stderr together): reading stopped there and the channel was closed, which
    stops the command. Its output is dropped."""

    def __init__(self, detail: str, limit: int) -> None:
        super().__init__(detail)
        self.limit = limit
        self.user_message = (
            f"The command's output was larger than {size_text(limit)}; it was stopped."
        )


def size_text(size: int) -> str:
    """`4 MiB`, `64 KiB` or `1000 bytes`: a limit as a person reads it."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class SshConnectionLost(SshError):
    """The connection broke while a command was running; its outcome is unknown."""

    user_message = "The SSH connection to the Proxmox host was lost during the command."


class FilePushFailed(SshError):
    """`pct push` refused the file (the container is stopped, the directory is missing, ...)."""

    user_message = "The file could not be copied into the container."

    def __init__(self, detail: str, exit_status: int, stderr: str) -> None:
        super().__init__(detail)
        self.exit_status = exit_status
        self.stderr = stderr
