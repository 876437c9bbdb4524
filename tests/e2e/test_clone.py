"""Clone in a real browser (issue 17): a stopped container cloned from its dashboard row to
another PVE node (shared storage), followed on the job page to the end, then found on the
dashboard on that node; and the wizard's "start from a Proxmox CT template"."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import quote

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


TEMPLATE, LINKED, RESTORED = 96812, 96813, 96814


@pytest.fixture
def template_source(sim: Peer) -> Iterator[int]:
    """A stopped container of ours on pve1 (local-lvm, lvmthin: it makes linked clones)
    with one backup on `local`; everything made from it is destroyed afterwards."""
    with _api(sim) as api:
        for vmid in (LINKED, RESTORED, TEMPLATE):
            _remove(api, vmid)
        data = {"vmid": TEMPLATE, "ostemplate": DEBIAN, "hostname": "tpl-src"}
        _wait(api, api.post("/nodes/pve1/lxc", data={**data, "rootfs": "local-lvm:2"}))
        backup = {"vmid": TEMPLATE, "storage": "local", "compress": "zstd", "mode": "stop"}
        _wait(api, api.post("/nodes/pve1/vzdump", data=backup))
        yield TEMPLATE
        for vmid in (LINKED, RESTORED, TEMPLATE):
            _remove(api, vmid)
        listed = api.get("/nodes/pve1/storage/local/content", params={"vmid": TEMPLATE})
        for volume in listed.json().get("data") or []:
            path = f"/nodes/pve1/storage/local/content/{quote(volume['volid'], safe='')}"
            deleted = api.delete(path)
            if deleted.status_code == 200 and deleted.json().get("data"):
                _wait(api, deleted)


def _job_succeeds(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/containers/jobs/[0-9a-f]{32}$"))
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )


def _start_from(page: Page, label: str) -> None:
    page.goto("/containers/new")
    expect(page.locator("#wizard-start")).to_be_visible()
    page.get_by_label(label).click()
    node = page.locator("#start-node")
    expect(node).to_be_visible()
    if node.inner_text().strip() != NODE:
        node.click()
        page.get_by_role("option", name=NODE).click()


def test_template_then_the_wizard_from_it_and_from_a_backup(
    page: Page, sim: Peer, template_source: int
) -> None:
    sign_in(page, sim, next_path="/settings/nodes")
    ensure_node(page, sim, NODE)
    page.goto("/")
    source_row = page.locator(f'#containers-table [data-ct="{template_source}"]')
    expect(source_row).to_be_visible()
    source_row.get_by_role("link", name="tpl-src").click()

    # Convert to template: confirmed, saying it cannot be undone.
    page.locator("#ct-to-template").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("This cannot be undone.")
    confirm.get_by_role("button", name="Convert").click()
    _job_succeeds(page)
    expect(page.locator("#job-log")).to_contain_text(f"converting CT {template_source}")
    page.locator("#job-container-link").click()
    expect(page.locator("#ct-template")).to_have_text("template")

    # The wizard starts from the CT template: a linked clone is offered (lvmthin).
    _start_from(page, "A Proxmox CT template")
    page.locator("#start-ct_template").click()
    page.get_by_role("option", name=re.compile(rf"^tpl-src \(CT {template_source} ")).click()
    expect(page.locator("#start-mode-linked")).to_have_attribute("data-state", "checked")
    page.locator("#start-newid").fill(str(LINKED))
    page.locator("#start-hostname").fill("from-template")
    screenshot(page, "wizard-from-ct-template")
    page.locator("#start-submit").click()
    _job_succeeds(page)
    expect(page.locator("#job-log")).to_contain_text("create linked clone of mount point rootfs")

    # ... and from a backup, restored as a new container.
    _start_from(page, "A backup")
    page.locator("#start-backup").click()
    page.get_by_role("option", name=re.compile(rf"^CT {template_source} · ")).click()
    page.locator("#restore-vmid").fill(str(RESTORED))
    page.locator("#restore-hostname").fill("from-backup")
    page.locator("#restore-storage").click()
    page.get_by_role("option", name="local-lvm").click()
    screenshot(page, "wizard-from-backup")
    page.locator("#restore-submit").click()
    _job_succeeds(page)

    page.goto("/")
    expect(page.locator(f'#containers-table [data-ct="{LINKED}"]')).to_contain_text("from-template")
    expect(page.locator(f'#containers-table [data-ct="{RESTORED}"]')).to_contain_text("from-backup")
