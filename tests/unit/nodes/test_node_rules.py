"""Pure rules of the node service: form validation, required privileges, cluster key,
fingerprint pinning decisions, secret binding."""

from __future__ import annotations

import dataclasses

import pytest

from lxc_manager.nodes.checks import PinDecision, decide_pin
from lxc_manager.nodes.secrets import associated_data, seal, unseal
from lxc_manager.nodes.types import NodeInput, NodeSecretError
from lxc_manager.nodes.validation import (
    MSG_HOST,
    MSG_NAME,
    MSG_PORT,
    MSG_SSH_KEY,
    MSG_TOKEN_ID,
    MSG_TOKEN_SECRET,
    cluster_key,
    field_errors,
    missing_privileges,
    normalized,
    valid_host,
)
from lxc_manager.proxmox import Permissions, normalize_fingerprint
from lxc_manager.security.crypto import Keyring, new_key_entry
from lxc_manager.settings import parse_keyring
from lxc_manager.ssh import normalize_fingerprint as normalize_ssh

GOOD = NodeInput(
    name="pve lab-1",
    host="pve1.lan",
    port=8006,
    token_id="root@pam!lxc-manager",
    token_secret="0b5c1f0e-2a33-4f5e-9d7c-1b2a3c4d5e6f",
)


def errors(creating: bool = True, **changes: object) -> dict[str, str]:
    return field_errors(normalized(dataclasses.replace(GOOD, **changes)), creating=creating)  # type: ignore[arg-type]


def test_a_good_form_has_no_errors() -> None:
    assert errors() == {}
    assert errors(host="  [FE80::1] ") == {}
    assert errors(host="10.0.0.5", ssh_secret="pw", ssh_secret_kind="password") == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", MSG_NAME),
        ("name", "-starts-with-dash", MSG_NAME),
        ("name", "x" * 65, MSG_NAME),
        ("name", "semi;colon", MSG_NAME),
        ("host", "https://pve1.lan", MSG_HOST),
        ("host", "pve1.lan:8006", MSG_HOST),
        ("host", "", MSG_HOST),
        ("host", "300.1.2.3", MSG_HOST),
        ("host", "bad_host.lan", MSG_HOST),
        ("port", 0, MSG_PORT),
        ("port", 65536, MSG_PORT),
        ("port", True, MSG_PORT),
        ("token_id", "root@pam", MSG_TOKEN_ID),
        ("token_id", "root!tok", MSG_TOKEN_ID),
        ("token_id", "root@pam!", MSG_TOKEN_ID),
        ("token_secret", None, MSG_TOKEN_SECRET),
        ("token_secret", "   ", MSG_TOKEN_SECRET),
        ("ssh_port", 70000, MSG_PORT),
    ],
)
def test_bad_fields_get_their_message(field: str, value: object, message: str) -> None:
    assert errors(**{field: value}) == {field: message}


def test_secrets_are_optional_on_edit_and_checked_when_given() -> None:
    assert errors(creating=False, token_secret=None) == {}
    assert "token_secret" in errors(token_secret="a b")
    assert "token_secret" in errors(token_secret="x" * 257)
    assert errors(ssh_secret="not a key", ssh_secret_kind="key") == {"ssh_secret": MSG_SSH_KEY}
    assert "ssh_secret_kind" in errors(ssh_secret="pw", ssh_secret_kind="token")
    assert "ssh_secret" in errors(ssh_secret="two\nlines", ssh_secret_kind="password")
    assert "ssh_user" in errors(ssh_user="root user")


def test_normalized_trims_what_can_only_be_accidental() -> None:
    data = normalized(
        dataclasses.replace(
            GOOD,
            name="  a  ",
            host=" PVE1.Lan ",
            token_id=" root@pam!x ",
            token_secret=" s ",
            ssh_secret=" pass word ",
            tls_fingerprint="",
        )
    )
    assert (data.name, data.host, data.token_id, data.token_secret) == (
        "a",
        "pve1.lan",
        "root@pam!x",
        "s",
    )
    assert data.ssh_secret == " pass word "  # a password is kept exactly as typed
    assert data.tls_fingerprint is None
    assert normalized(dataclasses.replace(GOOD, ssh_secret="  ")).ssh_secret is None
    key = normalized(
        dataclasses.replace(
            GOOD, ssh_secret="\n-----BEGIN KEY-----\r\nabc\r\n", ssh_secret_kind="key"
        )
    )
    assert key.ssh_secret == "-----BEGIN KEY-----\nabc\n"


