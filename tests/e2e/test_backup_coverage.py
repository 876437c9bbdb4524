"""Backup coverage in a real browser (issue 17): the dashboard's "last backup" column and
its "no backup in N days" filter show exactly the containers without a recent backup, and
the Backups page lists the cluster's backup jobs and names the containers no job covers —
both checked against what the simulator's Proxmox API itself answers."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    Peer,
    fill_node_form,
    remove_node,
    row,
    save_confirming,
    screenshot,
    sign_in,
)
from tests.support.app import ServeProcess
from tests.support.simulator import SimProcess, start_simulator

pytestmark = pytest.mark.e2e

NODE = "coverage-lab"
DAY = 86400


@dataclass
class Cluster:
    """A Proxmox endpoint of this module's own, and what its API says about backups."""

    sim: SimProcess
    secret: str
    names: dict[int, str]  # container VMID -> name
    newest: dict[int, int]  # VMID -> ctime of its newest backup
    not_backed_up: set[int]  # containers no backup job covers (`not-backed-up`)
    jobs: list[str]  # backup job ids

    def without_backup_in(self, days: int) -> set[int]:
        now = time.time()
        return {v for v in self.names if now - self.newest.get(v, 0) > days * DAY}


def _read(sim: SimProcess, secret: str) -> Cluster:
    api = httpx.Client(
        base_url=sim.ready["api"] + "/api2/json",
        headers={"Authorization": f"PVEAPIToken=root@pam!ci={secret}"},
        verify=False,
        timeout=10,
    )
    with api:
        listed = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        names = {r["vmid"]: r["name"] for r in listed if r["type"] == "lxc"}
        newest: dict[int, int] = {}
        for node in (n["node"] for n in api.get("/nodes").json()["data"]):
            storages = api.get(f"/nodes/{node}/storage", params={"content": "backup"}).json()
            for storage in storages["data"]:
                path = f"/nodes/{node}/storage/{storage['storage']}/content"
                for v in api.get(path, params={"content": "backup"}).json()["data"]:
                    newest[v["vmid"]] = max(newest.get(v["vmid"], 0), v["ctime"])
        missing = api.get("/cluster/backup-info/not-backed-up").json()["data"]
        jobs = [j["id"] for j in api.get("/cluster/backup").json()["data"]]
    not_backed_up = {g["vmid"] for g in missing if g["type"] == "lxc"}
    return Cluster(sim, secret, names, newest, not_backed_up, jobs)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    secret = str(uuid.uuid4())
    sim = start_simulator(
        ["--port", "0", "--ssh-port", "0", "--nodes", "2", "--containers", "8", "--seed", "17",
         "--task-seconds", "0.3", "--auth-failure-delay", "0", "--token", f"root@pam!ci:{secret}"]
    )  # fmt: skip
    yield _read(sim, secret)
    sim.stop()


@pytest.fixture(scope="module", autouse=True)
def _remove_the_node_afterwards(browser: Browser, app: ServeProcess, sim: Peer) -> Iterator[None]:
    """Later modules expect root@pam to have no node: this module's node goes at its end."""
    yield
    remove_node(browser, app, sim, NODE)


def _sign_in_with_the_node(page: Page, sim: Peer, cluster: Cluster) -> None:
    sign_in(page, sim, next_path="/settings/nodes")
    expect(page.locator("#nodes-table").or_(page.get_by_test_id("empty-state"))).to_be_visible()
    if row(page, NODE).count():
        return
    port = int(cluster.sim.ready["api"].rsplit(":", 1)[1])
    peer = Peer(cluster.sim, "127.0.0.1", port, "", {"ci": cluster.secret})
    page.locator("#add-node").click()
    fill_node_form(page, peer, NODE, "root@pam!ci", cluster.secret, ssh=False)
    save_confirming(page, peer)
    expect(row(page, NODE)).to_be_visible()


def _shown(page: Page) -> set[int]:
    cells = page.locator("#containers-table [data-ct]")
    return {int(v) for v in (c.get_attribute("data-ct") for c in cells.all()) if v}


