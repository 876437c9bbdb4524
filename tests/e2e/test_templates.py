"""Templates in a real browser: sync the catalog, duplicate, add a script and a package, save."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Peer, screenshot, sign_in
from tests.support.app import ServeProcess, app_db_rows

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
    expect(template_row(page, "Docker host for CI")).to_contain_text("custom")
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
