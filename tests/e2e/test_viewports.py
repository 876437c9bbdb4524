"""Every page at a desktop and a phone size: screenshots plus the layout facts behind them.

At 1,440 x 900 the page body never scrolls sideways (tables scroll inside their own
scroller); at 1,280 every table shows its last column whole; at 390 x 844 the sidebar gives
way to a menu button. Names never break inside a word, the wizard shows no error before
anyone typed, and the light/dark choice follows the system until the user picks one.

(The file sorts after test_shell.py on purpose: that module expects an installation
without templates, and this one syncs the catalog.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Peer, ensure_node, screenshot, sign_in
from tests.support.app import ServeProcess
from tests.support.simulator import OPERATOR

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1440, "height": 900}
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# How far each table's content reaches past its own box, and the page body past the window.
LAYOUT_FACTS_JS = """() => {
  const doc = document.documentElement;
  const tables = [...document.querySelectorAll('.rt-TableRoot')]
    .filter((root) => root.offsetParent !== null)
    .map((root) => {
      const box = root.getBoundingClientRect();
      const viewport = root.querySelector('.rt-ScrollAreaViewport') || root;
      const cells = root.querySelectorAll('thead tr > *');
      const last = cells.length ? cells[cells.length - 1].getBoundingClientRect() : box;
      return {
        id: root.id || root.querySelector('table')?.id || '',
        hidden_px: Math.max(viewport.scrollWidth - viewport.clientWidth, last.right - box.right),
      };
    });
  return {body_overflow_px: doc.scrollWidth - doc.clientWidth, tables};
}"""

# Names (links, and the first text of each row) that the browser wrapped onto two lines.
BROKEN_NAMES_JS = """() => {
  const ownText = (el) =>
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  return [...document.querySelectorAll('.rt-TableRoot tbody tr')]
  .flatMap((row) => [
    ...row.querySelectorAll('a'),
    [...(row.querySelector('td, th')?.querySelectorAll('*') || [])].find(ownText),
  ])
  .filter((el) => el && el.textContent.trim() && el.textContent.trim().indexOf(' ') < 0)
  .filter((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    return lines.size > 1;
  })
  .map((el) => el.textContent.trim());
}"""


@dataclass(frozen=True)
class Screen:
    name: str
    path: str
    ready: str  # a selector that is visible once the page has loaded its data


def layout_facts(page: Page) -> dict[str, object]:
    return dict(page.evaluate(LAYOUT_FACTS_JS))


@pytest.fixture(scope="module")
def admin(browser: Browser, app: ServeProcess, sim: Peer) -> Iterator[BrowserContext]:
    """root@pam with the catalog synced: templates and sign-in endpoints to look at."""
    context = browser.new_context(base_url=app.base_url, viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, sim, next_path="/templates")
    page.locator("#sync-catalog").click()
    expect(page.locator('[data-template="Docker host"]')).to_be_visible()
    page.close()
    yield context
    context.close()


@pytest.fixture(scope="module")
def operator(browser: Browser, app: ServeProcess, sim: Peer) -> Iterator[BrowserContext]:
    """A plain user with a node: the dashboard, a container, the wizard."""
    context = browser.new_context(base_url=app.base_url, viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, sim, username=OPERATOR[0], password=OPERATOR[1], next_path="/settings/nodes")
    ensure_node(page, sim, "homelab")
    page.close()
    yield context
    context.close()


def first_href(context: BrowserContext, path: str, selector: str) -> str:
    page = context.new_page()
    page.goto(path)
    link = page.locator(selector).first
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    page.close()
    assert href, f"no link {selector} on {path}"
    return href


@pytest.fixture(scope="module")
def screens(admin: BrowserContext, operator: BrowserContext) -> list[tuple[BrowserContext, Screen]]:
    template = first_href(admin, "/templates", '[data-template="Docker host"] a')
    # a container of a reachable node (earlier modules leave nodes whose simulator is gone)
    container = first_href(
        operator, "/", '#containers-table [data-ct]:not([data-last-known="true"]) a'
    )
    return [
        (admin, Screen("templates", "/templates", "#templates-table")),
        (admin, Screen("template-editor", template, "#template-editor")),
        (admin, Screen("template-new", "/templates/new", "#template-editor")),
        (admin, Screen("package-buckets", "/templates/packages", "main h1")),
        (admin, Screen("sign-in-endpoints", "/settings/sign-in", ".rt-TableRoot")),
        (operator, Screen("dashboard", "/", "#containers-table")),
        (operator, Screen("container-detail", container, "#ct-status")),
        (operator, Screen("new-container", "/containers/new", '#wizard[data-ready="true"]')),
        (operator, Screen("job-missing", "/containers/jobs/999999", "#job-missing")),
        (operator, Screen("nodes", "/settings/nodes", "#nodes-table")),
        (operator, Screen("backups", "/backups", "#uncovered-count")),
        (operator, Screen("not-found", "/no/such/page", '[data-testid="not-found"]')),
    ]


def open_screen(context: BrowserContext, screen: Screen, viewport: dict[str, int]) -> Page:
    page = context.new_page()
    page.set_viewport_size(viewport)
    page.set_default_timeout(20_000)
    page.goto(screen.path)
    expect(page.locator(screen.ready).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    return page


def test_every_page_at_desktop_size(screens: list[tuple[BrowserContext, Screen]]) -> None:
    problems: list[str] = []
    for context, screen in screens:
        page = open_screen(context, screen, DESKTOP)
        screenshot(page, f"layout-{screen.name}-1440")
        facts = layout_facts(page)
        if int(facts["body_overflow_px"]) > 0:  # type: ignore[call-overload]
            problems.append(f"{screen.name}: the page is {facts['body_overflow_px']} px too wide")
        broken = page.evaluate(BROKEN_NAMES_JS)
        if broken:
            problems.append(f"{screen.name}: names broken mid-word: {broken}")
        nav = page.get_by_role("navigation", name="Main")
        if screen.name != "not-found" or nav.count():
            expect(nav).to_be_visible()
            expect(page.locator("#nav-menu-button")).to_be_hidden()
        page.close()
    assert not problems, "\n".join(problems)


def test_tables_show_their_last_column_at_1280(
    screens: list[tuple[BrowserContext, Screen]],
) -> None:
    clipped: list[str] = []
    seen = 0
    for context, screen in screens:
        page = open_screen(context, screen, LAPTOP)
        for table in layout_facts(page)["tables"]:  # type: ignore[attr-defined]
            seen += 1
            if table["hidden_px"] > 1:
                clipped.append(f"{screen.name} {table['id']}: {table['hidden_px']:.0f} px hidden")
        page.close()
    assert seen >= 4, "the pages should show tables to measure"
    assert not clipped, "\n".join(clipped)


def test_every_page_at_phone_size(screens: list[tuple[BrowserContext, Screen]]) -> None:
    problems: list[str] = []
    for context, screen in screens:
        page = open_screen(context, screen, PHONE)
        screenshot(page, f"layout-{screen.name}-390")
        expect(page.locator("#nav-menu-button")).to_be_visible()
        expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
        facts = layout_facts(page)
        if int(facts["body_overflow_px"]) > 0:  # type: ignore[call-overload]
            problems.append(f"{screen.name}: the page is {facts['body_overflow_px']} px too wide")
        broken = page.evaluate(BROKEN_NAMES_JS)
        if broken:
            problems.append(f"{screen.name}: names broken mid-word: {broken}")
        page.close()
    assert not problems, "\n".join(problems)


def test_phone_menu_navigates(operator: BrowserContext) -> None:
    page = operator.new_page()
    page.set_viewport_size(PHONE)
    page.goto("/settings/nodes")
    page.locator("#nav-menu-button").click()
    page.get_by_role("menuitem", name="Templates").click()
    expect(page).to_have_url(re.compile(r"/templates/?$"))
    expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
    page.close()


def test_login_page_at_both_sizes(browser: Browser, app: ServeProcess) -> None:
    for viewport, size in ((DESKTOP, "1440"), (PHONE, "390")):
        context = browser.new_context(base_url=app.base_url, viewport=viewport)
        page = context.new_page()
        page.goto("/login")
        expect(page.locator('#sign-in-form[data-ready="true"]')).to_be_visible()
        screenshot(page, f"layout-login-{size}")
        assert layout_facts(page)["body_overflow_px"] == 0
        context.close()


def test_sidebar_stays_at_the_top_of_a_long_page(operator: BrowserContext) -> None:
    page = operator.new_page()
    page.set_viewport_size({"width": 1440, "height": 500})
    page.goto("/")
    expect(page.locator("#containers-table")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollHeight") > 500 + 200
    page.mouse.move(800, 400)
    page.mouse.wheel(0, 5000)
    page.wait_for_function("window.scrollY > 200")
    nav = page.get_by_role("navigation", name="Main")
    box = nav.bounding_box()
    assert box is not None and abs(box["y"]) < 1, f"the sidebar scrolled away: {box}"
    expect(nav.get_by_role("link", name="Dashboard")).to_be_in_viewport()
    screenshot(page, "layout-dashboard-scrolled")
    page.close()


def test_wizard_shows_no_error_before_typing(operator: BrowserContext) -> None:
    page = operator.new_page()
    page.set_viewport_size(DESKTOP)
    page.goto("/containers/new")
    expect(page.locator('#wizard[data-ready="true"]')).to_be_visible()
    page.locator('[data-template-choice="Simulator web"]').click()
    hostname = page.locator("#wizard-hostname")
    expect(hostname).to_be_visible()
    # Back to Template, then straight to Packages: the wizard stops at Configure, quietly.
    page.locator("#wizard-step-0").click()
    expect(page.locator("#wizard-step-0")).to_have_attribute("aria-current", "step")
    page.locator("#wizard-step-2").click()
    expect(page.locator("#wizard-step-1")).to_have_attribute("aria-current", "step")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#wizard-hostname-error")).to_have_count(0)
    expect(page.locator("#wizard [role=alert]")).to_have_count(0)
    assert hostname.evaluate("el => el.matches(':invalid')") is False
    expect(hostname).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "layout-wizard-untouched")
    # Once the user has typed and emptied the field, the error is shown and announced.
    hostname.fill("web-1")
    hostname.fill("")
    expect(page.locator("#wizard-hostname-error")).to_be_visible()
    expect(hostname).to_have_attribute("aria-invalid", "true")
    page.close()


def test_color_mode_follows_the_system_until_chosen(
    browser: Browser, app: ServeProcess, sim: Peer
) -> None:
    context = browser.new_context(base_url=app.base_url, color_scheme="dark", viewport=DESKTOP)
    try:
        page = context.new_page()
        sign_in(page, sim, username=OPERATOR[0], password=OPERATOR[1], next_path="/templates")
        html = page.locator("html")
        expect(html).to_have_class(re.compile(r"\bdark\b"))
        page.locator("#color-mode").click()
        page.get_by_role("menuitemradio", name="Light").click()
        expect(html).to_have_class(re.compile(r"\blight\b"))
        assert page.evaluate("localStorage.getItem('theme')") == "light"
        page.reload()
        expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
        expect(html).to_have_class(re.compile(r"\blight\b"))
        screenshot(page, "layout-templates-light-chosen")
        page.locator("#color-mode").click()
        expect(page.get_by_role("menuitemradio", name="Light")).to_have_attribute(
            "aria-checked", "true"
        )
        page.get_by_role("menuitemradio", name="System").click()
        expect(html).to_have_class(re.compile(r"\bdark\b"))
        assert page.evaluate("localStorage.getItem('theme')") == "system"
    finally:
        context.close()
