"""Sign-in in a real browser against the simulator (DESIGN §3.1, §3.2)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from lxc_manager.pages.sign_in_endpoints.state import SignInEndpointsState
from lxc_manager.security.sessions import COOKIE_NAME
from tests.e2e.conftest import Peer, screenshot, send_crafted_event, sign_in, wait_for_login_form
from tests.support.app import BIN, REPO, ServeProcess, app_db_rows, app_redis
from tests.support.simulator import (
    AUDITOR,
    FIXED_RECOVERY_KEY,
    HWKEY_USER,
    RECOVERY_ONLY_KEYS,
    RECOVERY_USER,
    TFA_USER,
    TOTP_SECRET,
    start_simulator,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def context(browser: Browser, app: ServeProcess) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=app.base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def fill_credentials(page: Page, host: str, port: int, username: str, password: str) -> None:
    wait_for_login_form(page)
    page.get_by_label("Proxmox Host").fill(host)
    page.get_by_label("Port").fill(str(port))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.locator("#sign-in").click()


def test_guarded_page_redirects_to_login_with_next(page: Page) -> None:
    page.goto("/templates")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ftemplates(%2F)?$"))
    expect(page.get_by_role("heading", name="LXC Manager")).to_be_visible()
    expect(page.locator("nav")).to_have_count(0)  # no sidebar on /login


def test_sign_in_sets_an_httponly_strict_cookie(
    page: Page, context: BrowserContext, app: ServeProcess, sim: Peer
) -> None:
    sign_in(page, sim, next_path="/templates")
    expect(page).to_have_url(re.compile(r"/templates/?$"))
    expect(page.locator("#header-user")).to_have_text("root@pam")
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE_NAME]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert COOKIE_NAME not in page.evaluate("document.cookie")
    redis = app_redis(app)
    keys = redis.keys("session:*")
    assert keys and all(0 < redis.ttl(key) <= 7200 for key in keys)
    assert cookie["value"] not in str(keys)  # Redis holds a hash of the id, not the id


def test_wrong_password(page: Page, sim: Peer) -> None:
    page.goto("/login")
    fill_credentials(page, sim.host, sim.port, "root", "definitely-wrong")
    trust = page.get_by_role("button", name="Trust this certificate and sign in")
    error = page.locator("#login-error")
    expect(trust.or_(error)).to_be_visible()
    if trust.is_visible():
        page.get_by_label("Password").fill("definitely-wrong")
        trust.click()
    expect(error).to_have_text("Invalid credentials")
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "login-invalid")


def test_unknown_and_unreachable_hosts(page: Page, sim: Peer) -> None:
    """An unknown host is refused without contact; a trusted one that is down is unreachable."""
    sign_in(page, sim, next_path="/settings/sign-in")
    other = start_simulator(["--port", "0", "--ssh-port", "0", "--auth-failure-delay", "0"])
    port = int(other.ready["api"].rsplit(":", 1)[1])
    try:
        page.get_by_label("Host").fill("127.0.0.1")
        page.get_by_label("Port").fill(str(port))
        page.get_by_role("button", name="Check certificate").click()
        page.locator("#trust-endpoint").click()
        expect(page.locator("#endpoints-table")).to_contain_text(f"127.0.0.1:{port}")
    finally:
        other.stop()
    page.context.clear_cookies()
    page.goto("/login")
    fill_credentials(page, "127.0.0.1", port, "root", "x")
    expect(page.locator("#host-error")).to_have_text(f"Unable to reach Proxmox at 127.0.0.1:{port}")
    fill_credentials(page, "127.0.0.1", 1, "root", "x")
    expect(page.locator("#host-error")).to_have_text("This Proxmox host is not enabled for sign-in")


def test_two_factor_with_totp_then_with_recovery_key(
    page: Page, context: BrowserContext, sim: Peer
) -> None:
    sign_in(context.new_page(), sim)  # make sure the simulator is a trusted endpoint
    context.clear_cookies()
    page.goto("/login")
    fill_credentials(page, sim.host, sim.port, TFA_USER[0], TFA_USER[1])
    expect(page.get_by_text("Two-factor authentication")).to_be_visible()
    page.get_by_label("Authentication code").fill("000000")
    page.locator("#verify").click()
    expect(page.locator("#code-error")).to_have_text("Invalid code")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(TOTP_SECRET).now())
    screenshot(page, "login-two-factor")
    page.locator("#verify").click()
    expect(page.locator("#header-user")).to_have_text(TFA_USER[0])

    context.clear_cookies()
    page.goto("/login")
    fill_credentials(page, sim.host, sim.port, TFA_USER[0], TFA_USER[1])
    page.get_by_role("button", name="Use a recovery key").click()
    page.get_by_label("Recovery key").fill(FIXED_RECOVERY_KEY)
    page.locator("#verify").click()
    expect(page.locator("#header-user")).to_have_text(TFA_USER[0])


def test_second_factors_the_account_does_not_have_are_not_offered(
    page: Page, context: BrowserContext, sim: Peer
) -> None:
    sign_in(context.new_page(), sim)  # make sure the simulator is a trusted endpoint
    context.clear_cookies()
    page.goto("/login")
    fill_credentials(page, sim.host, sim.port, HWKEY_USER[0], HWKEY_USER[1])
    expect(page.locator("#login-error")).to_contain_text("WebAuthn / Yubico OTP")
    expect(page.get_by_text("Two-factor authentication")).to_have_count(0)

    page.goto("/login")
    fill_credentials(page, sim.host, sim.port, RECOVERY_USER[0], RECOVERY_USER[1])
    expect(page.get_by_label("Recovery key")).to_be_visible()
    expect(page.get_by_role("button", name="Use an authentication code")).to_have_count(0)
    expect(page.get_by_role("button", name="Use a recovery key")).to_have_count(0)
    screenshot(page, "login-recovery-only")
    page.get_by_label("Recovery key").fill(RECOVERY_ONLY_KEYS[0])
    page.locator("#verify").click()
    expect(page.locator("#header-user")).to_have_text(RECOVERY_USER[0])


def test_logout_in_one_tab_ends_the_other(context: BrowserContext, sim: Peer) -> None:
    first, second = context.new_page(), context.new_page()
    sign_in(first, sim)
    second.goto("/settings/nodes")
    expect(second.locator("#header-user")).to_have_text("root@pam")

    first.get_by_role("button", name="Account menu").click()
    first.locator("#sign-out").click()
    expect(first).to_have_url(re.compile(r"/login/?$"))

    second.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    expect(second).to_have_url(re.compile(r"/login/?\?next=%2Ftemplates(%2F)?&ended=1$"))
    expect(second.locator("#login-notice")).to_have_text(
        "Your session has ended. Sign in again to continue."
    )
    expect(second.locator("nav")).to_have_count(0)


def test_next_must_be_a_local_path(page: Page, sim: Peer) -> None:
    sign_in(page, sim, next_path=quote("https://elsewhere.example/steal", safe=""))
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
    page.context.clear_cookies()
    sign_in(page, sim, next_path=quote("//elsewhere.example", safe=""))
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))


def test_sign_in_endpoints_page_adds_disables_and_enables(
    page: Page, sim: Peer, app: ServeProcess
) -> None:
    other = start_simulator(["--port", "0", "--ssh-port", "0", "--auth-failure-delay", "0"])
    try:
        sign_in(page, sim, next_path="/settings/sign-in")
        expect(page.locator("#header-role")).to_have_text("administrator")
        table = page.locator("#endpoints-table")
        expect(table).to_contain_text(f"{sim.host}:{sim.port}")
        expect(table).to_contain_text(sim.fingerprint)
        port = other.ready["api"].rsplit(":", 1)[1]
        page.get_by_label("Host").fill("127.0.0.1")
        page.get_by_label("Port").fill(port)
        page.get_by_role("button", name="Check certificate").click()
        expect(page.locator("#new-fingerprint")).to_have_text(other.ready["tls_sha256"])
        page.locator("#trust-endpoint").click()
        expect(table).to_contain_text(f"127.0.0.1:{port}")
        screenshot(page, "sign-in-endpoints")
        row = table.locator("tr", has_text=f"127.0.0.1:{port}")
        row.get_by_role("button", name="Disable").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Disable").click()
        expect(row).to_contain_text("disabled")
        row.get_by_role("button", name="Enable").click()
        expect(row).to_contain_text("enabled by root@pam at")
        actions = [r[0] for r in app_db_rows(app, "SELECT action FROM audit_event ORDER BY id")]
        for action in ("add", "disable", "enable"):
            assert f"sign_in_endpoint.{action}" in actions
    finally:
        other.stop()


def crafted(page: Page, handler: str, payload: dict[str, object]) -> str:
    return send_crafted_event(page, SignInEndpointsState, handler, payload, "/settings/sign-in")


def endpoint_rows(app: ServeProcess) -> list[tuple[object, ...]]:
    return app_db_rows(app, "SELECT id, host, port, enabled FROM sign_in_endpoint ORDER BY id")


def test_crafted_events_without_a_session_read_and_change_nothing(
    browser: Browser, app: ServeProcess, sim: Peer
) -> None:
    """Below the UI: raw Socket.IO frames naming guarded handlers, with and without a session."""
    signed_in = browser.new_context(base_url=app.base_url)
    anonymous = browser.new_context(base_url=app.base_url)
    try:
        page = signed_in.new_page()
        sign_in(page, sim)
        [(endpoint_id,)] = app_db_rows(
            app, f"SELECT id FROM sign_in_endpoint WHERE port = {sim.port}"
        )
        # Control: the same crafted frames with a session cookie do read data.
        assert f"{sim.host}:{sim.port}" in crafted(page, "load", {})

        stranger = anonymous.new_page()
        stranger.goto("/login")
        frames = crafted(stranger, "load", {})
        # Sent to /login; not "your session has ended": this visitor never had one.
        assert "_redirect" in frames and "/login?next=" in frames and "ended=1" not in frames
        assert f"{sim.host}:{sim.port}" not in frames and sim.fingerprint not in frames
        before = endpoint_rows(app)
        frames = crafted(stranger, "set_enabled", {"endpoint_id": endpoint_id, "enabled": False})
        assert "_redirect" in frames
        assert endpoint_rows(app) == before
    finally:
        signed_in.close()
        anonymous.close()


def test_an_ordinary_user_cannot_take_over_sign_in_endpoints(
    browser: Browser, app: ServeProcess, sim: Peer
) -> None:
    """Issue 12, path 1: a signed-in non-administrator disables the real endpoint and
    enables a fake Proxmox (one that says yes to any password for root@pam)."""
    fake = start_simulator(
        ["--port", "0", "--ssh-port", "0", "--auth-failure-delay", "0", "--user", "root@pam:x"]
    )
    admin_context = browser.new_context(base_url=app.base_url)
    user_context = browser.new_context(base_url=app.base_url)
    try:
        admin = admin_context.new_page()
        sign_in(admin, sim, next_path="/settings/sign-in")  # the endpoint is trusted
        user = user_context.new_page()
        sign_in(user, sim, username=AUDITOR[0], password=AUDITOR[1], next_path="/settings/sign-in")
        expect(user.locator("#header-role")).to_have_text("user")
        expect(user.locator("#endpoints-table")).to_contain_text(f"{sim.host}:{sim.port}")
        expect(user.locator("#endpoints-read-only")).to_be_visible()
        expect(user.get_by_role("button", name="Disable")).to_have_count(0)
        expect(user.get_by_role("button", name="Check certificate")).to_have_count(0)
        screenshot(user, "sign-in-endpoints-read-only")

        [(endpoint_id,)] = app_db_rows(
            app, f"SELECT id FROM sign_in_endpoint WHERE port = {sim.port}"
        )
        before = endpoint_rows(app)
        fake_port = int(fake.ready["api"].rsplit(":", 1)[1])
        for handler, payload in (
            ("set_enabled", {"endpoint_id": endpoint_id, "enabled": False}),
            ("check_new", {"form": {"host": "127.0.0.1", "port": str(fake_port)}}),
            ("confirm_new", {}),
            ("check_retrust", {"endpoint_id": endpoint_id}),
        ):
            frames = crafted(user, handler, payload)
            assert "Only an administrator" in frames, (handler, frames[-500:])
        assert endpoint_rows(app) == before
        assert fake.ready["tls_sha256"] not in str(before)

        # Signing in at the fake as root@pam is refused: it is not an enabled endpoint.
        user.context.clear_cookies()
        user.goto("/login")
        fill_credentials(user, "127.0.0.1", fake_port, "root", "x")
        expect(user.locator("#host-error")).to_contain_text("not enabled for sign-in")
    finally:
        admin_context.close()
        user_context.close()
        fake.stop()


def test_changed_certificate_blocks_until_re_trusted(
    page: Page, sim: Peer, app: ServeProcess
) -> None:
    old = start_simulator(
        ["--port", "0", "--ssh-port", "0", "--user", "root@pam:pw-b", "--auth-failure-delay", "0"]
    )
    port = int(old.ready["api"].rsplit(":", 1)[1])
    try:
        sign_in(page, sim, next_path="/settings/sign-in")
        page.get_by_label("Host").fill("127.0.0.1")
        page.get_by_label("Port").fill(str(port))
        page.get_by_role("button", name="Check certificate").click()
        page.locator("#trust-endpoint").click()
        expect(page.locator("#endpoints-table")).to_contain_text(f"127.0.0.1:{port}")
    finally:
        old.stop()
    # Same address, new certificate (as after a reinstall or a certificate renewal).
    new = start_simulator(
        [
            "--port",
            str(port),
            "--ssh-port",
            "0",
            "--user",
            "root@pam:pw-b",
            "--auth-failure-delay",
            "0",
        ]
    )
    try:
        assert new.ready["tls_sha256"] != old.ready["tls_sha256"]
        page.context.clear_cookies()
        page.goto("/login")
        fill_credentials(page, "127.0.0.1", port, "root", "pw-b")
        error = page.locator("#login-error")
        expect(error).to_contain_text("The server's certificate changed")
        expect(error).to_contain_text(old.ready["tls_sha256"])
        expect(error).to_contain_text(new.ready["tls_sha256"])
        screenshot(page, "login-certificate-changed")

        result = subprocess.run(
            [str(BIN / "lxc-manager"), "trust-endpoint", f"127.0.0.1:{port}", "--yes"],
            env=app.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert f"old fingerprint: {old.ready['tls_sha256']}" in result.stdout
        assert f"new fingerprint: {new.ready['tls_sha256']}" in result.stdout

        fill_credentials(page, "127.0.0.1", port, "root", "pw-b")
        expect(page.locator("#header-user")).to_have_text("root@pam")
    finally:
        new.stop()
