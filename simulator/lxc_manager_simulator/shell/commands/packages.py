"""Package managers: apt-get/apt, dpkg/dpkg-query, apk, npm, pip (+ python3 -m venv), sudo.

The mirrors are simulated (always reachable, unlike the rest of the network); installs print
their progress line by line with short pauses so that streaming can be observed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .. import catalog, patterns
from ..base import Ctx, Program
from ..catalog import InstalledPackage, PackageSpec
from .network import container_of

if TYPE_CHECKING:
    from ..world import ContainerWorld

STEP_SECONDS = 0.03
APT_ERROR = 100
PEP668 = """error: externally-managed-environment

\u00d7 This environment is externally managed
\u2570\u2500> To install Python packages system-wide, try apt install
    python3-xyz, where xyz is the package you are trying to
    install.

    If you wish to install a non-Debian-packaged Python package,
    create a virtual environment using python3 -m venv path/to/venv.
    Then use path/to/venv/bin/python to run it.

note: If you believe this is a mistake, please contact your Python installation or OS \
distribution provider. You can override this, at the risk of breaking your Python \
installation or OS, by passing --break-system-packages.
hint: See PEP 668 for the detailed specification.
"""


def _world(ctx: Ctx) -> ContainerWorld:
    world = container_of(ctx)
    if world is None:
        raise RuntimeError("package managers run inside containers only")
    return world


async def _pause(ctx: Ctx, steps: float = 1.0) -> None:
    await ctx.session.sleep(STEP_SECONDS * steps)


# -- apt-get ------------------------------------------------------------------------------------------
@dataclass
class AptArgs:
    command: str | None = None
    packages: list[str] = field(default_factory=list)
    assume_yes: bool = False
    quiet: int = 0


def parse_apt(args: list[str]) -> AptArgs:
    parsed = AptArgs()
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg in ("-o", "-c", "-t", "--option", "--target-release"):
            index += 1
        elif arg in ("-y", "--yes", "--assume-yes", "--force-yes"):
            parsed.assume_yes = True
        elif re.fullmatch(r"-q+", arg) or arg in ("--quiet", "-qq"):
            parsed.quiet += max(1, arg.count("q"))
        elif arg.startswith("-q="):
            parsed.quiet = int(arg[3:] or 1)
        elif re.fullmatch(r"-[a-zA-Z]+", arg):
            parsed.assume_yes = parsed.assume_yes or "y" in arg
            parsed.quiet += arg.count("q")
        elif arg.startswith("-"):
            continue
        elif parsed.command is None:
            parsed.command = arg
        else:
            parsed.packages.append(arg)
    return parsed


class _Apt:
    def __init__(self, ctx: Ctx, args: AptArgs) -> None:
        self.ctx = ctx
        self.args = args
        self.world = _world(ctx)
        self.mirror = (
            "http://archive.ubuntu.com/ubuntu"
            if self.world.os.family == "ubuntu"
            else "http://deb.debian.org/debian"
        )

    async def say(self, text: str, level: int = 0) -> None:
        if self.args.quiet <= level:
            await self.ctx.out(text + "\n")

    async def run(self) -> int:
        handlers: dict[str, Callable[[], Awaitable[int]]] = {
            "update": self.update,
            "install": self.install,
            "remove": self.remove,
            "purge": self.remove,
            "upgrade": self.upgrade,
            "dist-upgrade": self.upgrade,
            "full-upgrade": self.upgrade,
            "autoremove": self.autoremove,
            "clean": self.clean,
            "autoclean": self.clean,
        }
        command = self.args.command
        if command is None:
            await self.ctx.out("apt 2.6.1 (amd64)\nUsage: apt-get [options] command\n")
            return 0
        handler = handlers.get(command)
        if handler is None:
            await self.ctx.err(f"E: Invalid operation {command}\n")
            return APT_ERROR
        if self.world.package_lock is not None:
            return await self.locked()
        self.world.package_lock = "apt-get"
        try:
            return await handler()
        finally:
            self.world.package_lock = None

    async def locked(self) -> int:
        pid = 1000 + self.world.rng.randrange(3000)
        await self.ctx.err(
            f"E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process {pid} "
            f"({self.world.package_lock})\nN: Be aware that removing the lock file is not a "
            "solution and may break your system.\nE: Unable to acquire the dpkg frontend lock "
            "(/var/lib/dpkg/lock-frontend), is another process using it?\n"
        )
        return APT_ERROR

    def suites(self) -> list[tuple[str, str]]:
        codename = self.world.os.codename
        security = (
            "http://security.ubuntu.com/ubuntu"
            if self.world.os.family == "ubuntu"
            else "http://security.debian.org"
        )
        return [
            (self.mirror, codename),
            (self.mirror, f"{codename}-updates"),
            (security, f"{codename}-security"),
        ]

    async def update(self) -> int:
        for index, (url, suite) in enumerate(self.suites(), start=1):
            await _pause(self.ctx, 2)
            verb = "Hit" if self.world.apt_lists_fresh else "Get"
            size = f" [{48 + index * 7}.{index} kB]" if verb == "Get" else ""
            await self.say(f"{verb}:{index} {url} {suite} InRelease{size}")
        await self.say(
            "Fetched 103 kB in 1s (131 kB/s)"
            if not self.world.apt_lists_fresh
            else "Reading package lists..."
        )
        if not self.world.apt_lists_fresh:
            await self.say("Reading package lists...")
        self.world.apt_lists_fresh = True
        return 0

    async def preamble(self) -> None:
        await self.say("Reading package lists...")
        await self.say("Building dependency tree...")
        await self.say("Reading state information...")

    def resolve(self, names: list[str]) -> tuple[list[PackageSpec], str | None]:
        specs = []
        for raw in names:
            name = re.split(r"[=:]", raw, maxsplit=1)[0]
            spec = catalog.PACKAGES.get(name)
            if spec is None:
                return [], name
            specs.append(spec)
        return specs, None

    def closure(self, specs: list[PackageSpec]) -> list[PackageSpec]:
        """The requested packages and their missing dependencies, dependencies first."""
        ordered: list[PackageSpec] = []
        seen: set[str] = set()

        def visit(spec: PackageSpec) -> None:
            if spec.name in seen or spec.name in self.world.packages:
                return
            seen.add(spec.name)
            for dependency in spec.depends:
                if dependency in catalog.PACKAGES:
                    visit(catalog.PACKAGES[dependency])
            ordered.append(spec)

        for spec in specs:
            visit(spec)
        return ordered

    async def install(self) -> int:
        await self.preamble()
        specs, missing = self.resolve(self.args.packages)
        if missing is not None:
            await self.ctx.err(f"E: Unable to locate package {missing}\n")
            return APT_ERROR
        for spec in specs:
            if spec.name in self.world.packages:
                version = self.world.packages[spec.name].version
                await self.say(f"{spec.name} is already the newest version ({version}).")
        plan = self.closure(specs)
        if not plan:
            await self.say("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
            return 0
        requested = {s.name for s in specs}
        extra = [s.name for s in plan if s.name not in requested]
        if not await self.confirm(plan, extra):
            await self.ctx.out("Abort.\n")
            return 1
        await self.download(plan)
        await self.unpack_and_configure(plan, requested)
        return 0

    async def confirm(self, plan: list[PackageSpec], extra: list[str]) -> bool:
        if extra:
            await self.say("The following additional packages will be installed:")
            await self.say("  " + " ".join(sorted(extra)))
        await self.say("The following NEW packages will be installed:")
        await self.say("  " + " ".join(sorted(s.name for s in plan)))
        await self.say(f"0 upgraded, {len(plan)} newly installed, 0 to remove and 0 not upgraded.")
        download = sum(s.size_kb for s in plan) // 3
        await self.say(f"Need to get {download:,} kB of archives.")
        await self.say(
            f"After this operation, {sum(s.size_kb for s in plan):,} kB of additional"
            " disk space will be used."
        )
        if not extra or self.args.assume_yes:
            return True
        await self.ctx.out("Do you want to continue? [Y/n] ")
        answer = (await self.ctx.stdin.readline()).decode("utf-8", "replace")
        return answer.endswith("\n") and answer.strip().lower() in ("", "y", "yes")

    async def download(self, plan: list[PackageSpec]) -> None:
        codename = self.world.os.codename
        for index, spec in enumerate(plan, start=1):
            await _pause(self.ctx)
            version = self.world.package_version(spec)
            await self.say(
                f"Get:{index} {self.mirror} {codename}/main amd64 {spec.name} amd64 "
                f"{version} [{max(1, spec.size_kb // 3):,} kB]"
            )
        total = sum(s.size_kb for s in plan) // 3
        await self.say(f"Fetched {total:,} kB in 0s ({total * 4:,} kB/s)")

    async def unpack_and_configure(self, plan: list[PackageSpec], requested: set[str]) -> None:
        files = 18_000 + len(self.world.packages) * 120
        for spec in plan:
            version = self.world.package_version(spec)
            await _pause(self.ctx)
            await self.say(f"Selecting previously unselected package {spec.name}.")
            await self.say(
                f"(Reading database ... {files} files and directories currently installed.)"
            )
            await self.say(
                f"Preparing to unpack .../{spec.name}_{_deb_version(version)}_amd64.deb ..."
            )
            await self.say(f"Unpacking {spec.name} ({version}) ...")
        for spec in plan:
            await _pause(self.ctx)
            await self.say(f"Setting up {spec.name} ({self.world.package_version(spec)}) ...")
            for message in self.world.install_package(spec, auto=spec.name not in requested):
                await self.say(message)
        await self.say("Processing triggers for libc-bin (2.36-9+deb12u8) ...")

    async def remove(self) -> int:
        await self.preamble()
        specs, missing = self.resolve(self.args.packages)
        if missing is not None:
            await self.ctx.err(f"E: Unable to locate package {missing}\n")
            return APT_ERROR
        present = [s for s in specs if s.name in self.world.packages]
        for spec in specs:
            if spec.name not in self.world.packages:
                await self.say(f"Package '{spec.name}' is not installed, so not removed")
        if present:
            await self.say("The following packages will be REMOVED:")
            await self.say("  " + " ".join(s.name for s in present))
        await self.say(
            f"0 upgraded, 0 newly installed, {len(present)} to remove and 0 not upgraded."
        )
        for spec in present:
            await _pause(self.ctx)
            version = self.world.packages[spec.name].version
            await self.say(f"Removing {spec.name} ({version}) ...")
            self.world.remove_package(spec.name)
        return 0

    async def upgrade(self) -> int:
        await self.preamble()
        await self.say("Calculating upgrade...")
        await self.say("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0

    async def autoremove(self) -> int:
        await self.preamble()
        await self.say("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0

    async def clean(self) -> int:
        return 0


def _deb_version(version: str) -> str:
    return version.split(":", 1)[-1]


async def apt_get(ctx: Ctx) -> int:
    return await _Apt(ctx, parse_apt(ctx.args)).run()


async def apt(ctx: Ctx) -> int:
    await ctx.err(
        "\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n"
    )
    parsed = parse_apt(ctx.args)
    if parsed.command == "list":
        world = _world(ctx)
        await ctx.out("Listing...\n")
        for name, package in sorted(world.packages.items()):
            await ctx.out(f"{name}/{world.os.codename},now {package.version} amd64 [installed]\n")
        return 0
    return await _Apt(ctx, parsed).run()


# -- dpkg ------------------------------------------------------------------------------------------------
DPKG_LIST_HEADER = (
    "Desired=Unknown/Install/Remove/Purge/Hold\n"
    "| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n"
    "|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n"
)


async def dpkg(ctx: Ctx) -> int:
    args = ctx.args
    if not args:
        return await ctx.fail(
            "need an action option\n\nType dpkg --help for help about "
            "installing and deinstalling packages [*];",
            2,
        )
    action, operands = args[0], args[1:]
    if action in ("-l", "--list"):
        return await _dpkg_list(ctx, operands)
    if action in ("-s", "--status"):
        return await _dpkg_status(ctx, operands)
    if action in ("-L", "--listfiles"):
        return await _dpkg_files(ctx, operands)
    if action == "--get-selections":
        world = _world(ctx)
        for name in sorted(world.packages):
            await ctx.out(f"{name:<48}install\n")
        return 0
    if action in ("-W", "--show"):
        return await dpkg_query(ctx.with_argv(["dpkg-query", *args]))
    if action == "--print-architecture":
        await ctx.out("amd64\n")
        return 0
    return await ctx.fail(f"unknown option {action}", 2)


async def _dpkg_list(ctx: Ctx, operands: list[str]) -> int:
    world = _world(ctx)
    rows = sorted(world.packages.values(), key=lambda p: p.name)
    status = 0
    if operands:
        selected: list[InstalledPackage] = []
        for pattern in operands:
            matched = [p for p in rows if patterns.match(pattern, p.name)]
            if not matched:
                await ctx.err(f"dpkg-query: no packages found matching {pattern}\n")
                status = 1
            selected.extend(m for m in matched if m not in selected)
        rows = selected
    if not rows:
        return status
    name_width = max(len(p.name) for p in rows)
    version_width = max(len(p.version) for p in rows)
    lines = [
        DPKG_LIST_HEADER.rstrip("\n"),
        f"||/ {'Name':<{name_width}} {'Version':<{version_width}} Architecture Description",
        f"+++-{'=' * name_width}-{'=' * version_width}-============-{'=' * 40}",
    ]
    lines += [
        f"ii  {p.name:<{name_width}} {p.version:<{version_width}} amd64        {p.summary}"
        for p in rows
    ]
    await ctx.out("".join(f"{line}\n" for line in lines))
    return status


async def _dpkg_status(ctx: Ctx, operands: list[str]) -> int:
    world = _world(ctx)
    status = 0
    for index, name in enumerate(operands):
        package = world.packages.get(name)
        if package is None:
            await ctx.err(
                f"dpkg-query: package '{name}' is not installed and no information "
                "is available\nUse dpkg --info (= dpkg-deb --info) to examine "
                "archive files.\n"
            )
            status = 1
            continue
        depends = ", ".join(package.depends)
        text = (
            f"Package: {package.name}\nStatus: install ok installed\nPriority: optional\n"
            f"Section: {package.section}\nInstalled-Size: {package.size_kb}\n"
            "Maintainer: Debian Developers <debian-devel@lists.debian.org>\n"
            f"Architecture: amd64\nVersion: {package.version}\n"
            + (f"Depends: {depends}\n" if depends else "")
            + f"Description: {package.summary}\n"
        )
        await ctx.out(("\n" if index else "") + text)
    return status


async def _dpkg_files(ctx: Ctx, operands: list[str]) -> int:
    world = _world(ctx)
    for name in operands:
        spec = catalog.PACKAGES.get(name)
        if name not in world.packages or spec is None:
            return await ctx.fail(f"package '{name}' is not installed", 1)
        paths = [b.path for b in spec.binaries] + [p for p, _ in spec.files]
        paths += [f"/lib/systemd/system/{s.unit}" for s in spec.services]
        await ctx.out("".join(f"{p}\n" for p in ["/.", *sorted(paths)]))
    return 0


async def dpkg_query(ctx: Ctx) -> int:
    args = list(ctx.args)
    fmt = "${binary:Package}\t${Version}\n"
    show = False
    names: list[str] = []
    while args:
        arg = args.pop(0)
        if arg in ("-W", "--show"):
            show = True
        elif arg in ("-f", "--showformat") and args:
            fmt = args.pop(0)
        elif arg.startswith(("-f=", "--showformat=")):
            fmt = arg.split("=", 1)[1]
        elif arg in ("-l", "--list", "-s", "--status"):
            return await dpkg(ctx.with_argv(["dpkg", arg, *args]))
        else:
            names.append(arg)
    if not show:
        return await ctx.fail("need an action option", 2)
    world = _world(ctx)
    status = 0
    for name in names or sorted(world.packages):
        package = world.packages.get(name)
        if package is None:
            await ctx.err(f"dpkg-query: no packages found matching {name}\n")
            status = 1
            continue
        values = {
            "Package": package.name,
            "binary:Package": package.name,
            "Version": package.version,
            "Status": "install ok installed",
            "db:Status-Abbrev": "ii ",
            "Architecture": "amd64",
            "Installed-Size": str(package.size_kb),
        }
        text = _expand_format(fmt, values)
        await ctx.out(text)
    return status


def _expand_format(fmt: str, values: dict[str, str]) -> str:
    """dpkg-query's `${Field}` format with `\\n`/`\\t` escapes."""
    text = re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m.group(1), ""), fmt)
    return text.replace("\\n", "\n").replace("\\t", "\t")


