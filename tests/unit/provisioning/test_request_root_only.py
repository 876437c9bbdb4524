"""Options only the user root@pam may set (issue #13, item 2): Proxmox refuses every flag of
a privileged container and keyctl/fuse/mknod to any API token (pve-container
src/PVE/LXC.pm, check_ct_modify_config_perm), so the create leaves them out, the pipeline
sets them with `pct set`, and the wizard says so before submit."""

from __future__ import annotations

import dataclasses

import pytest

from lxc_manager.provisioning.request import (
    needs_ssh,
    proxmox_params,
    root_features_value,
    root_only_warning,
    validate_request,
)
from lxc_manager.templates.spec import Features
from tests.unit.provisioning.test_request import _request

PRIVILEGED = Features(unprivileged=False)


@pytest.mark.parametrize(
    ("features", "root_only"),
    [
        (Features(), ()),
        (Features(nesting=True), ()),
        (Features(nesting=True, keyctl=True), ("keyctl",)),
        (Features(fuse=True, keyctl=True), ("keyctl", "fuse")),
        (PRIVILEGED, ()),
        (dataclasses.replace(PRIVILEGED, nesting=True), ("nesting",)),
        (Features(unprivileged=False, nesting=True, fuse=True), ("nesting", "fuse")),
    ],
)
def test_which_flags_are_root_only(features: Features, root_only: tuple[str, ...]) -> None:
    assert features.root_only() == root_only
    assert features.needs_root() is bool(root_only)


def test_privileged_nesting_is_left_out_of_the_create_and_set_with_pct_set() -> None:
    req = _request(features=Features(unprivileged=False, nesting=True))
    params = proxmox_params(req)
    assert params["unprivileged"] == 0 and "features" not in params
    assert root_features_value(req.features) == "nesting=1"
    assert needs_ssh(req)
    unprivileged = proxmox_params(_request(features=Features(nesting=True)))
    assert unprivileged["features"] == "nesting=1"


def test_without_ssh_the_reason_is_given() -> None:
    errors = validate_request(
        _request(features=Features(unprivileged=False, nesting=True)), has_ssh=False
    )
    assert errors["features"].startswith("The nesting feature of a privileged container")
    assert "only the user root@pam" in errors["features"]
    assert "add them in the node's settings" in errors["features"]
    assert validate_request(_request(features=Features(nesting=True)), has_ssh=False) == {}


def test_the_warning_before_submit_names_the_options_and_the_way() -> None:
    assert root_only_warning(Features(nesting=True)) == ""
    text = root_only_warning(Features(nesting=True, keyctl=True, fuse=True))
    assert text.startswith("The keyctl and fuse features: ")
    assert "API token" in text and "not root@pam" in text and "pct set" in text
    privileged = root_only_warning(Features(unprivileged=False, nesting=True))
    assert privileged.startswith("The nesting feature of a privileged container: ")
    assert "sets it with `pct set`" in privileged
