"""Authentication and authorisation of the simulator's API, driven with plain httpx."""

from __future__ import annotations

import re
import time

import httpx
import pyotp

TICKET = re.compile(r"^PVE:(?P<user>[^:]+):(?P<time>[0-9A-F]{8})::[A-Za-z0-9+/=]+$")
TFA_TICKET = re.compile(r"^PVE:!tfa![^:]+:[0-9A-F]{8}::[A-Za-z0-9+/=]+$")
CSRF = re.compile(r"^[0-9A-F]{8}:[A-Za-z0-9+/]+$")


def test_ticket_login_with_form_returns_pve_shapes(simulator) -> None:
    data = simulator.login("root@pam", simulator.root_password)
    assert data["username"] == "root@pam"
    match = TICKET.match(data["ticket"])
    assert match and match["user"] == "root@pam"
    assert abs(int(match["time"], 16) - time.time()) < 60
    assert CSRF.match(data["CSRFPreventionToken"])
    assert data["clustername"] == simulator.cluster
    assert data["cap"]["vms"]["VM.Allocate"] == 1
    assert set(data["cap"]) >= {"vms", "storage", "access", "nodes", "dc"}
    assert "NeedTFA" not in data


def test_ticket_login_with_json_and_realm_parameter(simulator) -> None:
    with simulator.anonymous() as client:
        response = client.post(
            "/access/ticket",
            json={"username": "root", "realm": "pam", "password": simulator.root_password},
        )
    assert response.status_code == 200
    assert response.json()["data"]["username"] == "root@pam"


def test_wrong_password_is_401_authentication_failure_after_the_delay(simulator) -> None:
    with simulator.anonymous() as client:
        started = time.monotonic()
        response = client.post("/access/ticket", data={"username": "root@pam", "password": "wrong"})
        elapsed = time.monotonic() - started
    assert response.status_code == 401
    assert response.reason_phrase == "authentication failure"
    assert response.json() == {"data": None, "message": "authentication failure\n"}
    assert elapsed >= 0.1


def test_unknown_user_fails_like_a_wrong_password(simulator) -> None:
    with simulator.anonymous() as client:
        response = client.post("/access/ticket", data={"username": "nobody@pve", "password": "x"})
    assert response.status_code == 401
    assert response.json()["message"] == "authentication failure\n"


def test_missing_credentials_answer_401_with_an_empty_body(simulator) -> None:
    with simulator.anonymous() as client:
        response = client.get("/nodes")
    assert response.status_code == 401
    assert response.content == b""


def test_bad_ticket_and_bad_token_are_401(simulator) -> None:
    forged_cookie = {"PVEAuthCookie": "PVE:root@pam:6543ABCD::Zm9v"}
    with simulator.anonymous(cookies=forged_cookie) as forger:
        forged = forger.get("/nodes")
    with simulator.anonymous() as client:
        bad_token = client.get(
            "/nodes", headers={"Authorization": f"PVEAPIToken={simulator.token_id}=not-the-secret"}
        )
        unknown_token = client.get(
            "/nodes", headers={"Authorization": "PVEAPIToken=root@pam!nope=whatever"}
        )
    for response in (forged, bad_token, unknown_token):
        assert response.status_code == 401
        assert response.content == b""


def test_ticket_cookie_reads_and_csrf_is_required_for_writes(simulator) -> None:
    data = simulator.login()
    cookies = {"PVEAuthCookie": data["ticket"]}
    with simulator.anonymous(cookies=cookies) as client:
        assert client.get("/nodes").status_code == 200
        vmid = _stopped_container(client)
        node = _node_of(client, vmid)
        no_csrf = client.post(f"/nodes/{node}/lxc/{vmid}/status/start")
        bad_csrf = client.post(
            f"/nodes/{node}/lxc/{vmid}/status/start",
            headers={"CSRFPreventionToken": "6543ABCD:forged"},
        )
        assert no_csrf.status_code == 401
        assert bad_csrf.status_code == 401
        assert no_csrf.content == b""
        csrf = {"CSRFPreventionToken": data["CSRFPreventionToken"]}
        ok = client.post(f"/nodes/{node}/lxc/{vmid}/status/start", headers=csrf)
        assert ok.status_code == 200, ok.text
        assert simulator.wait_task(client, ok.json()["data"])["exitstatus"] == "OK"
        stop = client.post(f"/nodes/{node}/lxc/{vmid}/status/stop", headers=csrf)
        assert simulator.wait_task(client, stop.json()["data"])["exitstatus"] == "OK"