def test_valid_host() -> None:
    assert valid_host("pve") and valid_host("pve-1.example.org") and valid_host("::1")
    assert not valid_host("1.2.3") and not valid_host("a..b") and not valid_host("-a.lan")


ALL = {
    "Sys.Audit", "VM.Audit", "VM.Allocate", "VM.Config.Disk", "VM.Config.CPU",
    "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.PowerMgmt",
    "Datastore.AllocateSpace", "SDN.Use",
}  # fmt: skip


def perms(paths: dict[str, set[str]]) -> Permissions:
    return Permissions.from_api({p: dict.fromkeys(privs, 1) for p, privs in paths.items()})


def test_privileges_on_root_propagate_to_every_path() -> None:
    assert missing_privileges(perms({"/": ALL})) == []
    assert missing_privileges(perms({"/": ALL - {"SDN.Use"}})) == []  # no /sdn path seen


def test_missing_privileges_are_listed_by_name() -> None:
    auditor = perms({"/": {"Sys.Audit", "VM.Audit", "Datastore.Audit"}})
    assert missing_privileges(auditor) == [
        "VM.Allocate",
        "VM.Config.Disk",
        "VM.Config.CPU",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "Datastore.AllocateSpace",
        "VM.PowerMgmt",
    ]


def test_sdn_use_is_required_only_where_sdn_shows_up() -> None:
    without = ALL - {"SDN.Use"}
    assert missing_privileges(perms({"/": without, "/sdn": {"SDN.Audit"}})) == ["SDN.Use"]
    zone = perms({"/": without, "/sdn/zones/localnetwork": {"SDN.Use"}})
    assert missing_privileges(zone) == []


def test_paths_answered_separately_are_read_as_answered() -> None:
    split = perms({"/": {"Sys.Audit"}, "/vms": ALL - {"Sys.Audit"}, "/storage": set()})
    assert missing_privileges(split) == ["Datastore.AllocateSpace"]


def test_cluster_key() -> None:
    assert (
        cluster_key("homelab", ["pve3", "pve1", "pve2"], "h", 8006)
        == "cluster:homelab:pve1,pve2,pve3"
    )
    assert cluster_key("", ["pve"], "10.0.0.5", 8006) == "endpoint:10.0.0.5:8006"
    assert cluster_key("", ["pve"], "fe80::1", 8443) == "endpoint:[fe80::1]:8443"


A = normalize_fingerprint("AA" * 32)
B = normalize_fingerprint("BB" * 32)


def test_first_contact_needs_the_exact_fingerprint_confirmed() -> None:
    assert decide_pin(A, None, None, normalize_fingerprint) is PinDecision.CONFIRM
    assert decide_pin(A, None, B, normalize_fingerprint) is PinDecision.CONFIRM
    assert decide_pin(A, None, "garbage", normalize_fingerprint) is PinDecision.CONFIRM
    assert decide_pin(A, None, A.lower().replace(":", ""), normalize_fingerprint) is PinDecision.USE


def test_a_pin_is_kept_and_replaced_only_by_confirming_the_new_value() -> None:
    assert decide_pin(A, A, None, normalize_fingerprint) is PinDecision.USE
    assert decide_pin(B, A, None, normalize_fingerprint) is PinDecision.CHANGED
    assert decide_pin(B, A, A, normalize_fingerprint) is PinDecision.CHANGED
    assert decide_pin(B, A, B, normalize_fingerprint) is PinDecision.USE


def test_ssh_fingerprints_compare_normalized() -> None:
    key = "SHA256:" + "A" * 43
    assert decide_pin(key, None, "sha256:" + "A" * 43 + "=", normalize_ssh) is PinDecision.USE


def test_secrets_are_bound_to_row_and_field() -> None:
    ring = Keyring(parse_keyring("t", new_key_entry("k1")))
    sealed = seal(7, "token_secret", "s3cret", ring)
    assert "s3cret" not in sealed and sealed.startswith("v1:k1:")
    assert associated_data(7, "token_secret") == "proxmox_node:7:token_secret"
    assert unseal(7, "token_secret", sealed, ring) == "s3cret"
    for node_id, field in [(8, "token_secret"), (7, "ssh_secret")]:
        with pytest.raises(NodeSecretError) as caught:
            unseal(node_id, field, sealed, ring)  # type: ignore[arg-type]
        assert "s3cret" not in str(caught.value)


def test_reprs_never_show_secrets() -> None:
    data = dataclasses.replace(GOOD, ssh_secret="hunter2")
    assert GOOD.token_secret not in repr(data) and "hunter2" not in repr(data)
