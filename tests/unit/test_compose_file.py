"""deploy/compose.yaml, deploy/Caddyfile and deploy/.env.example agree with the code.

Docker cannot run here, so every piece the compose file relies on is checked against the
code it starts: each command parses with the app's own argparse, each variable it sets is
one the settings read (and its value parses), the proxy's port is the web replicas' port,
the app believes X-Forwarded-For from the proxy's address only (a spoofed header from any
other address changes nothing), secrets come only from the env file.
"""

from __future__ import annotations

import base64
import inspect
import ipaddress
import re
import secrets
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lxc_manager import cli
from lxc_manager.security.clients import client_address
from lxc_manager.settings import VARIABLES, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APP_SERVICES = ("migrate", "web", "worker")
SECRETS = ("LXCM_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD")
SPOOFED = "203.0.113.9"


class Unset(ValueError):
    """A `${VAR:?message}` whose variable is unset or empty: compose refuses to start."""


_REFERENCE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable interpolation: `${V}`, `${V:-default}`, `${V-default}`,
    `${V:?error}`, `${V?error}`, `$V` and `$$` (a literal `$`)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in (":?", "?") and missing:
            raise Unset(f"{name}: {arg}")
        if op in (":-", "-") and missing:
            return arg
        return current or ""

    return _REFERENCE.sub(replace, value)


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def raw_compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # resolves `<<` merges
    assert isinstance(loaded, dict)
    return loaded


def filled_env() -> dict[str, str]:
    """deploy/.env.example with its empty secrets filled in as an operator would."""
    env = read_env_file(DEPLOY / ".env.example")
    env.update(
        LXCM_SECRET_KEY="k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        POSTGRES_PASSWORD=secrets.token_hex(24),
        REDIS_PASSWORD=secrets.token_hex(24),
    )
    return env


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return filled_env()


@pytest.fixture(scope="module")
def compose(env: dict[str, str]) -> dict[str, Any]:
    result = interpolate(raw_compose(), env)
    assert isinstance(result, dict)
    return result


def services(compose: dict[str, Any]) -> dict[str, Any]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def app_settings(compose: dict[str, Any], service: str, tmp_path: Path) -> Settings:
    environment = services(compose)[service]["environment"]
    return load_settings({k: str(v) for k, v in environment.items()}, cwd=tmp_path)


def caddyfile() -> str:
    return (DEPLOY / "Caddyfile").read_text()


def test_the_env_example_holds_no_secret_and_compose_refuses_to_start_without_them() -> None:
    example = read_env_file(DEPLOY / ".env.example")
    for name in SECRETS:
        assert example[name] == "", f"{name} must be left empty in .env.example"
        partly = {**filled_env(), name: ""}
        with pytest.raises(Unset, match=name):
            interpolate(raw_compose(), partly)
    # ... and the compose file spells no secret itself: only references to the env file
    text = (DEPLOY / "compose.yaml").read_text()
    for name in SECRETS:
        for line in text.splitlines():
            if re.match(rf"\s*{name}\s*:", line):
                assert re.fullmatch(rf"\s*{name}: \$\{{{name}:\?[^}}]*\}}", line), line
    assert "/deploy/.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_services_of_a_team_deployment(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert set(found) == {"postgres", "redis", "migrate", "web", "worker", "caddy"}
    assert found["postgres"]["image"].split(":")[1].startswith("15")
    assert found["web"]["deploy"]["replicas"] == 2
    assert found["worker"]["deploy"]["replicas"] == 2
    # all app services run the one image built from the repository's Dockerfile
    images = {found[s]["image"] for s in APP_SERVICES}
    builds = [found[s]["build"] for s in APP_SERVICES]
    assert len(images) == 1 and all(b == builds[0] for b in builds)
    context = (DEPLOY / builds[0]["context"]).resolve()
    assert context == ROOT and (context / builds[0]["dockerfile"]).is_file()
    assert found["caddy"]["image"].startswith("caddy:2")


