"""systemctl, journalctl and service (systemd 252 output), and OpenRC's rc-service/rc-update."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ..base import Ctx, Program
from ..system import JournalEntry, ServiceManager, UnitState, unit_name
from .network import container_of

SYSTEMD_VERSION = "systemd 252 (252.30-1~deb12u2)"
PRIORITIES = {
    "emerg": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}
UNIT_COMMANDS = {
    "start",
    "stop",
    "restart",
    "reload",
    "try-restart",
    "reload-or-restart",
    "enable",
    "disable",
    "is-active",
    "is-enabled",
    "is-failed",
    "status",
    "show",
    "list-units",
    "list-unit-files",
    "daemon-reload",
    "mask",
    "unmask",
    "cat",
}


@dataclass
class SystemctlArgs:
    command: str = "list-units"
    units: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    properties: list[str] = field(default_factory=list)
    output: str = "short"
    states: list[str] = field(default_factory=list)
    lines: int = 10


SYSTEMCTL_VALUE_OPTIONS = {
    "-p",
    "--property",
    "-o",
    "--output",
    "-t",
    "--type",
    "--state",
    "-n",
    "--lines",
}


def parse_systemctl(args: list[str]) -> SystemctlArgs | str:
    parsed = SystemctlArgs()
    command = None
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg in SYSTEMCTL_VALUE_OPTIONS:
            _apply_option(parsed, arg.lstrip("-"), args[index] if index < len(args) else "")
            index += 1
        elif arg.startswith("--") and "=" in arg:
            name, _, value = arg[2:].partition("=")
            _apply_option(parsed, name, value)
        elif arg.startswith("--"):
            parsed.flags.add(arg)
        elif arg.startswith("-"):
            parsed.flags.update(f"-{c}" for c in arg[1:])
        elif command is None:
            command = arg
        else:
            parsed.units.append(arg)
    if command is not None and command not in UNIT_COMMANDS:
        return f"Unknown command verb '{command}'."
    parsed.command = command or "list-units"
    return parsed


def _apply_option(parsed: SystemctlArgs, name: str, value: str) -> None:
    if name in ("p", "property"):
        parsed.properties.extend(v for v in value.split(",") if v)
    elif name in ("o", "output"):
        parsed.output = value
    elif name == "state":
        parsed.states.extend(value.split(","))
    elif name in ("n", "lines"):
        parsed.lines = int(value) if value.isdigit() else 10


def _format_time(when: float) -> str:
    return time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}min ago"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}min ago"
    return f"{seconds // 86400} days ago"


async def systemctl(ctx: Ctx) -> int:
    world = container_of(ctx)
    if world is None or not world.os.uses_systemd:
        return await ctx.fail("command not available", 127)
    if "--version" in ctx.args:
        await ctx.out(f"{SYSTEMD_VERSION}\n+PAM +AUDIT +SELINUX +APPARMOR +SECCOMP\n")
        return 0
    parsed = parse_systemctl(ctx.args)
    if isinstance(parsed, str):
        return await ctx.fail(parsed, 1)
    if "--user" in parsed.flags:
        return await ctx.fail("Failed to connect to bus: No medium found", 1)
    runner = _Systemctl(ctx, world.services, parsed)
    return await runner.run()


class _Systemctl:
    def __init__(self, ctx: Ctx, manager: ServiceManager, args: SystemctlArgs) -> None:
        self.ctx = ctx
        self.manager = manager
        self.args = args
        self.units = [unit_name(u) for u in args.units]

    @property
    def quiet(self) -> bool:
        return "-q" in self.args.flags or "--quiet" in self.args.flags

    async def run(self) -> int:
        command = self.args.command.replace("-", "_")
        handler = getattr(self, f"_{command}", None)
        if handler is None:
            return await self._lifecycle()
        status: int = await handler()
        return status

    async def _need_units(self) -> bool:
        if self.units:
            return True
        await self.ctx.err("Too few arguments.\n")
        return False

    # -- lifecycle ----------------------------------------------------------------------------
    async def _lifecycle(self) -> int:
        if not await self._need_units():
            return 1
        verb = self.args.command
        for unit in self.units:
            if not self.manager.known(unit):
                state = "not found" if verb != "stop" else "not loaded"
                return await self.ctx.fail(
                    f"Failed to {verb.split('-')[0]} {unit}: Unit {unit} {state}.", 5
                )
        status = 0
        for unit in self.units:
            status = max(status, await self._apply(verb, unit))
        return status

    async def _apply(self, verb: str, unit: str) -> int:
        manager = self.manager
        if verb == "stop":
            manager.stop(unit)
            return 0
        if verb in ("try-restart",) and not manager.is_active(unit):
            return 0
        ok = (
            manager.restart(unit)
            if verb in ("restart", "try-restart", "reload-or-restart")
            else manager.start(unit)
        )
        if ok:
            return 0
        await self.ctx.err(
            f"Job for {unit} failed because the control process exited with "
            f'error code.\nSee "systemctl status {unit}" and "journalctl -xeu '
            f'{unit}" for details.\n'
        )
        return 1

    async def _enable(self) -> int:
        return await self._enablement(True)

    async def _disable(self) -> int:
        return await self._enablement(False)

    async def _enablement(self, enable: bool) -> int:
        if not await self._need_units():
            return 1
        for unit in self.units:
            if not self.manager.known(unit):
                verb = "enable" if enable else "disable"
                return await self.ctx.fail(
                    f"Failed to {verb} unit: Unit file {unit} does not exist.", 1
                )
        for unit in self.units:
            message = self.manager.enable(unit) if enable else self.manager.disable(unit)
            if message and not self.quiet:
                await self.ctx.err(message + "\n")
            if "--now" in self.args.flags:
                status = await self._apply("start" if enable else "stop", unit)
                if status:
                    return status
        return 0

    async def _mask(self) -> int:
        return await self.ctx.fail("masking units is not supported by the simulator", 1)

    async def _unmask(self) -> int:
        return 0

    async def _daemon_reload(self) -> int:
        return 0

    # -- queries -----------------------------------------------------------------------------------
    def _active_state(self, unit: str) -> str:
        if not self.manager.known(unit):
            return "inactive"
        return self.manager.state(unit).active

    async def _is_active(self) -> int:
        if not await self._need_units():
            return 1
        states = [self._active_state(u) for u in self.units]
        if not self.quiet:
            await self.ctx.out("".join(f"{s}\n" for s in states))
        return 0 if all(s == "active" for s in states) else 3

    async def _is_failed(self) -> int:
        if not await self._need_units():
            return 1
        states = [self._active_state(u) for u in self.units]
        if not self.quiet:
            await self.ctx.out("".join(f"{s}\n" for s in states))
        return 0 if any(s == "failed" for s in states) else 1

    async def _is_enabled(self) -> int:
        if not await self._need_units():
            return 1
        status = 0
        for unit in self.units:
            if not self.manager.known(unit):
                await self.ctx.err(
                    f"Failed to get unit file state for {unit}: No such file or directory\n"
                )
                return 1
            enabled = self.manager.is_enabled(unit)
            if not self.quiet:
                await self.ctx.out("enabled\n" if enabled else "disabled\n")
            status = status if enabled else 1
        return status

    async def _cat(self) -> int:
        if not await self._need_units():
            return 1
        for unit in self.units:
            path = self.manager.unit_path(unit)
            if path is None:
                return await self.ctx.fail(f"No files found for {unit}.", 1)
            await self.ctx.out(f"# {path}\n{self.ctx.vfs.read_text(path)}")
        return 0

    async def _status(self) -> int:
        units = self.units or [u for u in self.manager.units() if self.manager.is_active(u)]
        status = 0
        for index, unit in enumerate(units):
            if not self.manager.known(unit):
                await self.ctx.err(f"Unit {unit} could not be found.\n")
                status = 4
                continue
            if index:
                await self.ctx.out("\n")
            await self.ctx.out(self._status_text(unit))
            if self.manager.state(unit).active != "active":
                status = max(status, 3)
        return status

    def _status_text(self, unit: str) -> str:
        manager = self.manager
        state = manager.state(unit)
        spec = state.spec
        now = self.ctx.world.clock()
        enabled = "enabled" if manager.is_enabled(unit) else "disabled"
        dot = (
            "\u25cf"
            if state.active == "active"
            else ("\u00d7" if state.active == "failed" else "\u25cb")
        )
        lines = [
            f"{dot} {unit} - {spec.description}",
            f"     Loaded: loaded ({manager.unit_path(unit)}; {enabled}; preset: enabled)",
            f"     Active: {self._active_text(state, now)}",
        ]
        if spec.docs:
            lines.append(f"       Docs: {spec.docs}")
        if state.main_pid:
            lines += [
                f"   Main PID: {state.main_pid} ({spec.process})",
                f"      Tasks: {len(state.pids)} (limit: 38329)",
                "     Memory: 4.2M",
                "        CPU: 35ms",
                f"     CGroup: /system.slice/{unit}",
            ]
            lines += [
                f"             {'└' if i == len(state.pids) - 1 else '├'}─{pid} "
                f'"{spec.command_line if i == 0 else spec.process + ": worker process"}"'
                for i, pid in enumerate(state.pids)
            ]
        entries = [e for e in self._journal() if e.unit == unit][-self.args.lines :]
        if entries:
            lines.append("")
            lines += [format_entry(e, self.ctx.world.hostname, "short") for e in entries]
        return "".join(f"{line}\n" for line in lines)

    @staticmethod
    def _active_text(state: UnitState, now: float) -> str:
        if state.active == "inactive":
            return "inactive (dead)" + (
                f" since {_format_time(state.since)}; {_ago(now - state.since)}"
                if state.since
                else ""
            )
        return (
            f"{state.active} ({state.sub}) since {_format_time(state.since)}; "
            f"{_ago(now - state.since)}"
        )

    def _journal(self) -> list[JournalEntry]:
        world = container_of(self.ctx)
        return world.journal.entries if world else []

    async def _show(self) -> int:
        units = self.units or ["systemd"]
        for index, unit in enumerate(units):
            properties = self._properties(unit)
            wanted = self.args.properties or list(properties)
            if index:
                await self.ctx.out("\n")
            for name in wanted:
                value = properties.get(name, "")
                await self.ctx.out(
                    f"{value}\n" if "--value" in self.args.flags else f"{name}={value}\n"
                )
        return 0

    def _properties(self, unit: str) -> dict[str, str]:
        if not self.manager.known(unit):
            return {
                "Id": unit,
                "Names": unit,
                "LoadState": "not-found",
                "ActiveState": "inactive",
                "SubState": "dead",
                "UnitFileState": "",
                "MainPID": "0",
                "Description": unit,
                "LoadError": f'org.freedesktop.systemd1.NoSuchUnit "Unit {unit} not found."',
            }
        state = self.manager.state(unit)
        since = _format_time(state.since) if state.since else ""
        return {
            "Type": "oneshot" if state.spec.kind == "oneshot" else "simple",
            "Restart": "no",
            "MainPID": str(state.main_pid),
            "ExecMainPID": str(state.main_pid),
            "Result": "exit-code" if state.active == "failed" else "success",
            "NRestarts": "0",
            "Id": unit,
            "Names": unit,
            "Description": state.spec.description,
            "LoadState": "loaded",
            "ActiveState": state.active,
            "SubState": state.sub,
            "FragmentPath": self.manager.unit_path(unit) or "",
            "UnitFileState": "enabled" if self.manager.is_enabled(unit) else "disabled",
            "UnitFilePreset": "enabled",
            "ActiveEnterTimestamp": since if state.active == "active" else "",
            "StateChangeTimestamp": since,
            "ExecStart": f"{{ path={state.spec.command_line.split(' ')[0]} ; "
            f"argv[]={state.spec.command_line} }}",
        }

    async def _list_units(self) -> int:
        show_all = "--all" in self.args.flags or "-a" in self.args.flags
        rows = []
        for unit in self.manager.units():
            state = self.manager.state(unit)
            if not show_all and state.active == "inactive" and not self.args.states:
                continue
            if self.args.states and not {state.active, state.sub} & set(self.args.states):
                continue
            if self.units and not any(_glob_match(p, unit) for p in self.units):
                continue
            rows.append(
                {
                    "unit": unit,
                    "load": "loaded",
                    "active": state.active,
                    "sub": state.sub,
                    "description": state.spec.description,
                }
            )
        if self.args.output.startswith("json"):
            await self.ctx.out(json.dumps(rows, separators=(",", ":")) + "\n")
            return 0
        await self.ctx.out(self._table(rows))
        return 0

    def _table(self, rows: list[dict[str, str]]) -> str:
        legend = "--no-legend" not in self.args.flags
        width = max([len(r["unit"]) for r in rows] + [4]) + 1
        lines = [f"  {'UNIT':<{width}}LOAD   ACTIVE SUB     DESCRIPTION"] if legend else []
        for row in rows:
            marker = (
                "\u25cf "
                if row["active"] == "failed" and "--plain" not in self.args.flags
                else "  "
            )
            lines.append(
                f"{marker}{row['unit']:<{width}}{row['load']:<7}{row['active']:<7}"
                f"{row['sub']:<8}{row['description']}"
            )
        if legend:
            lines += [
                "",
                "LOAD   = Reflects whether the unit definition was properly loaded.",
                "ACTIVE = The high-level unit activation state, i.e. generalization of SUB.",
                "SUB    = The low-level unit activation state, values depend on unit type.",
                f"{len(rows)} loaded units listed.",
            ]
        return "".join(f"{line}\n" for line in lines)

    async def _list_unit_files(self) -> int:
        rows = [
            {
                "unit_file": u,
                "state": "enabled" if self.manager.is_enabled(u) else "disabled",
                "preset": "enabled",
            }
            for u in self.manager.units()
        ]
        if self.args.output.startswith("json"):
            await self.ctx.out(json.dumps(rows, separators=(",", ":")) + "\n")
            return 0
        width = max([len(r["unit_file"]) for r in rows] + [9]) + 1
        lines = [f"{'UNIT FILE':<{width}}STATE    PRESET"]
        lines += [f"{r['unit_file']:<{width}}{r['state']:<9}{r['preset']}" for r in rows]
        lines += ["", f"{len(rows)} unit files listed."]
        await self.ctx.out("".join(f"{line}\n" for line in lines))
        return 0


def _glob_match(pattern: str, name: str) -> bool:
    from ..patterns import match

    return match(pattern, name) or match(pattern.removesuffix(".service"), name)


# -- journalctl -------------------------------------------------------------------------------------------
def format_entry(entry: JournalEntry, hostname: str, output: str) -> str:
    stamp = time.gmtime(entry.timestamp)
    source = entry.identifier if entry.pid == 0 else f"{entry.identifier}[{entry.pid}]"
    if output == "cat":
        return entry.message
    if output == "json":
        record = {
            "__REALTIME_TIMESTAMP": str(int(entry.timestamp * 1_000_000)),
            "_HOSTNAME": hostname,
            "SYSLOG_IDENTIFIER": entry.identifier,
            "MESSAGE": entry.message,
            "PRIORITY": str(entry.priority),
        }
        if entry.pid:
            record["_PID"] = str(entry.pid)
        if entry.unit:
            record["_SYSTEMD_UNIT" if entry.identifier != "systemd" else "UNIT"] = entry.unit
        return json.dumps(record, separators=(",", ":"))
    if output == "short-iso":
        return (
            f"{time.strftime('%Y-%m-%dT%H:%M:%S+0000', stamp)} {hostname} {source}: {entry.message}"
        )
    return f"{time.strftime('%b %d %H:%M:%S', stamp)} {hostname} {source}: {entry.message}"


@dataclass
class JournalQuery:
    units: list[str] = field(default_factory=list)
    lines: int | None = None
    follow: bool = False
    output: str = "short"
    priority: int = 7
    identifiers: list[str] = field(default_factory=list)

    def matches(self, entry: JournalEntry) -> bool:
        if self.units and entry.unit not in self.units:
            return False
        if self.identifiers and entry.identifier not in self.identifiers:
            return False
        return entry.priority <= self.priority


JOURNAL_VALUE_OPTIONS = {
    "-u",
    "--unit",
    "-n",
    "--lines",
    "-o",
    "--output",
    "-p",
    "--priority",
    "-t",
    "--identifier",
    "--since",
    "--until",
    "-S",
    "-U",
}
JOURNAL_IGNORED = {
    "-b",
    "--boot",
    "-x",
    "--catalog",
    "-q",
    "--quiet",
    "-a",
    "--all",
    "-l",
    "--full",
    "-r",
    "--reverse",
    "--no-pager",
    "--no-hostname",
    "--utc",
    "-m",
    "--merge",
    "--since",
    "--until",
    "-S",
    "-U",
    "--no-tail",
}


def parse_journalctl(args: list[str]) -> JournalQuery | str:
    """journalctl's options: `-u UNIT`, `-uUNIT`, `--unit=UNIT`, bundles like `-xeu UNIT`."""
    query = JournalQuery()
    pending = list(args)
    while pending:
        arg = pending.pop(0)
        if arg.startswith("--") and "=" in arg:
            name, _, value = arg.partition("=")
            options = [(name, value)]
        elif arg in JOURNAL_VALUE_OPTIONS:
            options = [(arg, pending.pop(0) if pending else "")]
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            options = _short_bundle(arg, pending)
        else:
            options = [(arg, "")]
        for name, value in options:
            problem = _apply_journal_option(query, name, value)
            if problem:
                return problem
    return query


