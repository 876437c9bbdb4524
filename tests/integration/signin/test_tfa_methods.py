"""Two-factor methods (issue 13 item 5): the challenge names what the user has, and the
sign-in offers only those it can take; WebAuthn/U2F/Yubico-only accounts get a clear
message instead of a code prompt that cannot succeed."""

from __future__ import annotations

import json
import re
import urllib.parse

import pyotp

from lxc_manager.proxmox.errors import TwoFactorRequired
from lxc_manager.signin.service import Failed, SignedIn, SignInService, TwoFactorNeeded
from tests.integration.signin.test_signin_service import creds, sign_in_first_use
from tests.integration.signin.test_signin_service import service as service  # the fixture
from tests.support.simulator import HWKEY_USER, RECOVERY_ONLY_KEYS, RECOVERY_USER, TFA_USER


def challenge_data(ticket: str) -> str:
    match = re.match(r"^PVE:!tfa!([^:]*):[0-9A-F]{8}::", ticket)
    assert match, ticket
    return match.group(1)


def test_the_simulator_sends_proxmox_tfa_challenge_shape(simulator) -> None:
    data = simulator.login(*TFA_USER)
    assert data["NeedTFA"] == 1
    raw = challenge_data(data["ticket"])
    # pve-common Ticket.pm: uri_escape($data, ':') -- only ':' is escaped
    assert "%3A" in raw and "{" in raw and '"' in raw and "%22" not in raw
    challenge = json.loads(urllib.parse.unquote(raw))
    assert challenge["totp"] is True
    # the indices of the unused keys (other tests may have used some)
    assert challenge["recovery"] and set(challenge["recovery"]) <= set(
        range(len(simulator.recovery_keys))
    )
    assert "webauthn" not in challenge and "yubico" not in challenge

    hw = json.loads(urllib.parse.unquote(challenge_data(simulator.login(*HWKEY_USER)["ticket"])))
    assert set(hw) == {"webauthn", "yubico"} and hw["yubico"] is True
    assert set(hw["webauthn"]["publicKey"]) >= {"challenge", "rpId", "allowCredentials"}

    keys = json.loads(
        urllib.parse.unquote(challenge_data(simulator.login(*RECOVERY_USER)["ticket"]))
    )
    assert keys == {"recovery": [0, 1]}


def test_challenge_methods_are_parsed_from_the_ticket(simulator) -> None:
    parsed = TwoFactorRequired(simulator.login(*TFA_USER)["ticket"], TFA_USER[0])
    assert parsed.methods == {"totp", "recovery"}
    hw = TwoFactorRequired(simulator.login(*HWKEY_USER)["ticket"], HWKEY_USER[0])
    assert hw.methods == {"webauthn", "yubico"}


async def test_hardware_key_only_account_gets_a_clear_message(
    service: SignInService, simulator
) -> None:
    await sign_in_first_use(service, creds(simulator.api), simulator.root_password)
    c = creds(simulator.api, username=HWKEY_USER[0].split("@")[0], realm="pve")
    outcome = await service.sign_in(c, HWKEY_USER[1])
    assert isinstance(outcome, Failed), outcome
    assert "WebAuthn / Yubico OTP" in outcome.message
    assert "cannot ask for" in outcome.message


async def test_recovery_only_account_is_offered_recovery_keys_only(
    service: SignInService, simulator
) -> None:
    await sign_in_first_use(service, creds(simulator.api), simulator.root_password)
    c = creds(simulator.api, username=RECOVERY_USER[0].split("@")[0], realm="pve")
    step = await service.sign_in(c, RECOVERY_USER[1])
    assert isinstance(step, TwoFactorNeeded) and step.methods == ("recovery",)
    refused = await service.complete_two_factor(step.pending_id, "123456", False, c.client_ip)
    assert isinstance(refused, Failed) and "recovery key" in refused.message
    done = await service.complete_two_factor(
        step.pending_id, RECOVERY_ONLY_KEYS[1], True, c.client_ip
    )
    assert isinstance(done, SignedIn)
    # the used key keeps its index: the next challenge lists only key 0
    after = TwoFactorRequired(simulator.login(*RECOVERY_USER)["ticket"], RECOVERY_USER[0])
    assert after.challenge["recovery"] == [0]


async def test_totp_account_is_offered_both(service: SignInService, simulator) -> None:
    await sign_in_first_use(service, creds(simulator.api), simulator.root_password)
    c = creds(simulator.api, username=TFA_USER[0].split("@")[0], realm="pve")
    step = await service.sign_in(c, TFA_USER[1])
    assert isinstance(step, TwoFactorNeeded) and step.methods == ("totp", "recovery")
    done = await service.complete_two_factor(
        step.pending_id, pyotp.TOTP(simulator.totp_secret).now(), False, c.client_ip
    )
    assert isinstance(done, SignedIn)
