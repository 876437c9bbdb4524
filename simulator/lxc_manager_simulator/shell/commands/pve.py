"""The PVE host's own commands: `pct` (this node's containers) and `ssh` to cluster peers."""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from ..base import IO, Ctx, Program, PveAccess, PveCommandError, Session
from ..streams import BytesReader
from ..vfs import VfsError
from .pve_real import real_exec, real_pull, real_push

if TYPE_CHECKING:
    from ..interp import Interpreter
    from ..terminal import Terminal

PCT_ERROR = 255
PCT_COMMANDS = (
    "config",
    "enter",
    "exec",
    "list",
    "pull",
    "push",
    "reboot",
    "set",
    "shutdown",
    "start",
    "status",
    "stop",
)
USAGES = {
    "enter": "pct enter <vmid> [OPTIONS]",
    "exec": "pct exec <vmid> [<extra-args>] [OPTIONS]",
    "push": "pct push <vmid> <file> <destination> [OPTIONS]",
    "pull": "pct pull <vmid> <path> <destination> [OPTIONS]",
    "status": "pct status <vmid> [OPTIONS]",
    "config": "pct config <vmid> [OPTIONS]",
    "set": "pct set <vmid> [OPTIONS]",
    "start": "pct start <vmid> [OPTIONS]",
    "stop": "pct stop <vmid> [OPTIONS]",
    "shutdown": "pct shutdown <vmid> [OPTIONS]",
    "reboot": "pct reboot <vmid> [OPTIONS]",
    "list": "pct list",
}
VALUE_OPTIONS = {
    "enter": {"keep-env"},
    "exec": {"keep-env"},
    "push": {"perms", "user", "group"},
    "pull": {"perms", "user", "group"},
    "status": {"verbose"},
    "config": {"current", "snapshot"},
    "set": {"features", "onboot", "description", "tags"},
    "start": {"debug", "skiplock"},
    "stop": {"skiplock", "overrule-shutdown", "timeout"},
    "shutdown": {"forceStop", "timeout"},
    "reboot": {"timeout"},
    "list": set(),
}
SSH_VALUE_OPTIONS = set("bcDEeFIiJLlmOopQRSWw")
# `pct exec` keeps the caller's environment (`lxc-attach --keep-env`, the default on PVE 8
# and 9: pve-container src/PVE/CLI/pct.pm exec) minus SSL_CERT_FILE/SSL_CERT_DIR, with the
# PATH every PVE command line tool sets for itself (pve-common src/PVE/CLIHandler.pm
# run_cli_handler): no /usr/local. lxc-attach (lxc/lxc src/lxc/attach.c) adds
# `container=lxc`; with --keep-env 0 it clears the environment and sets its default PATH.
PCT_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
LXC_ATTACH_CLEAR_ENV_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PCT_DROPPED_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")
PVE_TRUE = ("1", "yes", "true", "on")
PVE_FALSE = ("0", "no", "false", "off")


class PctError(Exception):
    """A pct failure: its message, printed on stderr, exit status 255."""


def _access(ctx: Ctx) -> PveAccess:
    if ctx.session.pve is None:
        raise PctError(
            "ipcc_send_rec[1] failed: Connection refused\nUnable to load access "
            "control list: Connection refused"
        )
    return ctx.session.pve