# -- apk (Alpine) ---------------------------------------------------------------------------------------
async def apk(ctx: Ctx) -> int:
    world = _world(ctx)
    args = [a for a in ctx.args if not a.startswith("-")]
    flags = [a for a in ctx.args if a.startswith("-")]
    if not args:
        return await ctx.fail(
            "apk-tools 2.14.4, compiled for x86_64.\n\nusage: apk [<OPTIONS>...] "
            "COMMAND [<ARGUMENTS>...]",
            1,
        )
    command, names = args[0], args[1:]
    repositories = [
        f"https://dl-cdn.alpinelinux.org/alpine/v{world.os.version}/{part}/x86_64/APKINDEX.tar.gz"
        for part in ("main", "community")
    ]
    if command == "update" or (command == "add" and "--no-cache" in flags):
        for url in repositories:
            await _pause(ctx, 2)
            await ctx.out(f"fetch {url}\n")
        if command == "update":
            await ctx.out(
                f"v{world.os.version}.3 [https://dl-cdn.alpinelinux.org/alpine/"
                f"v{world.os.version}/main]\nOK: 24169 distinct packages available\n"
            )
            return 0
    if command == "add":
        return await _apk_add(ctx, world, names)
    if command in ("del", "delete"):
        for name in names:
            mapping = catalog.ALPINE_PACKAGES.get(name)
            if mapping and name in world.packages:
                world.packages.pop(name)
                world.remove_package(mapping[0])
                await ctx.out(f"(1/1) Purging {name} ({mapping[1]})\n")
        await ctx.out(f"OK: 9 MiB in {len(world.packages)} packages\n")
        return 0
    if command == "info":
        if "-e" in flags:
            return 0 if names and all(n in world.packages for n in names) else 1
        await ctx.out("".join(f"{n}\n" for n in sorted(world.packages)))
        return 0
    return await ctx.fail(f"unknown command '{command}'", 1)


