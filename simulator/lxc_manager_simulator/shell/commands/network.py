"""Addresses, sockets and processes: ip, ss, hostname, pgrep, ps, curl, wget.

The container is offline: only its own listening services can be reached over HTTP.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import catalog
from ..base import Ctx, Program
from ..system import Process, Socket
from .files import split_flags

if TYPE_CHECKING:
    from ..world import ContainerWorld, NetInterface

FOREVER = 4294967295
PORT_NAMES = {
    22: "ssh",
    25: "smtp",
    53: "domain",
    80: "http",
    443: "https",
    3306: "mysql",
    5432: "postgresql",
    1883: "mqtt",
    6379: "redis",
    9100: "jetdirect",
    11211: "memcache",
    5672: "amqp",
}
BACKLOGS = {
    "nginx": 511,
    "redis-server": 511,
    "sshd": 128,
    "postgres": 244,
    "mariadbd": 80,
    "master": 100,
    "apache2": 511,
}
ALPINE_BIN_APPLETS = {
    "cat",
    "chmod",
    "chown",
    "cp",
    "date",
    "echo",
    "grep",
    "hostname",
    "ln",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "ps",
    "pwd",
    "rm",
    "sed",
    "sh",
    "sleep",
    "touch",
    "true",
    "false",
    "uname",
    "bash",
}
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "ip6-localhost"}


def container_of(ctx: Ctx) -> ContainerWorld | None:
    from ..world import ContainerWorld

    return ctx.world if isinstance(ctx.world, ContainerWorld) else None


# -- ip -------------------------------------------------------------------------------------------
def _interfaces(world: ContainerWorld) -> list[dict[str, Any]]:
    """Interfaces as `ip -j addr` describes them."""
    loopback: dict[str, Any] = {
        "ifindex": 1,
        "ifname": "lo",
        "flags": ["LOOPBACK", "UP", "LOWER_UP"],
        "mtu": 65536,
        "qdisc": "noqueue",
        "operstate": "UNKNOWN",
        "group": "default",
        "txqlen": 1000,
        "link_type": "loopback",
        "address": "00:00:00:00:00:00",
        "broadcast": "00:00:00:00:00:00",
        "addr_info": [
            _addr("inet", "127.0.0.1", 8, "host", "lo"),
            _addr("inet6", "::1", 128, "host", None),
        ],
    }
    out = [loopback]
    for net in world.nets:
        out.append(_interface_json(world, net))
    return out


def _interface_json(world: ContainerWorld, net: NetInterface) -> dict[str, Any]:
    from ..world import link_local

    infos: list[dict[str, Any]] = []
    up = world.running
    if up and net.ipv4:
        address, prefix = net.ipv4.split("/")
        info = _addr("inet", address, int(prefix), "global", net.name)
        info["broadcast"] = str(ipaddress.ip_network(net.ipv4, strict=False).broadcast_address)
        if net.dhcp:
            info["dynamic"] = True
            info["valid_life_time"] = info["preferred_life_time"] = 86000
        infos.append(info)
    if up:
        local, prefix = link_local(net.hwaddr).split("/")
        infos.append(_addr("inet6", local, int(prefix), "link", None))
    return {
        "ifindex": net.index,
        "link_index": net.peer_index,
        "ifname": net.name,
        "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"] if up else ["BROADCAST", "MULTICAST"],
        "mtu": 1500,
        "qdisc": "noqueue",
        "operstate": "UP" if up else "DOWN",
        "group": "default",
        "txqlen": 1000,
        "link_type": "ether",
        "address": net.hwaddr.lower(),
        "broadcast": "ff:ff:ff:ff:ff:ff",
        "link_netnsid": 0,
        "addr_info": infos,
    }


def _addr(family: str, local: str, prefix: int, scope: str, label: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"family": family, "local": local, "prefixlen": prefix, "scope": scope}
    if label:
        info["label"] = label
    info["valid_life_time"] = FOREVER
    info["preferred_life_time"] = FOREVER
    return info


def _lifetimes(info: dict[str, Any]) -> str:
    def life(value: int) -> str:
        return "forever" if value == FOREVER else f"{value}sec"

    return (
        f"valid_lft {life(info['valid_life_time'])} "
        f"preferred_lft {life(info['preferred_life_time'])}"
    )


def _address_words(iface: dict[str, Any], info: dict[str, Any]) -> str:
    words = [info["family"], f"{info['local']}/{info['prefixlen']}"]
    if "broadcast" in info:
        words += ["brd", info["broadcast"]]
    words += ["scope", info["scope"]]
    if info.get("dynamic"):
        words.append("dynamic")
    if info["family"] == "inet":
        words.append(iface["ifname"])
    return " ".join(words)


def _display_name(iface: dict[str, Any]) -> str:
    link = iface.get("link_index")
    return f"{iface['ifname']}@if{link}" if link else iface["ifname"]


def _format_addr(interfaces: list[dict[str, Any]], oneline: bool) -> str:
    lines: list[str] = []
    for iface in interfaces:
        if oneline:
            for info in iface["addr_info"]:
                lines.append(
                    f"{iface['ifindex']}: {iface['ifname']}    "
                    f"{_address_words(iface, info)}\\       {_lifetimes(info)}"
                )
            continue
        flags = ",".join(iface["flags"])
        lines.append(
            f"{iface['ifindex']}: {_display_name(iface)}: <{flags}> mtu {iface['mtu']} "
            f"qdisc {iface['qdisc']} state {iface['operstate']} group default qlen 1000"
        )
        netns = " link-netnsid 0" if "link_netnsid" in iface else ""
        lines.append(
            f"    link/{iface['link_type']} {iface['address']} brd {iface['broadcast']}{netns}"
        )
        for info in iface["addr_info"]:
            lines.append(f"    {_address_words(iface, info)}")
            lines.append(f"       {_lifetimes(info)}")
    return "".join(line + "\n" for line in lines)


def _format_brief(interfaces: list[dict[str, Any]]) -> str:
    out = []
    for iface in interfaces:
        addresses = " ".join(f"{i['local']}/{i['prefixlen']}" for i in iface["addr_info"])
        out.append(f"{_display_name(iface):<16} {iface['operstate']:<14} {addresses} \n")
    return "".join(out)


async def ip(ctx: Ctx) -> int:
    world = container_of(ctx)
    args = list(ctx.args)
    options: set[str] = set()
    while args and args[0].startswith("-"):
        options.add({"-json": "-j", "-brief": "-br", "-oneline": "-o"}.get(args[0], args[0]))
        args.pop(0)
    if not args:
        return await ctx.fail("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }", 255)
    obj, rest = args[0], [a for a in args[1:] if a not in ("show", "list", "dev")]
    interfaces = _interfaces(world) if world else []
    if rest:
        interfaces = [i for i in interfaces if i["ifname"] == rest[0]]
        if not interfaces:
            return await ctx.fail(f'Device "{rest[0]}" does not exist.', 1)
    if "addr".startswith(obj) or obj == "address":
        interfaces = _filter_family(interfaces, options)
        return await _print_interfaces(ctx, interfaces, options)
    if "link".startswith(obj):
        links = [
            {k: v for k, v in i.items() if k != "addr_info"} | {"addr_info": []} for i in interfaces
        ]
        return await _print_interfaces(ctx, links, options)
    if "route".startswith(obj):
        return await _routes(ctx, world, "-j" in options)
    return await ctx.fail(f'Object "{obj}" is unknown, try "ip help".', 255)


def _filter_family(interfaces: list[dict[str, Any]], options: set[str]) -> list[dict[str, Any]]:
    family = "inet" if "-4" in options else "inet6" if "-6" in options else None
    if family is None:
        return interfaces
    out = []
    for iface in interfaces:
        infos = [i for i in iface["addr_info"] if i["family"] == family]
        if infos:
            out.append({**iface, "addr_info": infos})
    return out


async def _print_interfaces(ctx: Ctx, interfaces: list[dict[str, Any]], options: set[str]) -> int:
    if "-j" in options:
        await ctx.out(json.dumps(interfaces, separators=(",", ":")) + "\n")
    elif "-br" in options:
        await ctx.out(_format_brief(interfaces))
    else:
        await ctx.out(_format_addr(interfaces, "-o" in options))
    return 0


async def _routes(ctx: Ctx, world: ContainerWorld | None, as_json: bool) -> int:
    routes: list[dict[str, Any]] = []
    for net, cidr in world.addresses() if world else []:
        if net.gateway:
            routes.append({"dst": "default", "gateway": net.gateway, "dev": net.name, "flags": []})
        network = ipaddress.ip_network(cidr, strict=False)
        routes.append(
            {
                "dst": str(network),
                "dev": net.name,
                "protocol": "kernel",
                "scope": "link",
                "prefsrc": cidr.split("/")[0],
                "flags": [],
            }
        )
    if as_json:
        await ctx.out(json.dumps(routes, separators=(",", ":")) + "\n")
        return 0
    for route in routes:
        if route["dst"] == "default":
            await ctx.out(f"default via {route['gateway']} dev {route['dev']} \n")
        else:
            await ctx.out(
                f"{route['dst']} dev {route['dev']} proto kernel scope link src "
                f"{route['prefsrc']} \n"
            )
    return 0


# -- ss ---------------------------------------------------------------------------------------------
def _endpoint(address: str, port: int | str) -> str:
    if address == "*":
        return f"*:{port}"
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _socket_line(socket: Socket, numeric: bool, processes: bool) -> str:
    port: int | str = socket.port if numeric else PORT_NAMES.get(socket.port, socket.port)
    local = _endpoint(socket.address, port)
    if ":" in socket.address:
        peer = "[::]:*"
    elif socket.address == "*":
        peer = "*:*"
    else:
        peer = "0.0.0.0:*"
    backlog = BACKLOGS.get(socket.process, 4096)
    line = f"LISTEN {0:<6} {backlog:<6} {local:>20} {peer:>20}"
    if processes:
        users = ",".join(
            f'("{socket.process}",pid={pid},fd={6 + i % 2})'
            for i, pid in enumerate(socket.pids[:2])
        )
        line += f"    users:({users})"
    return line


async def ss(ctx: Ctx) -> int:
    flags: set[str] = set()
    for arg in ctx.args:
        if arg.startswith("--"):
            flags.add(
                {
                    "--tcp": "t",
                    "--listening": "l",
                    "--numeric": "n",
                    "--processes": "p",
                    "--no-header": "H",
                    "--udp": "u",
                    "--all": "a",
                }.get(arg, arg)
            )
        elif arg.startswith("-"):
            flags.update(arg[1:])
    world = container_of(ctx)
    sockets = world.services.sockets() if world and world.running else []
    if "u" in flags and "t" not in flags:
        sockets = []
    if "4" in flags:
        sockets = [s for s in sockets if ":" not in s.address]
    if "6" in flags:
        sockets = [s for s in sockets if ":" in s.address or s.address == "*"]
    if "l" not in flags and "a" not in flags:
        sockets = []
    sockets.sort(key=lambda s: (":" in s.address, s.port, s.address))
    lines = (
        []
        if "H" in flags
        else [
            "State  Recv-Q Send-Q    Local Address:Port     Peer Address:Port"
            + ("Process" if "p" in flags else "")
        ]
    )
    lines += [_socket_line(s, "n" in flags, "p" in flags) for s in sockets]
    await ctx.out("".join(line + "\n" for line in lines))
    return 0


# -- hostname ----------------------------------------------------------------------------------------
async def hostname(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "IifsdAa")
    if bad:
        return await ctx.fail(f"invalid option -- '{bad}'", 64)
    world = container_of(ctx)
    if "I" in flags:
        addresses = [cidr.split("/")[0] for _, cidr in world.addresses()] if world else []
        await ctx.out(" ".join(addresses) + " \n")
        return 0
    if "i" in flags:
        await ctx.out("127.0.1.1\n")
        return 0
    if "d" in flags:
        await ctx.out("\n")
        return 0
    if operands:
        ctx.world.hostname = operands[0]
        return 0
    await ctx.out(ctx.world.hostname + "\n")
    return 0


# -- processes ---------------------------------------------------------------------------------------
def process_table(ctx: Ctx) -> list[Process]:
    world = container_of(ctx)
    if world is None or not world.running:
        return [Process(1, "root", "systemd", "/sbin/init")]
    init = "systemd" if world.os.uses_systemd else "init"
    return [Process(1, "root", init, "/sbin/init"), *world.services.processes()]


async def pgrep(ctx: Ctx) -> int:
    args = list(ctx.args)
    flags: set[str] = set()
    user = None
    patterns: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "-u" and args:
            user = args.pop(0)
        elif arg.startswith("-") and len(arg) > 1:
            flags.update(arg[1:])
        else:
            patterns.append(arg)
    if not patterns and user is None:
        return await ctx.fail(
            "no matching criteria specified\nTry `pgrep --help' for more information.", 2
        )
    try:
        regex = re.compile(patterns[0] if patterns else "")
    except re.error as exc:
        return await ctx.fail(f"invalid regular expression: {exc}", 2)
    matches = [p for p in process_table(ctx) if _process_matches(p, regex, flags, user)]
    if "c" in flags:
        await ctx.out(f"{len(matches)}\n")
    else:
        for process in matches:
            detail = (
                f" {process.command_line}"
                if "a" in flags
                else (f" {process.name}" if "l" in flags else "")
            )
            await ctx.out(f"{process.pid}{detail}\n")
    return 0 if matches else 1


def _process_matches(
    process: Process, regex: re.Pattern[str], flags: set[str], user: str | None
) -> bool:
    if user is not None and process.user != user:
        return False
    subject = process.command_line if "f" in flags else process.name
    if "x" in flags:
        return regex.fullmatch(subject) is not None
    return regex.search(subject) is not None


async def ps(ctx: Ctx) -> int:
    style = "".join(ctx.args)
    table = process_table(ctx)
    if "aux" in style.replace("-", ""):
        lines = ["USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"]
        lines += [
            f"{p.user:<10} {p.pid:>5}  0.0  0.2  20000  8000 ?        Ss   00:00   0:00 "
            f"{p.command_line}"
            for p in table
        ]
    elif "e" in style:
        lines = ["UID          PID    PPID  C STIME TTY          TIME CMD"]
        lines += [
            f"{p.user:<8} {p.pid:>7} {0 if p.pid == 1 else 1:>7}  0 00:00 ?        "
            f"00:00:00 {p.command_line}"
            for p in table
        ]
    else:
        lines = ["    PID TTY          TIME CMD", "      1 ?        00:00:00 bash"]
    await ctx.out("".join(line + "\n" for line in lines))
    return 0


# -- curl / wget ---------------------------------------------------------------------------------------
CURL_VALUE_OPTIONS = {
    "-o",
    "-X",
    "-H",
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "-u",
    "-A",
    "-e",
    "-w",
    "--connect-timeout",
    "-m",
    "--max-time",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "-T",
    "-F",
    "-b",
    "-c",
    "--resolve",
    "--output",
    "--header",
    "--user",
    "--request",
    "-x",
    "--proxy",
    "--cacert",
    "-E",
    "--cert",
    "-r",
}


def _target(url: str) -> tuple[str, int, str]:
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = default
    return parts.hostname or "", port, parts.scheme


def _local_page(ctx: Ctx, host: str, port: int) -> tuple[str, str | None]:
    """("refused" | "page" | "empty" | "unresolved" | "unreachable", page text)."""
    world = container_of(ctx)
    local = host in LOCAL_NAMES or (world is not None and host == world.hostname)
    if not local:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return "unresolved", None
        return "unreachable", None
    unit = world.services.unit_listening_on(port) if world and world.running else None
    if unit is None:
        return "refused", None
    page = catalog.HTTP_PAGES.get(unit)
    if page is None or world is None or not world.vfs.is_file(page):
        return "empty", None
    return "page", world.vfs.read_text(page)


async def curl(ctx: Ctx) -> int:
    args = list(ctx.args)
    flags: set[str] = set()
    output = None
    url = None
    while args:
        arg = args.pop(0)
        if arg in CURL_VALUE_OPTIONS:
            value = args.pop(0) if args else ""
            output = value if arg in ("-o", "--output") else output
        elif arg.startswith("--"):
            flags.add(arg)
        elif arg.startswith("-") and len(arg) > 1:
            flags.update(arg[1:])
        else:
            url = url or arg
    if url is None:
        await ctx.err(
            "curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for "
            "more information\n"
        )
        return 2
    host, port, _ = _target(url)
    outcome, page = _local_page(ctx, host, port)
    show_errors = "s" not in flags or "S" in flags or "--show-error" in flags
    if outcome == "page" and page is not None:
        if output and output != "-":
            ctx.vfs.write_text(output, page, ctx.cwd)
        else:
            await ctx.out(page)
        return 0
    errors = {
        "unresolved": (6, f"Could not resolve host: {host}"),
        "unreachable": (
            7,
            f"Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server",
        ),
        "refused": (
            7,
            f"Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server",
        ),
        "empty": (52, "Empty reply from server"),
    }
    status, message = errors[outcome]
    if show_errors:
        await ctx.err(f"curl: ({status}) {message}\n")
    return status


async def wget(ctx: Ctx) -> int:
    args = list(ctx.args)
    quiet = False
    output = None
    url = None
    while args:
        arg = args.pop(0)
        if arg == "--output-document":
            output = args.pop(0) if args else None
        elif arg in ("--quiet", "-nv"):
            quiet = True
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            letters, _, attached = arg[1:].partition("O")
            quiet = quiet or "q" in letters
            if "O" in arg:
                output = attached or (args.pop(0) if args else None)
        elif not arg.startswith("-"):
            url = url or arg
    if url is None:
        await ctx.err("wget: missing URL\nUsage: wget [OPTION]... [URL]...\n")
        return 1
    host, port, scheme = _target(url)
    outcome, page = _local_page(ctx, host, port)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ctx.world.clock()))
    shown = url if "://" in url else f"{scheme}://{url}"
    log = [] if quiet else [f"--{stamp}--  {shown}"]
    if outcome == "unresolved":
        log += [
            f"Resolving {host} ({host})... failed: Temporary failure in name resolution.",
            f"wget: unable to resolve host address '{host}'",
        ]
        if not quiet:
            await ctx.err("".join(f"{line}\n" for line in log))
        return 4
    if outcome != "page" or page is None:
        if not quiet:
            log.append(f"Connecting to {host}:{port}... failed: Connection refused.")
            await ctx.err("".join(f"{line}\n" for line in log))
        return 4
    target = output or "index.html"
    if target == "-":
        await ctx.out(page)
    else:
        ctx.vfs.write_text(target, page, ctx.cwd)
    if not quiet:
        log += [
            f"Connecting to {host}:{port}... connected.",
            "HTTP request sent, awaiting response... 200 OK",
            f"Length: {len(page)} [text/html]",
            f"Saving to: \u2018{target}\u2019",
            "",
            f"{stamp} ({len(page)} B/s) - \u2018{target}\u2019 saved [{len(page)}/{len(page)}]",
        ]
        await ctx.err("".join(f"{line}\n" for line in log))
    return 0


PROGRAMS: dict[str, Program] = {
    "/usr/bin/ip": ip,
    "/usr/bin/ss": ss,
    "/usr/bin/hostname": hostname,
    "/usr/bin/pgrep": pgrep,
    "/usr/bin/ps": ps,
}
HOST_PROGRAMS: dict[str, Program] = {"/usr/bin/hostname": hostname}
COMMANDS: dict[str, Program] = {"curl": curl, "wget": wget}
