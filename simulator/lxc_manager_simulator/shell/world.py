"""The simulated machines: a PVE host (`HostWorld`) and a container (`ContainerWorld`).

This module is the contract with the cluster model (see the simulator README): the model
creates one `HostWorld(node_name)` per PVE node and one `ContainerWorld.seeded(...)` per
container, and calls `on_start()` / `on_stop()` / `interfaces()`.
"""

from __future__ import annotations

import posixpath
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from . import catalog
from .base import VIRTUAL_TMP, VIRTUAL_VAR_TMP, Program, World
from .catalog import Binary, InstalledPackage, PackageSpec, ServiceSpec
from .commands import accounts, core, files, network, packages, pve, systemd, text, tty
from .system import Journal, ServiceManager
from .vfs import Vfs

DEBIAN_CODENAMES = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie"}
UBUNTU_CODENAMES = {
    "20.04": ("focal", "Focal Fossa", "20.04.6"),
    "22.04": ("jammy", "Jammy Jellyfish", "22.04.5"),
    "24.04": ("noble", "Noble Numbat", "24.04.1"),
}
SYSTEM_ACCOUNTS: dict[str, tuple[str, str, str]] = {
    # package: (user, home, description)
    "postgresql-15": ("postgres", "/var/lib/postgresql", "PostgreSQL administrator"),
    "redis-server": ("redis", "/var/lib/redis", ""),
    "mariadb-server": ("mysql", "/nonexistent", "MySQL Server"),
    "memcached": ("memcache", "/nonexistent", "Memcached"),
    "mosquitto": ("mosquitto", "/var/lib/mosquitto", ""),
    "rabbitmq-server": ("rabbitmq", "/var/lib/rabbitmq", "RabbitMQ messaging server"),
}
SYSTEM_GROUPS = {"docker.io": "docker"}
PASSWD_DEBIAN = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin
proxy:x:13:13:proxy:/bin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin
irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
messagebus:x:100:107::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
"""
GROUP_DEBIAN = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
news:x:9:
uucp:x:10:
man:x:12:
proxy:x:13:
kmem:x:15:
dialout:x:20:
cdrom:x:24:
sudo:x:27:
audio:x:29:
www-data:x:33:
backup:x:34:
operator:x:37:
list:x:38:
irc:x:39:
src:x:40:
shadow:x:42:
utmp:x:43:
video:x:44:
plugdev:x:46:
staff:x:50:
games:x:60:
users:x:100:
nogroup:x:65534:
systemd-journal:x:999:
messagebus:x:107:
ssh:x:110:
"""
PASSWD_ALPINE = """root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
adm:x:3:4:adm:/var/adm:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
"""
GROUP_ALPINE = """root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
sys:x:3:root,bin,adm
adm:x:4:root,adm,daemon
wheel:x:10:root
users:x:100:
nogroup:x:65533:
nobody:x:65534:
"""
BASHRC = """# ~/.bashrc: executed by bash(1) for non-login shells.
export LS_OPTIONS='--color=auto'
alias ls='ls $LS_OPTIONS'
"""


@dataclass(frozen=True)
class OsInfo:
    family: str  # debian | ubuntu | alpine
    version: str  # 12, 24.04, 3.20
    os_release: str
    codename: str

    @property
    def uses_systemd(self) -> bool:
        return self.family != "alpine"

    @property
    def externally_managed_python(self) -> bool:
        """PEP 668: pip refuses to install into the system Python (Debian 12+, Ubuntu 23.04+)."""
        if self.family == "debian":
            return _version_tuple(self.version) >= (12,)
        if self.family == "ubuntu":
            return _version_tuple(self.version) >= (23, 4)
        return self.family == "alpine"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)) or (0,)


