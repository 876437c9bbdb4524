"""The eight steps of a provisioning job (see `pipeline` for what each does).

Each step is an async function of the `_Run`; it answers a short summary for the progress
stream (or None) and raises `StepFailed` with a message for the user.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import time
from collections.abc import Awaitable, Callable, Sequence

from lxc_manager.containers import known
from lxc_manager.containers.detail import get_services
from lxc_manager.containers.detail_parsing import first_ipv4_from_ip_json, usable_ipv4
from lxc_manager.proxmox import NotFound, ParameterError, ProxmoxError, RouteMissing
from lxc_manager.ssh import FilePushFailed, SshError
from lxc_manager.templates.runtime import script_preamble
from lxc_manager.templates.spec import FileSpec, PackageSpec

from . import store, vmids
from .pipeline_run import (
    APT_ENV,
    APT_OPTIONS,
    CONTAINER_ENV,
    CONTAINER_USER,
    CREATE_TIMEOUT,
    READY_TIMEOUT,
    SCRIPT_TIMEOUT,
    START_TIMEOUT,
    StepFailed,
    _Run,
    _user_message,
)
from .push import PushNotVerified, push_verified
from .request import (
    container_os,
    enabled_scripts,
    proxmox_params,
    root_features_value,
)
from .request_fields import static_address

# Logged under the name these messages have always had.
log = logging.getLogger("lxc_manager.provisioning.pipeline")


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