async def _apk_add(ctx: Ctx, world: ContainerWorld, names: list[str]) -> int:
    missing = [n for n in names if n not in catalog.ALPINE_PACKAGES]
    if missing:
        lines = ["ERROR: unable to select packages:"]
        for name in missing:
            lines += [f"  {name} (no such package):", f"    required by: world[{name}]"]
        await ctx.err("".join(f"{line}\n" for line in lines))
        return 1
    todo = [n for n in names if n not in world.packages]
    for index, name in enumerate(todo, start=1):
        spec_name, version = catalog.ALPINE_PACKAGES[name]
        await _pause(ctx)
        await ctx.out(f"({index}/{len(todo)}) Installing {name} ({version})\n")
        world.install_package(catalog.PACKAGES[spec_name], version=version, name=name)
        world.vfs.write_text("/etc/apk/world", name + "\n", append=True)
    await ctx.out(f"OK: {8 + len(world.packages)} MiB in {len(world.packages)} packages\n")
    return 0


# -- npm ------------------------------------------------------------------------------------------------
NPM_NAME = re.compile(r"(@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*")


async def npm(ctx: Ctx) -> int:
    world = _world(ctx)
    args = [a for a in ctx.args if not a.startswith("-")]
    global_install = any(a in ("-g", "--global") for a in ctx.args)
    if "--version" in ctx.args or "-v" in ctx.args:
        await ctx.out("9.2.0\n")
        return 0
    if not args:
        return await ctx.fail("Usage: npm <command>", 1)
    command, names = args[0], args[1:]
    if command in ("install", "i", "add"):
        return await _npm_install(ctx, world, names, global_install)
    if command in ("ls", "list"):
        root = "/usr/local/lib" if global_install else ctx.cwd
        await ctx.out(
            f"{root}\n"
            + "".join(f"\u251c\u2500\u2500 {n}@{v}\n" for n, v in sorted(world.npm_globals.items()))
        )
        return 0
    if command in ("uninstall", "remove", "rm"):
        for name in names:
            world.npm_globals.pop(name, None)
        await ctx.out(f"\nremoved {len(names)} package{'s' if len(names) != 1 else ''} in 1s\n")
        return 0
    return await ctx.fail(f'Unknown command: "{command}"', 1)