def os_from_template(ostemplate: str) -> OsInfo:
    """`local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst` -> Ubuntu 24.04."""
    name = ostemplate.rsplit("/", 1)[-1]
    match = re.match(r"([a-z]+)-(\d+(?:\.\d+)?)", name)
    family, version = (match.group(1), match.group(2)) if match else ("debian", "12")
    if family == "ubuntu":
        codename, nick, full = UBUNTU_CODENAMES.get(version, ("noble", "Noble Numbat", version))
        release = (
            f'PRETTY_NAME="Ubuntu {full} LTS"\nNAME="Ubuntu"\nVERSION_ID="{version}"\n'
            f'VERSION="{full} LTS ({nick})"\nVERSION_CODENAME={codename}\nID=ubuntu\n'
            'ID_LIKE=debian\nHOME_URL="https://www.ubuntu.com/"\n'
            'SUPPORT_URL="https://help.ubuntu.com/"\n'
            'BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"\n'
            f"UBUNTU_CODENAME={codename}\nLOGO=ubuntu-logo\n"
        )
        return OsInfo("ubuntu", version, release, codename)
    if family == "alpine":
        full = f"{version}.3"
        release = (
            f'NAME="Alpine Linux"\nID=alpine\nVERSION_ID={full}\n'
            f'PRETTY_NAME="Alpine Linux v{version}"\nHOME_URL="https://alpinelinux.org/"\n'
            'BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n'
        )
        return OsInfo("alpine", version, release, "")
    major = version.split(".")[0] if family == "debian" else "12"
    codename = DEBIAN_CODENAMES.get(major, "bookworm")
    release = (
        f'PRETTY_NAME="Debian GNU/Linux {major} ({codename})"\nNAME="Debian GNU/Linux"\n'
        f'VERSION_ID="{major}"\nVERSION="{major} ({codename})"\n'
        f'VERSION_CODENAME={codename}\nID=debian\nHOME_URL="https://www.debian.org/"\n'
        'SUPPORT_URL="https://www.debian.org/support"\n'
        'BUG_REPORT_URL="https://bugs.debian.org/"\n'
    )
    return OsInfo("debian", major, release, codename)


@dataclass
class NetInterface:
    name: str
    hwaddr: str
    ipv4: str | None  # "10.0.0.5/24", or None
    gateway: str | None
    dhcp: bool = False
    index: int = 2
    peer_index: int = 10


