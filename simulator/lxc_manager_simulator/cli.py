"""`lxc-manager simulator ...`: parse the command line, start every listener, print the
`SIMULATOR READY {...}` line on stdout, serve until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import importlib.util
import ipaddress
import logging
import random
import signal
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .admin import AdminApi
from .api import ApiApp
from .httpserver import HttpServer, Request, Response
from .model import Cluster, Faults, Simulation
from .schema import load_schema
from .seed import SimConfig, TokenSpec, build_cluster, build_simulation
from .state import load_state, restore_cluster, save_state
from .tls import Certificate, generate_certificate, server_context
from .versions import NEWEST, VERSIONS

log = logging.getLogger("lxc_manager_simulator")
READY_PREFIX = "SIMULATOR READY "
REALMS = ("pam", "pve")
OTHER_FACTORS = ("webauthn", "u2f", "yubico")  # second factors the simulator only announces


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lxc-manager simulator", description="A Proxmox VE look-alike (HTTPS API + SSH)."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8006, help="HTTPS port (0 = pick a free port)")
    p.add_argument("--ssh-port", type=int, default=2222, help="SSH port (0 = pick a free port)")
    p.add_argument(
        "--admin-port",
        type=int,
        default=0,
        help="plain-HTTP admin API on 127.0.0.1 (0 = pick a free port)",
    )
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--containers", type=int, default=20)
    p.add_argument("--vms", type=int, default=3)
    p.add_argument("--seed", type=int, default=None, help="reproducible cluster (default random)")
    p.add_argument("--endpoints", type=int, default=1, help="independent clusters to serve")
    p.add_argument("--user", action="append", default=[], metavar="USER@REALM:PASSWORD")
    p.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="USER@REALM!TOKENID:SECRET[:privsep[=ROLE[@PATH][+ROLE[@PATH]...]]]",
    )
    p.add_argument("--totp", action="append", default=[], metavar="USER@REALM:BASE32SECRET")
    p.add_argument("--recovery", action="append", default=[], metavar="USER@REALM:KEY")
    for factor in OTHER_FACTORS:
        p.add_argument(
            f"--{factor}",
            action="append",
            default=[],
            metavar="USER@REALM",
            help=f"the user has a {factor} second factor (announced in the challenge only)",
        )
    p.add_argument("--auditor", action="append", default=[], metavar="USER@REALM")
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--jitter-ms", type=int, default=0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--task-seconds", type=float, default=2.0)
    p.add_argument("--auth-failure-delay", type=float, default=3.0)
    p.add_argument(
        "--proxy-timeout",
        type=float,
        default=30.0,
        help="seconds pveproxy waits for an unreachable or hanging cluster member (PVE: 30)",
    )
    p.add_argument("--schema", type=Path, default=None, help="validate against this API schema")
    p.add_argument("--state-file", type=Path, default=None)
    p.add_argument("--ssh-authorized-key", type=Path, default=None)
    p.add_argument("--log-level", default="INFO")
    p.add_argument(
        "--containers-backend",
        choices=("simulated", "real"),
        default="simulated",
        help="real: containers created from a Debian 12 template are real LXC containers "
        "(root, lxc and debootstrap needed; see the README)",
    )
    p.add_argument(
        "--pve-version",
        choices=tuple(VERSIONS),
        default=NEWEST.release,
        help="Proxmox VE release to behave as (default: %(default)s)",
    )
    return p


def _split_userid(text: str, what: str) -> str:
    user, at, realm = text.partition("@")
    if not user or not at or realm not in REALMS:
        raise ValueError(f"{what}: expected USER@REALM with realm pam or pve, got {text!r}")
    return text


def parse_config(args: argparse.Namespace) -> SimConfig:
    users = {"root@pam": "proxmox"}
    for item in args.user:
        userid, sep, password = item.partition(":")
        if not sep or not password:
            raise ValueError(f"--user: expected USER@REALM:PASSWORD, got {item!r}")
        users[_split_userid(userid, "--user")] = password
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    config = SimConfig(
        nodes=args.nodes,
        containers=args.containers,
        vms=args.vms,
        seed=seed,
        endpoints=args.endpoints,
        task_seconds=args.task_seconds,
        pve_version=args.pve_version,
        users=users,
        faults=Faults(
            latency_ms=args.latency_ms, jitter_ms=args.jitter_ms, error_rate=args.error_rate
        ),
    )
    config.tokens = [_parse_token(t, users) for t in args.token] or [_default_token(seed)]
    config.totp = dict(_parse_pair(t, "--totp", users) for t in args.totp)
    for item in args.recovery:
        userid, key = _parse_pair(item, "--recovery", users)
        config.recovery.setdefault(userid, []).append(key)
    for factor in OTHER_FACTORS:
        for userid in getattr(args, factor):
            known = _known_user(userid, f"--{factor}", users)
            config.other_factors.setdefault(known, []).append(factor)
    config.auditors = [_known_user(a, "--auditor", users) for a in args.auditor]
    _check_ranges(config)
    return config


def _check_ranges(config: SimConfig) -> None:
    if not 1 <= config.nodes <= 64:
        raise ValueError("--nodes: 1..64")
    if config.containers < 0 or config.vms < 0 or config.containers + config.vms > 100_000:
        raise ValueError("--containers/--vms: 0..100000 guests")
    if not 1 <= config.endpoints <= 64:
        raise ValueError("--endpoints: 1..64")
    if not 0 <= config.faults.error_rate <= 1:
        raise ValueError("--error-rate: 0..1")


def _known_user(userid: str, what: str, users: dict[str, str]) -> str:
    if userid not in users:
        raise ValueError(f"{what}: {userid} is not a user (add it with --user)")
    return userid


def _parse_pair(item: str, what: str, users: dict[str, str]) -> tuple[str, str]:
    userid, sep, value = item.partition(":")
    if not sep or not value:
        raise ValueError(f"{what}: expected USER@REALM:VALUE, got {item!r}")
    return _known_user(userid, what, users), value


def _parse_token(item: str, users: dict[str, str]) -> TokenSpec:
    userid, bang, rest = item.partition("!")
    parts = rest.split(":")
    if not bang or len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError(f"--token: expected USER@REALM!TOKENID:SECRET[:privsep], got {item!r}")
    privsep, role = False, "PVEAuditor"
    if len(parts) == 3:
        flag, _, role_text = parts[2].partition("=")
        if flag != "privsep":
            raise ValueError(f"--token: unknown flag {parts[2]!r} (expected privsep[=ROLE])")
        privsep, role = True, role_text or role
    from .auth import ROLES

    for name, _, path in (item.partition("@") for item in role.split("+")):
        if path and not path.startswith("/"):
            raise ValueError(f"--token: an ACL path starts with /, got {path!r}")
        if name not in ROLES:
            raise ValueError(f"--token: unknown role {name!r}; one of {', '.join(ROLES)}")
    return TokenSpec(_known_user(userid, "--token", users), parts[0], parts[1], privsep, role)


def _default_token(seed: int) -> TokenSpec:
    """A privilege-separated token of root@pam with what a home-lab admin grants a
    container dashboard (auth.HOMELAB_TOKEN_ROLES on /): a token of root is not root."""
    from .auth import HOMELAB_TOKEN_ROLES

    secret = str(uuid.UUID(int=random.Random(f"{seed}:token").getrandbits(128), version=4))
    return TokenSpec("root@pam", "simulator", secret, True, "+".join(HOMELAB_TOKEN_ROLES))


@dataclass
class NodeSsh:
    """The SSH listener of one PVE node."""

    address: str
    port: int
    fingerprint: str
    server: Any


@dataclass
class Endpoint:
    cluster: Cluster
    certificate: Certificate
    ssh_key_text: str | None  # the first node's host key (the endpoint's `ssh_host_key`)
    node_key_texts: dict[str, str] = field(default_factory=dict)  # every node's host key
    server: HttpServer | None = None
    ssh_fingerprint: str | None = None
    ssh_port: int | None = None
    node_ssh: dict[str, NodeSsh] = field(default_factory=dict)


@dataclass
class Runtime:
    config: SimConfig
    simulation: Simulation
    app: ApiApp
    endpoints: list[Endpoint]
    admin_server: HttpServer | None = None
    background: set[asyncio.Future[Any]] = field(default_factory=set)


def _make_endpoints(
    config: SimConfig, simulation: Simulation, host: str, saved: list[dict[str, Any]] | None
) -> list[Endpoint]:
    endpoints = []
    for index, cluster in enumerate(simulation.clusters):
        state = saved[index] if saved and index < len(saved) else None
        if state:
            restore_cluster(cluster, state)
            certificate = Certificate(state["cert_pem"].encode(), state["key_pem"].encode())
            ssh_key = state.get("ssh_host_key")
            node_keys = dict(state.get("ssh_node_keys") or {})
        else:
            certificate = generate_certificate(cluster.first_node.name, host)
            ssh_key, node_keys = None, {}
        cluster.host = host
        cluster.tls_sha256 = certificate.sha256
        endpoints.append(Endpoint(cluster, certificate, ssh_key, node_keys))
    return endpoints


async def _start_http(runtime: Runtime, host: str, port: int) -> None:
    for offset, endpoint in enumerate(runtime.endpoints):
        cluster = endpoint.cluster
        server = HttpServer(
            functools.partial(runtime.app.handle, cluster),
            host=host,
            port=port + offset if port else 0,
            ssl_context=server_context(endpoint.certificate),
            mode=functools.partial(_mode_of, cluster),
        )
        cluster.api_port = await server.start()
        endpoint.server = server


def _mode_of(cluster: Cluster) -> str:
    return cluster.faults.mode


async def _start_admin(runtime: Runtime, port: int) -> None:
    clusters = runtime.simulation.clusters

    async def handle(request: Request) -> Response:
        index = _endpoint_index(request.query)
        if index is None or not 0 <= index < len(clusters):
            return Response(404, b'{"data":null,"message":"no such endpoint\\n"}')
        return await runtime.app.admin.handle(clusters[index], request)

    runtime.admin_server = HttpServer(
        handle, host="127.0.0.1", port=port, ssl_context=None, mode=lambda: "normal"
    )
    await runtime.admin_server.start()


def _endpoint_index(query: str) -> int | None:
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "endpoint":
            return int(value) if value.isdigit() else None
    return 0


def node_address(host: str, index: int) -> str | None:
    """Where node `index` (0 = the first) of an endpoint listens for SSH: on an IPv4
    loopback host, its own address 127.x.y.(z+index) (Linux routes all of 127.0.0.0/8 to
    `lo`), so every node has the same port and its own address, as on a real cluster; on
    any other host only the first node listens."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host if index == 0 else None
    if index == 0:
        return host
    if address.version != 4 or not address.is_loopback:
        return None
    shifted = address + index
    return str(shifted) if shifted.is_loopback else None