def test_ticket_in_authorization_header_is_accepted(simulator) -> None:
    ticket = simulator.login()["ticket"]
    with simulator.anonymous(headers={"Authorization": f"PVEAuthCookie={ticket}"}) as client:
        assert client.get("/version").status_code == 200


def test_ticket_renewal_with_the_ticket_as_password(simulator) -> None:
    first = simulator.login()
    renewed = simulator.login("root@pam", first["ticket"])
    assert TICKET.match(renewed["ticket"])
    with simulator.anonymous(cookies={"PVEAuthCookie": renewed["ticket"]}) as client:
        assert client.get("/version").status_code == 200


def test_ticket_expires_after_two_hours_of_simulator_time(reset_faults) -> None:
    sim = reset_faults
    ticket = sim.login()["ticket"]
    with sim.anonymous(cookies={"PVEAuthCookie": ticket}) as client:
        sim.admin_call("POST", "/_sim/advance", {"seconds": 7000})
        assert client.get("/version").status_code == 200
        sim.admin_call("POST", "/_sim/advance", {"seconds": 300})
        expired = client.get("/version")
        assert expired.status_code == 401
        renewal = client.post("/access/ticket", data={"username": "root@pam", "password": ticket})
        assert renewal.status_code == 401


def test_two_factor_login_with_totp(simulator) -> None:
    first = simulator.login(simulator.tfa_user, simulator.tfa_password)
    assert first["NeedTFA"] == 1
    assert TFA_TICKET.match(first["ticket"])
    assert "cap" not in first
    with simulator.anonymous(cookies={"PVEAuthCookie": first["ticket"]}) as half:
        assert half.get("/version").status_code == 401
    with simulator.anonymous() as client:
        code = pyotp.TOTP(simulator.totp_secret).now()
        response = client.post(
            "/access/ticket",
            data={
                "username": simulator.tfa_user,
                "tfa-challenge": first["ticket"],
                "password": f"totp:{code}",
            },
        )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert TICKET.match(data["ticket"]) and "NeedTFA" not in data
    with simulator.anonymous(cookies={"PVEAuthCookie": data["ticket"]}) as client:
        assert client.get("/version").status_code == 200


def test_two_factor_wrong_code_is_401(simulator) -> None:
    first = simulator.login(simulator.tfa_user, simulator.tfa_password)
    code = pyotp.TOTP(simulator.totp_secret).now()
    wrong = f"{(int(code) + 500_000) % 1_000_000:06d}"
    with simulator.anonymous() as client:
        response = client.post(
            "/access/ticket",
            data={
                "username": simulator.tfa_user,
                "tfa-challenge": first["ticket"],
                "password": f"totp:{wrong}",
            },
        )
        forged = client.post(
            "/access/ticket",
            data={
                "username": simulator.tfa_user,
                "tfa-challenge": "PVE:!tfa!x:6543ABCD::Zm9v",
                "password": f"totp:{code}",
            },
        )
    assert response.status_code == 401
    assert forged.status_code == 401


def test_two_factor_recovery_keys_are_single_use(simulator) -> None:
    assert len(simulator.recovery_keys) == 5
    assert simulator.recovery_keys[-1] == "fixed-recovery-key-1"
    key = simulator.recovery_keys[0]
    with simulator.anonymous() as client:
        answers = []
        for _ in range(2):
            first = simulator.login(simulator.tfa_user, simulator.tfa_password)
            answers.append(
                client.post(
                    "/access/ticket",
                    data={
                        "username": simulator.tfa_user,
                        "tfa-challenge": first["ticket"],
                        "password": f"recovery:{key}",
                    },
                )
            )
    assert answers[0].status_code == 200
    assert answers[1].status_code == 401


def test_api_token_privsep_limits_to_its_own_acl(simulator) -> None:
    with simulator.client(simulator.privsep_token_id, simulator.privsep_token_secret) as ro:
        assert ro.get("/cluster/status").status_code == 200
        vmid = _stopped_container(ro)
        node = _node_of(ro, vmid)
        denied = ro.post(f"/nodes/{node}/lxc/{vmid}/status/start")
    assert denied.status_code == 403
    assert denied.json() == {
        "data": None,
        "message": f"Permission check failed (/vms/{vmid}, VM.PowerMgmt)\n",
    }


