"""The async Proxmox VE REST client: one instance per endpoint (host:port).

    async with ProxmoxClient(host, 8006, tls=TlsPolicy(fingerprint=pin),
                             auth=TokenAuth("root@pam!lxcm", secret)) as pve:
        resources = await pve.cluster_resources(type="vm")
        upid = await pve.post(f"/nodes/{node}/lxc/{vmid}/status/start")
        await pve.wait_for_task(node, upid, timeout=60)

Outbound traffic goes only to https://HOST:PORT/api2/json, through a pooled transport
that checks every TLS connection against the `TlsPolicy` before sending a byte. Redirects
are never followed and environment proxies are ignored. GETs are retried on connection
errors (never on HTTP errors); POST/PUT/DELETE are sent once. Proxmox errors become the
typed exceptions of `errors.py`, with known secrets scrubbed from every text. Answers are
read as a stream and refused (`AnswerTooLarge`) once they pass `max_response_bytes`.

Decoding answers into models is in `answers`, keeping secrets out of texts in `redaction`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from lxc_manager.settings import get_settings

from .answers import _items, _json_or_none, _login_result, _parse, _parse_list, _truthy
from .auth import Auth
from .errors import (
    AnswerTooLarge,
    AuthenticationError,
    ProxmoxError,
    TwoFactorRequired,
    Unreachable,
    error_from_response,
    node_of_path,
)
from .models import (
    ClusterResource,
    ClusterStatus,
    LoginResult,
    LxcConfig,
    LxcInterface,
    LxcStatus,
    NodeInfo,
    NodeNetwork,
    Permissions,
    Storage,
    StorageContent,
    TaskStatus,
    TermProxy,
    Version,
)
from .redaction import _scrub, _scrub_error, _secret_variants, _sensitive_values
from .tasks import wait_for_task
from .tls import TlsPolicy, describe_exception, strip_brackets
from .transport import PinnedTransport
from .websocket import WebSocket

__all__ = ["ProxmoxClient", "Timeouts"]

log = logging.getLogger(__name__)

Params = Mapping[str, Any]

# Transport failures after which a GET is safely retried: the request never reached the
# server, or the connection broke before an answer (a stale keep-alive connection).
# Read timeouts are not among them: the server may still be working on it.
_RETRYABLE = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True)
class Timeouts:
    """Seconds. `connect` covers TCP connect and TLS handshake; `read` each read of an answer."""

    connect: float = 3.0
    read: float = 10.0
    write: float = 10.0
    pool: float = 3.0

    def as_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class ProxmoxClient:
    """Async client for one Proxmox endpoint. Use it as an async context manager."""

    def __init__(
        self,
        host: str,
        port: int = 8006,
        *,
        tls: TlsPolicy,
        auth: Auth | None = None,
        timeouts: Timeouts | None = None,
        retries: int = 2,
        retry_backoff: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        """`transport` replaces the pinned transport (tests only: e.g. httpx.MockTransport).
        `max_response_bytes` defaults to LXCM_MAX_PROXMOX_RESPONSE_BYTES."""
        if not 0 < port < 65536:
            raise ValueError("port must be 1..65535")
        self.host = strip_brackets(host.strip())
        if not self.host:
            raise ValueError("host must not be empty")
        self.port = port
        self.tls = tls
        self.timeouts = timeouts or Timeouts()
        self.retries = max(0, retries)
        self.retry_backoff = retry_backoff
        self.max_response_bytes = (
            max_response_bytes
            if max_response_bytes is not None
            else get_settings().max_proxmox_response_bytes
        )
        self._auth = auth
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport if transport is not None else PinnedTransport(tls),
            timeout=self.timeouts.as_httpx(),
            follow_redirects=False,
            trust_env=False,
            headers={"Accept": "application/json", "User-Agent": "lxc-manager"},
        )

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}/api2/json"

    @property
    def auth(self) -> Auth | None:
        return self._auth

    @auth.setter
    def auth(self, value: Auth | None) -> None:
        """Switch credentials, e.g. to `TicketAuth.from_login(await pve.login(...))`."""
        self._auth = value

    def __repr__(self) -> str:
        kind = type(self._auth).__name__ if self._auth else "anonymous"
        return f"<ProxmoxClient {self.base_url} auth={kind}>"

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self._http.__aexit__(exc_type, exc_value, traceback)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- raw API ----------------------------------------------------------------------------

    async def get(self, path: str, params: Params | None = None) -> Any:
        """GET `path` (relative to /api2/json); returns the answer's `data`."""
        return await self.request("GET", path, params=params)

    async def post(self, path: str, data: Params | None = None) -> Any:
        return await self.request("POST", path, data=data)

    async def put(self, path: str, data: Params | None = None) -> Any:
        return await self.request("PUT", path, data=data)

    async def delete(self, path: str, params: Params | None = None) -> Any:
        return await self.request("DELETE", path, params=params)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        data: Params | None = None,
        auth: Auth | None = None,
        anonymous: bool = False,
    ) -> Any:
        """One API call; returns `data` of the answer or raises a `ProxmoxError`.

        `auth` overrides the client's credentials for this call; `anonymous` sends none.
        """
        method = method.upper()
        path = "/" + path.lstrip("/")
        use_auth = None if anonymous else (auth or self._auth)
        secrets = _secret_variants(use_auth, self._auth, _sensitive_values(params, data))
        headers = use_auth.headers(method) if use_auth else {}
        attempts = 1 + (self.retries if method == "GET" else 0)
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                response, body = await self._exchange(
                    self._http.build_request(
                        method, path, params=_encode(params), data=_encode(data), headers=headers
                    )
                )
            except ProxmoxError:
                raise  # a refused certificate: never retried
            except httpx.TransportError as exc:
                retry = attempt < attempts and isinstance(exc, _RETRYABLE)
                log.info(
                    "proxmox %s %s %s: %s%s",
                    self._where(),
                    method,
                    path,
                    type(exc).__name__,
                    f" (retry {attempt}/{attempts - 1})" if retry else "",
                )
                if not retry:
                    detail = _scrub(describe_exception(exc), secrets)
                    raise self._unreachable(path, exc, detail) from None
                await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
                continue
            log.debug(
                "proxmox %s %s %s -> %s in %.0f ms",
                self._where(),
                method,
                path,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            return self._data_of(response, body, path, secrets)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send the request and read the answer, at most `max_response_bytes` of it
        (after decompression): past that the connection is dropped, nothing kept."""
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                raise self._too_large(request)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise self._too_large(request)
                chunks.append(chunk)
            return response, b"".join(chunks)
        finally:
            await response.aclose()

    def _too_large(self, request: httpx.Request) -> AnswerTooLarge:
        path = request.url.path.removeprefix("/api2/json")
        log.warning(
            "proxmox %s %s %s: the answer is larger than %s bytes; refused",
            self._where(),
            request.method,
            path,
            self.max_response_bytes,
        )
        return AnswerTooLarge(self.host, self.port, path, self.max_response_bytes)

    def _unreachable(self, path: str, exc: httpx.TransportError, detail: str) -> Unreachable:
        """A read timeout on a call pveproxy forwards to a cluster member means the member is
        slow or gone: pveproxy itself waits up to 30 s for it (pve-http-server AnyEvent.pm
        proxy_request) before it answers 595/596, longer than our read timeout. The endpoint
        took the connection and the request, so name the PVE node, not the endpoint."""
        node = node_of_path(path)
        if node and isinstance(exc, httpx.ReadTimeout):
            waited = f"no answer within {self.timeouts.read:g} s"
            return Unreachable(self.host, self.port, waited, node=node)
        return Unreachable(self.host, self.port, detail)

    def _where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def _data_of(
        self, response: httpx.Response, content: bytes, path: str, secrets: list[str]
    ) -> Any:
        body = _json_or_none(content)
        status = response.status_code
        if 200 <= status < 300:
            if not isinstance(body, dict) or "data" not in body:
                raise ProxmoxError(f"unexpected answer to {path} (HTTP {status})", status=status)
            return body["data"]
        if 300 <= status < 400:
            raise ProxmoxError(f"unexpected redirect from {path} (HTTP {status})", status=status)
        error = error_from_response(
            status, body, response.reason_phrase, host=self.host, port=self.port, path=path
        )
        _scrub_error(error, secrets)
        log.info("proxmox %s %s -> %s: %s", self._where(), path, status, error.detail)
        raise error

    # -- sign-in ------------------------------------------------------------------------------

    async def login(self, username: str, password: str, realm: str | None = None) -> LoginResult:
        """POST /access/ticket with a password.

        Returns the ticket, or raises `TwoFactorRequired` (answer with `NeedTFA`), or
        `AuthenticationError` for wrong credentials. Does not change this client's `auth`.
        """
        userid = f"{username}@{realm}" if realm and "@" not in username else username
        data = await self._ticket_request({"username": userid, "password": password})
        if _truthy(data.get("NeedTFA")):
            raise TwoFactorRequired(str(data.get("ticket", "")), str(data.get("username", userid)))
        return _login_result(data)

    async def complete_two_factor(
        self, username: str, pending_ticket: str, code: str
    ) -> LoginResult:
        """Answer a two-factor challenge (Proxmox 7.2+): `code` is `totp:123456` or
        `recovery:KEY` (six bare digits are taken as TOTP)."""
        if code.strip().isdigit():
            code = "totp:" + code.strip()
        body = {"username": username, "tfa-challenge": pending_ticket, "password": code}
        data = await self._ticket_request(body)
        if _truthy(data.get("NeedTFA")):
            raise AuthenticationError("the second factor was not accepted")
        return _login_result(data)

    async def _ticket_request(self, body: dict[str, str]) -> dict[str, Any]:
        data = await self.request("POST", "/access/ticket", data=body, anonymous=True)
        if not isinstance(data, dict) or not data.get("ticket"):
            raise AuthenticationError("no ticket in the answer", status=200)
        return data

    # -- typed calls ----------------------------------------------------------------------------

    async def version(self) -> Version:
        return _parse(Version, await self.get("/version"), "/version")

    async def permissions(self, path: str | None = None) -> Permissions:
        data = await self.get("/access/permissions", {"path": path})
        if not isinstance(data, dict):
            raise ProxmoxError("unexpected answer to /access/permissions")
        return Permissions.from_api({str(k): v for k, v in data.items() if isinstance(v, dict)})

    async def cluster_status(self) -> ClusterStatus:
        data = await self.get("/cluster/status")
        return ClusterStatus.from_api(_items(data, "/cluster/status"))

    async def cluster_resources(self, type: str | None = None) -> list[ClusterResource]:
        data = await self.get("/cluster/resources", {"type": type})
        return _parse_list(ClusterResource, data, "/cluster/resources")

    async def next_id(self, vmid: int | None = None) -> int:
        """GET /cluster/nextid; with `vmid`, checks that id is free (ParameterError if not)."""
        data = await self.get("/cluster/nextid", {"vmid": vmid})
        try:
            return int(data)
        except (TypeError, ValueError):
            raise ProxmoxError("unexpected answer to /cluster/nextid") from None

    async def nodes(self) -> list[NodeInfo]:
        return _parse_list(NodeInfo, await self.get("/nodes"), "/nodes")

    async def node_network(self, node: str, type: str | None = None) -> list[NodeNetwork]:
        path = f"/nodes/{_seg(node)}/network"
        return _parse_list(NodeNetwork, await self.get(path, {"type": type}), path)

    async def storages(self, node: str, content: str | None = None) -> list[Storage]:
        path = f"/nodes/{_seg(node)}/storage"
        return _parse_list(Storage, await self.get(path, {"content": content}), path)

    async def storage_content(
        self, node: str, storage: str, content: str | None = None
    ) -> list[StorageContent]:
        path = f"/nodes/{_seg(node)}/storage/{_seg(storage)}/content"
        return _parse_list(StorageContent, await self.get(path, {"content": content}), path)

    async def lxc_list(self, node: str) -> list[LxcStatus]:
        path = f"/nodes/{_seg(node)}/lxc"
        return _parse_list(LxcStatus, await self.get(path), path)

    async def lxc_status(self, node: str, vmid: int) -> LxcStatus:
        path = f"{_ct(node, vmid)}/status/current"
        return _parse(LxcStatus, await self.get(path), path)

    async def lxc_config(self, node: str, vmid: int, current: bool = False) -> LxcConfig:
        path = f"{_ct(node, vmid)}/config"
        return _parse(LxcConfig, await self.get(path, {"current": current or None}), path)

    async def lxc_interfaces(self, node: str, vmid: int) -> list[LxcInterface]:
        path = f"{_ct(node, vmid)}/interfaces"
        return _parse_list(LxcInterface, await self.get(path), path)

    async def lxc_create(self, node: str, params: Params) -> str:
        """POST /nodes/{node}/lxc; returns the UPID of the create task."""
        return str(await self.post(f"/nodes/{_seg(node)}/lxc", params))

    async def lxc_action(
        self, node: str, vmid: int, action: str, params: Params | None = None
    ) -> str:
        """start / stop / shutdown / reboot / suspend / resume (with the action's own
        parameters, e.g. shutdown's `timeout`); returns the task's UPID."""
        return str(await self.post(f"{_ct(node, vmid)}/status/{_seg(action)}", params))

    async def lxc_delete(
        self, node: str, vmid: int, *, purge: bool = False, destroy_unreferenced_disks: bool = False
    ) -> str:
        params = {
            "purge": purge or None,
            "destroy-unreferenced-disks": destroy_unreferenced_disks or None,
        }
        return str(await self.delete(_ct(node, vmid), params))

    async def lxc_rrddata(self, node: str, vmid: int, timeframe: str) -> list[Any]:
        """The container's RRD averages over `timeframe`, as Proxmox answers them."""
        path = f"{_ct(node, vmid)}/rrddata"
        data = await self.get(path, {"timeframe": timeframe, "cf": "AVERAGE"})
        return data if isinstance(data, list) else []

    async def lxc_snapshots(self, node: str, vmid: int) -> list[Any]:
        """The container's snapshots as Proxmox lists them (with its "current" entry)."""
        data = await self.get(f"{_ct(node, vmid)}/snapshot")
        return data if isinstance(data, list) else []

    async def lxc_snapshot_create(
        self, node: str, vmid: int, name: str, description: str | None = None
    ) -> str:
        """Returns the UPID of the snapshot task."""
        params = {"snapname": name, "description": description}
        return str(await self.post(f"{_ct(node, vmid)}/snapshot", params))

    async def lxc_snapshot_rollback(self, node: str, vmid: int, name: str) -> str:
        return str(await self.post(f"{_ct(node, vmid)}/snapshot/{_seg(name)}/rollback"))

    async def lxc_snapshot_delete(self, node: str, vmid: int, name: str) -> str:
        return str(await self.delete(f"{_ct(node, vmid)}/snapshot/{_seg(name)}"))

    async def lxc_termproxy(self, node: str, vmid: int) -> TermProxy:
        """Start Proxmox's terminal proxy for the container's console (needs VM.Console on
        /vms/{vmid}: a `PermissionDenied` otherwise). termproxy waits 10 s for the
        websocket (pve-xtermjs termproxy/src/main.rs `listen_and_accept`)."""
        path = f"{_ct(node, vmid)}/termproxy"
        return _parse(TermProxy, await self.post(path), path)

    async def lxc_vncwebsocket(self, node: str, vmid: int, port: int, ticket: str) -> WebSocket:
        """Upgrade GET .../vncwebsocket?port=&vncticket= to a WebSocket, with this client's
        credentials (pveproxy authenticates the upgrade like any request, API tokens
        included: pve-http-server AnyEvent.pm) and its pinned TLS. The ticket is checked
        by PVE::AccessControl::verify_vnc_ticket against the same user, path and port.
        Raises the typed ProxmoxErrors for a refused upgrade, `Unreachable` for a
        connection that failed."""
        path = f"{_ct(node, vmid)}/vncwebsocket"
        key = base64.b64encode(os.urandom(16)).decode()
        headers = dict(self._auth.headers("GET")) if self._auth else {}
        headers.update(
            {
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Key": key,
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Protocol": "binary",  # what pve-xtermjs main.js asks for
            }
        )
        secrets = _secret_variants(self._auth, {ticket})
        request = self._http.build_request(
            "GET", path, params={"port": int(port), "vncticket": ticket}, headers=headers
        )
        try:
            response = await self._http.send(request, stream=True)
        except ProxmoxError:
            raise
        except httpx.TransportError as exc:
            raise self._unreachable(path, exc, _scrub(describe_exception(exc), secrets)) from None
        if response.status_code != 101:
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            self._data_of(response, body[: self.max_response_bytes], path, secrets)
            raise ProxmoxError(f"no websocket from {path} (HTTP {response.status_code})")
        expected = base64.b64encode(
            hashlib.sha1((key + _WS_GUID).encode()).digest()  # noqa: S324 (RFC 6455)
        ).decode()
        stream = response.extensions.get("network_stream")
        if response.headers.get("sec-websocket-accept") != expected or stream is None:
            await response.aclose()
            raise ProxmoxError(f"invalid websocket handshake from {path}")
        log.debug("proxmox %s websocket %s open", self._where(), path)
        return WebSocket(stream, response, response.headers.get("sec-websocket-protocol", ""))

    async def cluster_resources_raw(self) -> list[Any]:
        """GET /cluster/resources (all types) unparsed, for a caller that reads only a few
        fields of many entries; ProxmoxError when the answer is not a list."""
        data = await self.get("/cluster/resources")
        if not isinstance(data, list):
            raise ProxmoxError("unexpected answer to /cluster/resources: not a list")
        return data

    async def task_log(self, node: str, upid: str, *, limit: int = 1000) -> list[Any]:
        """The first `limit` entries of a task's log ({"n": 1, "t": "text"}) as Proxmox
        answers them ([] when the answer is not a list)."""
        path = f"/nodes/{_seg(node)}/tasks/{_seg(upid)}/log"
        data = await self.get(path, {"start": 0, "limit": limit})
        return data if isinstance(data, list) else []

    async def task_status(self, node: str, upid: str) -> TaskStatus:
        path = f"/nodes/{_seg(node)}/tasks/{_seg(upid)}/status"
        return _parse(TaskStatus, await self.get(path), path)

    async def wait_for_task(
        self,
        node: str,
        upid: str,
        *,
        timeout: float = 300.0,  # noqa: ASYNC109 (overall deadline, see docstring)
        poll: float = 0.2,
        max_poll: float = 2.0,
    ) -> TaskStatus:
        """Poll the task until it stops (interval `poll` growing to `max_poll`).

        Returns the final status; raises `TaskFailed` (error exit status) or
        `ProxmoxTimeout` (still running after `timeout` seconds).
        """
        return await wait_for_task(
            lambda: self.task_status(node, upid),
            upid,
            timeout=timeout,
            poll=poll,
            max_poll=max_poll,
        )


def _seg(value: object) -> str:
    return urllib.parse.quote(str(value), safe=":@!=,")


def _ct(node: str, vmid: int) -> str:
    return f"/nodes/{_seg(node)}/lxc/{int(vmid)}"


def _encode(values: Params | None) -> dict[str, Any] | None:
    """Drop None values; booleans as Proxmox wants them (1/0)."""
    if values is None:
        return None
    encoded: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = int(value)
        elif isinstance(value, list | tuple):
            encoded[key] = [int(v) if isinstance(v, bool) else v for v in value]
        else:
            encoded[key] = value
    return encoded


# -- secrets --------------------------------------------------------------------------------