SSH_BIND_ATTEMPTS = 5


async def _start_ssh(runtime: Runtime, host: str, port: int) -> None:
    if importlib.util.find_spec("lxc_manager_simulator.ssh") is None:
        log.warning("no SSH module (lxc_manager_simulator.ssh): SSH is not served")
        return
    ssh = importlib.import_module("lxc_manager_simulator.ssh")
    for offset, endpoint in enumerate(runtime.endpoints):
        keys = _node_keys(endpoint)
        for attempt in range(SSH_BIND_ATTEMPTS):
            try:
                await _listen_nodes(
                    runtime, ssh, endpoint, keys, host, port + offset if port else 0
                )
                break
            except OSError:  # another node's address:port was taken: try another free port
                await _close_ssh(endpoint)
                if port or attempt == SSH_BIND_ATTEMPTS - 1:
                    raise
        first = endpoint.node_ssh[endpoint.cluster.first_node.name]
        endpoint.ssh_port, endpoint.ssh_fingerprint = first.port, first.fingerprint
        endpoint.cluster.ssh_port = first.port
        worlds = {n.name: n.world for n in endpoint.cluster.nodes.values()}
        publics = {name: key.export_public_key().decode().strip() for name, key in keys.items()}
        ssh_pve = importlib.import_module("lxc_manager_simulator.shell.commands.pve")
        ssh_pve.install_node_host_keys(worlds, publics)


