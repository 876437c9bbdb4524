"""The dashboard in a real browser: containers of two endpoints, filter, search, stop, delete;
an unreachable endpoint's containers as last known, greyed."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Peer, fill_node_form, row, save_confirming, screenshot, sign_in
from tests.support.app import ServeProcess
from tests.support.simulator import OPERATOR, SimProcess, start_simulator

pytestmark = pytest.mark.e2e

VMID = 96001


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[SimProcess, str]]:
    """A second, small Proxmox endpoint with its own API token and one running container to act on."""
    secret = str(uuid.uuid4())
    sim = start_simulator(
        ["--port", "0", "--ssh-port", "0", "--nodes", "2", "--containers", "6", "--seed", "7",
         "--task-seconds", "0.3", "--auth-failure-delay", "0", "--token", f"root@pam!ci:{secret}"]
    )  # fmt: skip
    base = sim.ready["api"] + "/api2/json"
    headers = {"Authorization": f"PVEAPIToken=root@pam!ci={secret}"}
    with httpx.Client(base_url=base, headers=headers, verify=False, timeout=10) as api:
        node = (
            sim.ready["nodes"][0]["name"]
            if isinstance(sim.ready["nodes"][0], dict)
            else sim.ready["nodes"][0]
        )
        created = api.post(
            f"/nodes/{node}/lxc",
            data={"vmid": VMID, "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                  "hostname": "doomed-web", "rootfs": "local-lvm:4", "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
                  "start": 1},
        )  # fmt: skip
        assert created.status_code == 200, created.text
        # An HA resource: stop goes through HA (hastop) and delete needs purge.
        added = api.post("/cluster/ha/resources", data={"sid": f"ct:{VMID}"})
        assert added.status_code == 200, added.text
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status = api.get(f"/nodes/{node}/lxc/{VMID}/status/current").json()["data"]
            if status and status.get("status") == "running":
                break
            time.sleep(0.2)
    yield sim, secret
    sim.stop()


def add_lab_node(page: Page, lab: tuple[SimProcess, str], name: str = "lab") -> None:
    sim, secret = lab
    port = int(sim.ready["api"].rsplit(":", 1)[1])
    peer = Peer(sim, "127.0.0.1", port, "", {"ci": secret})
    page.goto("/settings/nodes")
    page.locator("#add-node").click()
    fill_node_form(page, peer, name, "root@pam!ci", secret, ssh=False)
    save_confirming(page, peer)


def test_dashboard_filter_search_stop_delete(
    page: Page, sim: Peer, lab: tuple[SimProcess, str], app: ServeProcess
) -> None:
    sign_in(page, sim, username=OPERATOR[0], password=OPERATOR[1], next_path="/settings/nodes")
    page.locator("#add-node").click()
    fill_node_form(page, sim, "homelab", "root@pam!ci", sim.secrets["ci"], ssh=False)
    save_confirming(page, sim)
    add_lab_node(page, lab)
    expect(row(page, "lab")).to_contain_text("online")

    page.goto("/")
    table = page.locator("#containers-table")
    expect(table.locator("[data-ct]").first).to_be_visible()
    expect(page.locator("#summary-total")).to_contain_text("containers")
    expect(table).to_contain_text("homelab")
    expect(table).to_contain_text("lab")
    screenshot(page, "dashboard")

    # The same containers as cards, then back to rows.
    shown = table.locator("[data-ct]").count()
    page.get_by_role("radio", name="Cards").click()
    cards = page.locator("#containers-cards [data-ct]")
    expect(cards).to_have_count(shown)
    expect(table).to_have_count(0)
    screenshot(page, "dashboard-cards")
    page.get_by_role("radio", name="Rows").click()
    expect(table.locator("[data-ct]")).to_have_count(shown)

    # Filter by node: only the lab endpoint's containers remain.
    page.get_by_label("Filter by node").click()
    page.get_by_role("option", name="lab", exact=True).click()
    expect(table.locator("[data-ct]").first).to_be_visible()
    badges = table.locator("[data-ct] .rt-Badge").all_inner_texts()
    assert "homelab" not in badges and "lab" in badges

    # Search narrows to the one container to act on.
    page.get_by_label("Search containers").fill(str(VMID))
    expect(table.locator("[data-ct]")).to_have_count(1)
    ct = table.locator(f'[data-ct="{VMID}"]')
    expect(ct).to_contain_text("doomed-web")
    expect(ct).to_contain_text("running")
    expect(ct.locator(".ct-ha")).to_have_text("HA")

    # Stop (with confirmation) and see the status change.
    ct.get_by_role("button", name="Stop").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Stop").click()
    expect(ct).to_contain_text("stopped", timeout=20_000)
    page.locator("#show-task-log").click()
    expect(page.locator("#task-log")).to_contain_text("TASK OK")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()

    # Delete with the typed VMID confirmation.
    ct.get_by_role("button", name=f"Delete {VMID}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#delete-ha-note")).to_contain_text("managed by HA")
    expect(dialog.locator("#confirm-delete")).to_be_disabled()
    dialog.get_by_label(re.compile("Type the VMID")).fill("12345")
    expect(dialog.locator("#confirm-delete")).to_be_disabled()
    dialog.get_by_label(re.compile("Type the VMID")).fill(str(VMID))
    screenshot(page, "dashboard-delete")
    dialog.locator("#confirm-delete").click()
    expect(table.locator(f'[data-ct="{VMID}"]')).to_have_count(0, timeout=20_000)


@pytest.fixture
def far() -> Iterator[tuple[SimProcess, str]]:
    """A one-node Proxmox endpoint of its own, to be switched off during the test."""
    secret = str(uuid.uuid4())
    sim = start_simulator(
        ["--port", "0", "--ssh-port", "0", "--nodes", "1", "--containers", "4", "--seed", "5",
         "--auth-failure-delay", "0", "--token", f"root@pam!ci:{secret}"]
    )  # fmt: skip
    yield sim, secret
    sim.stop()


def test_an_unreachable_node_shows_its_last_known_containers_greyed(
    page: Page, sim: Peer, far: tuple[SimProcess, str], app: ServeProcess
) -> None:
    far_sim, _ = far
    state = httpx.get(f"{far_sim.ready['admin']}/_sim/state", timeout=10).json()["data"]
    cts = {c["vmid"]: c for c in state["containers"]}
    running = next(vmid for vmid, c in cts.items() if c["status"] == "running")
    sign_in(page, sim, username=OPERATOR[0], password=OPERATOR[1], next_path="/settings/nodes")
    add_lab_node(page, far, name="far")
    try:
        page.goto("/")
        page.get_by_label("Filter by node").click()
        page.get_by_role("option", name="far", exact=True).click()
        table = page.locator("#containers-table")
        expect(table.locator("[data-ct]")).to_have_count(len(cts))
        live = table.locator(f'[data-ct="{running}"]')
        expect(live).to_have_attribute("data-last-known", "false")
        expect(live).to_contain_text("running")
        # Its address is looked up in the background and shows on a later refresh.
        expect(live.get_by_test_id("ct-ip")).to_have_text(
            re.compile(r"^\d+\.\d+\.\d+\.\d+$"), timeout=20_000
        )
        address = live.get_by_test_id("ct-ip").inner_text()

        far_sim.stop()  # the endpoint is gone: connections are refused
        expect(page.get_by_test_id("node-problem")).to_contain_text(
            "far unreachable — retrying", timeout=20_000
        )
        rows = table.locator("[data-ct]")
        expect(rows).to_have_count(len(cts))
        for vmid, ct in cts.items():
            shown = table.locator(f'[data-ct="{vmid}"]')
            expect(shown).to_have_attribute("data-last-known", "true")
            expect(shown).to_contain_text(ct["name"])
            expect(shown).to_contain_text("unknown")
            expect(shown).to_have_css("opacity", "0.55")
            expect(shown.get_by_role("button", name="Start")).to_be_disabled()
            expect(shown.get_by_role("button", name=f"Delete {vmid}")).to_be_disabled()
            expect(shown.get_by_role("checkbox")).to_be_disabled()
        expect(table.locator(f'[data-ct="{running}"]').get_by_test_id("ct-ip")).to_have_text(
            address
        )
        screenshot(page, "dashboard-unreachable")
    finally:
        page.goto("/settings/nodes")
        row(page, "far").get_by_role("button", name="Delete far").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        expect(row(page, "far")).to_have_count(0)
