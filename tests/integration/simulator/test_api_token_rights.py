"""What a token may do (issue #13, item 2), as Proxmox VE 8 decides it.

- Feature flags on a privileged container, and flags other than `nesting` anywhere, only
  for the user root@pam itself: a token of root@pam, even without privilege separation, is
  refused (pve-container src/PVE/LXC.pm `check_ct_modify_config_perm`).
- Bridges are listed and usable only with SDN.Audit / SDN.Use on
  `/sdn/zones/localnetwork/BRIDGE`; SDN vnets appear as `vnet` in the node's bridge list
  (pve-manager PVE/API2/Network.pm, pve-network src/PVE/Network/SDN.pm).
- The tests' main token (and the simulator's default token) is privilege-separated with the
  roles a home-lab admin grants, so a missing privilege shows up as on a real installation.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

ROOT_ONLY_FEATURES = (
    "Permission check failed (changing feature flags (except nesting) is only allowed for "
    "root@pam)\n"
)
ROOT_ONLY_PRIVILEGED = (
    "Permission check failed (changing feature flags for privileged container is only "
    "allowed for root@pam)\n"
)
_vmids = itertools.count(9500)  # 93xx belong to the ssh_sim tests


def _create(client: httpx.Client, node: str = "pve1", **params: Any) -> httpx.Response:
    vmid = next(_vmids)
    body = {
        "vmid": vmid,
        "hostname": f"test-{vmid}",
        "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "rootfs": "local-lvm:4",
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
        **params,
    }
    return client.post(f"/nodes/{node}/lxc", data=body)


def _created(simulator, client: httpx.Client, **params: Any) -> int:
    response = _create(client, **params)
    assert response.status_code == 200, response.text
    status = simulator.wait_task(client, response.json()["data"])
    assert status["exitstatus"] == "OK", status
    return int(response.json()["data"].split(":")[6])


def _refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {"data": None, "message": message}


@pytest.fixture
def root_ticket(simulator):
    with simulator.ticket_client() as client:
        yield client


def test_main_token_is_privilege_separated_with_a_home_lab_role(api) -> None:
    perms = api.get("/access/permissions", params={"path": "/"}).json()["data"]["/"]
    assert {"VM.Allocate", "Datastore.AllocateSpace", "SDN.Use", "Sys.Audit"} <= set(perms)
    assert "Sys.Modify" not in perms and "Permissions.Modify" not in perms


def test_create_is_unprivileged_by_default_and_privileged_needs_sys_modify(simulator, api) -> None:
    vmid = _created(simulator, api, features="nesting=1")
    config = api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert config["unprivileged"] == 1 and config["features"] == "nesting=1"
    _refused(_create(api, unprivileged=0), "Permission check failed (/, Sys.Modify)\n")


@pytest.mark.parametrize("flags", ["keyctl=1", "nesting=1,fuse=1", "mknod=1"])
def test_root_only_flags_are_refused_to_every_token(api, root_api, flags: str) -> None:
    _refused(_create(api, features=flags), ROOT_ONLY_FEATURES)
    _refused(_create(root_api, features=flags), ROOT_ONLY_FEATURES)


def test_any_flag_on_a_privileged_container_is_root_only(simulator, root_api, root_ticket):
    _refused(_create(root_api, unprivileged=0, features="nesting=1"), ROOT_ONLY_PRIVILEGED)
    vmid = _created(simulator, root_ticket, unprivileged=0, features="nesting=1,keyctl=1")
    config = root_ticket.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert "unprivileged" not in config and config["features"] == "nesting=1,keyctl=1"


def test_changing_flags_of_an_existing_container(simulator, api, root_api, root_ticket) -> None:
    vmid = _created(simulator, api)
    path = f"/nodes/pve1/lxc/{vmid}/config"
    assert api.put(path, data={"features": "nesting=1"}).status_code == 200
    _refused(api.put(path, data={"features": "nesting=1,keyctl=1"}), ROOT_ONLY_FEATURES)
    _refused(root_api.put(path, data={"features": "nesting=1,fuse=1"}), ROOT_ONLY_FEATURES)
    assert root_ticket.put(path, data={"features": "nesting=1,keyctl=1"}).status_code == 200
    # deleting keyctl again is a change of a root-only flag too
    _refused(api.put(path, data={"delete": "features"}), ROOT_ONLY_FEATURES)
    _refused(
        api.put(path, data={"dev0": "/dev/net/tun"}),
        "Permission check failed (configuring device passthrough is only allowed for root@pam)\n",
    )
    assert root_api.get(path).json()["data"]["features"] == "nesting=1,keyctl=1"


def test_bridges_need_sdn_privileges_and_vnets_are_listed(simulator, api) -> None:
    listed = api.get("/nodes/pve1/network", params={"type": "any_bridge"}).json()["data"]
    vnet = next(i for i in listed if i["iface"] == "vnet1")
    assert vnet["type"] == "vnet" and vnet["active"] == "1" and vnet["comments"]
    assert [i["iface"] for i in listed] == ["vmbr0", "vnet1"]
    assert [i["iface"] for i in api.get("/nodes/pve1/network").json()["data"]] == [
        "eno1",
        "vmbr0",
    ]
    # PVEVMAdmin alone: no SDN privilege, so no bridge and no vnet, and no bridge to use
    with simulator.client(simulator.vmadmin_token_id, simulator.vmadmin_token_secret) as vma:
        hidden = vma.get("/nodes/pve1/network", params={"type": "any_bridge"}).json()["data"]
        everything = vma.get("/nodes/pve1/network").json()["data"]
        vmid = _created(simulator, api)
        changed = vma.put(
            f"/nodes/pve1/lxc/{vmid}/config", data={"net0": "name=eth0,bridge=vnet1,ip=dhcp"}
        )
        tagged = vma.put(
            f"/nodes/pve1/lxc/{vmid}/config",
            data={"net0": "name=eth0,bridge=vmbr0,tag=20,ip=dhcp"},
        )
    assert hidden == []
    assert [i["iface"] for i in everything] == ["eno1"]
    # the old net0's bridge is checked first, as PVE does
    _refused(changed, "Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)\n")
    _refused(tagged, "Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)\n")


def test_a_container_on_a_vnet_checks_the_vnets_zone(simulator, api, root_ticket) -> None:
    vmid = _created(simulator, api, net0="name=eth0,bridge=vnet1,ip=dhcp")
    config = api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert "bridge=vnet1" in config["net0"]
    with simulator.client(simulator.vmadmin_token_id, simulator.vmadmin_token_secret) as vma:
        refused = vma.put(f"/nodes/pve1/lxc/{vmid}/config", data={"hostname": "renamed"})
        moved = vma.put(
            f"/nodes/pve1/lxc/{vmid}/config", data={"net0": "name=eth0,bridge=vmbr0,ip=dhcp"}
        )
    assert refused.status_code == 200  # no bridge involved
    _refused(moved, "Permission check failed (/sdn/zones/lab/vnet1, SDN.Use)\n")