def _node_keys(endpoint: Endpoint) -> dict[str, Any]:
    """Every node's host key (from the state file, else new); the first node's key stays
    `ssh_key_text` so a pinned endpoint key survives."""
    import asyncssh

    keys: dict[str, Any] = {}
    first = endpoint.cluster.first_node.name
    for name in endpoint.cluster.nodes:
        text = endpoint.ssh_key_text if name == first else endpoint.node_key_texts.get(name)
        key = (
            asyncssh.import_private_key(text)
            if text
            else asyncssh.generate_private_key("ssh-ed25519")
        )
        keys[name] = key
        endpoint.node_key_texts[name] = key.export_private_key().decode()
    endpoint.ssh_key_text = endpoint.node_key_texts[first]
    return keys


async def _listen_nodes(
    runtime: Runtime, ssh: Any, endpoint: Endpoint, keys: dict[str, Any], host: str, port: int
) -> None:
    """The first node on host:port (0 = free), the others on their own address, same port."""
    for index, node in enumerate(endpoint.cluster.nodes.values()):
        address = node_address(host, index)
        if address is None:
            continue
        server, actual, fingerprint = await ssh.start_ssh_server(
            runtime.simulation, endpoint.cluster, address, port, keys[node.name], node
        )
        endpoint.node_ssh[node.name] = NodeSsh(address, actual, fingerprint, server)
        node.ip = address  # `/cluster/status` names the address the node's sshd listens on
        port = actual