def _short_bundle(arg: str, pending: list[str]) -> list[tuple[str, str]]:
    """`-n20` (a value attached) or `-xef` / `-xeu nginx` (flags, the last taking a value)."""
    first = f"-{arg[1]}"
    if first in JOURNAL_VALUE_OPTIONS:
        return [(first, arg[2:])]
    options = [(f"-{c}", "") for c in arg[1:]]
    last = options[-1][0]
    if last in JOURNAL_VALUE_OPTIONS:
        options[-1] = (last, pending.pop(0) if pending else "")
    return options


def _apply_journal_option(query: JournalQuery, name: str, value: str) -> str | None:
    if name in ("-u", "--unit"):
        query.units.append(unit_name(value))
    elif name in ("-n", "--lines"):
        if not value.isdigit():
            return f"Failed to parse lines '{value}'."
        query.lines = int(value)
    elif name in ("-o", "--output"):
        query.output = value
    elif name in ("-p", "--priority"):
        query.priority = PRIORITIES.get(value, int(value) if value.isdigit() else 7)
    elif name in ("-t", "--identifier"):
        query.identifiers.append(value)
    elif name in ("-f", "--follow"):
        query.follow = True
    elif name in ("-e", "--pager-end"):
        query.lines = query.lines or 1000
    elif name not in JOURNAL_IGNORED:
        return f"unrecognized option '{name}'"
    return None