def parse_options(command: str, args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Getopt-like parsing as PVE's CLI does: `--name value`; after `--` all is positional."""
    positional: list[str] = []
    options: dict[str, str] = {}
    allowed = VALUE_OPTIONS.get(command, set())
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional.extend(args[index:])
            break
        if arg.startswith("-") and arg != "-":
            name, sep, value = arg.lstrip("-").partition("=")
            if name not in allowed:
                raise PctError(
                    f"Unknown option: {name}\n400 unable to parse option\n"
                    f"{USAGES.get(command, 'pct')}"
                )
            if not sep:
                if index >= len(args):
                    raise PctError(
                        f"Option {name} requires an argument\n400 unable to parse "
                        f"option\n{USAGES.get(command, 'pct')}"
                    )
                value = args[index]
                index += 1
            options[name] = value
        else:
            positional.append(arg)
    return positional, options


def _vmid(command: str, positional: list[str]) -> int:
    if not positional:
        raise PctError(f"400 not enough arguments\n{USAGES[command]}")
    text = positional[0]
    if not re.fullmatch(r"\d+", text):
        raise PctError(
            f"400 Parameter verification failed.\nvmid: type check ('integer') "
            f"failed - got '{text}'\n{USAGES[command]}"
        )
    return int(text)


def _container(access: PveAccess, vmid: int, *, running: bool) -> Any:
    container = access.find_container(vmid)
    if container is None:
        raise PctError(
            f"Configuration file 'nodes/{access.node_name}/lxc/{vmid}.conf' does not exist"
        )
    if running and container.status != "running":
        raise PctError(f"container '{vmid}' not running!")
    return container


async def pct(ctx: Ctx) -> int:
    args = ctx.args
    if not args:
        await ctx.err("ERROR: no command specified\n" + _usage())
        return PCT_ERROR
    command = args[0]
    if command in ("help", "--help"):
        await ctx.out(_usage())
        return 0
    if command not in PCT_COMMANDS:
        await ctx.err(f"ERROR: unknown command 'pct {command}'\n" + _usage())
        return PCT_ERROR
    try:
        handler = globals()[f"_pct_{command}"]
        status: int = await handler(ctx, _access(ctx), args[1:])
        return status
    except PctError as exc:
        await ctx.err(f"{exc}\n")
        return PCT_ERROR


def _usage() -> str:
    lines = ["USAGE: pct <COMMAND> [ARGS] [OPTIONS]", ""]
    lines += [f"       {USAGES[c]}" for c in PCT_COMMANDS]
    return "".join(f"{line}\n" for line in lines)


async def _pct_list(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    parse_options("list", args)
    row = "{:<10} {:<10} {:<12} {:<20}\n"
    lines = [row.format("VMID", "Status", "Lock", "Name")]
    for container in sorted(access.containers(), key=lambda c: c.vmid):
        lines.append(
            row.format(container.vmid, container.status, container.lock or "", container.name)
        )
    await ctx.out("".join(lines))
    return 0


async def _pct_status(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    positional, options = parse_options("status", args)
    container = _container(access, _vmid("status", positional), running=False)
    await ctx.out(f"status: {container.status}\n")
    if options.get("verbose") in ("1", "true"):
        await ctx.out(f"name: {container.name}\nvmid: {container.vmid}\n")
    return 0


async def _pct_config(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    positional, _ = parse_options("config", args)
    container = _container(access, _vmid("config", positional), running=False)
    for key in sorted(container.config):
        if key != "digest":
            await ctx.out(f"{key}: {container.config[key]}\n")
    return 0


FEATURE_FLAGS = ("nesting", "keyctl", "fuse", "mknod", "force_rw_sys")


def _features_value(text: str) -> str:
    """`nesting=1,keyctl=1` as PVE verifies it (boolean flags and `mount=...`)."""
    items = []
    for part in (p for p in text.split(",") if p):
        key, sep, value = part.partition("=")
        if (
            key in FEATURE_FLAGS
            and sep
            and value in ("0", "1", "yes", "no", "true", "false", "on", "off")
        ):
            items.append(f"{key}={1 if value in ('1', 'yes', 'true', 'on') else 0}")
        elif key == "mount" and sep and re.fullmatch(r"[a-zA-Z0-9_; ]+", value):
            items.append(part)
        else:
            raise PctError(
                "400 Parameter verification failed.\n"
                f"features: invalid format - format error\nfeatures.{key}: property is not defined in schema"
                f"\n{USAGES['set']}"
            )
    return ",".join(items)


async def _pct_set(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    positional, options = parse_options("set", args)
    container = _container(access, _vmid("set", positional), running=False)
    changes: dict[str, object] = {}
    for name, value in options.items():
        if name == "features":
            changes[name] = _features_value(value)
        elif name == "onboot":
            if value not in ("0", "1"):
                raise PctError(
                    f"400 Parameter verification failed.\nonboot: type check ('boolean') failed - got '{value}'"
                )
            changes[name] = int(value)
        else:
            changes[name] = value
    if not changes:
        raise PctError("400 no options specified")
    access.update_config(container, changes)
    return 0


async def _pct_start(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    return await _lifecycle(ctx, access, "start", args)


async def _pct_stop(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    return await _lifecycle(ctx, access, "stop", args)


async def _pct_shutdown(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    return await _lifecycle(ctx, access, "shutdown", args)


async def _pct_reboot(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    return await _lifecycle(ctx, access, "reboot", args)


async def _lifecycle(ctx: Ctx, access: PveAccess, verb: str, args: list[str]) -> int:
    positional, _ = parse_options(verb, args)
    container = _container(access, _vmid(verb, positional), running=False)
    try:
        if verb in ("stop", "shutdown", "reboot"):
            access.stop(container)
        if verb in ("start", "reboot"):
            access.start(container)
    except PveCommandError as exc:
        raise PctError(str(exc)) from exc
    return 0


async def _pct_enter(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    """A shell in the container (pve-container src/PVE/CLI/pct.pm `enter`: `lxc-attach -n
    VMID --keep-env`, the container's login shell). Without a terminal the shell reads its
    commands from stdin; with the session's PTY it is an interactive shell on a terminal
    (shell/terminal.py, shared with Proxmox's console)."""
    from ..interp import Interpreter

    positional, options = parse_options("enter", args)
    vmid = _vmid("enter", positional)
    container = _container(access, vmid, running=True)
    env = _exec_environment(ctx.env, options.get("keep-env", "1"))
    if container.real and access.real is not None:
        try:
            return await real_exec(ctx, access.real, vmid, [], env)
        except PveCommandError as exc:
            raise PctError(str(exc)) from exc
    tty = ctx.session.tty
    if tty is not None:  # `ssh -t`: a terminal with prompt, line discipline, window size
        from ..terminal import run_on_tty

        def make_shell(terminal: Terminal) -> Interpreter:
            session = Session(sleep_scale=ctx.session.sleep_scale, terminal=terminal)
            return Interpreter(container.world, session, env=env, cwd="/root")

        return await run_on_tty(tty, ctx.io.stdin, ctx.io.stdout, make_shell)
    shell = Interpreter(
        container.world, Session(sleep_scale=ctx.session.sleep_scale), env=env, cwd="/root"
    )
    return await shell.run_interactive(ctx.io, None)


async def _pct_exec(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    from ..interp import CannotExecute, CommandNotFound, run_argv

    positional, options = parse_options("exec", args)
    vmid = _vmid("exec", positional)
    argv = positional[1:]
    container = _container(access, vmid, running=True)
    if not argv:
        raise PctError("missing command")
    env = _exec_environment(ctx.env, options.get("keep-env", "1"))
    if container.real and access.real is not None:
        try:
            return await real_exec(ctx, access.real, vmid, argv, env)
        except PveCommandError as exc:
            raise PctError(str(exc)) from exc
    world = container.world
    session = Session(sleep_scale=ctx.session.sleep_scale)
    try:
        return await run_argv(world, session, argv, ctx.io, env, "/root")
    except (CommandNotFound, CannotExecute) as exc:
        reason = exc.reason if isinstance(exc, CannotExecute) else "No such file or directory"
        await ctx.err(
            f"lxc-attach: {vmid}: ../src/lxc/attach.c: lxc_attach_run_command: 1841 "
            f'{reason} - Failed to exec "{argv[0]}"\n'
        )
        return 126 if isinstance(exc, CannotExecute) and exc.status == 126 else 127


def _exec_environment(caller: dict[str, str], keep_env: str) -> dict[str, str]:
    """What the command in the container gets (see PCT_PATH)."""
    if keep_env.lower() not in PVE_TRUE + PVE_FALSE:
        raise PctError(
            f"400 Parameter verification failed.\nkeep-env: type check ('boolean') failed - "
            f"got '{keep_env}'\n{USAGES['exec']}"
        )
    if keep_env.lower() in PVE_TRUE:
        env = {k: v for k, v in caller.items() if k not in PCT_DROPPED_ENV}
        env["PATH"] = PCT_PATH
    else:
        env = {"PATH": LXC_ATTACH_CLEAR_ENV_PATH}
    env["container"] = "lxc"
    return env


def _parse_perms(text: str) -> int:
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 8)
    except ValueError:
        raise PctError(
            f"400 Parameter verification failed.\nperms: invalid format - value "
            f"'{text}' does not look like a valid file mode"
        ) from None
    return value & 0o7777


def _owner(world: Any, options: dict[str, str]) -> tuple[int, int]:
    user = options.get("user", "root")
    account = world.account(user)
    if account is None:
        raise PctError(f"unable to find user '{user}'")
    gid = account.gid
    if "group" in options:
        group = world.group(options["group"])
        if group is None:
            raise PctError(f"unable to find group '{options['group']}'")
        gid = group.gid
    return account.uid, gid


class PushWorkerError(Exception):
    """`pct push` died in its worker: printed on stderr, and pct still exits 0."""


async def _pct_push(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    """pve-container src/PVE/CLI/pct.pm `push`: only "is it running" is checked before the
    copy; the copy runs in a forked worker (fork_worker, pve-common
    src/PVE/RESTEnvironment.pm) whose error is printed on stderr while pct exits 0."""
    positional, options = parse_options("push", args)
    vmid = _vmid("push", positional)
    if len(positional) < 3:
        raise PctError(f"400 not enough arguments\n{USAGES['push']}")
    source, destination = positional[1], positional[2]
    container = access.find_container(vmid)
    if container is None or container.status != "running":
        raise PctError("can only push files to a running CT")
    try:
        if container.real and access.real is not None:
            await _real_push(ctx, access.real, vmid, source, destination, options)
            return 0
        _push_worker(ctx, container.world, source, destination, options)
    except PushWorkerError as exc:
        await ctx.err(f"{exc}\n")
    return 0


async def _real_push(
    ctx: Ctx, hooks: Any, vmid: int, source: str, destination: str, options: dict[str, str]
) -> None:
    try:
        data = ctx.vfs.read_bytes(source, ctx.cwd)
    except VfsError as exc:
        raise PushWorkerError(f"failed to open {source} for reading") from exc
    perms = _worker_perms(options.get("perms"))
    path = destination if destination.startswith("/") else "/" + destination
    try:
        await real_push(
            ctx, hooks, vmid, data, path, options.get("user"), options.get("group"), perms
        )
    except PveCommandError as exc:
        raise PctError(str(exc)) from exc


def _push_worker(
    ctx: Ctx, world: Any, source: str, destination: str, options: dict[str, str]
) -> None:
    """The worker of `pct push` (its `die` texts, in its order)."""
    try:
        data = ctx.vfs.read_bytes(source, ctx.cwd)
    except VfsError as exc:
        raise PushWorkerError(f"failed to open {source} for reading") from exc
    uid = _worker_id(world, options.get("user"), "uid")
    gid = _worker_id(world, options.get("group"), "gid")
    perms = _worker_perms(options.get("perms"))
    path = destination if destination.startswith("/") else "/" + destination  # chdir('/')
    vfs = world.vfs
    existed = vfs.try_lookup(path) is not None
    try:
        inode = vfs.open_file(path, truncate=True, mode=0o644 if perms is None else perms)
    except VfsError as exc:
        raise PushWorkerError(f"failed to create file: {destination}: {exc.reason}") from exc
    if perms is not None:
        inode.mode = perms
    elif not existed:
        inode.mode = 0o644  # 0666 & ~umask
    if uid is not None or gid is not None:
        inode.uid = inode.uid if uid is None else uid
        inode.gid = inode.gid if gid is None else gid
    inode.data.extend(data)
    vfs.touch_inode(inode)


def _worker_perms(text: str | None) -> int | None:
    """create_file's mode: octal by default (a leading 0 is added), `0x` for hex."""
    if text is None:
        return None
    value = text if text.startswith("0") else "0" + text
    try:
        number = int(value, 16) if value[:2].lower() == "0x" else int(value, 8)
    except ValueError:
        raise PushWorkerError(f"invalid mode: '{value}'") from None
    return number & 0o7777


def _worker_id(world: Any, name: str | None, kind: str) -> int | None:
    """A user/group name looked up inside the container, or a number."""
    if name is None:
        return None
    if name.isdigit():
        return int(name)
    found = world.account(name) if kind == "uid" else world.group(name)
    if found is None:
        raise PushWorkerError(f"failed to get {kind} for: {name}")
    return int(found.uid if kind == "uid" else found.gid)


async def _pct_pull(ctx: Ctx, access: PveAccess, args: list[str]) -> int:
    positional, options = parse_options("pull", args)
    vmid = _vmid("pull", positional)
    if len(positional) < 3:
        raise PctError(f"400 not enough arguments\n{USAGES['pull']}")
    source, destination = positional[1], positional[2]
    container = _container(access, vmid, running=True)
    try:
        if container.real and access.real is not None:
            data = await real_pull(access.real, vmid, source)
        else:
            data = container.world.vfs.read_bytes(source)
    except VfsError as exc:
        raise PctError(f"can't open file {source} - {exc.reason}") from exc
    except PveCommandError as exc:
        raise PctError(str(exc)) from exc
    perms = _parse_perms(options.get("perms", "0644"))
    uid, gid = _owner(ctx.world, options)
    _write(ctx.world, ctx.path(destination), data, perms, uid, gid)
    return 0


def _write(world: Any, path: str, data: bytes, perms: int, uid: int, gid: int) -> None:
    if not path.startswith("/"):
        raise PctError(f"destination path '{path}' must be absolute")
    vfs = world.vfs
    if vfs.is_dir(path):
        raise PctError(f"failed to open '{path}' for writing - Is a directory")
    try:
        inode = vfs.open_file(path, truncate=True, mode=perms)
    except VfsError as exc:
        raise PctError(f"failed to open '{path}' for writing - {exc.reason}") from exc
    inode.data.extend(data)
    inode.mode = perms
    inode.uid, inode.gid = uid, gid
    vfs.touch_inode(inode)


# -- ssh to a peer node -----------------------------------------------------------------------------------
# Host keys the way a PVE 8.2+ cluster keeps them (pve-cluster 8.0.6, src/PVE/Cluster/Setup.pm
# `ssh_create_node_known_hosts`; "pvecm: stop merging SSH known hosts by default"): each node
# writes `/etc/pve/nodes/NODE/ssh_known_hosts` ("NODE <key>") to the shared pmxcfs, and no
# longer links /etc/ssh/ssh_known_hosts to a merged cluster file. So a bare `ssh pve2` in
# batch mode finds no known key and fails; PVE itself connects with
# `-o HostKeyAlias=NODE -o UserKnownHostsFile=/etc/pve/nodes/NODE/ssh_known_hosts root@IP`
# (pve-cluster src/PVE/SSHInfo.pm `ssh_info_to_ssh_opts` / `ssh_info_to_command`).
HOST_PUBLIC_KEY = "/etc/ssh/ssh_host_ed25519_key.pub"
DEFAULT_USER_KNOWN_HOSTS = "~/.ssh/known_hosts ~/.ssh/known_hosts2"
DEFAULT_GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
HOST_KEY_FAILED = "Host key verification failed.\n"


def node_known_hosts_path(node: str) -> str:
    return f"/etc/pve/nodes/{node}/ssh_known_hosts"


def install_node_host_keys(worlds: dict[str, Any], public_keys: dict[str, str]) -> None:
    """Each node's own public host key, and on every node (pmxcfs is shared) every node's
    `/etc/pve/nodes/NODE/ssh_known_hosts`. `public_keys`: node -> "ssh-ed25519 AAAA..."."""
    for name, key in public_keys.items():
        if name in worlds:
            worlds[name].vfs.mkdir(posixpath.dirname(HOST_PUBLIC_KEY), parents=True)
            worlds[name].vfs.write_text(HOST_PUBLIC_KEY, f"{key} root@{name}\n")
        for world in worlds.values():
            world.vfs.mkdir(f"/etc/pve/nodes/{name}", parents=True)
            world.vfs.write_text(node_known_hosts_path(name), f"{name} {key}\n")


def _ssh_options(
    args: list[str], index: int, user: str | None, options: dict[str, str]
) -> tuple[int, str | None] | str:
    """Skip ssh options from `index` (getopt-style, `--` ends them); -l sets the user,
    `-o Key=Value` / `-oKey=Value` go into `options` (keys lower-cased, first one wins)."""
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return index + 1, user
        if not arg.startswith("-") or arg == "-":
            return index, user
        letter = arg[1]
        if letter in SSH_VALUE_OPTIONS and len(arg) == 2:
            if index + 1 >= len(args):
                return f"option requires an argument -- {letter}"
            value = args[index + 1]
            user = value if letter == "l" else user
            index += 2
        else:
            value = arg[2:]
            index += 1
        if letter == "o":
            key, _, setting = value.replace(" ", "=", 1).partition("=")
            options.setdefault(key.lower(), setting)
    return index, user


def parse_ssh(
    args: list[str], options: dict[str, str] | None = None
) -> tuple[str | None, str, list[str]] | str:
    """-> (user, host, remote argv) or an error; like OpenSSH, options may follow the host."""
    seen = options if options is not None else {}
    skipped = _ssh_options(args, 0, None, seen)
    if isinstance(skipped, str):
        return skipped
    index, user = skipped
    if index >= len(args):
        return "usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] destination [command [argument ...]]"
    user_part, at, host = args[index].rpartition("@")
    user = user_part if at else user
    skipped = _ssh_options(args, index + 1, user, seen)
    if isinstance(skipped, str):
        return skipped
    index, user = skipped
    return user, host, args[index:]


def _key_of(line: str) -> tuple[str, str] | None:
    fields = line.split()
    return (fields[0], fields[1]) if len(fields) >= 2 else None


def host_key_known(world: Any, peer_world: Any, name: str, options: dict[str, str]) -> bool:
    """Whether the peer's host key is in the known-hosts files ssh reads for `name`
    (HostKeyAlias when given) on `world`: UserKnownHostsFile, then GlobalKnownHostsFile."""
    try:
        presented = _key_of(peer_world.vfs.read_text(HOST_PUBLIC_KEY))
    except VfsError:
        return False
    files = options.get("userknownhostsfile", DEFAULT_USER_KNOWN_HOSTS).split()
    files += options.get("globalknownhostsfile", DEFAULT_GLOBAL_KNOWN_HOSTS).split()
    for path in files:
        if path == "none":
            continue
        try:
            text = world.vfs.read_text(path.replace("~", "/root", 1), "/root")
        except VfsError:
            continue
        for line in text.splitlines():
            fields = line.split()
            if (
                len(fields) >= 3
                and name in fields[0].split(",")
                and _key_of(" ".join(fields[1:3])) == presented
            ):
                return True
    return False


async def ssh(ctx: Ctx) -> int:
    from ..interp import Interpreter

    options: dict[str, str] = {}
    parsed = parse_ssh(ctx.args, options)
    if isinstance(parsed, str):
        await ctx.err(parsed + "\n")
        return 255
    user, host, remote = parsed
    access = ctx.session.pve
    peer = access.peer(host) if access is not None else None
    if peer is None:
        await ctx.err(f"ssh: Could not resolve hostname {host}: Name or service not known\n")
        return 255
    if not peer.online:
        await ctx.err(f"ssh: connect to host {host} port 22: No route to host\n")
        return 255
    if not host_key_known(ctx.world, peer.world, options.get("hostkeyalias", host), options):
        # no tty to ask on (and BatchMode=yes never asks): OpenSSH's sshconnect.c gives up
        await ctx.err(HOST_KEY_FAILED)
        return 255
    if user not in (None, "root"):
        await ctx.err(f"{user}@{host}: Permission denied (publickey,password).\n")
        return 255
    session = Session(sleep_scale=ctx.session.sleep_scale, pve=peer.access)
    shell = Interpreter(peer.world, session, env=peer.world.default_env(), cwd="/root")
    stdin = ctx.stdin
    if remote:
        source = " ".join(remote)
    else:
        source = (await ctx.stdin.read()).decode("utf-8", "surrogateescape")
        stdin = BytesReader(b"")
    return await shell.run(source, IO(stdin, ctx.io.stdout, ctx.io.stderr))


PROGRAMS: dict[str, Program] = {"/usr/sbin/pct": pct, "/usr/bin/ssh": ssh}
