"""Browser tests: a real app (`lxc-manager serve`) and a real headless Chromium.

Run as their own pytest invocation (Playwright's sync API keeps an event loop on the main
thread, which clashes with pytest-asyncio).
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from lxc_manager.demo import build_demo_catalog
from tests.support.app import OUTPUT, ServeProcess, start_app
from tests.support.simulator import ROOT_PASSWORD, SimProcess, simulator_args, start_simulator

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = OUTPUT / "screenshots"
TEST_CATALOG = Path(__file__).parent / "catalog"
# CI has 2 cores shared by the app, the simulator and Chromium: assertions wait up to 15 s.
expect.set_options(timeout=15_000)


def chromium_path() -> str:
    path = os.environ.get("LXCM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError(
            "Chromium is not installed (make test installs it: apt-get install chromium)"
        )
    return path


@dataclass
class Peer:
    """The simulator the browser tests sign in against."""

    process: SimProcess
    host: str
    port: int
    root_password: str
    secrets: dict[str, str]

    @property
    def fingerprint(self) -> str:
        return str(self.process.ready["tls_sha256"])


@pytest.fixture(scope="session")
def sim() -> Iterator[Peer]:
    args, secrets = simulator_args()
    process = start_simulator(args)
    parts = urlsplit(process.ready["api"])
    assert parts.hostname and parts.port
    yield Peer(process, parts.hostname, parts.port, ROOT_PASSWORD, secrets)
    process.stop()


def test_catalog(target: Path) -> Path:
    """The demo's catalog (shipped + simulator-ready) plus the browser tests' own templates."""
    catalog = build_demo_catalog(target)
    for template in TEST_CATALOG.iterdir():
        shutil.copytree(template, catalog / template.name)
    return catalog


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, sim: Peer) -> Iterator[ServeProcess]:
    root = tmp_path_factory.mktemp("e2e")
    serve = start_app(
        root / "data",
        "e2e-serve",
        build=True,  # a no-op after start_app's build, unless the code changed in between
        LXCM_LOGIN_LIMIT_PER_CLIENT="1000",
        LXCM_NODE_CHECKS_PER_MINUTE="1000",  # the tests add many nodes as root@pam
        LXCM_CONSOLE_RECORDING="on",  # test_console replays what it typed
        LXCM_TEMPLATES_DIR=str(test_catalog(root / "catalog")),
    )
    yield serve
    serve.stop(signal.SIGTERM)


def wait_for_login_form(page: Page) -> None:
    """Type only once the page's state has loaded (typing during hydration loses keystrokes)."""
    expect(page.locator('#sign-in-form[data-ready="true"]')).to_be_visible()


