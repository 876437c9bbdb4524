"""The steps of a provisioning job, run by an RQ work-horse (`jobs.run_job`).

1 Create      final `GET /cluster/nextid?vmid=N`, POST lxc, follow the task; keyctl/fuse
              with `pct set` over SSH (only root@pam may set them)
2 Start       start the container, follow the task
3 Wait        running, network up, address known (`/interfaces`, else `ip -j addr`)
4 Files       wait for the container to take commands, then each file by its policy
              (replace / default = only if absent / backup = keep FILE.bak), `pct push --perms`
5 Packages    apt-get update once + install (non-interactive), npm -g, pip, custom commands
6 Scripts     the enabled scripts in order through `bash -s` with the helper preamble
7 Discover    running services, their ports and web links (`containers.detail`)
8 Done

Without SSH credentials steps 4-7 are skipped (a request that needs them is refused on
submit). Every step writes a start and an end event (`store`) and its state to the progress
stream; output lines go to the stream as they come. A heartbeat keeps the job row fresh; a
run that loses its job (declared stale, destroyed) stops at once without writing.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import redis.exceptions
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.containers import known
from lxc_manager.containers.detail import get_services
from lxc_manager.containers.detail_parsing import first_ipv4_from_ip_json, usable_ipv4
from lxc_manager.db.models import ProvisioningJob
from lxc_manager.nodes import (
    NodeNotFound,
    NodeSecretError,
    NodeView,
    client_for,
    get_node_sync,
    ssh_target_for,
    ssh_target_on,
)
from lxc_manager.proxmox import (
    NotFound,
    ParameterError,
    ProxmoxClient,
    ProxmoxError,
    RouteMissing,
    Upid,
)
from lxc_manager.proxmox.errors import MSG_UNEXPECTED, failure_message, short_message
from lxc_manager.proxmox.tasks import wait_for_task
from lxc_manager.security import audit
from lxc_manager.ssh import FilePushFailed, SshError, SshPool, SshTarget
from lxc_manager.templates.runtime import script_preamble
from lxc_manager.templates.spec import FileSpec, PackageSpec

from . import progress, store, vmids
from .progress import ProgressWriter
from .push import PushNotVerified, push_verified
from .request import (
    CreateRequest,
    container_os,
    enabled_scripts,
    proxmox_params,
    request_digest,
    request_from_json,
    root_features_value,
    static_address,
)
from .semaphore import SemaphoreTimeout, node_limiter

__all__ = [
    "HEARTBEAT_SECONDS",
    "JOB_DEADLINE_SECONDS",
    "STEP_COUNT",
    "STEP_NAMES",
    "StepFailed",
    "run_pipeline",
    "step_name",
]

log = logging.getLogger(__name__)

STEP_NAMES: Final[tuple[str, ...]] = (
    "Create",
    "Start",
    "Wait until ready",
    "Push files",
    "Install packages",
    "Run scripts",
    "Discover services",
    "Done",
)
STEP_COUNT: Final = len(STEP_NAMES)
HEARTBEAT_SECONDS = 3.0
JOB_DEADLINE_SECONDS = 3300.0  # below the RQ job timeout (3600 s): the run ends cleanly first
CREATE_TIMEOUT = 900.0
START_TIMEOUT = 300.0
READY_TIMEOUT = 120.0
EXEC_READY_TIMEOUT = 60.0
COMMAND_TIMEOUT = 60.0
INSTALL_TIMEOUT = 1800.0
SCRIPT_TIMEOUT = 1800.0
TASK_LOG_LINES = 200
CONTAINER_USER = "root"
# Proxmox tasks: poll often at first (short tasks end sooner), slowly after a while.
TASK_POLL, TASK_MAX_POLL, TASK_BACKOFF = 0.02, 2.0, 1.04
# `pct exec` runs with PATH=/sbin:/bin:/usr/sbin:/usr/bin and the node's locale (often one
# the container lacks): commands of ours get a complete PATH and C.UTF-8, as the scripts'
# helper library sets them (templates/runtime/helpers.sh).
CONTAINER_ENV = (
    "env",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
)
APT_ENV = (*CONTAINER_ENV, "DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=a")
APT_OPTIONS = ("-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold")


def step_name(step: int) -> str:
    return STEP_NAMES[step - 1] if 1 <= step <= STEP_COUNT else f"Step {step}"


class StepFailed(Exception):
    """A step failed; `message` is for the user (short, no secrets), `detail` for the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


