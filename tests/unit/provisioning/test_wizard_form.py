"""The creation wizard's form, without Reflex: the request its strings describe, and the
step that shows an error."""

from __future__ import annotations

from lxc_manager.provisioning.form import (
    CONFIGURE,
    FORM_FIELDS,
    MSG_FIX_FIELDS,
    PACKAGES,
    SCRIPTS,
    blocks_configure,
    only_fields,
    request_from_fields,
    step_of_errors,
)
from lxc_manager.templates.spec import Features, PackageSpec, ScriptSpec

FIELDS = {
    **dict.fromkeys(FORM_FIELDS, ""),
    "pve_node": "pve1",
    "vmid": " 105 ",
    "hostname": " web-1 ",
    "cores": "2",
    "memory_mb": "1024",
    "swap_mb": "x",
    "disk_gb": "8",
    "bridge": "vmbr0",
    "ip_mode": "dhcp",
    "ipv4": "10.0.0.5/24",
    "gateway": "10.0.0.1",
    "tags": "Web, prod",
}


def test_the_request_holds_what_was_typed() -> None:
    req = request_from_fields(
        FIELDS,
        node_id=3,
        features=Features(nesting=True),
        onboot=True,
        template_id=0,
        template_name="",
        scripts=[ScriptSpec("10.sh", "", False)],
        packages=[PackageSpec("apt", "git")],
    )
    assert (req.node_id, req.vmid, req.hostname, req.cores, req.swap_mb) == (3, 105, "web-1", 2, -1)
    assert (req.ipv4, req.gateway) == ("dhcp", "")  # DHCP: the static address is not sent
    assert req.template_id is None and req.files == ()
    assert req.scripts == (ScriptSpec("10.sh", "", False),)
    assert req.packages == (PackageSpec("apt", "git"),)
    assert req.tags == ("web", "prod")


def test_a_static_address_is_sent_with_its_gateway() -> None:
    req = request_from_fields(
        {**FIELDS, "ip_mode": "static"},
        node_id=1,
        features=Features(),
        onboot=False,
        template_id=7,
        template_name="Web",
    )
    assert (req.ipv4, req.gateway, req.template_id) == ("10.0.0.5/24", "10.0.0.1", 7)


def test_errors_are_kept_for_the_fields_asked_and_send_the_user_to_their_step() -> None:
    errors = {"packages.1.name": "bad", "hostname": "bad"}
    assert only_fields(errors, ["packages"]) == {"packages.1.name": "bad"}
    assert blocks_configure(errors) and not blocks_configure({"scripts": "x"})
    assert step_of_errors({"hostname": "bad"}) == (CONFIGURE, MSG_FIX_FIELDS)
    assert step_of_errors({"packages.0.name": "bad"}) == (PACKAGES, MSG_FIX_FIELDS)
    assert step_of_errors({"files": "bad"}) == (SCRIPTS, MSG_FIX_FIELDS)
    assert step_of_errors({"form": "The template changed"}) == (None, "The template changed")
