"""The app shell in a real browser: sidebar, pages, empty states, dark mode, 404."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Peer, screenshot, sign_in
from tests.support.app import ServeProcess

pytestmark = pytest.mark.e2e

SECTIONS = [
    ("Dashboard", "/", "Containers", "Your containers will appear here"),
    (
        "New container",
        "/containers/new",
        "New container",
        "Creating containers needs a Proxmox node",
    ),
    ("Templates", "/templates", "Templates", "No templates yet"),
    ("Nodes", "/settings/nodes", "Proxmox nodes", "No nodes configured"),
]


@pytest.fixture(scope="module")
def signed_in_context(browser: Browser, app: ServeProcess, sim: Peer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=app.base_url, viewport={"width": 1360, "height": 860})
    sign_in(context.new_page(), sim)
    yield context
    context.close()


@pytest.fixture
def shell(signed_in_context: BrowserContext) -> Iterator[Page]:
    page = signed_in_context.new_page()
    page.set_default_timeout(20_000)
    yield page
    page.close()


def test_shell_loads_with_sidebar_and_empty_state(shell: Page) -> None:
    shell.goto("/")
    expect(shell).to_have_title(re.compile("Dashboard · LXC Manager"))
    nav = shell.get_by_role("navigation", name="Main")
    for label, _, _, _ in SECTIONS:
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(shell.get_by_role("heading", name="Containers", level=1)).to_be_visible()
    expect(shell.get_by_test_id("empty-state")).to_contain_text("Your containers will appear here")
    expect(shell.locator("#no-nodes-banner")).to_contain_text("container operations are disabled")
    expect(shell.locator("#header-user")).to_have_text("root@pam")
    path = screenshot(shell, "shell-dashboard")
    assert path.stat().st_size > 10_000


def test_sidebar_navigates_between_sections(shell: Page) -> None:
    shell.goto("/")
    nav = shell.get_by_role("navigation", name="Main")
    for label, route, heading, empty in SECTIONS:
        nav.get_by_role("link", name=label).click()
        expect(shell).to_have_url(re.compile(re.escape(route) + "/?$"))
        expect(shell.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(shell.get_by_test_id("empty-state")).to_contain_text(empty)
        expect(nav.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")


def test_empty_state_action_leads_to_nodes(shell: Page) -> None:
    shell.goto("/")
    shell.get_by_test_id("empty-state").get_by_role("link", name="Add a node").click()
    expect(shell.get_by_role("heading", name="Proxmox nodes", level=1)).to_be_visible()


def test_dark_mode_follows_the_system(browser: Browser, app: ServeProcess, sim: Peer) -> None:
    context = browser.new_context(
        base_url=app.base_url, color_scheme="dark", viewport={"width": 1360, "height": 860}
    )
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
        screenshot(page, "login-dark")
        sign_in(page, sim, next_path="/templates")
        expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Templates")).to_have_attribute("aria-current", "page")
        screenshot(page, "shell-dark")
    finally:
        context.close()


def test_unknown_page_shows_not_found(page: Page) -> None:
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("not-found")).to_contain_text("There is nothing at this address")