async def _npm_install(
    ctx: Ctx, world: ContainerWorld, names: list[str], global_install: bool
) -> int:
    from ..world import version_program

    for raw in names:
        name, _, requested = raw.rpartition("@") if raw.rfind("@") > 0 else (raw, "", "")
        if not NPM_NAME.fullmatch(name):
            await ctx.err(
                f'npm ERR! code EINVALIDPACKAGENAME\nnpm ERR! Invalid package name "{name}"\n'
            )
            return 1
        known = catalog.NPM_KNOWN.get(name, catalog.NpmPackage(name, "1.0.0"))
        version = requested or known.version
        root = "/usr/local/lib/node_modules" if global_install else f"{ctx.cwd}/node_modules"
        ctx.vfs.mkdir(f"{root}/{name}", parents=True)
        ctx.vfs.write_text(
            f"{root}/{name}/package.json", f'{{"name": "{name}", "version": "{version}"}}\n'
        )
        if global_install:
            world.npm_globals[name] = version
            for binary in known.bins:
                world.install_program(
                    f"/usr/local/bin/{binary}", version_program(catalog.Binary(binary, version))
                )
        await _pause(ctx, 3)
    count = len(names)
    await ctx.out(f"\nadded {count} package{'s' if count != 1 else ''} in 2s\n")
    return 0


