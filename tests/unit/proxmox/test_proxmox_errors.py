"""Mapping Proxmox error answers to typed exceptions, and the texts they carry."""

from __future__ import annotations

from typing import Any

import pytest

from lxc_manager.proxmox import (
    AuthenticationError,
    CertificateMismatch,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProxmoxError,
    TaskFailed,
    TwoFactorRequired,
    Unreachable,
)
from lxc_manager.proxmox.errors import error_from_response, parse_tfa_challenge, tfa_methods

TFA_TICKET = (
    # as pve-common's assemble_rsa_ticket writes it: only ':' is escaped
    'PVE:!tfa!{"totp"%3Atrue,"recovery"%3A[0,1,2,3]}:6654A1B2::c2lnbmF0dXJlLXNlY3JldA=='
)


def mapped(status: int, body: Any = None, reason: str = "", path: str = "") -> ProxmoxError:
    return error_from_response(status, body, reason, host="pve.example", port=8006, path=path)


def test_400_carries_each_parameter_error() -> None:
    error = mapped(
        400,
        {
            "data": None,
            "message": "Parameter verification failed.\n",
            "errors": {"vmid": "invalid format - value does not look like a valid VM ID\n"},
        },
    )
    assert isinstance(error, ParameterError)
    assert error.status == 400
    assert error.errors == {"vmid": "invalid format - value does not look like a valid VM ID"}
    assert error.detail == "Parameter verification failed."
    assert error.user_message == "Invalid parameters"
    assert "vmid: invalid format" in str(error)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, AuthenticationError), (403, PermissionDenied), (404, NotFound)],
)
def test_status_classes(status: int, kind: type[ProxmoxError]) -> None:
    error = mapped(status, {"data": None, "message": "Permission check failed (/vms/100)\n"})
    assert type(error) is kind
    assert error.status == status
    assert error.detail == "Permission check failed (/vms/100)"


def test_message_falls_back_to_reason_phrase() -> None:
    """pveproxy puts the message in the status line; older servers send no body."""
    error = mapped(401, None, "invalid token value!")
    assert isinstance(error, AuthenticationError)
    assert error.detail == "invalid token value!"
    assert error.user_message == "Authentication failed"


@pytest.mark.parametrize(
    "message",
    [
        "Configuration file 'nodes/pve1/lxc/105.conf' does not exist",
        "no such task 'UPID:pve1:00001234:00005678:6654A1B2:vzstart:105:root@pam:'",
    ],
)
def test_500_for_missing_things_is_not_found(message: str) -> None:
    error = mapped(500, {"data": None, "message": message + "\n"})
    assert isinstance(error, NotFound)
    assert error.status == 500


def test_500_runtime_failure_stays_generic() -> None:
    error = mapped(500, {"data": None, "message": "CT 100 already running\n"})
    assert type(error) is ProxmoxError
    assert error.status == 500
    assert error.detail == "CT 100 already running"
    assert error.user_message == "Proxmox reported an error"


@pytest.mark.parametrize("status", [595, 596])
def test_proxied_dead_member_is_unreachable(status: int) -> None:
    error = mapped(status, None, "No route to host", path="/nodes/pve2/lxc")
    assert isinstance(error, Unreachable)
    assert error.status == status
    assert error.node == "pve2"
    assert error.detail == "No route to host"
    assert error.user_message == (
        f"PVE node pve2 is not answering ({status} No route to host), "
        "reached through pve.example:8006"
    )


def test_unreachable_message_brackets_ipv6() -> None:
    assert (
        Unreachable("pve.example", 8006).user_message
        == "Unable to reach Proxmox at pve.example:8006"
    )
    assert str(Unreachable("fd00::5", 8006)) == "Unable to reach Proxmox at [fd00::5]:8006"


def test_certificate_mismatch_texts() -> None:
    expected, actual = "AA:" * 31 + "AA", "BB:" * 31 + "BB"
    error = CertificateMismatch(expected, actual)
    assert error.user_message == "The server's certificate changed"
    assert (error.expected, error.actual) == (expected, actual)
    assert expected in error.detail and actual in error.detail


def test_task_failed_attributes() -> None:
    error = TaskFailed("UPID:pve1:x", "command 'lxc-start -n 100' failed: exit code 1")
    assert error.upid == "UPID:pve1:x"
    assert error.exitstatus == "command 'lxc-start -n 100' failed: exit code 1"
    assert error.user_message == "The Proxmox task failed"
    assert error.status is None


def test_two_factor_required_hides_the_pending_ticket() -> None:
    error = TwoFactorRequired(TFA_TICKET, "tfa@pve")
    assert error.pending_ticket == TFA_TICKET
    assert error.methods == {"totp", "recovery"}
    for text in (str(error), repr(error), str(error.args)):
        assert "c2lnbmF0dXJl" not in text and "!tfa!" not in text
    assert not isinstance(error, ProxmoxError)


def test_tfa_challenge_parsing_tolerates_junk() -> None:
    assert parse_tfa_challenge(TFA_TICKET) == {"totp": True, "recovery": [0, 1, 2, 3]}
    assert parse_tfa_challenge("PVE:root@pam:6654A1B2::sig") == {}
    assert parse_tfa_challenge("PVE:!tfa!not-json:6654A1B2::sig") == {}


def test_non_json_body_and_unknown_status() -> None:
    error = mapped(502, "<html>bad gateway</html>", "Bad Gateway")
    assert type(error) is ProxmoxError
    assert error.detail == "Bad Gateway"
    assert error.status == 502


@pytest.mark.parametrize(
    ("challenge", "methods"),
    [
        ({"totp": True, "recovery": [0, 2]}, {"totp", "recovery"}),
        ({"recovery": []}, set()),  # proxmox-tfa 4: all keys used
        ({"webauthn": {"publicKey": {"challenge": "x"}}, "yubico": True}, {"webauthn", "yubico"}),
        ({"u2f": {"challenge": {}, "keys": [{"keyHandle": "k"}]}}, {"u2f"}),
        ({"totp": False, "yubico": "true", "recovery": "available"}, set()),  # not PVE shapes
    ],
)
def test_tfa_methods_follow_proxmox_tfa_shapes(
    challenge: dict[str, Any], methods: set[str]
) -> None:
    assert tfa_methods(challenge) == methods


def test_a_missing_task_is_not_found() -> None:
    error = mapped(
        400, {"data": None, "errors": {"upid": "no such task"}}, "Parameter verification failed."
    )
    assert isinstance(error, NotFound)