async def _close_ssh(endpoint: Endpoint) -> None:
    for listener in endpoint.node_ssh.values():
        listener.server.close()
        with contextlib.suppress(Exception):
            await listener.server.wait_closed()
    endpoint.node_ssh.clear()


def _wire_runtime(runtime: Runtime) -> None:
    loop = asyncio.get_running_loop()

    def schedule(delay: float, callback: Any) -> object:
        return loop.call_later(delay + 0.02, callback)

    def on_mode_change(cluster: Cluster) -> None:
        endpoint = next(e for e in runtime.endpoints if e.cluster is cluster)
        if endpoint.server is not None:
            loop.call_later(0.05, _spawn, runtime, endpoint.server.sync_mode())

    def reseed(cluster: Cluster) -> None:
        fresh = build_cluster(runtime.config, cluster.index)
        names = ("containers", "vms", "storages", "templates", "users", "tokens", "acl")
        for name in (*names, "vnets", "ha_resources", "backups", "backup_jobs"):
            setattr(cluster, name, getattr(fresh, name))
        cluster.replace_tasks({})
        cluster.changed()

    for cluster in runtime.simulation.clusters:
        cluster.schedule = schedule
    admin: AdminApi = runtime.app.admin
    admin.on_mode_change = on_mode_change
    admin.reseed = reseed


def _spawn(runtime: Runtime, coroutine: Any) -> None:
    future = asyncio.ensure_future(coroutine)
    runtime.background.add(future)
    future.add_done_callback(runtime.background.discard)


def _endpoint_info(endpoint: Endpoint, host: str, config: SimConfig) -> dict[str, Any]:
    cluster = endpoint.cluster
    return {
        "api": f"https://{host}:{cluster.api_port}",
        "ssh": f"{host}:{endpoint.ssh_port}" if endpoint.ssh_port else None,
        "tls_sha256": cluster.tls_sha256,
        "ssh_host_key": endpoint.ssh_fingerprint,
        "ssh_nodes": {
            name: {
                "ip": listener.address,
                "ssh": f"{listener.address}:{listener.port}",
                "ssh_host_key": listener.fingerprint,
            }
            for name, listener in endpoint.node_ssh.items()
        },
        "nodes": list(cluster.nodes),
        "cluster": cluster.name,
        "pve_version": cluster.pve.release,
        "tokens": [
            {"id": t.full_id, "secret": t.secret, "privsep": int(t.privsep)}
            for t in cluster.tokens.values()
        ],
        "tfa": {
            u.userid: {"recovery_keys": list(u.recovery_keys)}
            for u in cluster.users.values()
            if u.has_second_factor
        },
    }


