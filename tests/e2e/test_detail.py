"""The container detail page in a real browser: live metrics, a history chart, snapshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Peer, ensure_node, screenshot, sign_in
from tests.support.simulator import OPERATOR

pytestmark = pytest.mark.e2e


def test_detail_page_metrics_chart_and_snapshots(page: Page, sim: Peer) -> None:
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
    cpu = page.locator("#metric-cpu")
    expect(cpu).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
    # Live metrics: the network rate appears once two samples exist, and the values move.
    expect(page.locator("#metric-net")).to_have_text(re.compile(r"in \d"), timeout=15_000)
    first_reading = page.locator("#metric-net").inner_text()
    expect(page.locator("#metric-net")).not_to_have_text(first_reading, timeout=15_000)
    # A history chart is drawn from rrddata.
    expect(page.locator("#history-cpu .recharts-area-area").first).to_be_visible()
    page.get_by_role("radio", name="Day").click()
    expect(page.get_by_role("radio", name="Day")).to_have_attribute("data-state", "on")
    expect(page.locator("#history-cpu .recharts-area-area").first).to_be_visible()
    screenshot(page, "container-detail")

    page.get_by_role("tab", name="Overview").click()
    expect(page.locator("#overview")).to_contain_text("Cores")
    expect(page.locator("#overview")).to_contain_text("IP address")

    page.get_by_role("tab", name="Snapshots").click()
    page.get_by_label("Snapshot name").fill("before_e2e")
    page.get_by_label("Snapshot description").fill("taken by the browser test")
    page.get_by_role("button", name="Take snapshot").click()
    snap = page.locator('[data-snapshot="before_e2e"]')
    expect(snap).to_contain_text("taken by the browser test", timeout=20_000)
    screenshot(page, "container-snapshots")
    snap.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(snap).to_have_count(0, timeout=20_000)

    page.get_by_role("tab", name="Events").click()
    events = page.locator("#events-table")
    expect(events).to_contain_text("snapshot.create")
    expect(events).to_contain_text("snapshot.delete")
    expect(events).to_contain_text("before_e2e")


def test_unknown_container_is_not_found(page: Page, sim: Peer) -> None:
    sign_in(
        page, sim, username=OPERATOR[0], password=OPERATOR[1], next_path="/containers/999999/123456"
    )
    expect(page.get_by_test_id("ct-problem")).to_contain_text("Container not found")
