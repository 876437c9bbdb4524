"""Opening one authenticated asyncssh connection with a pinned host key.

The host key is checked by asyncssh's own `validate_host_public_key` hook during the key
exchange, i.e. before the user-auth phase: a server with another key never receives the
password, and never sees a signature made with the private key. Nothing is read from
`~/.ssh` (no config file, no known_hosts, no agent, no default identities): the target is the
only source of truth.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncssh

from .errors import HostKeyMismatch, HostKeyNotPinned, SshAuthFailed, SshError, SshUnreachable
from .target import SshTarget, fingerprints_equal, format_address

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 10.0
KEEPALIVE_INTERVAL = 15.0
KEEPALIVE_COUNT_MAX = 3


def key_fingerprint(key: asyncssh.SSHKey) -> str:
    """`SHA256:...` exactly as `ssh-keygen -lf` prints it."""
    return str(key.get_fingerprint("sha256"))


def _no_known_hosts(
    _host: str, _addr: str, _port: int | None
) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[asyncssh.SSHKey]]:
    """No trusted keys from any file: every host key goes through validate_host_public_key."""
    return [], [], []


class PinningClient(asyncssh.SSHClient):
    """Accepts the server's host key only if its fingerprint is the pinned one."""

    def __init__(self, expected: str | None) -> None:
        self.expected = expected
        self.presented: str | None = None
        self.lost = False

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.presented = key_fingerprint(key)
        return self.expected is not None and fingerprints_equal(self.expected, self.presented)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


@dataclass
class Connection:
    """One open, authenticated connection and the client object that watches it."""

    conn: asyncssh.SSHClientConnection
    client: PinningClient

    @property
    def usable(self) -> bool:
        return not self.client.lost and not self.conn.is_closed()

    def close(self) -> None:
        self.conn.close()


def _client_keys(target: SshTarget) -> list[asyncssh.SSHKey] | None:
    if target.private_key is None:
        return None
    try:
        return [asyncssh.import_private_key(target.private_key, target.passphrase)]
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError, TypeError) as exc:
        reason = _safe_key_error(str(exc), target)
        # `from None`: keep the library's exception (and its locals) out of tracebacks.
        raise SshAuthFailed(
            f"the private key for {target.username}@{target.address} could not be loaded ({reason})"
        ) from None


def _safe_key_error(message: str, target: SshTarget) -> str:
    """asyncssh's key errors are fixed texts ("Incorrect passphrase", ...); anything that
    could echo the key or the passphrase is replaced by a generic reason."""
    secrets = [target.passphrase or "", *(target.private_key or "").split()]
    if len(message) > 120 or any(len(part) >= 6 and part in message for part in secrets):
        return "wrong passphrase or unsupported format"
    return message or "wrong passphrase or unsupported format"


def map_connect_error(exc: BaseException, target: SshTarget, client: PinningClient) -> SshError:
    """Turn what asyncssh / the socket layer raised while connecting into a typed error."""
    where = target.address
    if isinstance(exc, asyncssh.HostKeyNotVerifiable) and client.presented is not None:
        if client.expected is None:
            return HostKeyNotPinned(client.presented, where)
        return HostKeyMismatch(client.expected, client.presented, where)
    if isinstance(exc, asyncssh.PermissionDenied):
        return SshAuthFailed(f"{target.username}@{where}: authentication refused")
    if isinstance(exc, TimeoutError):
        return SshUnreachable(f"{where}: connection timed out")
    if isinstance(exc, OSError):
        return SshUnreachable(f"{where}: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, asyncssh.Error):
        return SshUnreachable(f"{where}: {type(exc).__name__}: {exc.reason}")
    return SshUnreachable(f"{where}: {type(exc).__name__}")


async def open_connection(
    target: SshTarget, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> Connection:
    """One authenticated connection (a single attempt; the pool does the retrying)."""
    client_keys = _client_keys(target)
    client = PinningClient(target.host_key_fingerprint)
    try:
        async with asyncio.timeout(connect_timeout):
            conn, _ = await asyncssh.create_connection(
                lambda: client,
                target.host,
                target.port,
                username=target.username,
                password=target.password,
                client_keys=client_keys,
                known_hosts=_no_known_hosts,
                config=[],
                agent_path=None,
                pkcs11_provider=None,
                x509_trusted_certs=None,
                gss_auth=False,
                gss_kex=False,
                host_based_auth=False,
                keepalive_interval=KEEPALIVE_INTERVAL,
                keepalive_count_max=KEEPALIVE_COUNT_MAX,
            )
    except (OSError, asyncssh.Error) as exc:
        error = map_connect_error(exc, target, client)
        log.warning("SSH connect to %s failed: %s", target.address, error)
        raise error from exc
    log.debug("SSH connected to %s as %s", target.address, target.username)
    return Connection(conn, client)


async def fetch_host_key(
    host: str,
    port: int = 22,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,  # noqa: ASYNC109 (part of the documented API)
) -> str:
    """The server's host key fingerprint `SHA256:...`, read from the key exchange without
    authenticating (nothing but the protocol handshake is sent). Show it to the user and pin
    it in `SshTarget.host_key_fingerprint` once confirmed."""
    where = format_address(host, port)
    try:
        async with asyncio.timeout(timeout):
            key = await asyncssh.get_server_host_key(host, port, config=[])
    except TimeoutError:
        raise SshUnreachable(f"{where}: timed out reading the host key") from None
    except OSError as exc:
        raise SshUnreachable(f"{where}: {exc.strerror or type(exc).__name__}") from exc
    except asyncssh.Error as exc:
        raise SshUnreachable(f"{where}: {type(exc).__name__}: {exc.reason}") from exc
    if key is None:
        raise SshError(f"{where}: the server presented no host key")
    return key_fingerprint(key)
