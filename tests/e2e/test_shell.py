"""The app shell in a real browser: sidebar, pages, empty states, dark mode, 404."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import screenshot
from tests.support.app import ServeProcess

pytestmark = pytest.mark.e2e

SECTIONS = [
    ("Dashboard", "/", "Containers", "No Proxmox node configured"),
    (
        "New container",
        "/containers/new",
        "New container",
        "Creating containers needs a Proxmox node",
    ),
    ("Templates", "/templates", "Templates", "No templates yet"),
    ("Nodes", "/settings/nodes", "Proxmox nodes", "No nodes configured"),
]


def test_shell_loads_with_sidebar_and_empty_state(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_title(re.compile("Dashboard · LXC Manager"))
    nav = page.get_by_role("navigation", name="Main")
    for label, _, _, _ in SECTIONS:
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(page.get_by_role("heading", name="Containers", level=1)).to_be_visible()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No Proxmox node configured")
    expect(page.locator("#header-user")).to_have_text("Not signed in")
    path = screenshot(page, "shell-dashboard")
    assert path.stat().st_size > 10_000


def test_sidebar_navigates_between_sections(page: Page) -> None:
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    for label, route, heading, empty in SECTIONS:
        nav.get_by_role("link", name=label).click()
        expect(page).to_have_url(re.compile(re.escape(route) + "/?$"))
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(page.get_by_test_id("empty-state")).to_contain_text(empty)
        expect(nav.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")


def test_empty_state_action_leads_to_nodes(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Add a node").click()
    expect(page.get_by_role("heading", name="Proxmox nodes", level=1)).to_be_visible()


def test_dark_mode_follows_the_system(browser: Browser, app: ServeProcess) -> None:
    context = browser.new_context(
        base_url=app.base_url, color_scheme="dark", viewport={"width": 1360, "height": 860}
    )
    try:
        page = context.new_page()
        page.goto("/templates")
        expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
        expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Templates")).to_have_attribute("aria-current", "page")
        screenshot(page, "shell-dark")
    finally:
        context.close()


def test_unknown_page_shows_not_found(page: Page) -> None:
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("not-found")).to_contain_text("There is nothing at this address")