async def journalctl(ctx: Ctx) -> int:
    world = container_of(ctx)
    if world is None or not world.os.uses_systemd:
        return await ctx.fail("command not available", 127)
    query = parse_journalctl(ctx.args)
    if isinstance(query, str):
        return await ctx.fail(query, 1)
    entries = [e for e in world.journal.entries if query.matches(e)]
    limit = query.lines if query.lines is not None else (10 if query.follow else None)
    shown = entries[-limit:] if limit else ([] if limit == 0 else entries)
    if not shown and not query.follow:
        await ctx.out("-- No entries --\n")
        return 0
    for entry in shown:
        await ctx.out(format_entry(entry, world.hostname, query.output) + "\n")
    if query.follow:
        await _follow_journal(ctx, query)
    return 0


async def _follow_journal(ctx: Ctx, query: JournalQuery) -> None:
    """`journalctl -f`: print matching entries as they are added, until cancelled."""
    world = container_of(ctx)
    assert world is not None
    seen = len(world.journal.entries)
    while True:
        await world.journal.wait_beyond(seen)
        for entry in world.journal.entries[seen:]:
            if query.matches(entry):
                await ctx.out(format_entry(entry, world.hostname, query.output) + "\n")
        seen = len(world.journal.entries)


async def service(ctx: Ctx) -> int:
    """SysV compatibility: `service NAME start|stop|restart|status`."""
    if ctx.args == ["--status-all"]:
        world = container_of(ctx)
        if world is None:
            return 1
        for unit in world.services.units():
            mark = "+" if world.services.is_active(unit) else "-"
            await ctx.out(f" [ {mark} ]  {unit.removesuffix('.service')}\n")
        return 0
    if len(ctx.args) < 2:
        return await ctx.fail(
            "Usage: service < option > | --status-all | [ service_name "
            "[ command | --full-restart ] ]",
            1,
        )
    return await systemctl(ctx.with_argv(["systemctl", ctx.args[1], ctx.args[0]]))