# -- pip / python3 ---------------------------------------------------------------------------------------
def pip_program(venv: str | None) -> Program:
    """pip for the system Python (venv None) or for the virtual environment at `venv`."""

    async def run(ctx: Ctx) -> int:
        return await _pip(ctx, venv)

    return run


async def _pip(ctx: Ctx, venv: str | None) -> int:
    world = _world(ctx)
    args = ctx.args
    python = "3.11" if world.os.family == "debian" else "3.12"
    if not args or args[0] in ("--version", "-V"):
        location = (
            f"{venv}/lib/python{python}/site-packages" if venv else "/usr/lib/python3/dist-packages"
        )
        await ctx.out(f"pip 23.0.1 from {location}/pip (python {python})\n")
        return 0
    store = world.pip_packages if venv is None else world.venvs.setdefault(venv, {})
    command, rest = args[0], args[1:]
    if command == "install":
        return await _pip_install(ctx, world, store, rest, venv)
    if command in ("list", "freeze"):
        separator = "==" if command == "freeze" else " "
        await ctx.out("".join(f"{n}{separator}{v}\n" for n, v in sorted(store.items())))
        return 0
    if command == "uninstall":
        for name in [a for a in rest if not a.startswith("-")]:
            store.pop(name.lower(), None)
        return 0
    return await ctx.fail(f'ERROR: unknown command "{command}"', 1)


