"""`lxc-manager`: serve, worker, healthcheck, build, migrate, demo, simulator."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from lxc_manager.settings import SettingsError, get_settings

SIMULATOR_INSTALL = "pip install ./simulator (from the repository; make demo and make test do)"


def _serve(args: argparse.Namespace) -> int:
    from lxc_manager.logging_setup import configure_logging
    from lxc_manager.supervisor import Supervisor

    if args.role != "all":
        missing = [name for name in ("REDIS_URL", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            print(
                f"lxc-manager: serve --role {args.role} needs {' and '.join(missing)}: replicas "
                "share one Redis and one database (use --role all for a single host)",
                file=sys.stderr,
            )
            return 2
    configure_logging("serve")
    return Supervisor(get_settings(), role=args.role).run(build=not args.no_build)


def _worker(args: argparse.Namespace) -> int:
    from lxc_manager.logging_setup import configure_logging
    from lxc_manager.worker import run_worker

    configure_logging("worker")
    run_worker(burst=args.burst, name=args.name, name_prefix=args.name_prefix)
    return 0


def _healthcheck(args: argparse.Namespace) -> int:
    from lxc_manager.healthcheck import healthcheck

    healthy, line = healthcheck(get_settings(), args.role)
    print(
        line if healthy else f"lxc-manager: unhealthy: {line}",
        file=sys.stdout if healthy else sys.stderr,
    )
    return 0 if healthy else 1


def _demo(_args: argparse.Namespace) -> int:
    if _simulator_main() is None:
        return 1
    from lxc_manager.demo import run_demo
    from lxc_manager.logging_setup import configure_logging

    configure_logging("demo")
    return run_demo()


def _build(args: argparse.Namespace) -> int:
    from lxc_manager import frontend
    from lxc_manager.logging_setup import configure_logging

    configure_logging("build")
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = frontend.ensure_built(settings, force=args.force)
    print(f"frontend ready: {path}")
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from lxc_manager.db.migrate import current_revision, upgrade_head

    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_head()
    print(f"database at revision {current_revision()}")
    return 0


def _trust_endpoint(args: argparse.Namespace) -> int:
    import asyncio

    from lxc_manager.db.migrate import upgrade_head
    from lxc_manager.proxmox import ProxmoxError, fetch_fingerprint
    from lxc_manager.security import audit
    from lxc_manager.settings import split_host_port
    from lxc_manager.signin import endpoints

    host, port = split_host_port(args.endpoint, default_port=8006)
    if host is None or port is None:
        print(f"lxc-manager: expected HOST[:PORT], got {args.endpoint!r}", file=sys.stderr)
        return 2
    host = endpoints.normalise_host(host)
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_head()
    try:
        fingerprint = asyncio.run(
            fetch_fingerprint(host, port, timeout=settings.proxmox_connect_timeout)
        )
    except ProxmoxError as exc:
        print(f"lxc-manager: {exc.user_message}", file=sys.stderr)
        return 1
    existing = endpoints.find(host, port)
    print(f"endpoint:        {host}:{port}")
    print(f"old fingerprint: {existing.tls_fingerprint if existing else '(not trusted yet)'}")
    print(f"new fingerprint: {fingerprint}")
    if existing is not None and existing.tls_fingerprint == fingerprint:
        print("The certificate is unchanged: nothing to do.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                "lxc-manager: not a terminal: pass --yes to trust the new fingerprint",
                file=sys.stderr,
            )
            return 1
        if input("Trust the new fingerprint? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 1
    endpoints.trust(host, port, fingerprint, trusted_by="cli")
    audit.record(
        "sign_in_endpoint.trust",
        user_id="cli",
        target=f"endpoint:{host}:{port}",
        detail=f"fingerprint {fingerprint}",
    )
    print(f"{host}:{port} is trusted with the new fingerprint.")
    return 0


def _rotate_key(_args: argparse.Namespace) -> int:
    from lxc_manager.db.migrate import upgrade_head
    from lxc_manager.nodes import NodeSecretError, rotate_keys
    from lxc_manager.security import audit
    from lxc_manager.security.crypto import load_keyring

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_head()
    active = load_keyring(settings).active_kid
    from lxc_manager.console import recording
    from lxc_manager.security.crypto import DecryptionError

    try:
        count = rotate_keys()
        count += recording.rotate_keys()
    except (NodeSecretError, DecryptionError) as exc:
        print(
            f"lxc-manager: {exc}. Nothing was changed: keep every old key in the keyring "
            "(after the new one) until rotate-key has succeeded.",
            file=sys.stderr,
        )
        return 1
    audit.record(
        "secrets.rotate", user_id="cli", target=f"key:{active}", detail=f"{count} re-encrypted"
    )
    print(f"re-encrypted {count} secret{'s' if count != 1 else ''} with key {active}")
    return 0


def _simulator(args: argparse.Namespace) -> int:
    return _run_simulator(args.simulator_args)


def _run_simulator(simulator_args: Sequence[str]) -> int:
    simulator_main = _simulator_main()
    if simulator_main is None:
        return 1
    return simulator_main(list(simulator_args))


def _simulator_main() -> Callable[[list[str]], int] | None:
    """The simulator's entry point, or None (after saying how to install it) when its
    distribution (`simulator/` in the repository, not part of the product) is missing."""
    try:
        from lxc_manager_simulator.cli import main
    except ModuleNotFoundError as exc:
        print(_simulator_missing(exc.name), file=sys.stderr)
        return None
    return main


def _simulator_missing(module: str | None) -> str:
    ours = (module or "").partition(".")[0] == "lxc_manager_simulator"
    what = "not installed" if ours else f"incomplete ({module} is missing)"
    return f"lxc-manager: the simulator is {what}: {SIMULATOR_INSTALL}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lxc-manager",
        description="LXC Manager: create, provision, watch and operate LXC containers on Proxmox VE.",
        epilog="Configuration comes from environment variables: see the README's configuration table.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the app: embedded Redis (unless REDIS_URL), RQ workers and the web server",
        description="Migrate, build the frontend if its code, port or public URL changed, then start and "
        "supervise Redis (embedded unless REDIS_URL is set), LXCM_WORKERS RQ workers and the web "
        "server on LXCM_HOST:LXCM_PORT (--role web or worker: only that part, for several replicas "
        "sharing REDIS_URL and DATABASE_URL). Ctrl-C or SIGTERM stops everything.",
    )
    serve.add_argument(
        "--role",
        choices=("all", "web", "worker"),
        default="all",
        help="all (default): Redis unless REDIS_URL, workers and web server; web: the web "
        "server only; worker: the RQ workers only (web and worker need REDIS_URL and DATABASE_URL)",
    )
    serve.add_argument(
        "--no-build", action="store_true", help="never build the frontend; fail if it is not built"
    )
    serve.set_defaults(handler=_serve)

    health = commands.add_parser(
        "healthcheck",
        help="exit 0 when this host's serve is healthy (for container health checks)",
        description="Check this host's `serve`: for all and web, the web server on LXCM_PORT "
        "answers /readyz (database and Redis included); for worker, LXCM_WORKERS RQ workers of "
        "this host are registered in REDIS_URL and alive. Exit 0 when healthy, 1 (and why) if not.",
    )
    health.add_argument("--role", choices=("all", "web", "worker"), default="all")
    health.set_defaults(handler=_healthcheck)

    demo = commands.add_parser(
        "demo",
        help="the app plus a seeded Proxmox VE simulator to try it without a Proxmox host",
        description="Run `serve` next to a seeded Proxmox VE simulator (HTTPS API + SSH), with its own "
        "data under $LXCM_DATA_DIR/demo, and print the sign-in to use.",
    )
    demo.set_defaults(handler=_demo)

    worker = commands.add_parser(
        "worker",
        help="run one RQ worker on the app's queues",
        description="Run one RQ worker on the app's queues (REDIS_URL must be set).",
    )
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument(
        "--name", help="exact worker name (default: unique per start: lxcm-<host>-<pid>-<random>)"
    )
    worker.add_argument(
        "--name-prefix",
        help="readable prefix of the unique name instead of lxcm-<host> (<prefix>-<pid>-<random>)",
    )
    worker.set_defaults(handler=_worker)

    build = commands.add_parser(
        "build",
        help="build the frontend for LXCM_PORT / LXCM_PUBLIC_URL",
        description="Build the frontend once for the configured port and public URL (skipped when up to date).",
    )
    build.add_argument("--force", action="store_true", help="build even when up to date")
    build.set_defaults(handler=_build)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database schema up to date",
        description="Apply every Alembic migration to DATABASE_URL (same as `alembic upgrade head`).",
    )
    migrate.set_defaults(handler=_migrate)

    trust = commands.add_parser(
        "trust-endpoint",
        help="pin (again) the TLS certificate of a Proxmox sign-in endpoint",
        description="Read the current certificate fingerprint of HOST:PORT, show it next to the pinned one, "
        "and trust it after confirmation (for a renewed Proxmox certificate).",
    )
    trust.add_argument("endpoint", metavar="HOST[:PORT]")
    trust.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    trust.set_defaults(handler=_trust_endpoint)

    rotate = commands.add_parser(
        "rotate-key",
        help="re-encrypt every stored secret with the active (first) key of the keyring",
        description="Re-encrypt every stored secret (API token secrets, SSH passwords and keys) with "
        "the first key of the keyring (LXCM_SECRET_KEY, else $LXCM_DATA_DIR/secret.key). Rotation: put a "
        "new key first, run rotate-key, then drop the old key.",
    )
    rotate.set_defaults(handler=_rotate_key)

    simulator = commands.add_parser(
        "simulator",
        help="run the Proxmox VE simulator (HTTPS API + SSH)",
        description="Run the Proxmox VE simulator; every option after `simulator` is the simulator's (see `lxc-manager simulator --help`).",
        add_help=False,
    )
    simulator.add_argument("simulator_args", nargs=argparse.REMAINDER)
    simulator.set_defaults(handler=_simulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["simulator"]:
        # argparse's REMAINDER drops options that follow a sub-command ("unrecognized
        # arguments: --port"), so everything after `simulator` goes to the simulator's own
        # parser untouched. The simulator is a separate peer: it needs none of the settings.
        try:
            return _run_simulator(arguments[1:])
        except KeyboardInterrupt:
            return 130
    args = build_parser().parse_args(arguments)
    from lxc_manager.db.migrate import SchemaNewerThanCode

    try:
        get_settings()
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"lxc-manager: configuration error: {exc}", file=sys.stderr)
        return 2
    except SchemaNewerThanCode as exc:
        print(f"lxc-manager: refusing to start: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
