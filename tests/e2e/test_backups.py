"""Backups in a real browser (issue 17): back up a running container in snapshot mode and
watch the task's log live on the job page (and after a reload), then restore that backup
as a new container and find it on the dashboard."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Peer, ensure_node, remove_node, screenshot, sign_in
from tests.support.app import ServeProcess
from tests.support.simulator import OPERATOR

pytestmark = pytest.mark.e2e

RESTORED_VMID = 98990
RESTORED_NAME = "e2e-restored"
NOTES = "e2e backup"


def _root_api(sim: Peer) -> httpx.Client:
    return httpx.Client(
        base_url=f"https://{sim.host}:{sim.port}/api2/json",
        verify=False,  # the simulator's own CA; this is the test's cleanup, not the app
        headers={"Authorization": f"PVEAPIToken=root@pam!root={sim.secrets['root']}"},
        timeout=10,
    )


def _wait(api: httpx.Client, response: httpx.Response) -> None:
    upid = response.json().get("data") if response.status_code == 200 else None
    if not isinstance(upid, str) or not upid.startswith("UPID:"):
        return
    node = upid.split(":")[1]
    for _ in range(200):
        status = api.get(f"/nodes/{node}/tasks/{quote(upid, safe='')}/status").json()["data"]
        if status["status"] == "stopped":
            return
        time.sleep(0.05)


def _clean(sim: Peer, vmids: list[int]) -> None:
    """Remove the restored container and every backup whose notes are this test's."""
    with _root_api(sim) as api:
        resources = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        for entry in resources:
            if entry.get("vmid") in vmids and entry.get("type") == "lxc":
                where, vmid = entry["node"], entry["vmid"]
                if entry.get("status") == "running":
                    _wait(api, api.post(f"/nodes/{where}/lxc/{vmid}/status/stop"))
                _wait(api, api.delete(f"/nodes/{where}/lxc/{vmid}", params={"purge": 1}))
        for node in ("pve1", "pve2", "pve3"):
            for storage in ("local", "nas"):
                listing = api.get(
                    f"/nodes/{node}/storage/{storage}/content", params={"content": "backup"}
                ).json()
                for volume in listing.get("data") or []:
                    if volume.get("notes") != NOTES:
                        continue
                    path = (
                        f"/nodes/{node}/storage/{storage}/content/{quote(volume['volid'], safe='')}"
                    )
                    api.put(path, data={"protected": 0})
                    _wait(api, api.delete(path))


@pytest.fixture
def cleanup(browser: Browser, app: ServeProcess, sim: Peer) -> Iterator[None]:
    _clean(sim, [RESTORED_VMID])
    yield
    _clean(sim, [RESTORED_VMID])
    # test_dashboard adds "homelab" for the operator itself: this module's copy goes.
    remove_node(browser, app, sim, "homelab", username=OPERATOR[0], password=OPERATOR[1])


def test_back_up_watch_the_log_and_restore_as_a_new_container(
    page: Page, sim: Peer, cleanup: None
) -> None:
    sign_in(page, sim, username=OPERATOR[0], password=OPERATOR[1], next_path="/settings/nodes")
    ensure_node(page, sim, "homelab")
    page.goto("/")
    page.get_by_label("Filter by status").click()
    page.get_by_role("option", name="Running").click()
    first = page.locator("#containers-table [data-ct]").first
    expect(first).to_be_visible()
    first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/containers/\d+/\d+/?$"))
    expect(page.locator("#ct-status")).to_have_text("running")
    container_url = page.url

    page.get_by_role("tab", name="Backups").click()
    expect(page.locator("#backups-table").or_(page.locator("#backups-empty"))).to_be_visible()
    page.locator("#backup-now").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("radio", name="Snapshot")).to_be_checked()
    expect(dialog).to_contain_text("the container keeps running")
    dialog.get_by_label("Notes").fill(NOTES)
    screenshot(page, "backup-dialog")
    dialog.locator("#backup-submit").click()

    # The job page: the vzdump task followed live, its log lines as they come.
    expect(page).to_have_url(re.compile(r"/containers/jobs/[0-9a-f]{32}/?$"))
    log = page.locator("#job-log")
    expect(log).to_contain_text("INFO: Starting Backup of VM", timeout=30_000)
    expect(log).to_contain_text("create storage snapshot 'vzdump'")
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    expect(log).to_contain_text("Backup job finished successfully")
    screenshot(page, "backup-job")
    page.reload()  # a reload replays the stream: the log is all there again
    expect(page.locator("#job-log")).to_contain_text("creating vzdump archive")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "succeeded")

    page.goto(container_url)
    page.get_by_role("tab", name="Backups").click()
    backup = page.locator("#backups-table [data-backup]", has_text=NOTES).first
    expect(backup).to_be_visible(timeout=20_000)
    expect(backup).to_contain_text(f"{OPERATOR[0]}")  # made by: this user, through the app
    backup.get_by_role("button", name="Restore").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("radio", name="As a new container")).to_be_checked()
    dialog.get_by_label("New VMID").fill(str(RESTORED_VMID))
    dialog.get_by_label("Host name").fill(RESTORED_NAME)
    expect(dialog.locator("#restore-storage")).not_to_have_text("Choose a storage")
    dialog.locator("#restore-submit").click()

    expect(page).to_have_url(re.compile(r"/containers/jobs/[0-9a-f]{32}/?$"))
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    expect(page.locator("#job-succeeded")).to_contain_text(str(RESTORED_VMID))

    page.goto("/")
    page.get_by_label("Filter by status").click()  # the filter chosen above is remembered
    page.get_by_role("option", name="Stopped").click()
    restored = page.locator(f'#containers-table [data-ct="{RESTORED_VMID}"]')
    expect(restored).to_be_visible(timeout=30_000)
    expect(restored).to_contain_text(RESTORED_NAME)
    page.get_by_label("Filter by status").click()
    page.get_by_role("option", name="Any status").click()
    screenshot(page, "backup-restored-on-dashboard")
