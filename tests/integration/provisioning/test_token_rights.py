"""What a node's API token may do (issue #13, item 2), against the simulator, which refuses
root-only options to every token as Proxmox VE does:

- the nesting feature of a privileged container is root-only: it is left out of the create
  and set with `pct set` over SSH (as keyctl and fuse already were); without SSH the
  request is refused before submit with the reason;
- the bridge list offers SDN vnets, labelled as such, and an empty list says why.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from urllib.parse import urlsplit

from prov_support import USER_A, add_node, make_request, run_burst_worker, sim_input, stream_of

from lxc_manager.nodes import NodeInput, NodeView
from lxc_manager.provisioning import jobs, options
from lxc_manager.provisioning.request import proxmox_params, root_only_warning
from lxc_manager.templates.spec import Features
from tests.support.simulator import SimulatorInfo

PRIVILEGED_NESTING = Features(unprivileged=False, nesting=True)
# SDN.Use on another zone only: the node check passes, but no bridge of this node is visible
NO_SDN_ROLES = "privsep=PVEVMAdmin+PVEDatastoreUser+PVESysAdmin+PVESDNUser@/sdn/zones/dmz"


async def test_privileged_nesting_is_set_with_pct_set_after_create(
    simulator: SimulatorInfo, prov_db, new_vmid: Callable[[], int]
) -> None:
    # a privileged container needs Sys.Modify on /: root@pam's token without privsep has it
    # (but is still not root@pam, so the nesting flag must not be part of the create)
    rooted = dataclasses.replace(
        sim_input(simulator, "rooted", ssh=True),
        token_id=simulator.root_token_id,
        token_secret=simulator.root_token_secret,
    )
    node = await add_node(USER_A, rooted)
    vmid = new_vmid()
    req = make_request(node, vmid, features=PRIVILEGED_NESTING)
    assert "features" not in proxmox_params(req) and proxmox_params(req)["unprivileged"] == 0
    assert "nesting feature of a privileged container" in root_only_warning(req.features)
    result = await jobs.submit(USER_A, req)
    assert result.errors == {} and result.job_id

    await asyncio.to_thread(run_burst_worker)

    view = await jobs.get_job(USER_A, result.job_id)
    assert view is not None and (view.status, view.error) == ("succeeded", ""), view
    with simulator.client() as api:
        config = api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert config["features"] == "nesting=1" and "unprivileged" not in config
    lines = [e.fields["text"] for e in await stream_of(result.job_id) if e.kind == "line"]
    assert "features set: nesting=1" in lines


async def test_root_only_options_without_ssh_are_refused_with_the_reason(
    apinode: NodeView, new_vmid: Callable[[], int]
) -> None:
    result = await jobs.submit(
        USER_A, make_request(apinode, new_vmid(), features=PRIVILEGED_NESTING)
    )
    assert not result.job_id
    message = result.errors["features"]
    assert "nesting feature of a privileged container" in message
    assert "only the user root@pam" in message and "SSH credentials" in message


async def test_bridges_offer_the_vnets_the_token_may_use(sshnode: NodeView) -> None:
    result = await options.node_options(USER_A, sshnode.id)
    bridges = result.bridges["pve1"]
    assert [(b.iface, b.type) for b in bridges] == [("vmbr0", "bridge"), ("vnet1", "vnet")]
    assert bridges[1].label == "vnet1 (vnet: Lab network)"
    assert result.bridge_notes == {}


async def test_an_empty_bridge_list_says_why(start_sim, prov_db) -> None:
    # a token with guests, storage and node rights but nothing on the node's own bridges
    # (zone localnetwork) nor on the vnet's zone: PVE 8 hides them all
    secret = "6d1d8a56-0b7e-4a53-9a1e-5f2f7f8c9d10"
    sim = await asyncio.to_thread(
        start_sim,
        [
            *("--port", "0", "--ssh-port", "0", "--seed", "3", "--nodes", "1"),
            *("--containers", "0", "--vms", "0", "--log-level", "WARNING"),
            *("--token", f"root@pam!nosdn:{secret}:{NO_SDN_ROLES}"),
        ],
    )
    url = urlsplit(sim.ready["api"])
    assert url.hostname and url.port
    data = NodeInput(
        name="nosdn",
        host=url.hostname,
        port=url.port,
        token_id="root@pam!nosdn",
        token_secret=secret,
        tls_fingerprint=sim.ready["tls_sha256"],
    )
    node = await add_node(USER_A, data)
    result = await options.node_options(USER_A, node.id)
    assert result.bridges["pve1"] == ()
    assert result.bridge_notes["pve1"] == options.MSG_NO_SDN_PRIVILEGE
    assert "SDN.Audit" in options.MSG_NO_SDN_PRIVILEGE
