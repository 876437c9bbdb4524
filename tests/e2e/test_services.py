"""Services and logs of a container in a real browser (over the node's SSH, like a real host)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from collections.abc import Iterator

import asyncssh
import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Peer, ensure_node, screenshot, sign_in
from tests.support.app import ServeProcess, app_db_rows
from tests.support.simulator import OPERATOR

pytestmark = pytest.mark.e2e

VMID = 96500
CREDENTIALS = "ADMIN_USER=admin\\nADMIN_PASSWORD=s3cret-e2e\\n"


def pct(sim: Peer, *argv: str) -> str:
    async def run() -> str:
        host, port = sim.process.ready["ssh"].rsplit(":", 1)
        async with asyncssh.connect(
            host, port=int(port), username="root", password=sim.root_password, known_hosts=None
        ) as conn:
            result = await conn.run(" ".join(["pct", "exec", str(VMID), "--", *argv]), check=True)
            return str(result.stdout)

    # Playwright's sync API owns this thread's event loop: run the SSH call in another thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="module")
def web_container(sim: Peer) -> Iterator[None]:
    """A running container on the SSH host's node with nginx and a saved credential."""
    base = sim.process.ready["api"] + "/api2/json"
    headers = {"Authorization": f"PVEAPIToken=root@pam!ci={sim.secrets['ci']}"}
    node = sim.process.ready["nodes"][0]
    node = node["name"] if isinstance(node, dict) else node
    with httpx.Client(base_url=base, headers=headers, verify=False, timeout=10) as api:
        created = api.post(
            f"/nodes/{node}/lxc",
            data={"vmid": VMID, "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                  "hostname": "web-e2e", "rootfs": "local-lvm:4", "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
                  "start": 1},
        )  # fmt: skip
        assert created.status_code == 200, created.text
        deadline = time.monotonic() + 15
        while (
            api.get(f"/nodes/{node}/lxc/{VMID}/status/current").json()["data"].get("status")
            != "running"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        pct(sim, "apt-get", "install", "-y", "nginx")
        pct(
            sim,
            "sh",
            "-c",
            f"'mkdir -p /etc/lxc-manager/credentials && printf \"{CREDENTIALS}\" > /etc/lxc-manager/credentials/nginx && chmod 600 /etc/lxc-manager/credentials/nginx'",
        )
        yield
        api.post(f"/nodes/{node}/lxc/{VMID}/status/stop")
        time.sleep(1)
        api.delete(f"/nodes/{node}/lxc/{VMID}", params={"force": 1})


def test_services_reveal_and_logs(
    page: Page, sim: Peer, app: ServeProcess, web_container: None
) -> None:
    sign_in(page, sim, username=OPERATOR[0], password=OPERATOR[1], next_path="/settings/nodes")
    ensure_node(page, sim, "homelab-ssh", ssh=True)
    [(node_id,)] = app_db_rows(app, "SELECT id FROM proxmox_node WHERE name = 'homelab-ssh'")
    page.goto(f"/containers/{node_id}/{VMID}")
    expect(page.locator("#ct-title")).to_have_text("web-e2e")

    page.get_by_role("tab", name="Services").click()
    nginx = page.locator('[data-service="nginx.service"]')
    expect(nginx).to_contain_text("application")
    expect(nginx).to_contain_text("80")
    expect(nginx.get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^http://\d+\.\d+\.\d+\.\d+")
    )
    secret = nginx.locator('[id="cred-nginx.service|ADMIN_PASSWORD"]')
    expect(secret).to_have_text("••••••••")
    nginx.get_by_role("button", name="Reveal ADMIN_PASSWORD").click()
    expect(secret).to_have_text("s3cret-e2e")
    screenshot(page, "container-services")
    reveals = app_db_rows(
        app, "SELECT target, detail FROM audit_event WHERE action = 'container.credential.reveal'"
    )
    assert reveals and all("s3cret-e2e" not in str(r) for r in reveals)

    page.get_by_role("tab", name="Logs").click()
    page.get_by_role("combobox", name="Service").click()
    page.get_by_role("option", name="nginx.service").click()
    page.get_by_role("button", name="Show last lines").click()
    lines = page.locator("#log-lines")
    expect(lines).to_contain_text("nginx")
    before = lines.locator("p").count()
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name=re.compile("Following"))).to_be_visible()
    time.sleep(1)
    pct(sim, "systemctl", "restart", "nginx")
    expect(lines.locator("p")).not_to_have_count(before, timeout=15_000)
    screenshot(page, "container-logs")
    page.get_by_role("button", name=re.compile("Following")).click()
    expect(page.get_by_role("button", name="Follow")).to_be_visible(timeout=10_000)
