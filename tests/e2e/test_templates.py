"""Templates in a real browser: sync the catalog, duplicate, add a script and a package,
save; an administrator and a non-administrator side by side (owners and visibility)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from lxc_manager.pages.templates.state import TemplatesState
from tests.e2e.conftest import Peer, screenshot, send_crafted_event, sign_in
from tests.support.app import ServeProcess, app_db_rows
from tests.support.simulator import AUDITOR

pytestmark = pytest.mark.e2e

SHIPPED = "Docker host"


def template_row(page: Page, name: str):
    return page.locator(f'[data-template="{name}"]')


def test_sync_duplicate_edit_and_list(page: Page, sim: Peer, app: ServeProcess) -> None:
    sign_in(page, sim, next_path="/templates")
    expect(page.locator("#sync-catalog")).to_be_enabled()
    page.locator("#sync-catalog").click()
    expect(template_row(page, SHIPPED)).to_be_visible()
    expect(template_row(page, SHIPPED)).to_contain_text("catalog")
    screenshot(page, "templates-synced")

    # Catalog templates are read-only: the editor offers "Duplicate to edit".
    template_row(page, SHIPPED).get_by_role("link", name=SHIPPED).click()
    expect(page.locator("#template-editor")).to_be_visible()
    expect(page.locator("#save-template")).to_have_count(0)
    page.locator("#duplicate-template").click()
    expect(page.locator("#tpl-name")).to_have_value(f"{SHIPPED} (copy)")
    expect(page.locator("#save-template")).to_be_visible()

    # Validation: a bad name is refused next to its field and nothing is saved.
    page.locator("#tpl-name").fill("bad/name")
    page.locator("#save-template").click()
    expect(page.locator("[id='name-error']")).to_contain_text("letters, digits")
    page.locator("#tpl-name").fill("Docker host for CI")

    # A script, added through its dialog.
    page.locator("#tab-scripts").click()
    page.locator("#add-script").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("99-ci-marker.sh")
    dialog.get_by_label("Script").fill('log_info "CI marker"\ntouch /etc/ci-marker\n')
    dialog.locator("#script-save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator('[data-script="99-ci-marker.sh"]')).to_be_visible()

    # A package; a malformed one is refused inline first.
    page.locator("#tab-packages").click()
    page.locator("#pkg-name").fill("Not A Package!")
    page.locator("#add-package").click()
    expect(page.locator("#pkg-name-error")).to_be_visible()
    page.locator("#pkg-name").fill("jq")
    page.locator("#add-package").click()
    expect(page.locator('[data-package="jq"]')).to_be_visible()
    expect(page.locator("#unsaved")).to_be_visible()
    screenshot(page, "template-editor-packages")

    page.locator("#save-template").click()
    expect(page.locator("#unsaved")).to_have_count(0)
    rows = app_db_rows(
        app,
        "SELECT t.source, s.name FROM template t JOIN template_script s ON s.template_id = t.id "
        "WHERE t.name = 'Docker host for CI' AND s.name = '99-ci-marker.sh'",
    )
    assert rows == [("custom", "99-ci-marker.sh")]

    page.goto("/templates")
    expect(template_row(page, "Docker host for CI")).to_be_visible()
    expect(template_row(page, "Docker host for CI")).to_contain_text("mine · private")
    page.locator("#template-search").fill("for CI")
    expect(template_row(page, SHIPPED)).to_have_count(0)
    expect(template_row(page, "Docker host for CI")).to_be_visible()
    screenshot(page, "templates-list")


def test_package_bucket_crud(page: Page, sim: Peer, app: ServeProcess) -> None:
    sign_in(page, sim, next_path="/templates/packages")
    page.locator("#new-bucket").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("CI tools")
    dialog.get_by_label("Packages, one per line").fill("apt: curl\napt jq\n")
    dialog.locator("#bucket-save").click()
    expect(dialog.locator("#bucket-packages-error")).to_contain_text("Line 2")
    dialog.get_by_label("Packages, one per line").fill("apt: curl\napt: jq=1.6*\npip: httpie\n")
    dialog.locator("#bucket-save").click()
    expect(dialog).to_be_hidden()
    card = page.locator('[data-bucket="CI tools"]')
    expect(card).to_contain_text("apt: jq=1.6*")
    expect(card).to_contain_text("3 packages")
    screenshot(page, "package-buckets")
    assert app_db_rows(
        app,
        "SELECT p.manager, p.name, p.version FROM package p JOIN package_bucket b "
        "ON p.bucket_id = b.id WHERE b.name = 'CI tools' ORDER BY p.position",
    ) == [("apt", "curl", ""), ("apt", "jq", "1.6*"), ("pip", "httpie", "")]
    card.get_by_role("button", name="Delete CI tools").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(card).to_have_count(0)


def new_template(page: Page, name: str, shared: bool) -> int:
    """Create a template through the editor; its id."""
    page.goto("/templates/new")
    expect(page.locator("#template-editor")).to_be_visible()
    page.locator("#tpl-name").fill(name)
    if shared:
        page.locator("#tpl-visibility").click()
        page.get_by_role("option", name=re.compile("^Shared")).click()
    page.locator("#save-template").click()
    expect(page).to_have_url(re.compile(r"/templates/[0-9]+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_admin_and_non_admin_side_by_side(browser: Browser, app: ServeProcess, sim: Peer) -> None:
    root_context = browser.new_context(base_url=app.base_url)
    auditor_context = browser.new_context(base_url=app.base_url)
    try:
        admin = root_context.new_page()
        sign_in(admin, sim, next_path="/templates")  # root@pam holds Sys.Modify on /
        expect(admin.locator("#sync-catalog")).to_be_visible()
        root_id = new_template(admin, "Root shared web", shared=True)
        new_template(admin, "Root private web", shared=False)

        user = auditor_context.new_page()
        sign_in(user, sim, username=AUDITOR[0], password=AUDITOR[1], next_path="/templates")
        expect(user.locator("#templates-table")).to_be_visible()
        expect(user.locator("#sync-catalog")).to_have_count(0)
        shared_row = template_row(user, "Root shared web")
        expect(shared_row).to_contain_text("shared by root@pam")
        expect(shared_row.get_by_role("button", name="Delete Root shared web")).to_have_count(0)
        expect(template_row(user, "Root private web")).to_have_count(0)
        screenshot(user, "templates-non-admin")

        # Below the UI: the admin-only sync and a delete of root's template are refused.
        frames = send_crafted_event(user, TemplatesState, "sync", {}, "/templates")
        assert "Only an administrator" in frames
        frames = send_crafted_event(
            user, TemplatesState, "delete", {"template_id": root_id}, "/templates"
        )
        assert "only its owner or an administrator" in frames
        assert app_db_rows(app, f"SELECT name FROM template WHERE id = {root_id}") == [
            ("Root shared web",)
        ]
        assert app_db_rows(
            app,
            "SELECT count(*) FROM audit_event WHERE action = 'template.sync' "
            "AND user_id LIKE 'auditor@pve@%'",
        ) == [(0,)]

        # Root's shared template opens read-only for the non-admin...
        user.goto(f"/templates/{root_id}")
        expect(user.locator("#template-editor")).to_be_visible()
        expect(user.locator("#template-owner-badge")).to_contain_text("read-only")
        expect(user.locator("#save-template")).to_have_count(0)
        expect(user.locator("#duplicate-template")).to_be_visible()
        # ...and the non-admin's shared template opens editable for the admin.
        auditor_id = new_template(user, "Auditor shared web", shared=True)
        admin.goto(f"/templates/{auditor_id}")
        expect(admin.locator("#template-editor")).to_be_visible()
        expect(admin.locator("#template-owner-badge")).to_contain_text("shared by auditor@pve")
        expect(admin.locator("#save-template")).to_be_visible()
        screenshot(admin, "template-admin-edits-shared")
    finally:
        root_context.close()
        auditor_context.close()
