"""The container console in a real browser (issue 16): xterm.js through the app's own
WebSocket to Proxmox's termproxy, or to `pct enter` over SSH when the token lacks
VM.Console — the browser never talks to Proxmox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Peer, ensure_node, remove_node, row, screenshot, sign_in
from tests.support.app import ServeProcess

pytestmark = pytest.mark.e2e

NODE = "console-lab"


def _api(sim: Peer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"https://{sim.host}:{sim.port}/api2/json",
        verify=False,
        timeout=10,
        headers={"Authorization": f"PVEAPIToken=root@pam!{token}={sim.secrets[token]}"},
    )


@pytest.fixture(scope="module")
def container(sim: Peer) -> Iterator[dict[str, Any]]:
    """A running container whose console is a root shell (`cmode=shell`: Proxmox's default
    `tty` shows the container's login prompt, and seeded containers have no root
    password)."""
    with _api(sim, "root") as api:
        listed = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        running = sorted(
            (r for r in listed if r["type"] == "lxc" and r["status"] == "running"),
            key=lambda r: r["vmid"],
        )
        ct = running[-1]
        path = f"/nodes/{ct['node']}/lxc/{ct['vmid']}/config"
        before = api.get(path).json()["data"].get("cmode")
        assert api.put(path, data={"cmode": "shell"}).status_code == 200
        yield ct
        if before:
            api.put(path, data={"cmode": before})
        else:
            api.put(path, data={"delete": "cmode"})


@pytest.fixture(scope="module", autouse=True)
def _remove_the_node_afterwards(browser: Browser, app: ServeProcess, sim: Peer) -> Iterator[None]:
    """Later modules expect root@pam to have no node: this module's node goes at its end."""
    yield
    remove_node(browser, app, sim, NODE)


def _terminal_text(page: Page) -> str:
    return str(page.locator("#ct-console .xterm-rows").inner_text())


def _run(page: Page, command: str) -> None:
    page.locator("#ct-console .xterm-screen").click()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def _cols(page: Page, marker: str) -> int:
    _run(page, f"echo {marker}=$(tput cols)")
    pattern = re.compile(rf"{marker}=(\d+)")
    expect(page.locator("#ct-console .xterm-rows")).to_contain_text(pattern)
    return int(pattern.findall(_terminal_text(page))[-1])


def _open_console(page: Page, sim: Peer, vmid: int) -> None:
    """Through the dashboard's Console action of the container, then on the page of the
    container through this module's node (the one with SSH credentials)."""
    sign_in(page, sim, next_path="/settings/nodes")
    ensure_node(page, sim, NODE, ssh=True)
    node_id = row(page, NODE).get_attribute("data-node-id")
    page.goto("/")
    page.get_by_label("Search containers").fill(str(vmid))
    link = page.get_by_role("link", name=f"Console of {vmid}").first
    expect(link).to_have_attribute("href", re.compile(rf"/containers/\d+/{vmid}\?tab=console$"))
    link.click()
    expect(page.get_by_role("tab", name="Console")).to_have_attribute("data-state", "active")
    page.goto(f"/containers/{node_id}/{vmid}?tab=console")
    expect(page.get_by_role("tab", name="Console")).to_have_attribute("data-state", "active")


def test_console_hostname_resize_and_exit(page: Page, sim: Peer, container: dict[str, Any]) -> None:
    _open_console(page, sim, container["vmid"])
    status = page.get_by_test_id("console-status")
    expect(status).to_have_text("Connected through Proxmox's console", timeout=20_000)
    _run(page, "hostname")
    expect(page.locator("#ct-console .xterm-rows")).to_contain_text(container["name"])
    wide = _cols(page, "WIDE")
    page.set_viewport_size({"width": 900, "height": 860})
    narrow = wide
    for attempt in range(10):  # the terminal refits, then tells the shell its new size
        page.wait_for_timeout(300)
        narrow = _cols(page, f"NARROW{attempt}")
        if narrow < wide:
            break
    assert narrow < wide, (wide, narrow)
    screenshot(page, "console")
    _run(page, "exit")
    expect(status).to_have_text(re.compile(r"^Closed: .*exited"), timeout=15_000)
    expect(page.locator("#console-reconnect")).to_be_enabled()

    # The session was recorded (LXCM_CONSOLE_RECORDING=on): replay it, at once.
    recordings = page.locator("#recordings-table")
    for _ in range(10):  # the recording is listed once the route has finished it
        page.reload()
        expect(page.get_by_role("heading", name="Recordings")).to_be_visible()
        if recordings.count():
            break
        page.wait_for_timeout(500)
    expect(recordings).to_contain_text("Proxmox console")
    listed = page.request.get("/console/recordings", params={"vmid": container["vmid"]}).json()
    finished = [r for r in listed["recordings"] if r["duration"] > 0]
    # the longest one is this test's session (opening the tab from the dashboard made a
    # short one too); the table lists the same recordings, newest first
    ours = max(finished, key=lambda r: r["bytes_out"])
    recorded = page.request.get(f"/console/recordings/{ours['id']}").json()
    typed = "".join(text for _, kind, text in recorded["events"] if kind == "o")
    assert "hostname" in typed and container["name"] in typed, recorded["events"][:20]
    index = [r["id"] for r in finished].index(ours["id"])
    recordings.get_by_role("button", name=re.compile("^Replay")).nth(index).click()
    page.get_by_label("Replay speed").click()
    page.get_by_role("option", name="At once").click()
    replay = page.locator("#ct-replay")
    expect(replay.get_by_test_id("console-status")).to_have_text("Replay finished", timeout=15_000)
    expect(replay.locator(".xterm-rows")).to_contain_text("tput cols")
    expect(replay.locator(".xterm-rows")).to_contain_text(container["name"])


def test_console_falls_back_to_ssh_without_vm_console(
    page: Page, sim: Peer, container: dict[str, Any]
) -> None:
    """An administrator takes VM.Console on this container away from the node's token
    (an ACL on /vms/VMID, the most specific path wins): the app says so and opens
    `pct enter` over SSH instead."""
    acl = {"path": f"/vms/{container['vmid']}", "roles": "PVEAuditor", "tokens": "root@pam!ci"}
    with _api(sim, "root") as api:
        assert api.put("/access/acl", data=acl).status_code == 200
        try:
            _open_console(page, sim, container["vmid"])
            status = page.get_by_test_id("console-status")
            expect(status).to_contain_text("lacks VM.Console", timeout=20_000)
            expect(status).to_contain_text("SSH (pct enter)")
            _run(page, "hostname")
            expect(page.locator("#ct-console .xterm-rows")).to_contain_text(container["name"])
            screenshot(page, "console-ssh-fallback")
        finally:
            api.put("/access/acl", data={**acl, "delete": 1})