def ready_line(runtime: Runtime, host: str) -> str:
    infos = [_endpoint_info(e, host, runtime.config) for e in runtime.endpoints]
    admin_port = runtime.admin_server.port if runtime.admin_server else None
    payload = {
        **infos[0],
        "endpoints": infos,
        "admin": f"http://127.0.0.1:{admin_port}",
        "seed": runtime.config.seed,
        "containers_backend": "real" if runtime.simulation.clusters[0].real else "simulated",
    }
    return READY_PREFIX + orjson.dumps(payload).decode()


async def serve(args: argparse.Namespace, config: SimConfig) -> int:
    saved = load_state(args.state_file) if args.state_file else None
    simulation = build_simulation(config)
    if args.ssh_authorized_key:
        simulation.ssh_authorized_keys = args.ssh_authorized_key.read_text()
    schema = load_schema(args.schema) if args.schema else None
    app = ApiApp(
        simulation,
        auth_failure_delay=args.auth_failure_delay,
        schema=schema,
        proxy_timeout=args.proxy_timeout,
    )
    runtime = Runtime(
        config, simulation, app, _make_endpoints(config, simulation, args.host, saved)
    )
    _wire_runtime(runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ready = False
    try:
        try:
            await _start_http(runtime, args.host, args.port)
            await _start_admin(runtime, args.admin_port)
        except OSError as exc:  # port taken, address not available...
            log.error("cannot listen on %s: %s", args.host, exc)
            return 1
        await _start_ssh(runtime, args.host, args.ssh_port)
        if args.containers_backend == "real" and not await _start_real(runtime):
            return 1
        sys.stdout.write(ready_line(runtime, args.host) + "\n")
        sys.stdout.flush()
        ready = True
        log.info("simulator ready: %d endpoint(s)", len(runtime.endpoints))
        await stop.wait()
    finally:
        await _shutdown(runtime, args.state_file if ready else None)
    return 0


async def _start_real(runtime: Runtime) -> bool:
    """One real backend (network namespace, containers) per endpoint."""
    from .real.backend import ContainerError, RealBackend
    from .real.hooks import RealHooks

    run = uuid.uuid4().hex[:6]
    for cluster in runtime.simulation.clusters:
        backend = RealBackend(f"{run}e{cluster.index}")
        try:
            await backend.start()
        except ContainerError as exc:
            log.error("--containers-backend real: %s", exc)
            await backend.stop()
            return False
        cluster.real = RealHooks(backend)
        log.info(
            "real containers: run %s (network namespace lxcm-%s)", backend.run_id, backend.run_id
        )
    return True


async def _shutdown(runtime: Runtime, state_file: Path | None) -> None:
    for cluster in runtime.simulation.clusters:
        if cluster.real is not None:
            await cluster.real.close()
            cluster.real = None
    closers = [e.server.close() for e in runtime.endpoints if e.server]
    if runtime.admin_server:
        closers.append(runtime.admin_server.close())
    for endpoint in runtime.endpoints:
        for listener in endpoint.node_ssh.values():
            listener.server.close()
            closers.append(listener.server.wait_closed())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*closers, return_exceptions=True), 1.5)
    if state_file:
        secrets = [
            {
                "cert_pem": e.certificate.cert_pem.decode(),
                "key_pem": e.certificate.key_pem.decode(),
                "ssh_host_key": e.ssh_key_text or "",
                "ssh_node_keys": e.node_key_texts,
            }
            for e in runtime.endpoints
        ]
        save_state(state_file, runtime.simulation, secrets)
        log.info("state saved to %s", state_file)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for option, path in (
        ("--schema", args.schema),
        ("--ssh-authorized-key", args.ssh_authorized_key),
    ):
        if path is not None and not path.is_file():
            parser.error(f"{option}: no such file: {path}")
    try:
        config = parse_config(args)
    except ValueError as exc:
        parser.error(str(exc))
    return asyncio.run(serve(args, config))
