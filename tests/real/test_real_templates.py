"""Every shipped template, provisioned for real: the whole pipeline (create, start, files,
packages, scripts, discovery) in a real Debian 12 container, then its services active, its
ports listening and its saved credentials found by the detail page's discovery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from prov_support import USER_A, in_ct, make_request, run_burst_worker, stream_of

from lxc_manager.containers import follow_log, get_services, tail_log
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import jobs
from lxc_manager.templates.catalog import default_catalog_dir, load_catalog
from lxc_manager.templates.spec import TemplateSpec


@dataclass(frozen=True)
class Expected:
    units: tuple[str, ...]  # active after provisioning
    ports: tuple[tuple[str, int], ...]  # (unit, port) the discovery finds listening
    credentials: tuple[tuple[str, str], ...] = ()  # (unit, key) saved for the user


EXPECTED = {
    "debian-hardened": Expected(
        units=("ssh.service", "fail2ban.service", "unattended-upgrades.service"),
        ports=(("ssh.service", 22),),
        credentials=(("ssh.service", "ADMIN_SUDO_PASSWORD"),),
    ),
    "python-web-app": Expected(
        units=("webapp.service", "nginx.service"),
        ports=(("nginx.service", 80), ("webapp.service", 8000)),
        credentials=(("webapp.service", "SECRET_KEY"),),
    ),
}
# docker-host installs Docker Engine from download.docker.com, which is not one of the
# package registries the test machine may reach: see test_docker_host_stops_at_its_repository.


def _shipped(slug: str) -> TemplateSpec:
    catalog = load_catalog(default_catalog_dir())
    assert not catalog.errors, catalog.errors
    return next(t for t in catalog.templates if t.slug == slug)


def _request(node: NodeView, vmid: int, spec: TemplateSpec):  # type: ignore[no-untyped-def]
    return make_request(
        node,
        vmid,
        cores=spec.resources.cores,
        memory_mb=spec.resources.memory_mb,
        swap_mb=spec.resources.swap_mb,
        features=spec.features,
        files=spec.files,
        packages=spec.packages,
        scripts=spec.scripts,
        template_name=spec.name,
    )


def test_every_shipped_template_is_covered() -> None:
    slugs = {t.slug for t in load_catalog(default_catalog_dir()).templates}
    assert slugs == {*EXPECTED, "docker-host"}


@pytest.mark.parametrize("slug", sorted(EXPECTED))
async def test_a_shipped_template_runs_for_real(
    slug: str, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    spec, expected, vmid = _shipped(slug), EXPECTED[slug], new_vmid()
    submitted = await jobs.submit(USER_A, _request(sshnode, vmid, spec))
    assert submitted.job_id, submitted.errors
    await asyncio.to_thread(run_burst_worker, 900)
    done = await jobs.get_job(USER_A, submitted.job_id)
    assert done is not None
    if done.status != "succeeded":
        lines = [e.fields.get("text", "") for e in await stream_of(submitted.job_id)]
        pytest.fail(f"{done.error}\n" + "\n".join(lines[-40:]))
    for unit in expected.units:
        state = await in_ct(sshnode, "pve1", vmid, ["systemctl", "is-active", unit])
        assert state == (0, "active\n"), (unit, state)
    services = await get_services(USER_A, sshnode.id, "pve1", vmid, refresh=True)
    assert services.available, services.reason
    found = {s.unit: s for s in services.services}
    for unit, port in expected.ports:
        assert unit in found and port in found[unit].ports, (unit, found.get(unit))
    for unit, key in expected.credentials:
        assert key in dict(found[unit].credentials), (unit, found[unit])
    # the journal of real systemd: its tail, then following it while the unit restarts
    unit = expected.units[0]
    logged = await tail_log(USER_A, sshnode.id, "pve1", vmid, unit, 20)
    assert logged and any("Start" in line for line in logged), logged
    following = follow_log(USER_A, sshnode.id, "pve1", vmid, unit, lines=0)
    seen: list[str] = []
    try:
        first = asyncio.ensure_future(anext(following))
        for _ in range(6):  # restart until the follower, once attached, sees it
            assert (await in_ct(sshnode, "pve1", vmid, ["systemctl", "restart", unit]))[0] == 0
            done_first, _ = await asyncio.wait({first}, timeout=5)
            if done_first:
                break
        seen.append(await asyncio.wait_for(first, 5))
        while not any("Started" in line for line in seen):  # systemd's line of the restart
            seen.append(await asyncio.wait_for(anext(following), 15))
    finally:
        await following.aclose()
    assert all(f"prov-{vmid}" in line for line in seen), seen


async def test_docker_host_stops_at_its_repository_with_the_reason(
    sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    """Docker's repository is not a package registry this machine may reach: the run's
    proxy refuses it, and the template fails at that script with curl's reason."""
    spec, vmid = _shipped("docker-host"), new_vmid()
    submitted = await jobs.submit(USER_A, _request(sshnode, vmid, spec))
    assert submitted.job_id, submitted.errors
    await asyncio.to_thread(run_burst_worker, 600)
    done = await jobs.get_job(USER_A, submitted.job_id)
    assert done is not None and done.status == "failed", done
    assert "10-docker-repository.sh" in done.error, done.error