def test_redis_persists_on_a_volume(compose: dict[str, Any], env: dict[str, str]) -> None:
    redis = services(compose)["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and '--requirepass "$REDIS_PASSWORD"' in command
    assert redis["environment"]["REDIS_PASSWORD"] == env["REDIS_PASSWORD"]
    assert "redis-data:/data" in redis["volumes"] and "redis-data" in compose["volumes"]
    postgres = services(compose)["postgres"]
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "postgres-data" in compose["volumes"]


def _cli_args(command: list[str]) -> Any:
    """Parse a container command with the app's own parser (argparse exits on a typo)."""
    assert command[0] == "/opt/venv/bin/lxc-manager", command
    return cli.build_parser().parse_args(command[1:])


def test_every_command_is_a_real_cli_command(compose: dict[str, Any]) -> None:
    found = services(compose)
    # the image installs the package into /opt/venv (`make install VENV=/opt/venv`)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "make install VENV=/opt/venv" in dockerfile
    assert 'lxc-manager = "lxc_manager.cli:main"' in (ROOT / "pyproject.toml").read_text()

    migrate = _cli_args(found["migrate"]["command"])
    assert migrate.handler is cli._migrate
    web = _cli_args(found["web"]["command"])
    assert (web.handler, web.role, web.no_build) == (cli._serve, "web", True)
    worker = _cli_args(found["worker"]["command"])
    assert (worker.handler, worker.role, worker.no_build) == (cli._serve, "worker", True)
    for service, role in (("web", "web"), ("worker", "worker")):
        test = found[service]["healthcheck"]["test"]
        assert test[0] == "CMD"
        check = _cli_args(test[1:])
        assert (check.handler, check.role) == (cli._healthcheck, role)
    # the image's own defaults: CMD and HEALTHCHECK
    for instruction in ("CMD", "HEALTHCHECK"):
        line = next(line for line in dockerfile.splitlines() if line.startswith(instruction + " "))
        argv = yaml.safe_load(line[line.index("[") :])  # the JSON (exec) form
        _cli_args(argv)


def _variables_the_app_reads() -> set[str]:
    names = {variable.name for variable in VARIABLES}
    names |= set(re.findall(r'env, "([A-Z_]+)"', inspect.getsource(load_settings)))
    return names


def test_every_variable_is_one_the_app_reads_and_parses(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    known = _variables_the_app_reads()
    for service in APP_SERVICES:
        environment = services(compose)[service]["environment"]
        unknown = set(environment) - known
        assert not unknown, f"{service} sets variables the app does not read: {unknown}"
        app_settings(compose, service, tmp_path)  # every value parses (SettingsError if not)
    args = services(compose)["web"]["build"]["args"]
    assert set(args) <= known
    # the frontend is built into the image for the port and URL the replicas serve
    web_env = services(compose)["web"]["environment"]
    assert {k: str(v) for k, v in args.items()} == {
        "LXCM_PORT": str(web_env["LXCM_PORT"]),
        "LXCM_PUBLIC_URL": web_env["LXCM_PUBLIC_URL"],
    }


def test_replicas_share_one_database_redis_and_keyring(
    compose: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    found = services(compose)
    postgres = found["postgres"]["environment"]
    seen: set[tuple[str, str | None, tuple[tuple[str, bytes], ...] | None]] = set()
    for service in APP_SERVICES:
        settings = app_settings(compose, service, tmp_path)
        database = urlsplit(settings.database_url)
        assert database.scheme == "postgresql+psycopg" and database.hostname == "postgres"
        assert database.username == postgres["POSTGRES_USER"]
        assert database.password == postgres["POSTGRES_PASSWORD"] == env["POSTGRES_PASSWORD"]
        assert database.path == "/" + postgres["POSTGRES_DB"]
        assert settings.redis_url is not None  # web and worker roles refuse to start without
        redis = urlsplit(settings.redis_url)
        assert (redis.hostname, redis.port, redis.password) == (
            "redis",
            6379,
            env["REDIS_PASSWORD"],
        )
        assert settings.secret_keyring is not None
        seen.add((settings.database_url, settings.redis_url, settings.secret_keyring))
    assert len(seen) == 1


def test_ports_agree_with_the_caddyfile(compose: dict[str, Any], tmp_path: Path) -> None:
    found = services(compose)
    text = caddyfile()
    upstream = re.search(r"^\s*dynamic a (\S+) (\d+)", text, re.M)
    assert upstream is not None
    name, port = upstream.group(1), int(upstream.group(2))
    assert name in found and found[name]["command"][2:4] == ["--role", "web"]
    assert app_settings(compose, name, tmp_path).port == port
    assert str(port) in [str(p) for p in found[name]["expose"]]
    # Caddy serves the site named in the env file, on 80 and 443
    assert re.search(r"^\{\$LXCM_SITE_ADDRESS\} \{", text, re.M)
    assert "LXCM_SITE_ADDRESS" in found["caddy"]["environment"]
    assert {"80:80", "443:443"} <= set(found["caddy"]["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in found["caddy"]["volumes"]


def test_the_proxy_balances_without_sticky_sessions_and_sets_the_client_address() -> None:
    text = caddyfile()
    policy = re.search(r"^\s*lb_policy (\S+)", text, re.M)
    assert policy is not None and policy.group(1) == "round_robin"
    assert not re.search(r"\b(ip_hash|cookie|header)\b.*$", policy.group(0))
    # whatever the client sent is replaced by the address Caddy saw
    assert re.search(r"^\s*header_up X-Forwarded-For \{remote_host\}$", text, re.M)
    # WebSockets: Caddy upgrades them as they come; nothing in the file may turn that off
    assert "Connection" not in text and "Upgrade" not in text


def test_the_app_believes_x_forwarded_for_only_from_the_proxy(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    network = compose["networks"]["lxcm"]["ipam"]["config"][0]
    subnet = ipaddress.ip_network(network["subnet"])
    dynamic = ipaddress.ip_network(network["ip_range"])
    caddy = ipaddress.ip_address(services(compose)["caddy"]["networks"]["lxcm"]["ipv4_address"])
    # Caddy's fixed address is on the network but never handed to another container
    assert caddy in subnet and caddy not in dynamic and dynamic.subnet_of(subnet)
    for service in ("web", "worker", "migrate"):
        assert services(compose)[service]["networks"] == ["lxcm"]
    settings = app_settings(compose, "web", tmp_path)
    assert settings.trusted_proxies == (ipaddress.ip_network(f"{caddy}/32"),)
    # through Caddy: the address Caddy saw is the client
    assert client_address(str(caddy), {"x-forwarded-for": SPOOFED}, settings) == SPOOFED
    # the attack: any other container (or a host reaching a replica directly) sends a
    # spoofed X-Forwarded-For to dodge the sign-in rate limit; the peer stays the client
    other = str(next(dynamic.hosts()))
    for forwarded in (SPOOFED, f"{caddy}", f"1.2.3.4, {SPOOFED}"):
        assert client_address(other, {"x-forwarded-for": forwarded}, settings) == other


def test_health_checks_and_start_order(compose: dict[str, Any]) -> None:
    found = services(compose)
    for name in ("postgres", "redis", "web", "worker"):
        assert found[name]["healthcheck"]["test"], name
    assert found["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        depends = found[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert found["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert found["caddy"]["depends_on"]["web"]["condition"] == "service_healthy"
    redis_check = " ".join(found["redis"]["healthcheck"]["test"])
    assert "ping" in redis_check and "$REDIS_PASSWORD" in redis_check
    assert shlex.split(found["redis"]["command"][2])[0] == "exec"


def test_the_example_site_is_the_public_url() -> None:
    example = read_env_file(DEPLOY / ".env.example")
    public = urlsplit(example["LXCM_PUBLIC_URL"])
    site = example["LXCM_SITE_ADDRESS"]
    site_host = urlsplit(site).hostname if "://" in site else site.split(":")[0]
    assert public.hostname == site_host
    load_settings({"LXCM_PUBLIC_URL": example["LXCM_PUBLIC_URL"]}, cwd=ROOT)
