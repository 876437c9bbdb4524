"""The isolated network of one test run: a network namespace with a bridge, and a proxy
that is the containers' only way out, to the package registries.

Containers never share the host's network namespace: `lxc-start` runs inside the run's
namespace (`ip netns exec`), so every container's veth is plugged into the bridge there,
and nothing a template does to its own network (sysctl, firewall) reaches the host. The
namespace has no route out. Instead of NAT, an allow-listing HTTP proxy listens on the
bridge's address: its listening socket is made inside the namespace (`setns` on one
thread), its outgoing connections leave from the host's namespace, and it forwards only to
the package registries (apt, pip, npm). Containers are told about it through apt's
`Acquire::http(s)::Proxy` and `http(s)_proxy` in `/etc/environment`.

Every name carries the run id (`lxcm-<run>`), so a crashed run's leftovers are found and
removed by `cleanup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import logging
import os
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PREFIX = "lxcm-"
BRIDGE = "lxcmbr0"
SUBNET = ipaddress.IPv4Network("10.213.0.0/24")
GATEWAY = ipaddress.IPv4Address("10.213.0.1")
PROXY_PORT = 3128
CLONE_NEWNET = 0x40000000

# Where containers may go: the package registries of these machines, nothing else.
REGISTRY_HOSTS = frozenset(
    {
        "deb.debian.org",
        "security.debian.org",
        "pypi.org",
        "files.pythonhosted.org",
        "registry.npmjs.org",
    }
)


class NetworkError(RuntimeError):
    """The run's network could not be set up (the message names the step)."""


def netns_name(run_id: str) -> str:
    return f"{PREFIX}{run_id}"


def _ip(*args: str, netns: str | None = None) -> None:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NetworkError(f"{' '.join(argv)}: {done.stderr.strip()}")


def _listen_in_netns(netns: str, address: str, port: int) -> socket.socket:
    """A listening TCP socket inside `netns`, made on a thread that entered it (the rest
    of the process stays in the host's namespace)."""
    result: list[socket.socket | BaseException] = []

    def make() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({netns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(128)
            sock.setblocking(False)
            result.append(sock)
        except BaseException as exc:  # handed to the caller below
            result.append(exc)

    thread = threading.Thread(target=make, name=f"netns-{netns}")
    thread.start()
    thread.join()
    made = result[0]
    if isinstance(made, BaseException):
        raise NetworkError(f"proxy socket in {netns}: {made}") from made
    return made


@dataclass
class RunNetwork:
    """One run's namespace, bridge and registry proxy."""

    run_id: str
    allowed_hosts: frozenset[str] = REGISTRY_HOSTS
    _server: asyncio.Server | None = field(default=None, repr=False)
    _next_host: int = field(default=10, repr=False)
    refused: list[str] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return netns_name(self.run_id)

    @property
    def proxy_url(self) -> str:
        return f"http://{GATEWAY}:{PROXY_PORT}"

    def allocate_address(self) -> ipaddress.IPv4Address:
        """The next free container address (10.213.0.10 upward)."""
        if self._next_host >= SUBNET.num_addresses - 1:
            raise NetworkError("the run's subnet is full")
        address = SUBNET.network_address + self._next_host
        self._next_host += 1
        return address

    async def start(self) -> None:
        await asyncio.to_thread(self._create_namespace)
        sock = await asyncio.to_thread(_listen_in_netns, self.netns, str(GATEWAY), PROXY_PORT)
        self._server = await asyncio.start_server(self._serve, sock=sock)

    def _create_namespace(self) -> None:
        _ip("netns", "add", self.netns)
        try:
            _ip("link", "set", "lo", "up", netns=self.netns)
            _ip("link", "add", BRIDGE, "type", "bridge", netns=self.netns)
            _ip("addr", "add", f"{GATEWAY}/{SUBNET.prefixlen}", "dev", BRIDGE, netns=self.netns)
            _ip("link", "set", BRIDGE, "up", netns=self.netns)
        except NetworkError:
            remove_namespace(self.netns)
            raise

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        await asyncio.to_thread(remove_namespace, self.netns)

    # The proxy: CONNECT host:443 for https, absolute-URI requests for plain http (apt).

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _version = request_line.split(" ", 2)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                await self._tunnel(host, int(port), b"", reader, writer)
            else:
                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    await _answer(writer, 400, "absolute http URL expected")
                    return
                path = parts.path or "/"
                if parts.query:
                    path += f"?{parts.query}"
                rest = head.split(b"\r\n", 1)[1]
                first = f"{method} {path} HTTP/1.1\r\n".encode("latin-1")
                await self._tunnel(parts.hostname, parts.port or 80, first + rest, reader, writer)
        except (TimeoutError, asyncio.IncompleteReadError, ValueError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _tunnel(
        self,
        host: str,
        port: int,
        first: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        if host.lower() not in self.allowed_hosts or port not in (80, 443):
            self.refused.append(f"{host}:{port}")
            log.info("registry proxy refused %s:%s", host, port)
            await _answer(writer, 403, f"{host} is not a package registry")
            return
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
        try:
            if first:
                up_writer.write(first)
            else:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if sink.can_write_eof():
                sink.write_eof()


async def _answer(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = f"{text}\n".encode()
    writer.write(
        f"HTTP/1.1 {status} {text}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(Exception):
        await writer.drain()


def remove_namespace(name: str) -> None:
    """Delete a namespace (its bridge and veths go with it); quiet when already gone."""
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def leftover_namespaces() -> list[str]:
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    names = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    return [name for name in names if name.startswith(PREFIX)]