def sign_in(
    page: Page, sim: Peer, username: str = "root", password: str | None = None, next_path: str = "/"
) -> None:
    """Sign in through the form, confirming the certificate when the app asks."""
    page.goto(f"/login?next={next_path}")
    wait_for_login_form(page)
    page.get_by_label("Proxmox Host").fill(sim.host)
    page.get_by_label("Port").fill(str(sim.port))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or sim.root_password)
    page.locator("#sign-in").click()
    trust = page.get_by_role("button", name="Trust this certificate and sign in")
    signed_in = page.locator("#header-user")
    expect(trust.or_(signed_in)).to_be_visible()
    if trust.is_visible():
        expect(page.locator("#fingerprint")).to_have_text(sim.fingerprint)
        trust.click()
    expect(signed_in).to_be_visible()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, app: ServeProcess) -> Iterator[Page]:
    context = browser.new_context(base_url=app.base_url, viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


CRAFTED_EVENT_JS = """async ({name, payload, path}) => {
  const url = `ws://${location.host}/_event/?token=${crypto.randomUUID()}&EIO=4&transport=websocket`;
  const ws = new WebSocket(url);
  const frames = [];
  ws.onmessage = (m) => {
    frames.push(m.data);
    if (m.data === "2") ws.send("3");
    if (m.data.startsWith("0{")) ws.send("40/_event,");
    if (m.data.startsWith("40/_event,")) {
      const event = {name, payload, router_data: {pathname: path, asPath: path, query: {}}};
      ws.send("42/_event," + JSON.stringify(["event", event]));
    }
  };
  await new Promise((resolve) => setTimeout(resolve, 2500));
  ws.close();
  return frames.join("\\n");
}"""


def send_crafted_event(
    page: Page, state: type, handler: str, payload: dict[str, object], path: str
) -> str:
    """Below the UI: raw Engine.IO/Socket.IO frames naming a state's event handler.

    The websocket is opened from `page`, so it carries that page's cookies (or none).
    Returns every frame the server sent back.
    """
    name = f"{state.get_full_name()}.{handler}"
    return str(page.evaluate(CRAFTED_EVENT_JS, {"name": name, "payload": payload, "path": path}))


def fill_node_form(page: Page, sim: Peer, name: str, token_id: str, secret: str, ssh: bool) -> None:
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Host").fill(sim.host)
    dialog.get_by_label("Port", exact=True).fill(str(sim.port))
    dialog.get_by_label("Token ID").fill(token_id)
    dialog.get_by_label("Token secret").fill(secret)
    if ssh:
        ssh_port = sim.process.ready["ssh"].rsplit(":", 1)[1]
        dialog.get_by_label("SSH port").fill(ssh_port)
        dialog.get_by_label("SSH password").fill(sim.root_password)


WATCH_SAVE_JS = """() => {
  window.__nodeSaveBusy = false;
  const button = document.querySelector('#node-save');
  new MutationObserver(() => { if (button.disabled) window.__nodeSaveBusy = true; })
    .observe(button, {attributes: true});
}"""
SAVE_TAKEN_JS = "() => window.__nodeSaveBusy || !document.querySelector('[role=dialog]')"
SAVE_DONE_JS = (
    "() => !document.querySelector('[role=dialog]') || "
    "!document.querySelector('#node-save')?.disabled"
)


def save_confirming(page: Page, sim: Peer) -> None:
    """Submit; each time the app asks, compare the fingerprints it shows and trust them.

    After each click the helper waits until the app took it (the button turned busy, or
    the dialog closed) and then until it answered: reading the button before the app
    took the click would see the previous answer."""
    dialog = page.get_by_role("dialog")
    trust = dialog.get_by_role("button", name="Trust and save")
    for _ in range(4):
        page.evaluate(WATCH_SAVE_JS)
        page.locator("#node-save").click()
        page.wait_for_function(SAVE_TAKEN_JS)
        page.wait_for_function(SAVE_DONE_JS)
        if not dialog.is_visible() or not trust.is_visible():
            break
        if page.locator("#pending-tls").is_visible():
            expect(page.locator("#pending-tls")).to_have_text(sim.fingerprint)
        if page.locator("#pending-ssh").is_visible():
            expect(page.locator("#pending-ssh")).to_have_text(sim.process.ready["ssh_host_key"])
    expect(dialog).to_be_hidden(timeout=30_000)


def row(page: Page, name: str):
    return page.locator(f'[data-node="{name}"]')


def ensure_node(page: Page, sim: Peer, name: str, ssh: bool = False) -> None:
    """Make sure the signed-in user has node `name` for the simulator (adds it if missing)."""
    page.goto("/settings/nodes")
    expect(page.locator("#nodes-table").or_(page.get_by_test_id("empty-state"))).to_be_visible()
    if row(page, name).count():
        return
    page.locator("#add-node").click()
    fill_node_form(page, sim, name, "root@pam!ci", sim.secrets["ci"], ssh=ssh)
    save_confirming(page, sim)
    expect(row(page, name)).to_be_visible()


def remove_node(
    browser: Browser,
    app: ServeProcess,
    sim: Peer,
    name: str,
    username: str = "root",
    password: str | None = None,
) -> None:
    """Delete the user's node `name` if it is there, in a context of its own: the e2e app is
    shared by every module, and later modules expect the users to have none of theirs."""
    context = browser.new_context(base_url=app.base_url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, sim, username=username, password=password, next_path="/settings/nodes")
    expect(page.locator("#nodes-table").or_(page.get_by_test_id("empty-state"))).to_be_visible()
    if row(page, name).count():
        row(page, name).get_by_role("button", name=f"Delete {name}").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        expect(row(page, name)).to_have_count(0)
    context.close()
