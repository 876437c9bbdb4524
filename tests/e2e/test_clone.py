"""Clone in a real browser (issue 17): a stopped container cloned from its dashboard row to
another PVE node (shared storage), followed on the job page to the end, then found on the
dashboard on that node; and the wizard's "start from a Proxmox CT template"."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Peer, ensure_node, row, screenshot, sign_in
from tests.support.app import ServeProcess

pytestmark = pytest.mark.e2e

NODE = "clone-lab"
SOURCE, CLONE = 96810, 96811  # our own VMIDs (the simulator seeds guests from 100 on)
DEBIAN = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def _api(sim: Peer) -> httpx.Client:
    return httpx.Client(
        base_url=f"https://{sim.host}:{sim.port}/api2/json",
        verify=False,
        timeout=10,
        headers={"Authorization": f"PVEAPIToken=root@pam!root={sim.secrets['root']}"},
    )


def _wait(api: httpx.Client, response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    upid = response.json()["data"]
    node = upid.split(":")[1]
    for _ in range(300):
        status = api.get(f"/nodes/{node}/tasks/{upid}/status").json()["data"]
        if status["status"] == "stopped":
            return
        time.sleep(0.1)
    raise AssertionError(f"task {upid} did not stop")


def _remove(api: httpx.Client, vmid: int) -> None:
    listed = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    for found in (r for r in listed if r.get("vmid") == vmid):
        base = f"/nodes/{found['node']}/lxc/{vmid}"
        if found.get("status") == "running":
            _wait(api, api.post(f"{base}/status/stop"))
        _wait(api, api.delete(base, params={"purge": 1}))


@pytest.fixture
def stopped_source(sim: Peer) -> Iterator[int]:
    """A stopped container of our own on pve1 (root disk on local-lvm); it and its clone
    are destroyed afterwards."""
    with _api(sim) as api:
        for vmid in (SOURCE, CLONE):
            _remove(api, vmid)
        data = {
            "vmid": SOURCE,
            "ostemplate": DEBIAN,
            "hostname": "clone-src",
            "rootfs": "local-lvm:2",
        }
        _wait(api, api.post("/nodes/pve1/lxc", data=data))
        yield SOURCE
        for vmid in (CLONE, SOURCE):
            _remove(api, vmid)


@pytest.fixture(scope="module", autouse=True)
def _remove_the_node_afterwards(browser: Browser, app: ServeProcess, sim: Peer) -> Iterator[None]:
    """Later modules expect root@pam to have no node: this module's node goes at its end."""
    yield
    context = browser.new_context(base_url=app.base_url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, sim, next_path="/settings/nodes")
    expect(page.locator("#nodes-table").or_(page.get_by_test_id("empty-state"))).to_be_visible()
    if row(page, NODE).count():
        row(page, NODE).get_by_role("button", name=f"Delete {NODE}").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        expect(row(page, NODE)).to_have_count(0)
    context.close()


def test_clone_a_stopped_container_to_another_pve_node(
    page: Page, sim: Peer, stopped_source: int
) -> None:
    sign_in(page, sim, next_path="/settings/nodes")
    ensure_node(page, sim, NODE)
    page.goto("/")
    source_row = page.locator(f'#containers-table [data-ct="{stopped_source}"]')
    expect(source_row).to_be_visible()
    source_row.get_by_role("link", name=f"Clone {stopped_source}").click()

    # The container page opens with the Clone dialog, filled from Proxmox.
    expect(page).to_have_url(re.compile(rf"/containers/\d+/{stopped_source}\?action=clone$"))
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#clone-hostname")).to_have_value("clone-src-clone")
    expect(dialog.locator("#clone-newid")).not_to_have_value("")
    dialog.locator("#clone-newid").fill(str(CLONE))
    expect(dialog.locator("#clone-newid-error")).to_have_count(0)
    dialog.locator("#clone-hostname").fill("clone-e2e")
    dialog.locator("#clone-target").click()
    page.get_by_role("option", name="pve2").click()
    # Another node without a shared storage chosen: the app says why before Proxmox does.
    dialog.locator("#clone-submit").click()
    expect(dialog.locator("#clone-storage-error")).to_contain_text("needs shared storage")
    dialog.locator("#clone-storage").click()
    page.get_by_role("option", name=re.compile(r"^nas \(.*shared\)$")).click()
    screenshot(page, "clone-dialog")
    dialog.locator("#clone-submit").click()

    # The job page follows the clone task to its end, its log live.
    expect(page).to_have_url(re.compile(r"/containers/jobs/[0-9a-f]{32}$"))
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    expect(page.locator("#job-log")).to_contain_text(
        f"creating a clone of container {stopped_source} with ID {CLONE}"
    )
    expect(page.locator("#job-container-link")).to_contain_text(str(CLONE))
    screenshot(page, "clone-job")

    page.goto("/")
    clone_row = page.locator(f'#containers-table [data-ct="{CLONE}"]')
    expect(clone_row).to_contain_text("clone-e2e")
    expect(clone_row).to_contain_text("pve2")
    expect(clone_row).to_contain_text("stopped")
