"""The creation wizard in a real browser: template, a taken then a free VMID, review, create,
watch the progress to the end, and find the container on the dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Peer, ensure_node, screenshot, sign_in
from tests.support.app import ServeProcess, app_db_rows

pytestmark = pytest.mark.e2e

NODE = "wizard-lab"
VMID = "96700"
TAKEN = "100"  # the simulator seeds guests from VMID 100 on
HOSTNAME = "wiz-e2e"


def choose_wizard_node(page: Page) -> None:
    """Keep the default node if it is ours, else use "Change node"."""
    expect(page.locator("#wizard-node-name")).not_to_be_empty()
    if page.locator("#wizard-node-name").inner_text().strip() == NODE:
        return
    page.locator("#wizard-change-node").click()
    page.get_by_role("option", name=NODE).click()
    expect(page.locator("#wizard-node-name")).to_have_text(NODE)


def test_whole_wizard_to_a_running_container(page: Page, sim: Peer, app: ServeProcess) -> None:
    sign_in(page, sim, next_path="/templates")
    page.locator("#sync-catalog").click()
    expect(page.locator('[data-template="Simulator web"]')).to_be_visible()
    ensure_node(page, sim, NODE, ssh=True)

    page.goto("/containers/new")
    expect(page.locator('#wizard[data-ready="true"]')).to_be_visible()
    page.locator('[data-template-choice="Simulator web"]').click()
    choose_wizard_node(page)

    # Configure: prefilled from the template; the VMID is checked as it is typed.
    expect(page.locator("#wizard-cores")).to_have_value("1")
    expect(page.locator("#wizard-os_template")).to_contain_text("debian-12-standard")
    page.locator("#wizard-hostname").fill("bad_host")
    expect(page.locator("#wizard-hostname-error")).to_be_visible()
    page.locator("#wizard-hostname").fill(HOSTNAME)
    expect(page.locator("#wizard-hostname-error")).to_have_count(0)
    page.locator("#wizard-vmid").fill(TAKEN)
    expect(page.locator("#wizard-vmid")).to_have_attribute("data-status", "taken")
    expect(page.locator("#wizard-vmid-status")).to_contain_text("taken")
    screenshot(page, "wizard-vmid-taken")
    page.locator("#wizard-next").click()
    # A taken VMID blocks the way: the wizard stays on Configure.
    expect(page.locator("#wizard-step-1")).to_have_attribute("aria-current", "step")
    expect(page.locator("#wizard-vmid-status")).to_contain_text("taken")
    page.locator("#wizard-vmid").fill(VMID)
    expect(page.locator("#wizard-vmid")).to_have_attribute("data-status", "free")
    expect(page.locator("#wizard-vmid-status")).to_contain_text("free")
    screenshot(page, "wizard-vmid-free")

    page.locator("#wizard-next").click()  # packages
    expect(page.locator('[data-package="nginx"]')).to_be_visible()
    page.locator("#wizard-next").click()  # scripts
    expect(page.locator('[data-script="10-site.sh"]')).to_be_visible()
    page.locator("#wizard-next").click()  # review
    # the review shows what will run, read on the server, with its content digest
    expect(page.locator('[data-review-script="10-site.sh"]')).to_be_visible()
    expect(page.locator("#wizard-review-digest")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    params = page.locator("#wizard-params")
    expect(params).to_contain_text(f"vmid{VMID}")
    expect(params).to_contain_text("rootfs")
    expect(params).not_to_contain_text("password")
    screenshot(page, "wizard-review")

    page.locator("#wizard-create").click()
    expect(page).to_have_url(re.compile(r"/containers/jobs/[0-9a-f]{32}$"))
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=90_000
    )
    expect(page.locator("#job-percent")).to_have_text("100%")
    expect(page.locator("#job-log")).to_contain_text("site ready")
    screenshot(page, "wizard-progress-done")

    # The progress page replays after a reload.
    page.reload()
    expect(page.locator("#job-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#job-log")).to_contain_text("site ready")

    page.goto("/")
    expect(page.locator(f'#containers-table [data-ct="{VMID}"]')).to_contain_text(HOSTNAME)
    screenshot(page, "wizard-dashboard")
    assert app_db_rows(
        app, f"SELECT status, hostname FROM provisioning_job WHERE vmid = {VMID}"
    ) == [("succeeded", HOSTNAME)]

    # Its detail page says which template and job created it, and lists the steps as events.
    page.locator(f'#containers-table [data-ct="{VMID}"]').get_by_role("link", name=HOSTNAME).click()
    page.get_by_role("tab", name="Overview").click()
    expect(page.locator("#origin")).to_contain_text("Created by LXC Manager from Simulator web")
    page.get_by_role("tab", name="Events").click()
    expect(page.locator("#events-table")).to_contain_text("Run scripts")
    screenshot(page, "wizard-container-events")
    page.get_by_role("tab", name="Overview").click()
    page.locator("#origin-job").click()
    expect(page.locator("#job-status")).to_have_attribute("data-status", "succeeded")


def test_failed_step_then_retry_from_it(page: Page, sim: Peer, app: ServeProcess) -> None:
    sign_in(page, sim, next_path="/templates")
    page.locator("#sync-catalog").click()
    expect(page.locator('[data-template="Flaky once"]')).to_be_visible()
    ensure_node(page, sim, NODE, ssh=True)
    page.goto("/containers/new")
    expect(page.locator('#wizard[data-ready="true"]')).to_be_visible()
    page.locator('[data-template-choice="Flaky once"]').click()
    choose_wizard_node(page)
    page.locator("#wizard-hostname").fill("flaky-e2e")
    page.locator("#wizard-vmid").fill("96701")
    expect(page.locator("#wizard-vmid")).to_have_attribute("data-status", "free")
    page.locator("#wizard-step-4").click()
    page.locator("#wizard-create").click()

    expect(page.locator("#job-status")).to_have_attribute("data-status", "failed", timeout=90_000)
    expect(page.locator("#job-error")).to_contain_text("Step 6")
    expect(page.locator("#job-log")).to_contain_text("first attempt fails on purpose")
    expect(page.locator('[data-step="Run scripts"]')).to_have_attribute("data-state", "failed")
    screenshot(page, "job-failed")
    # The dashboard lists the failed creation; its card leads back to the progress page.
    page.goto("/")
    card = page.locator('#provisioning-jobs [data-job="flaky-e2e"]')
    expect(card).to_have_attribute("data-status", "failed")
    expect(card).to_contain_text("Run scripts")
    screenshot(page, "dashboard-failed-job")
    card.click()
    expect(page.locator("#job-status")).to_have_attribute("data-status", "failed")
    page.locator("#job-retry").click()
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=90_000
    )
    expect(page.locator("#job-log")).to_contain_text("second attempt: all good")
    screenshot(page, "job-retried")


def test_a_failed_creation_is_backed_up_then_destroyed(
    page: Page, sim: Peer, app: ServeProcess
) -> None:
    sign_in(page, sim, next_path="/templates")
    page.locator("#sync-catalog").click()
    expect(page.locator('[data-template="Flaky once"]')).to_be_visible()
    ensure_node(page, sim, NODE, ssh=True)
    page.goto("/containers/new")
    expect(page.locator('#wizard[data-ready="true"]')).to_be_visible()
    page.locator('[data-template-choice="Flaky once"]').click()
    choose_wizard_node(page)
    page.locator("#wizard-hostname").fill("flaky-bk-e2e")
    page.locator("#wizard-vmid").fill("96702")
    expect(page.locator("#wizard-vmid")).to_have_attribute("data-status", "free")
    page.locator("#wizard-step-4").click()
    page.locator("#wizard-create").click()
    expect(page.locator("#job-status")).to_have_attribute("data-status", "failed", timeout=90_000)
    creation = page.url

    # The destroy confirmation offers "Back up first": one job, the backup then the destroy.
    page.locator("#job-destroy").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Or back it up first")
    screenshot(page, "job-destroy-backup-first")
    page.locator("#job-destroy-backup-first").click()
    expect(page).not_to_have_url(creation)
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=90_000
    )
    expect(page.locator('[data-step="Back up"]')).to_have_attribute("data-state", "ok")
    expect(page.locator('[data-step="Destroy the half-built container"]')).to_have_attribute(
        "data-state", "ok"
    )
    expect(page.locator("#job-log")).to_contain_text("creating vzdump archive")
    expect(page.locator("#job-succeeded")).to_contain_text("then destroy it")
    screenshot(page, "job-backed-up-then-destroyed")
    # The creation job says its container was destroyed.
    page.goto(creation)
    expect(page.locator("#job-status")).to_have_attribute("data-status", "destroyed")
    expect(page.locator("#job-destroyed")).to_contain_text("CT 96702 deleted, after a backup to ")
    expect(page.locator("#job-destroyed")).to_contain_text(":backup/vzdump-lxc-96702-")


def test_root_only_options_are_warned_about_and_vnets_offered(
    page: Page, sim: Peer, app: ServeProcess
) -> None:
    """The node's credential is an API token, which Proxmox never treats as root@pam: the
    wizard says before submit that such options are set with pct set over SSH, and offers
    the SDN vnet as a bridge, labelled as a vnet."""
    sign_in(page, sim)
    ensure_node(page, sim, NODE, ssh=True)
    page.goto("/containers/new")
    expect(page.locator('#wizard[data-ready="true"]')).to_be_visible()
    page.locator('[data-template-choice="blank"]').click()
    choose_wizard_node(page)
    page.locator("#wizard-step-1").click()

    expect(page.locator("#wizard-bridge")).to_contain_text("vmbr0")  # options loaded
    page.locator("#wizard-bridge").click()
    expect(page.get_by_role("option", name="vnet1 (vnet: Lab network)")).to_be_visible()
    page.get_by_role("option", name="vnet1 (vnet: Lab network)").click()
    expect(page.locator("#wizard-bridge")).to_contain_text("vnet1")

    expect(page.locator("#wizard-root-warning")).to_have_count(0)
    page.locator("#wizard-nesting").click()  # nesting of an unprivileged CT: any token may
    expect(page.locator("#wizard-root-warning")).to_have_count(0)
    page.locator("#wizard-unprivileged").click()  # privileged: every flag is root-only
    warning = page.locator("#wizard-root-warning")
    expect(warning).to_contain_text("nesting feature of a privileged container")
    expect(warning).to_contain_text("only the user root@pam")
    expect(warning).to_contain_text("pct set")
    screenshot(page, "wizard-root-only-warning")

    page.locator("#wizard-hostname").fill("rootwarn-e2e")
    page.locator("#wizard-vmid").fill("96702")
    expect(page.locator("#wizard-vmid")).to_have_attribute("data-status", "free")
    page.locator("#wizard-step-4").click()
    expect(page.locator("#wizard-review-root-warning")).to_contain_text("pct set")
    params = page.locator("#wizard-params")
    expect(params).to_contain_text("unprivileged0")
    expect(params).not_to_contain_text("features")
    expect(params).to_contain_text("bridge=vnet1")