async def _pip_install(
    ctx: Ctx, world: ContainerWorld, store: dict[str, str], args: list[str], venv: str | None
) -> int:
    breaking = "--break-system-packages" in args or ctx.env.get("PIP_BREAK_SYSTEM_PACKAGES") == "1"
    if venv is None and world.os.externally_managed_python and not breaking:
        await ctx.err(PEP668)
        return 1
    names = [a for a in args if not a.startswith("-")]
    if not names:
        await ctx.err(
            'ERROR: You must give at least one requirement to install (see "pip help install")\n'
        )
        return 1
    installed = []
    for raw in names:
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(?:==\s*([^,;\s]+))?", raw)
        name = match.group(1) if match else raw
        version = (match.group(2) if match else None) or catalog.PIP_KNOWN.get(
            name.lower(), "1.0.0"
        )
        await ctx.out(f"Collecting {name}\n")
        await _pause(ctx, 2)
        await ctx.out(f"  Downloading {name}-{version}-py3-none-any.whl (64 kB)\n")
        store[name.lower()] = version
        installed.append(f"{name}-{version}")
    await ctx.out(
        f"Installing collected packages: {', '.join(n.rsplit('-', 1)[0] for n in installed)}\n"
    )
    await ctx.out(f"Successfully installed {' '.join(installed)}\n")
    return 0