class _JobLost(Exception):
    """The job is no longer this run's (declared stale or destroyed meanwhile)."""


@dataclass
class _Run:
    job: ProvisioningJob
    attempt: int
    req: CreateRequest
    node: NodeView
    client: ProxmoxClient
    target: SshTarget | None
    pool: SshPool
    writer: ProgressWriter
    ip: str | None = None
    step: int = 0
    _exec_ready: bool = field(default=False, repr=False)
    _on_node: SshTarget | None = field(default=None, repr=False)

    @property
    def vmid(self) -> int:
        return self.job.vmid

    @property
    def pve_node(self) -> str:
        return self.job.pve_node

    @property
    def audit_target(self) -> str:
        return f"ct:{self.node.name}/{self.vmid}"

    def ssh(self) -> SshTarget:
        if self.target is None:
            raise StepFailed("This step needs SSH credentials on the node")
        return self.target

    async def node_target(self) -> SshTarget:
        """Where `pct` runs for this container: its PVE node itself, reached directly with
        the node's credentials and that member's pinned host key (`nodes.members`)."""
        if self._on_node is None:
            self.ssh()  # StepFailed without SSH credentials
            target = await ssh_target_on(self.job.user_id, self.node.id, self.pve_node, self.client)
            if target is None:
                raise StepFailed("This step needs SSH credentials on the node")
            self._on_node = target
        return self._on_node

    # -- output --------------------------------------------------------------------------

    async def line(self, text: str, stream: str = "stdout") -> None:
        await self.writer.line(stream, text, step=self.step)

    async def state(self, state: str, message: str = "", **extra: object) -> None:
        await self.writer.entry(
            "step", step=self.step, name=step_name(self.step), state=state, message=message, **extra
        )

    async def audit(self, action: str, ok: bool, detail: str) -> None:
        outcome = audit.Outcome.OK if ok else audit.Outcome.FAILED
        try:
            await asyncio.to_thread(
                audit.record,
                action,
                user_id=self.job.user_id,
                target=self.audit_target,
                outcome=outcome,
                detail=detail,
            )
        except SQLAlchemyError:  # what happened must not be hidden by a failed audit write
            log.exception("audit of %s on %s failed", action, self.audit_target)

    # -- Proxmox -------------------------------------------------------------------------

    async def follow(
        self,
        upid: str,
        timeout: float,  # noqa: ASYNC109
        what: str,
        *,
        alongside: Sequence[Callable[[], Awaitable[object]]] = (),
    ) -> None:
        """Wait for the task; its log lines go to the stream (while `alongside` runs,
        whatever the outcome); StepFailed when it failed."""
        try:
            node = Upid.parse(upid).node
        except ValueError:
            node = self.pve_node
        error: ProxmoxError | None = None
        try:
            await wait_for_task(
                lambda: self.client.task_status(node, upid),
                upid,
                timeout=timeout,
                poll=TASK_POLL,
                max_poll=TASK_MAX_POLL,
                backoff=TASK_BACKOFF,
            )
        except ProxmoxError as exc:
            error = exc
        lines, _ = await asyncio.gather(
            self.task_log(node, upid), asyncio.gather(*(call() for call in alongside))
        )
        if error is not None:
            raise StepFailed(f"{what}: {failure_message(error, lines)}", repr(error)) from error

    async def task_log(self, node: str, upid: str) -> list[str]:
        """The task's log lines, each written to the stream too ([] when unreadable)."""
        try:
            data = await self.client.task_log(node, upid, limit=TASK_LOG_LINES)
        except ProxmoxError as exc:
            log.info("task log of %s not available: %r", upid, exc)
            return []
        lines = [str(e.get("t", "")) for e in data if isinstance(e, dict)]
        for line in lines:
            await self.writer.line("task", line, step=self.step)
        return lines

    # -- commands in the container -------------------------------------------------------

    async def exec(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:  # noqa: ASYNC109
        target = await self.node_target()
        result = await self.pool.pct_exec(target, self.vmid, argv, timeout=timeout)
        return result.exit_status, (result.stderr or result.stdout).strip()

    async def exec_on_host(self, argv: Sequence[str]) -> tuple[int, str]:
        """A command on the container's PVE node itself (e.g. `pct set`)."""
        target = await self.node_target()
        result = await self.pool.run(target, argv, timeout=COMMAND_TIMEOUT)
        return result.exit_status, (result.stderr or result.stdout).strip()

    async def streamed(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        timeout: float = INSTALL_TIMEOUT,  # noqa: ASYNC109
    ) -> int:
        """Run in the container, every output line to the stream; the exit status."""
        target = await self.node_target()
        stream = self.pool.pct_exec_stream(target, self.vmid, argv, stdin=stdin, timeout=timeout)
        async with stream:
            async for output in stream:
                await self.writer.line(output.stream, output.text, step=self.step)
        await self.writer.flush()
        return stream.exit_status if stream.exit_status is not None else 255

    async def wait_exec_ready(self) -> None:
        """Until `pct exec` works and the root filesystem answers (bounded)."""
        if self._exec_ready:
            return
        deadline = time.monotonic() + EXEC_READY_TIMEOUT
        delay = 0.1
        while True:
            status, message = await self.exec(["test", "-d", "/etc"], timeout=15)
            if status == 0:
                self._exec_ready = True
                return
            if time.monotonic() >= deadline:
                raise StepFailed(
                    f"The container did not take commands within {EXEC_READY_TIMEOUT:.0f} s",
                    message,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


# -- the steps --------------------------------------------------------------------------------


async def _create(run: _Run) -> str:
    client, vmid, node = run.client, run.vmid, run.pve_node
    if run.attempt > 1 and await _created_before(run):
        message = f"CT {vmid} exists from an earlier attempt"
    else:
        try:
            await client.next_id(vmid)
        except ParameterError as exc:
            raise StepFailed(
                f"VMID {vmid} was taken in the meantime: create the container with another VMID",
                repr(exc),
            ) from exc
        upid = await client.lxc_create(node, proxmox_params(run.req))
        await run.follow(
            upid,
            CREATE_TIMEOUT,
            "Creating the container failed",
            alongside=[lambda: vmids.invalidate(run.job.user_id, run.job.cluster_key)],
        )
        message = f"CT {vmid} created on {node}"
        await run.audit("container.create", True, f"{run.req.hostname} on {node} ({upid})")
    features = root_features_value(run.req.features)
    if features is not None:
        status, output = await run.exec_on_host(["pct", "set", str(vmid), "--features", features])
        if status != 0:
            raise StepFailed(f"Could not set the features {features} with pct set", output)
        await run.line(f"features set: {features}")
        message += f"; features {features}"
    return message


async def _created_before(run: _Run) -> bool:
    """A retry of step 1: is the container there already (made by an earlier attempt)?"""
    try:
        config = await run.client.lxc_config(run.pve_node, run.vmid)
    except NotFound:
        return False
    if config.hostname != run.req.hostname:
        raise StepFailed(f"VMID {run.vmid} is taken by another guest")
    return True


async def _start(run: _Run) -> str:
    if run.attempt > 1 and (await run.client.lxc_status(run.pve_node, run.vmid)).running:
        return "already running"
    upid = await run.client.lxc_action(run.pve_node, run.vmid, "start")
    await run.follow(upid, START_TIMEOUT, "Starting the container failed")
    return "started"


async def _address_from_api(run: _Run) -> tuple[bool | None, str | None]:
    """(the API could tell, the first usable IPv4 of a non-loopback interface); (None,
    None) when it never can: Proxmox VE before 8.1 has no `/interfaces` (501)."""
    try:
        interfaces = await run.client.lxc_interfaces(run.pve_node, run.vmid)
    except RouteMissing:
        return None, None
    except ProxmoxError as exc:
        log.info("interfaces of CT %s: %r", run.vmid, exc)
        return False, None
    for interface in interfaces:
        if interface.name == "lo":
            continue
        for address in interface.addresses:
            found = usable_ipv4(address)
            if found:
                return True, found
    return True, None


async def _address_from_container(run: _Run) -> str | None:
    if run.target is None:
        return None
    try:
        target = await run.node_target()
        result = await run.pool.pct_exec(target, run.vmid, ["ip", "-j", "addr"], timeout=15)
    except SshError as exc:
        log.info("ip -j addr in CT %s: %r", run.vmid, exc)
        return None
    return first_ipv4_from_ip_json(result.stdout) if result.ok else None


async def _wait_ready(run: _Run) -> str:
    static = static_address(run.req.ipv4)
    deadline = time.monotonic() + READY_TIMEOUT
    delay = 0.1
    while True:
        status = await run.client.lxc_status(run.pve_node, run.vmid)
        if status.running:
            answered, ip = await _address_from_api(run)
            if ip is None and (not answered or static is None):
                ip = await _address_from_container(run)
            if static is not None and (ip == str(static.ip) or not answered):
                run.ip = str(static.ip)
                await known.remember_ip(run.job.user_id, run.job.cluster_key, run.vmid, run.ip)
                return f"address {run.ip} (static)"
            if static is None and ip is not None:
                run.ip = ip
                await known.remember_ip(run.job.user_id, run.job.cluster_key, run.vmid, ip)
                return f"address {ip} (DHCP)"
            if static is None and answered is None and run.target is None:
                return "running; address unknown (no /interfaces before PVE 8.1, no SSH)"
        elif status.status not in ("running", "stopped"):
            raise StepFailed(f"The container is {status.status}")
        if time.monotonic() >= deadline:
            what = "not running" if not status.running else "without a network address"
            raise StepFailed(f"The container was still {what} after {READY_TIMEOUT:.0f} s")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 2.0)


async def _exists(run: _Run, path: str) -> bool:
    status, message = await run.exec(["test", "-e", path])
    if status in (0, 1):
        return status == 0
    raise StepFailed(f"Could not look for {path} in the container", message)


async def _push_one(run: _Run, spec: FileSpec) -> str:
    path = spec.target_path
    if spec.policy in ("default", "backup") and await _exists(run, path):
        if spec.policy == "default":
            return f"kept {path} (it exists; policy default)"
        status, message = await run.exec(["cp", "-p", path, f"{path}.bak"])
        if status != 0:
            raise StepFailed(f"Could not back up {path} to {path}.bak", message)
        await run.line(f"backed up {path} to {path}.bak")
    directory = posixpath.dirname(path)
    if directory not in ("", "/"):
        status, message = await run.exec(["mkdir", "-p", directory])
        if status != 0:
            raise StepFailed(f"Could not create the directory {directory}", message)
    mode = int(spec.mode, 8)
    target = await run.node_target()
    try:
        await push_verified(run.pool, target, run.vmid, path, spec.content.encode(), mode=mode)
    except FilePushFailed as exc:
        raise StepFailed(f"Could not write {path}: {_push_reason(exc)}", str(exc)) from exc
    return f"wrote {path} (mode {mode:04o}, policy {spec.policy})"


def _push_reason(exc: FilePushFailed) -> str:
    """pct's own words (its last line), else the SSH layer's generic message."""
    if isinstance(exc, PushNotVerified):
        return exc.reason
    lines = [line.strip() for line in exc.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else exc.user_message.rstrip(".")


async def _files(run: _Run) -> str | None:
    files = run.req.files
    if not files:
        return None
    await run.wait_exec_ready()
    for spec in files:
        try:
            outcome = await _push_one(run, spec)
        except StepFailed as exc:
            await run.audit("container.file", False, f"{spec.target_path}: {exc.message}")
            raise
        await run.line(outcome)
        await run.audit("container.file", True, outcome)
    return f"{len(files)} file{'s' if len(files) != 1 else ''}"


async def _install(run: _Run, manager: str, argv: Sequence[str], what: str) -> None:
    status = await run.streamed(argv)
    await run.audit("container.packages", status == 0, f"{manager}: {what} (exit {status})")
    if status != 0:
        raise StepFailed(f"Installing {manager} packages failed (exit status {status}): {what}")


async def _packages(run: _Run) -> str | None:
    packages = run.req.packages
    if not packages:
        return None
    await run.wait_exec_ready()
    by_manager: dict[str, list[PackageSpec]] = {}
    for package in packages:
        by_manager.setdefault(package.manager, []).append(package)
    os_name = container_os(run.req.os_template)
    if "apt" in by_manager:
        if os_name.startswith("alpine"):
            raise StepFailed("apt packages need a Debian or Ubuntu container, not Alpine")
        specs = [p.install_spec() for p in by_manager["apt"]]
        await run.line("$ apt-get update")
        status = await run.streamed([*APT_ENV, "apt-get", "update", "-q"])
        if status != 0:
            raise StepFailed(f"apt-get update failed (exit status {status})")
        await run.line(f"$ apt-get install {' '.join(specs)}")
        await _install(
            run,
            "apt",
            [*APT_ENV, "apt-get", "install", "-y", "-q", *APT_OPTIONS, *specs],
            " ".join(specs),
        )
    if "npm" in by_manager:
        specs = [p.install_spec() for p in by_manager["npm"]]
        await run.line(f"$ npm install -g {' '.join(specs)}")
        argv = [*CONTAINER_ENV, "npm", "install", "-g", *specs]
        await _install(run, "npm", argv, " ".join(specs))
    if "pip" in by_manager:
        specs = [p.install_spec() for p in by_manager["pip"]]
        await run.line(f"$ pip3 install {' '.join(specs)}")
        argv = [
            *CONTAINER_ENV,
            "PIP_BREAK_SYSTEM_PACKAGES=1",
            "pip3",
            "install",
            "--no-input",
            *specs,
        ]
        await _install(run, "pip", argv, " ".join(specs))
    preamble = script_preamble(os_name, CONTAINER_USER)
    for package in by_manager.get("custom", []):
        await run.line(f"$ (custom) {package.name}")
        status = await run.streamed(["bash", "-s"], stdin=preamble + package.command + "\n")
        await run.audit(
            "container.packages", status == 0, f"custom: {package.name} (exit {status})"
        )
        if status != 0:
            raise StepFailed(f"The custom package {package.name} failed (exit status {status})")
    return f"{len(packages)} package{'s' if len(packages) != 1 else ''}"


def _scripts_done_before(job_id: str) -> set[str]:
    """`INDEX:NAME` of the scripts an earlier attempt already ran successfully."""
    events = store.events_of([job_id]).get(job_id, [])
    done: set[str] = set()
    for event in events:
        if event.kind == "script":
            if event.outcome == "ok":
                done.add(event.message)
            else:
                done.discard(event.message)
    return done


async def _scripts(run: _Run) -> str | None:
    scripts = enabled_scripts(run.req)
    if not scripts:
        return None
    await run.wait_exec_ready()
    done = await asyncio.to_thread(_scripts_done_before, run.job.id) if run.attempt > 1 else set()
    preamble = script_preamble(container_os(run.req.os_template), CONTAINER_USER)
    total = len(scripts)
    skipped = 0
    for index, script in enumerate(scripts, start=1):
        key = f"{index}:{script.name}"
        extra = {"index": index, "total": total, "script": script.name}
        if key in done:
            skipped += 1
            await run.state("running", "done in an earlier attempt", **extra)
            continue
        await run.state("running", f"script {index}/{total}: {script.name}", **extra)
        status = await run.streamed(
            ["bash", "-s"], stdin=preamble + script.content + "\n", timeout=SCRIPT_TIMEOUT
        )
        ok = status == 0
        await asyncio.to_thread(
            store.add_event, run.job.id, 6, "script", "ok" if ok else "failed", key
        )
        await run.audit("container.script", ok, f"{script.name} ({index}/{total}): exit {status}")
        if not ok:
            raise StepFailed(
                f"Script {index}/{total} {script.name} failed with exit status {status}"
            )
    ran = total - skipped
    return f"{ran} script{'s' if ran != 1 else ''} ran" + (
        f", {skipped} done before" if skipped else ""
    )


async def _discover(run: _Run) -> str | None:
    """Informational: a failure to list the services does not fail the job."""
    try:
        services = await get_services(
            run.job.user_id,
            run.node.id,
            run.pve_node,
            run.vmid,
            refresh=True,
            pool=run.pool,
        )
    except (ProxmoxError, SshError) as exc:
        log.info("services of CT %s: %r", run.vmid, exc)
        message = f"services not listed: {_user_message(exc)}"
        await run.line(message)
        return message
    if not services.available:
        await run.line(f"services not listed: {services.reason}")
        return f"services not listed: {services.reason}"
    for service in services.services:
        where = ", ".join(service.urls) or ", ".join(str(p) for p in service.ports) or "no ports"
        line = f"{service.unit}: {service.active}/{service.sub}, {where}"
        if service.credentials:  # names only: the values stay in the container
            line += " (credentials: " + ", ".join(key for key, _ in service.credentials) + ")"
        await run.line(line)
    count = len(services.services)
    return f"{count} service{'s' if count != 1 else ''}"


async def _done(run: _Run) -> str:
    if run.ip is None:  # a retry that started after step 3
        static = static_address(run.req.ipv4)
        _answered, ip = await _address_from_api(run)
        if ip is None:
            ip = await _address_from_container(run)
        run.ip = ip if ip is not None else (str(static.ip) if static is not None else None)
    return f"CT {run.vmid} ({run.req.hostname}) is ready" + (f" at {run.ip}" if run.ip else "")


Step = Callable[[_Run], Awaitable[str | None]]
_STEPS: dict[int, Step] = {
    1: _create,
    2: _start,
    3: _wait_ready,
    4: _files,
    5: _packages,
    6: _scripts,
    7: _discover,
    8: _done,
}
_SSH_STEPS = frozenset({4, 5, 6, 7})


# -- running the steps ------------------------------------------------------------------------


def _user_message(exc: BaseException) -> str:
    if isinstance(exc, StepFailed):
        return exc.message
    if isinstance(exc, ProxmoxError):
        return short_message(exc)
    if isinstance(exc, SshError):
        return exc.user_message.rstrip(".")
    if isinstance(exc, NodeSecretError):
        return exc.user_message
    if isinstance(exc, SemaphoreTimeout):
        return "No SSH session to the Proxmox node became free in time"
    if isinstance(exc, redis.exceptions.RedisError):
        return "Redis failed while the step ran; see the server log"
    return MSG_UNEXPECTED


async def _run_step(run: _Run, number: int) -> None:
    run.step = number
    if number in _SSH_STEPS and run.target is None:
        ended = ("skipped", "the node has no SSH credentials")
        if not await asyncio.to_thread(store.step_started, run.job.id, run.attempt, number, ended):
            raise _JobLost()
        await run.state(*ended)
        return
    if not await asyncio.to_thread(store.step_started, run.job.id, run.attempt, number):
        raise _JobLost()
    await run.state("running")
    try:
        result = await _STEPS[number](run)
    except (asyncio.CancelledError, _JobLost):
        raise
    except Exception as exc:
        message = _user_message(exc)
        if not isinstance(exc, StepFailed | ProxmoxError | SshError):
            log.exception("job %s step %s failed unexpectedly", run.job.id, number)
        else:
            log.info("job %s step %s failed: %r", run.job.id, number, exc)
        if number == 1:
            await run.audit("container.create", False, message)
        await asyncio.to_thread(store.add_event, run.job.id, number, "end", "failed", message)
        await run.state("failed", message)
        raise StepFailed(message) from exc
    outcome, message = ("ok", result) if result is not None else ("skipped", "nothing to do")
    await asyncio.to_thread(store.add_event, run.job.id, number, "end", outcome, message)
    await run.state(outcome, message)


async def _heartbeat(
    job_id: str, attempt: int, main: asyncio.Task[object], lost: asyncio.Event
) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            alive = await asyncio.to_thread(store.heartbeat, job_id, attempt)
        except SQLAlchemyError:
            log.warning("heartbeat of job %s failed", job_id, exc_info=True)
            continue
        if not alive:
            log.warning("job %s is no longer this run's: stopping", job_id)
            lost.set()
            main.cancel()
            return


async def _finish(run: _Run, status: str, error: str = "") -> None:
    step = STEP_COUNT if status == "succeeded" else run.step
    if not await asyncio.to_thread(store.finish, run.job.id, run.attempt, status, step, error):
        raise _JobLost()
    await run.writer.entry(
        "result",
        outcome=status,
        error=error,
        vmid=run.vmid,
        ip=run.ip or "",
        step=step,
        name=step_name(step),
    )
    await run.writer.entry("status", status=status, step=step, message=error)


def _connections(user_id: str, node_id: int) -> tuple[NodeView, ProxmoxClient, SshTarget | None]:
    """The job's node, an API client and the SSH target (one thread hop)."""
    return (
        get_node_sync(user_id, node_id),
        client_for(user_id, node_id),
        ssh_target_for(user_id, node_id),
    )


async def _fail_early(job: ProvisioningJob, message: str) -> None:
    """The run cannot even begin (node gone, unreadable request): fail the job."""
    await asyncio.to_thread(store.add_event, job.id, job.step, "end", "failed", message)
    if await asyncio.to_thread(store.finish, job.id, job.attempts, "failed", job.step, message):
        async with ProgressWriter(job.id) as writer:
            await writer.entry(
                "result", outcome="failed", error=message, vmid=job.vmid, step=job.step
            )
            await writer.entry("status", status="failed", step=job.step, message=message)
    await vmids.release(job.user_id, job.cluster_key, job.vmid, job.id)


async def _fail_unexpectedly(job: ProvisioningJob) -> str | None:
    """Fail the job at the step it reached, as far as the database and Redis allow."""
    try:
        current = await asyncio.to_thread(store.load_job, job.id)
        step = current.step if current is not None else job.step
        error = f"Step {step} ({step_name(step)}): {MSG_UNEXPECTED}"
        if not await asyncio.to_thread(store.finish, job.id, job.attempts, "failed", step, error):
            return None
        await asyncio.to_thread(store.add_event, job.id, step, "end", "failed", error)
        await progress.append(
            job.id, "result", outcome="failed", error=error, vmid=job.vmid, step=step
        )
        await progress.append(job.id, "status", status="failed", step=step, message=error)
    except (SQLAlchemyError, redis.exceptions.RedisError):
        log.exception("job %s: could not record the failure (stale detection will)", job.id)
    return "failed"


async def run_pipeline(job_id: str, from_step: int = 1) -> str | None:
    """Claim the queued job and run its steps from `from_step`; the final status, or None
    when the job was not queued (nothing was done) or was taken away while running."""
    job = await asyncio.to_thread(store.claim, job_id, from_step)
    if job is None:
        log.info("job %s is not queued: nothing to do", job_id)
        return None
    try:
        # Only the job's own row says what to run (frozen at submit, DESIGN §3.3): never
        # the template or its buckets, which may have changed since.
        req = request_from_json(job.request)
        if job.content_digest and request_digest(req) != job.content_digest:
            raise ValueError("the stored request does not match its content digest")
        node, client, target = await asyncio.to_thread(_connections, job.user_id, job.node_id or 0)
    except (ValueError, NodeNotFound, NodeSecretError) as exc:
        message = (
            "The node of this job no longer exists"
            if isinstance(exc, NodeNotFound)
            else exc.user_message
            if isinstance(exc, NodeSecretError)
            else "The stored request cannot be read"
        )
        log.warning("job %s cannot start: %r", job_id, exc)
        await _fail_early(job, message)
        return "failed"
    main = asyncio.current_task()
    assert main is not None
    lost = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(job_id, job.attempts, main, lost))
    limiter = node_limiter(job.user_id, job.cluster_key, job.pve_node)
    try:
        async with (
            ProgressWriter(job_id) as writer,
            client,
            SshPool(limiter=limiter, command_timeout=COMMAND_TIMEOUT) as pool,
        ):
            run = _Run(job, job.attempts, req, node, client, target, pool, writer)
            await writer.entry("status", status="running", step=from_step, attempt=job.attempts)
            return await _run_steps(run, from_step)
    except _JobLost:
        log.warning("job %s: run %s stopped (the job is no longer its)", job_id, job.attempts)
        return None
    except asyncio.CancelledError:
        if not lost.is_set():
            raise
        main.uncancel()
        log.warning("job %s: run %s stopped (the job is no longer its)", job_id, job.attempts)
        return None
    except Exception:  # e.g. Redis or the database failed between steps
        log.exception("job %s failed unexpectedly", job_id)
        return await _fail_unexpectedly(job)
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
        await vmids.release(job.user_id, job.cluster_key, job.vmid, job.id)


async def _run_steps(run: _Run, from_step: int) -> str:
    try:
        async with asyncio.timeout(JOB_DEADLINE_SECONDS):
            for number in range(from_step, STEP_COUNT + 1):
                await _run_step(run, number)
    except StepFailed as failure:
        error = f"Step {run.step} ({step_name(run.step)}): {failure.message}"
        await _finish(run, "failed", error)
        return "failed"
    except TimeoutError:
        error = f"Step {run.step} ({step_name(run.step)}): the job ran out of time"
        await asyncio.to_thread(store.add_event, run.job.id, run.step, "end", "failed", error)
        await _finish(run, "failed", error)
        return "failed"
    await _finish(run, "succeeded")
    return "succeeded"