def test_privsep_token_is_the_intersection_with_its_user(simulator) -> None:
    with simulator.client(simulator.auditor_token_id, simulator.auditor_token_secret) as tok:
        vmid = _stopped_container(tok)
        node = _node_of(tok, vmid)
        assert tok.get(f"/nodes/{node}/lxc/{vmid}/status/current").status_code == 200
        assert tok.post(f"/nodes/{node}/lxc/{vmid}/status/start").status_code == 403
        perms = tok.get("/access/permissions").json()["data"]
    # PVEVMAdmin holds VM.* only (pve-access-control src/PVE/AccessControl.pm, create_roles)
    assert perms["/vms"] == {"VM.Audit": 1}
    with simulator.client(simulator.vmadmin_token_id, simulator.vmadmin_token_secret) as vma:
        perms = vma.get("/access/permissions").json()["data"]
        assert "VM.PowerMgmt" in perms["/vms"]
        assert "Sys.Audit" not in perms.get("/", {})
        assert vma.get("/cluster/status").status_code == 403


def test_token_without_privsep_has_its_users_privileges(simulator, root_api) -> None:
    perms = root_api.get("/access/permissions").json()["data"]
    assert perms["/"]["Sys.Modify"] == 1
    assert perms["/vms"]["VM.Allocate"] == 1


def test_auditor_user_reads_but_cannot_change(simulator) -> None:
    with simulator.ticket_client(simulator.auditor_user, simulator.auditor_password) as client:
        assert client.get("/cluster/status").status_code == 200
        resources = client.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        assert resources
        vmid = _stopped_container(client)
        node = _node_of(client, vmid)
        denied = client.post(f"/nodes/{node}/lxc/{vmid}/status/start")
        assert denied.status_code == 403
        assert denied.json()["message"].startswith("Permission check failed")
        create = client.post(
            f"/nodes/{node}/lxc",
            data={
                "vmid": 990,
                "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            },
        )
        assert create.status_code == 403


def test_access_permissions_shape_and_filters(simulator) -> None:
    with simulator.ticket_client(simulator.auditor_user, simulator.auditor_password) as client:
        perms = client.get("/access/permissions").json()["data"]
        only_vms = client.get("/access/permissions", params={"path": "/vms"}).json()["data"]
        other = client.get("/access/permissions", params={"userid": "root@pam"})
    assert perms["/"] == {
        p: 1
        for p in (
            "Datastore.Audit",
            "Mapping.Audit",
            "Pool.Audit",
            "SDN.Audit",
            "Sys.Audit",
            "VM.Audit",
        )
    }
    assert all(isinstance(v, dict) and set(v.values()) == {1} for v in perms.values())
    assert list(only_vms) == ["/vms"]
    assert other.status_code == 200  # the auditor has Sys.Audit on /access
    with simulator.client(simulator.auditor_token_id, simulator.auditor_token_secret) as tok:
        # its own permissions yes, another user's needs Sys.Audit on /access (not in the
        # intersection of PVEAuditor and PVEVMAdmin)
        assert (
            tok.get(
                "/access/permissions", params={"userid": simulator.auditor_token_id}
            ).status_code
            == 200
        )
        assert tok.get("/access/permissions", params={"userid": "root@pam"}).status_code == 403


def test_access_domains_is_public(simulator) -> None:
    with simulator.anonymous() as client:
        response = client.get("/access/domains")
    assert response.status_code == 200
    realms = {r["realm"]: r for r in response.json()["data"]}
    assert set(realms) == {"pam", "pve"}
    assert realms["pam"]["type"] == "pam"


def test_api_tokens_cannot_request_tickets_with_their_secret(simulator) -> None:
    with simulator.anonymous() as client:
        response = client.post(
            "/access/ticket",
            data={"username": simulator.token_id, "password": simulator.token_secret},
        )
    assert response.status_code == 401


def _stopped_container(client: httpx.Client) -> int:
    resources = client.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    stopped = [
        r["vmid"]
        for r in resources
        if r["type"] == "lxc"
        and r["status"] == "stopped"
        and not r.get("lock")
        and not r.get("hastate")  # HA resources start through HA, later
    ]
    assert stopped, "the seeded cluster should have stopped containers"
    return stopped[-1]


def _node_of(client: httpx.Client, vmid: int) -> str:
    resources = client.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    return next(r["node"] for r in resources if r["vmid"] == vmid)
