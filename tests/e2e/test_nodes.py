"""Proxmox nodes in a real browser: add with fingerprint confirmation, default, switch, delete, banner."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from lxc_manager.pages.nodes.state import NodesState
from tests.e2e.conftest import (
    Peer,
    fill_node_form,
    row,
    save_confirming,
    screenshot,
    send_crafted_event,
    sign_in,
)
from tests.support.app import ServeProcess, app_db_rows
from tests.support.simulator import AUDITOR

pytestmark = pytest.mark.e2e


def test_add_default_switch_delete_and_banner(page: Page, sim: Peer, app: ServeProcess) -> None:
    sign_in(page, sim, username=AUDITOR[0], password=AUDITOR[1], next_path="/")
    expect(page.locator("#no-nodes-banner")).to_be_visible()
    page.get_by_role("link", name="Add a node in Settings → Nodes").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No nodes configured")

    # A token without the privileges LXC Manager needs is refused, its gaps listed by name.
    page.locator("#add-node").click()
    fill_node_form(page, sim, "pve-main", "auditor@pve!vm", sim.secrets["auditor"], ssh=False)
    page.locator("#node-save").click()
    trust = page.get_by_role("button", name="Trust and save")
    expect(trust.or_(page.locator("#missing-privileges"))).to_be_visible()
    if trust.is_visible():
        expect(page.locator("#pending-tls")).to_have_text(sim.fingerprint)
        trust.click()
    expect(page.locator("#missing-privileges")).to_contain_text("VM.Allocate")
    screenshot(page, "nodes-missing-privileges")
    assert app_db_rows(
        app, "SELECT count(*) FROM proxmox_node WHERE user_id LIKE 'auditor@pve@%'"
    ) == [(0,)]

    # The right token, with SSH: both fingerprints are confirmed, then the node is saved as default.
    page.get_by_role("dialog").get_by_label("Token ID").fill("root@pam!ci")
    page.get_by_role("dialog").get_by_label("Token secret").fill(sim.secrets["ci"])
    ssh_port = sim.process.ready["ssh"].rsplit(":", 1)[1]
    page.get_by_role("dialog").get_by_label("SSH port").fill(ssh_port)
    page.get_by_role("dialog").get_by_label("SSH password").fill(sim.root_password)
    save_confirming(page, sim)
    expect(row(page, "pve-main").get_by_test_id("default-badge")).to_be_visible()
    expect(row(page, "pve-main")).to_contain_text("online")
    expect(row(page, "pve-main")).to_contain_text(str(sim.process.ready["cluster"]))
    # the other members' SSH host keys, pinned with the node, are shown with it
    members = row(page, "pve-main").get_by_test_id("member-key")
    expect(members).to_have_count(2)
    for index, name in enumerate(("pve2", "pve3")):
        key = sim.process.ready["ssh_nodes"][name]["ssh_host_key"]
        expect(members.nth(index)).to_have_text(f"{name} {key}")
    [(secret_column,)] = app_db_rows(
        app, "SELECT token_secret FROM proxmox_node WHERE name = 'pve-main'"
    )
    assert sim.secrets["ci"] not in str(secret_column) and str(secret_column).startswith("v1:")

    # A second node, then switch the default to it.
    page.locator("#add-node").click()
    fill_node_form(page, sim, "pve-second", "root@pam!ci", sim.secrets["ci"], ssh=False)
    save_confirming(page, sim)
    expect(row(page, "pve-second")).to_be_visible()
    expect(row(page, "pve-second").get_by_test_id("default-badge")).to_have_count(0)
    expect(row(page, "pve-second")).to_contain_text(
        "same cluster as pve-main"
    )  # two endpoints, one cluster
    row(page, "pve-second").get_by_role("button", name="Make default").click()
    expect(row(page, "pve-second").get_by_test_id("default-badge")).to_be_visible()
    expect(row(page, "pve-main").get_by_test_id("default-badge")).to_have_count(0)
    screenshot(page, "nodes-two")

    page.goto("/")
    expect(page.get_by_role("heading", name="Containers", level=1)).to_be_visible()
    expect(page.locator("#no-nodes-banner")).to_have_count(0)

    # Delete both: the default moves to the remaining node, then the banner is back.
    page.goto("/settings/nodes")
    row(page, "pve-second").get_by_role("button", name="Delete pve-second").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(row(page, "pve-second")).to_have_count(0)
    expect(row(page, "pve-main").get_by_test_id("default-badge")).to_be_visible()
    row(page, "pve-main").get_by_role("button", name="Delete pve-main").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No nodes configured")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#no-nodes-banner")).to_be_visible()
    actions = [
        r[0]
        for r in app_db_rows(
            app, "SELECT action FROM audit_event WHERE action LIKE 'node.%' ORDER BY id"
        )
    ]
    assert {"node.create", "node.make_default", "node.delete"} <= set(actions)


def test_edit_keeps_the_stored_secret(page: Page, sim: Peer) -> None:
    sign_in(page, sim, username=AUDITOR[0], password=AUDITOR[1], next_path="/settings/nodes")
    page.locator("#add-node").click()
    fill_node_form(page, sim, "pve-edit", "root@pam!ci", sim.secrets["ci"], ssh=False)
    save_confirming(page, sim)
    row(page, "pve-edit").get_by_role("button", name="Edit", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Token secret")).to_have_value("")  # never sent back to the browser
    expect(dialog.get_by_label("Token secret")).to_have_attribute(
        "placeholder", re.compile("keep the stored secret")
    )
    expect(dialog).to_contain_text("Changing the host, port or token ID needs it again")
    # moving the node elsewhere with the secret left blank is refused before any contact
    dialog.get_by_label("Port", exact=True).fill("1")
    page.locator("#node-save").click()
    expect(dialog.locator("#token_secret-error")).to_have_text(
        "Enter the token secret again: the address changed"
    )
    dialog.get_by_label("Port", exact=True).fill(str(sim.port))
    dialog.get_by_label("Name").fill("pve-renamed")
    save_confirming(page, sim)
    expect(row(page, "pve-renamed")).to_contain_text("online")
    row(page, "pve-renamed").get_by_role("button", name="Delete pve-renamed").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(row(page, "pve-renamed")).to_have_count(0)


def test_user_b_cannot_touch_user_a_nodes_through_crafted_events(
    browser: Browser, app: ServeProcess, sim: Peer
) -> None:
    owner = browser.new_context(base_url=app.base_url)
    other = browser.new_context(base_url=app.base_url)
    try:
        a = owner.new_page()
        sign_in(a, sim, username=AUDITOR[0], password=AUDITOR[1], next_path="/settings/nodes")
        a.locator("#add-node").click()
        fill_node_form(a, sim, "a-private", "root@pam!ci", sim.secrets["ci"], ssh=False)
        save_confirming(a, sim)
        expect(row(a, "a-private").get_by_test_id("default-badge")).to_be_visible()
        [(node_id, user_id)] = app_db_rows(
            app, "SELECT id, user_id FROM proxmox_node WHERE name = 'a-private'"
        )

        b = other.new_page()
        sign_in(b, sim)  # root@pam: another user
        b.goto("/settings/nodes")
        expect(b.get_by_test_id("empty-state")).to_contain_text("No nodes configured")
        listing = send_crafted_event(b, NodesState, "load", {}, "/settings/nodes")
        assert "a-private" not in listing and "root@pam!ci" not in listing
        for handler in ("open_edit", "make_default", "delete"):
            frames = send_crafted_event(
                b, NodesState, handler, {"node_id": node_id}, "/settings/nodes"
            )
            assert "a-private" not in frames, handler
            assert str(sim.port) not in frames, handler
        assert app_db_rows(
            app, f"SELECT name, user_id, is_default FROM proxmox_node WHERE id = {node_id}"
        ) == [("a-private", user_id, 1)]
        # Control: the owner's crafted load does see it, so the check above can fail.
        assert "a-private" in send_crafted_event(a, NodesState, "load", {}, "/settings/nodes")
        row(a, "a-private").get_by_role("button", name="Delete a-private").click()
        a.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        expect(row(a, "a-private")).to_have_count(0)
    finally:
        owner.close()
        other.close()