def parse_net0(net0: str | None, rng: random.Random) -> list[NetInterface]:
    """`name=eth0,bridge=vmbr0,hwaddr=..,ip=dhcp|CIDR,gw=..` -> the container's interface."""
    if not net0:
        return []
    options = dict(part.partition("=")[::2] for part in net0.split(",") if "=" in part)
    hwaddr = options.get("hwaddr") or "BC:24:11:" + ":".join(
        f"{rng.randrange(256):02X}" for _ in range(3)
    )
    ip = options.get("ip")
    gateway = options.get("gw")
    dhcp = ip == "dhcp"
    if dhcp:
        ip = f"192.168.1.{100 + rng.randrange(150)}/24"
        gateway = "192.168.1.1"
    elif ip in (None, "manual"):
        ip = None
    elif ip is not None and "/" not in ip:
        ip = f"{ip}/32"
    return [
        NetInterface(
            options.get("name", "eth0"),
            hwaddr.upper(),
            ip,
            gateway,
            dhcp,
            peer_index=10 + rng.randrange(200),
        )
    ]


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address of a MAC address."""
    octets = [int(b, 16) for b in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups) + "/64"


def version_program(binary: Binary) -> Program:
    """A packaged binary: answers `--version`; anything else is beyond the simulation."""
    from .base import Ctx

    async def run(ctx: Ctx) -> int:
        if any(a in ("--version", "-v", "-V", "version", "-version") for a in ctx.args[:1]):
            if binary.version_on_stderr:
                await ctx.err(binary.version + "\n")
            else:
                await ctx.out(binary.version + "\n")
            return 0
        return await ctx.fail("simulated binary: only --version is supported", 1)

    return run


_PROTOTYPES: dict[OsInfo, ContainerWorld] = {}


HOST_LOCALE = "en_US.UTF-8"


class HostWorld(World):
    """A PVE node's own machine: the filesystem SFTP writes to, `pct`, `ssh` to peers."""

    kind = "host"

    def __init__(self, node_name: str, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(node_name, rng=random.Random(f"host:{node_name}"), clock=clock)
        self.node_name = node_name
        _seed_usrmerge_tree(self)
        for path in (
            "/etc/pve/local",
            f"/etc/pve/nodes/{node_name}/lxc",
            "/var/lib/vz/template/cache",
            "/var/log/pve/tasks",
        ):
            self.vfs.mkdir(path, parents=True)
        self.vfs.write_text("/etc/hostname", node_name + "\n")
        self.vfs.write_text("/etc/os-release", os_from_template("debian-12").os_release)
        self.vfs.write_text("/etc/passwd", PASSWD_DEBIAN)
        self.vfs.write_text("/etc/group", GROUP_DEBIAN)
        self.vfs.write_text("/etc/debian_version", "12.7\n")
        self.vfs.write_text("/root/.bashrc", BASHRC)
        for table in (
            core.PROGRAMS,
            files.PROGRAMS,
            text.PROGRAMS,
            pve.PROGRAMS,
            network.HOST_PROGRAMS,
            tty.PROGRAMS,
        ):
            self.install_programs(table)

    def install_programs(self, table: dict[str, Program]) -> None:
        for path, program in table.items():
            self.install_program(path, program)

    def default_env(self) -> dict[str, str]:
        # The locale the Proxmox VE installer gives every node (pve-installer
        # Proxmox/Install.pm: en_US.UTF-8); an SSH client's LANG/LC_* replace it.
        return {**super().default_env(), "LANG": HOST_LOCALE}


# A container sees /proc/sys and /sys read-only: lxc/lxc config/templates/common.conf.in
# (included by every Proxmox CT) has `lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed`,
# and pve-container src/PVE/LXC.pm update_lxc_config sets `sys:mixed` for unprivileged CTs.
CONTAINER_READ_ONLY = ("/proc/sys", "/sys")


def _seed_kernel_mounts(vfs: Vfs) -> None:
    for path in ("/proc/sys/kernel", "/proc/sys/net", "/proc/sys/vm", "/sys/kernel", "/sys/fs"):
        vfs.mkdir(path, parents=True, mode=0o555)
    vfs.read_only = CONTAINER_READ_ONLY


def _seed_usrmerge_tree(world: World) -> None:
    vfs = world.vfs
    for path in (
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/usr/local/lib",
        "/usr/share",
        "/etc/systemd/system",
        "/home",
        "/opt",
        "/srv",
        "/var/log",
        "/var/lib",
        "/var/cache",
        "/var/spool",
        "/run",
        "/dev",
        "/mnt",
        "/media",
        "/boot",
        "/etc/skel",
        "/etc/apt/sources.list.d",
        "/etc/network",
    ):
        vfs.mkdir(path, parents=True)
    for link, target in (("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib")):
        vfs.symlink(target, link)
    vfs.mkdir("/root", mode=0o700)
    vfs.mkdir(VIRTUAL_TMP, mode=0o1777)
    vfs.mkdir(VIRTUAL_VAR_TMP, mode=0o1777)
    vfs.write_bytes("/dev/null", b"", mode=0o666)


class ContainerWorld(World):
    """One container's inside: files, packages, services, journal, addresses, accounts."""

    kind = "container"

    def __init__(
        self,
        hostname: str,
        os_info: OsInfo,
        rng: random.Random,
        nets: list[NetInterface],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(hostname, rng=rng, clock=clock)
        self.os = os_info
        self.nets = nets
        self.running = False
        self.packages: dict[str, InstalledPackage] = {}
        self.npm_globals: dict[str, str] = {}
        self.pip_packages: dict[str, str] = {}
        self.venvs: dict[str, dict[str, str]] = {}
        self.apt_lists_fresh = False
        self.package_lock: str | None = None
        self._next_pid = 100 + rng.randrange(200)
        self.journal = Journal()
        self.services = ServiceManager(
            self.vfs,
            self.journal,
            lambda: self.clock(),
            self.allocate_pid,
            openrc=not os_info.uses_systemd,
        )

    # -- the contract with the model ------------------------------------------------------------
    @classmethod
    def seeded(
        cls, *, hostname: str, ostemplate: str, rng: random.Random, net0: str | None
    ) -> ContainerWorld:
        os_info = os_from_template(ostemplate)
        world = cls(hostname, os_info, rng, parse_net0(net0, rng))
        world._adopt(cls._prototype(os_info))
        world._seed_common_files()
        return world

    def on_start(self) -> None:
        """The container boots: addresses come up, enabled services start."""
        self.running = True
        self.boot_time = self.clock()
        self._next_pid = 100 + self.rng.randrange(200)
        self.services.log("", "kernel", 0, f"Linux version 6.8.12-1-pve; hostname {self.hostname}")
        if self.os.uses_systemd:
            self.services.log(
                "", "systemd", 1, "Reached target multi-user.target - Multi-User System."
            )
        self.services.boot()

    def on_stop(self) -> None:
        """The container stops: services go down, listening ports and processes vanish."""
        self.services.shutdown()
        self.running = False

    def interfaces(self) -> list[dict[str, str]]:
        """The `/nodes/{node}/lxc/{vmid}/interfaces` answer (empty while stopped)."""
        if not self.running:
            return []
        out = [
            {"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128"}
        ]
        for net in self.nets:
            entry = {
                "name": net.name,
                "hwaddr": net.hwaddr.lower(),
                "inet6": link_local(net.hwaddr),
            }
            if net.ipv4:
                entry["inet"] = net.ipv4
            out.append(entry)
        return out

    # -- processes and hostname ---------------------------------------------------------------------
    def allocate_pid(self) -> int:
        self._next_pid += 1 + self.rng.randrange(3)
        return self._next_pid

    @property
    def hostname(self) -> str:
        return self._hostname

    @hostname.setter
    def hostname(self, name: str) -> None:
        self._hostname = name
        if hasattr(self, "vfs"):
            self.vfs.write_text("/etc/hostname", name + "\n")

    # -- seeding ----------------------------------------------------------------------------------------
    @classmethod
    def _prototype(cls, os_info: OsInfo) -> ContainerWorld:
        """The freshly installed distribution, built once and copied into every container
        (seeding from scratch costs milliseconds; copying the tree a fraction of that)."""
        prototype = _PROTOTYPES.get(os_info)
        if prototype is None:
            prototype = cls("localhost", os_info, random.Random(0), [])
            if os_info.family == "alpine":
                prototype._seed_alpine()
            else:
                prototype._seed_debian_like()
            _seed_kernel_mounts(prototype.vfs)
            _PROTOTYPES[os_info] = prototype
        return prototype

    def _adopt(self, prototype: ContainerWorld) -> None:
        self.vfs.root = self.vfs.copy_inode(prototype.vfs.root, preserve=True)
        self.vfs.read_only = prototype.vfs.read_only
        self.programs = dict(prototype.programs)
        self.packages = {name: replace(p) for name, p in prototype.packages.items()}
        self.services.specs = dict(prototype.services.specs)

    def _seed_debian_like(self) -> None:
        _seed_usrmerge_tree(self)
        vfs = self.vfs
        vfs.write_text("/etc/passwd", PASSWD_DEBIAN)
        vfs.write_text("/etc/group", GROUP_DEBIAN)
        vfs.write_text("/etc/shadow", "root:*:19800:0:99999:7:::\n", mode=0o640)
        if self.os.family == "debian":
            vfs.write_text(
                "/etc/debian_version",
                "12.7\n" if self.os.version == "12" else f"{self.os.version}.0\n",
            )
            vfs.write_text(
                "/etc/apt/sources.list",
                f"deb http://deb.debian.org/debian {self.os.codename} main contrib\n"
                f"deb http://deb.debian.org/debian {self.os.codename}-updates main "
                "contrib\n"
                f"deb http://security.debian.org {self.os.codename}-security main "
                "contrib\n",
            )
        else:
            vfs.write_text("/etc/debian_version", "trixie/sid\n")
            vfs.write_text(
                "/etc/apt/sources.list.d/ubuntu.sources",
                "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu/\n"
                f"Suites: {self.os.codename} {self.os.codename}-updates\n"
                "Components: main restricted universe multiverse\n",
            )
        for table in (
            core.PROGRAMS,
            files.PROGRAMS,
            text.PROGRAMS,
            network.PROGRAMS,
            accounts.PROGRAMS,
            systemd.PROGRAMS,
            packages.APT_PROGRAMS,
            tty.PROGRAMS,
        ):
            self.install_programs(table)
        for spec in catalog.SYSTEM_UNITS[self.os.family]:
            self.services.install_unit(spec)
            self.services.enable(spec.unit)
        for name in catalog.BASE_PACKAGES[self.os.family]:
            self.install_package(catalog.PACKAGES[name], start_services=False)
        self.vfs.write_text("/root/.bashrc", BASHRC)
        self.vfs.write_text("/etc/skel/.bashrc", BASHRC)

    def _seed_alpine(self) -> None:
        vfs = self.vfs
        for path in (
            "/bin",
            "/sbin",
            "/usr/bin",
            "/usr/sbin",
            "/usr/local/bin",
            "/lib",
            "/home",
            "/opt",
            "/srv",
            "/var/log",
            "/var/lib",
            "/var/cache",
            "/run",
            "/dev",
            "/etc/init.d",
            "/etc/runlevels/default",
            "/etc/apk",
            "/media",
            "/mnt",
        ):
            vfs.mkdir(path, parents=True)
        vfs.mkdir("/root", mode=0o700)
        vfs.mkdir(VIRTUAL_TMP, mode=0o1777)
        vfs.write_bytes("/dev/null", b"", mode=0o666)
        vfs.write_text("/etc/passwd", PASSWD_ALPINE)
        vfs.write_text("/etc/group", GROUP_ALPINE)
        vfs.write_text("/etc/alpine-release", f"{self.os.version}.3\n")
        vfs.write_text(
            "/etc/apk/repositories",
            f"http://dl-cdn.alpinelinux.org/alpine/v{self.os.version}/main\n"
            f"http://dl-cdn.alpinelinux.org/alpine/v{self.os.version}/community\n",
        )
        vfs.write_text("/etc/apk/world", "alpine-base\n")
        for table in (
            core.PROGRAMS,
            files.PROGRAMS,
            text.PROGRAMS,
            network.PROGRAMS,
            packages.APK_PROGRAMS,
            systemd.OPENRC_PROGRAMS,
            tty.PROGRAMS,
        ):
            for path, program in table.items():
                if path not in ("/usr/bin/bash", "/usr/bin/tput"):  # tput: ncurses, not busybox
                    self.install_program(_alpine_path(path), program)
        for name, version, summary in (
            ("alpine-base", "3.20.3-r0", "Meta package for minimal alpine base"),
            ("busybox", "1.36.1-r29", "Size optimized toolbox of many common UNIX utilities"),
            ("openrc", "0.54-r1", "OpenRC manages the services, startup and shutdown of a host"),
        ):
            self.packages[name] = InstalledPackage(name, version, summary, "main", 100)

    def _seed_common_files(self) -> None:
        """What differs between two containers of the same distribution."""
        vfs = self.vfs
        if self.os.family == "debian":
            vfs.write_text("/etc/network/interfaces", self._interfaces_file())
        vfs.write_text("/etc/os-release", self.os.os_release)
        vfs.write_text("/etc/hostname", self.hostname + "\n")
        vfs.write_text(
            "/etc/hosts",
            f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
            f"ip6-loopback\n127.0.1.1\t{self.hostname}\n",
        )
        vfs.write_text("/etc/resolv.conf", "nameserver 192.168.1.1\nsearch lan\n")
        vfs.write_text("/etc/timezone", "Etc/UTC\n")
        vfs.write_text("/etc/machine-id", f"{self.rng.getrandbits(128):032x}\n")

    def _interfaces_file(self) -> str:
        lines = ["auto lo", "iface lo inet loopback", ""]
        for net in self.nets:
            lines += [
                f"auto {net.name}",
                f"iface {net.name} inet " + ("dhcp" if net.dhcp else "static"),
            ]
        return "\n".join(lines) + "\n"

    def install_programs(self, table: dict[str, Program]) -> None:
        for path, program in table.items():
            self.install_program(path, program)

    # -- packages -----------------------------------------------------------------------------------------
    def package_version(self, spec: PackageSpec) -> str:
        return catalog.VERSION_OVERRIDES.get(self.os.family, {}).get(spec.name, spec.version)

    def install_package(
        self,
        spec: PackageSpec,
        *,
        auto: bool = False,
        start_services: bool = True,
        version: str | None = None,
        name: str | None = None,
    ) -> list[str]:
        """Unpack and configure a package; the lines its maintainer scripts print."""
        installed_name = name or spec.name
        self.packages[installed_name] = InstalledPackage(
            installed_name,
            version or self.package_version(spec),
            spec.summary,
            spec.section,
            spec.size_kb,
            spec.depends,
            auto,
        )
        for path, content in spec.files:
            self.vfs.mkdir(posixpath.dirname(path), parents=True)
            self.vfs.write_text(path, content)
        for binary in spec.binaries:
            self.install_program(self._program_path(binary.path), version_program(binary))
        for command in spec.provides_commands:
            implementation = packages.command_implementation(command)
            self.install_program(self._program_path(f"/usr/bin/{command}"), implementation)
        self._create_system_account(spec.name)
        return self._configure_services(spec.services, start_services)

    def _program_path(self, path: str) -> str:
        return _alpine_path(path) if self.os.family == "alpine" else path

    def _configure_services(self, services: Iterable[ServiceSpec], start: bool) -> list[str]:
        """Debian enables and starts a packaged service; Alpine leaves that to the admin."""
        messages: list[str] = []
        for service in services:
            self.services.install_unit(service)
            if service.enabled and self.os.uses_systemd:
                message = self.services.enable(service.unit)
                if message:
                    messages.append(message)
                if start and self.running:
                    self.services.start(service.unit)
        return messages

    def _create_system_account(self, package: str) -> None:
        if package in SYSTEM_GROUPS and self.group(SYSTEM_GROUPS[package]) is None:
            gid = self._free_id(g.gid for g in self.groups())
            self.vfs.write_text("/etc/group", f"{SYSTEM_GROUPS[package]}:x:{gid}:\n", append=True)
        if package not in SYSTEM_ACCOUNTS:
            return
        user, home, gecos = SYSTEM_ACCOUNTS[package]
        if self.account(user) is not None:
            return
        uid = self._free_id(a.uid for a in self.accounts())
        gid = self._free_id(g.gid for g in self.groups())
        self.vfs.write_text("/etc/group", f"{user}:x:{gid}:\n", append=True)
        self.vfs.write_text(
            "/etc/passwd", f"{user}:x:{uid}:{gid}:{gecos}:{home}:/bin/bash\n", append=True
        )
        if home != "/nonexistent":
            self.vfs.mkdir(home, parents=True)
            self.vfs.chown(home, uid, gid)

    @staticmethod
    def _free_id(taken: Iterable[int]) -> int:
        used = set(taken)
        return next(i for i in range(100, 1000) if i not in used)

    def remove_package(self, name: str) -> None:
        installed = self.packages.pop(name, None)
        spec = catalog.PACKAGES.get(name)
        if installed is None or spec is None:
            return
        for service in spec.services:
            self.services.remove_unit(service.unit)
        for binary in spec.binaries:
            self.remove_program(self._program_path(binary.path))
        for command in spec.provides_commands:
            self.remove_program(self._program_path(f"/usr/bin/{command}"))

    # -- network -----------------------------------------------------------------------------------------
    def addresses(self) -> list[tuple[NetInterface, str]]:
        """(interface, ipv4 CIDR) of the configured, up interfaces."""
        if not self.running:
            return []
        return [(net, net.ipv4) for net in self.nets if net.ipv4]


def _alpine_path(path: str) -> str:
    """Alpine has no merged /usr: busybox applets live in /bin and /sbin."""
    base = posixpath.basename(path)
    if path.startswith("/usr/bin/") and base in network.ALPINE_BIN_APPLETS:
        return "/bin/" + base
    return path