# -- OpenRC (Alpine) --------------------------------------------------------------------------------------
async def rc_service(ctx: Ctx) -> int:
    world = container_of(ctx)
    if world is None or len(ctx.args) < 2:
        return await ctx.fail("usage: rc-service [options] service cmd [...]", 1)
    name, verb = ctx.args[0], ctx.args[1]
    unit = unit_name(name)
    manager = world.services
    if not manager.known(unit):
        await ctx.err(f" * rc-service: service `{name}' does not exist\n")
        return 1
    if verb == "status":
        started = manager.is_active(unit)
        await ctx.out(f" * status: {'started' if started else 'stopped'}\n")
        return 0 if started else 3
    if verb in ("stop", "restart"):
        if manager.is_active(unit):
            await ctx.err(f" * Stopping {name} ...\n")
        manager.stop(unit)
    if verb in ("start", "restart"):
        await ctx.err(f" * Starting {name} ...\n")
        if not manager.start(unit):
            await ctx.err(
                f" * start-stop-daemon: failed to start `{name}'\n"
                f" * ERROR: {name} failed to start\n"
            )
            return 1
    if verb not in ("start", "stop", "restart"):
        return await ctx.fail(f"unknown function `{verb}'", 1)
    return 0


async def rc_update(ctx: Ctx) -> int:
    world = container_of(ctx)
    if world is None or len(ctx.args) < 2:
        return await ctx.fail("usage: rc-update [options] add|del service [runlevel]", 1)
    verb, name = ctx.args[0], ctx.args[1]
    unit = unit_name(name)
    if not world.services.known(unit):
        return await ctx.fail(f"service `{name}' does not exist", 1)
    if verb == "add":
        world.services.enable(unit)
        await ctx.out(f" * service {name} added to runlevel default\n")
        return 0
    if verb in ("del", "delete"):
        world.services.disable(unit)
        await ctx.out(f" * service {name} removed from runlevel default\n")
        return 0
    return await ctx.fail(f"unknown command `{verb}'", 1)


async def rc_status(ctx: Ctx) -> int:
    world = container_of(ctx)
    if world is None:
        return 1
    lines = ["Runlevel: default"]
    for unit in world.services.units():
        if world.services.is_enabled(unit):
            state = "started" if world.services.is_active(unit) else "stopped"
            lines.append(f" {unit.removesuffix('.service'):<40}[  {state}  ]")
    await ctx.out("".join(f"{line}\n" for line in lines))
    return 0


PROGRAMS: dict[str, Program] = {
    "/usr/bin/systemctl": systemctl,
    "/usr/bin/journalctl": journalctl,
    "/usr/sbin/service": service,
}
OPENRC_PROGRAMS: dict[str, Program] = {
    "/sbin/rc-service": rc_service,
    "/sbin/rc-update": rc_update,
    "/bin/rc-status": rc_status,
}