def test_no_backup_in_n_days_shows_exactly_those(page: Page, sim: Peer, cluster: Cluster) -> None:
    stale = cluster.without_backup_in(7)
    assert stale and stale != set(cluster.names)  # both kinds, so the filter must choose
    _sign_in_with_the_node(page, sim, cluster)
    page.goto("/")
    table = page.locator("#containers-table")
    expect(table.locator("[data-ct]")).to_have_count(len(cluster.names))
    cells = table.get_by_test_id("last-backup")
    expect(cells.filter(has_text="…")).to_have_count(0)  # the backups were read
    for vmid in cluster.names:
        cell = table.locator(f'[data-ct="{vmid}"]').get_by_test_id("last-backup")
        if vmid not in cluster.newest:
            expect(cell).to_have_text("never")
            expect(cell).to_have_attribute("data-tone", "never")
        else:
            age = time.time() - cluster.newest[vmid]
            tone = "fresh" if age <= DAY else ("stale" if age <= 7 * DAY else "old")
            expect(cell).to_have_attribute("data-tone", tone)
            expect(cell).to_have_text(re.compile(r"^(<1 min|\d+ (min|h|d))$"))
    screenshot(page, "dashboard-last-backup")

    page.get_by_label("Filter by last backup").click()
    page.get_by_role("option", name="No backup in 7 days").click()
    expect(table.locator("[data-ct]")).to_have_count(len(stale))
    assert _shown(page) == stale
    screenshot(page, "dashboard-no-backup-7-days")

    # N is the user's: 1 day takes in the containers backed up days ago too.
    days = page.get_by_label("Days without a backup")
    days.fill("1")
    recent = cluster.without_backup_in(1)
    assert recent > stale
    expect(table.locator("[data-ct]")).to_have_count(len(recent))
    assert _shown(page) == recent
    # A number that is no number of days is said, and changes nothing.
    days.fill("0")
    expect(page.get_by_role("alert").filter(has_text="A whole number of days")).to_be_visible()
    expect(table.locator("[data-ct]")).to_have_count(len(recent))
    days.fill("7")
    expect(table.locator("[data-ct]")).to_have_count(len(stale))
    page.get_by_label("Filter by last backup").click()
    page.get_by_role("option", name="Any backup age").click()
    expect(table.locator("[data-ct]")).to_have_count(len(cluster.names))


def test_the_backups_page_names_the_uncovered_containers(
    page: Page, sim: Peer, cluster: Cluster
) -> None:
    assert cluster.not_backed_up and cluster.not_backed_up != set(cluster.names)
    _sign_in_with_the_node(page, sim, cluster)
    page.get_by_role("link", name="Backups").first.click()
    expect(page).to_have_url(re.compile(r"/backups$"))
    expect(page.locator("#backups-read-only")).to_contain_text("edited in Proxmox")
    section = page.locator(f'[data-cluster="{NODE}"]')
    expect(section).to_be_visible()
    for job in cluster.jobs:
        expect(section.locator(f'[data-job="{job}"]')).to_be_visible()
    expect(section.locator("[data-job]")).to_have_count(len(cluster.jobs))
    expect(section.locator("[data-job]").first).to_contain_text("enabled")
    named = section.get_by_test_id("uncovered-ct")
    expect(named).to_have_count(len(cluster.not_backed_up))
    expected = sorted(f"{cluster.names[v]} ({v})" for v in cluster.not_backed_up)
    assert sorted(named.all_inner_texts()) == expected
    expect(page.locator("#uncovered-count")).to_contain_text(
        f"{len(cluster.not_backed_up)} container"
    )
    for vmid in cluster.names:
        line = section.locator(f'[data-ct="{vmid}"]')
        coverage = "uncovered" if vmid in cluster.not_backed_up else "covered"
        expect(line).to_have_attribute("data-coverage", coverage)
        if coverage == "uncovered":
            expect(line).to_contain_text("no job")
    screenshot(page, "backups-page")