async def python3(ctx: Ctx) -> int:
    world = _world(ctx)
    version = "3.11.2" if world.os.family == "debian" else "3.12.3"
    args = ctx.args
    if args[:1] in (["--version"], ["-V"]):
        await ctx.out(f"Python {version}\n")
        return 0
    if args[:2] == ["-m", "venv"] and len(args) > 2:
        return await _make_venv(ctx, world, args[-1])
    if args[:2] == ["-m", "pip"]:
        return await _pip(ctx.with_argv(["pip", *args[2:]]), None)
    return await ctx.fail("the simulator's python3 answers --version, -m venv and -m pip only", 1)


async def _make_venv(ctx: Ctx, world: ContainerWorld, target: str) -> int:
    if world.os.family != "alpine" and "python3-venv" not in world.packages:
        await ctx.out(
            "The virtual environment was not created successfully because ensurepip "
            "is not\navailable.  On Debian/Ubuntu systems, you need to install the "
            "python3-venv\npackage using the following command.\n\n    apt install "
            "python3-venv\n\nYou may need to use sudo with that command.  After "
            f"installing the python3-venv\npackage, recreate your virtual environment."
            f"\n\nFailing command: {ctx.path(target)}/bin/python3\n\n"
        )
        return 1
    root = ctx.path(target)
    ctx.vfs.mkdir(f"{root}/bin", parents=True)
    ctx.vfs.write_text(
        f"{root}/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = false\n"
    )
    world.install_program(f"{root}/bin/python3", python3)
    world.install_program(f"{root}/bin/python", python3)
    for name in ("pip", "pip3"):
        world.install_program(f"{root}/bin/{name}", pip_program(root))
    world.venvs.setdefault(root, {})
    return 0


# -- sudo and redis-cli ------------------------------------------------------------------------------------
async def sudo(ctx: Ctx) -> int:
    from ..interp import CannotExecute, CommandNotFound, run_argv

    args = list(ctx.args)
    user = "root"
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option == "--":
            break
        if option == "-u" and args:
            user = args.pop(0)
    if not args:
        return await ctx.fail("usage: sudo [-u user] command", 1)
    if ctx.world.account(user) is None:
        return await ctx.fail(f"unknown user {user}", 1)
    session = replace(ctx.session, user=user)
    try:
        return await run_argv(ctx.world, session, args, ctx.io, dict(ctx.env), ctx.cwd)
    except CommandNotFound:
        return await ctx.fail(f"{args[0]}: command not found", 1)
    except CannotExecute as exc:
        return await ctx.fail(f"{args[0]}: {exc.reason}", 1)


async def redis_cli(ctx: Ctx) -> int:
    world = _world(ctx)
    args = [a for a in ctx.args if not a.startswith("-")]
    if "--version" in ctx.args or "-v" in ctx.args:
        await ctx.out("redis-cli 7.0.15\n")
        return 0
    if not world.services.is_active("redis-server.service"):
        await ctx.err("Could not connect to Redis at 127.0.0.1:6379: Connection refused\n")
        return 1
    if args[:1] == ["ping"] or not args:
        await ctx.out("PONG\n")
        return 0
    await ctx.out(f"(error) ERR unknown command '{args[0]}', with args beginning with: \n")
    return 0


def command_implementation(name: str) -> Program:
    """The program a package's `provides_commands` entry stands for."""
    from . import core, network

    table: dict[str, Program] = {
        "curl": network.curl,
        "wget": network.wget,
        "npm": npm,
        "pip": pip_program(None),
        "pip3": pip_program(None),
        "python3": python3,
        "bash": core.shell_program,
        "sudo": sudo,
        "redis-cli": redis_cli,
    }
    return table[name]


APT_PROGRAMS: dict[str, Program] = {
    "/usr/bin/apt-get": apt_get,
    "/usr/bin/apt": apt,
    "/usr/bin/dpkg": dpkg,
    "/usr/bin/dpkg-query": dpkg_query,
}
APK_PROGRAMS: dict[str, Program] = {"/sbin/apk": apk}
