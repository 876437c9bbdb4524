"""Cluster-wide and per-node read endpoints of the simulator, with their PVE shapes."""

from __future__ import annotations

import re
import ssl
import time
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes


def test_served_certificate_matches_the_ready_fingerprint(simulator) -> None:
    url = urlsplit(simulator.api)
    pem = ssl.get_server_certificate((url.hostname, url.port))
    der = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256())
    assert ":".join(f"{b:02X}" for b in der) == simulator.tls_sha256


def test_version(api) -> None:
    response = api.get("/version")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()["data"]
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", data["version"])
    assert data["release"] == ".".join(data["version"].split(".")[:2])
    assert re.fullmatch(r"[0-9a-f]{8,64}", data["repoid"])


def test_cluster_status_lists_cluster_and_nodes(simulator, api) -> None:
    data = api.get("/cluster/status").json()["data"]
    cluster = [e for e in data if e["type"] == "cluster"]
    nodes = [e for e in data if e["type"] == "node"]
    assert cluster == [
        {
            "type": "cluster",
            "id": "cluster",
            "name": simulator.cluster,
            "nodes": 3,
            "quorate": 1,
            "version": cluster[0]["version"],
        }
    ]
    assert [n["name"] for n in nodes] == simulator.nodes == ["pve1", "pve2", "pve3"]
    assert [n["local"] for n in nodes] == [1, 0, 0]
    assert all(n["online"] == 1 and n["id"] == f"node/{n['name']}" for n in nodes)
    assert len({n["ip"] for n in nodes}) == 3


def test_cluster_resources_all_types(api) -> None:
    data = api.get("/cluster/resources").json()["data"]
    types = {r["type"] for r in data}
    assert types == {"node", "lxc", "qemu", "storage", "sdn"}
    guests = [r for r in data if r["type"] in ("lxc", "qemu")]
    assert len([g for g in guests if g["type"] == "lxc"]) >= 12
    assert len([g for g in guests if g["type"] == "qemu"]) == 2
    for guest in guests:
        assert guest["id"] == f"{guest['type']}/{guest['vmid']}"
        assert isinstance(guest["vmid"], int)
        assert guest["status"] in ("running", "stopped")
        assert guest["template"] == 0
        for key in ("maxcpu", "maxmem", "maxdisk", "cpu", "mem", "disk", "uptime", "netin"):
            assert key in guest
    storages = {(r["node"], r["storage"]) for r in data if r["type"] == "storage"}
    assert ("pve1", "local") in storages and ("pve3", "local-lvm") in storages


def test_cluster_resources_type_filter_and_realistic_seed(api) -> None:
    vms = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    assert {r["type"] for r in vms} == {"lxc", "qemu"}
    names = [r["name"] for r in vms if r["type"] == "lxc"]
    assert all(re.fullmatch(r"[a-z]+-\d{2}", n) for n in names if not n.startswith("test-"))
    statuses = {r["status"] for r in vms if r["type"] == "lxc"}
    assert statuses == {"running", "stopped"}
    nodes = api.get("/cluster/resources", params={"type": "node"}).json()["data"]
    assert [n["node"] for n in nodes] == ["pve1", "pve2", "pve3"]
    assert all(n["status"] == "online" and n["maxcpu"] > 0 for n in nodes)
    bad = api.get("/cluster/resources", params={"type": "container"})
    assert bad.status_code == 400
    assert "enumeration" in bad.json()["errors"]["type"]


def test_running_container_numbers_move_over_time(api) -> None:
    def sample() -> dict[int, tuple[float, int, int]]:
        data = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        return {
            r["vmid"]: (r["cpu"], r["mem"], r["uptime"])
            for r in data
            if r["type"] == "lxc" and r["status"] == "running"
        }

    first = sample()
    time.sleep(1.1)
    second = sample()
    common = set(first) & set(second)
    assert common
    assert any(first[v][:2] != second[v][:2] for v in common)
    assert all(second[v][2] >= first[v][2] + 1 for v in common)


def test_nextid_and_vmid_rules(api) -> None:
    taken = {r["vmid"] for r in api.get("/cluster/resources", params={"type": "vm"}).json()["data"]}
    nextid = api.get("/cluster/nextid")
    assert nextid.status_code == 200
    free = int(nextid.json()["data"])
    assert free >= 100 and free not in taken
    assert all(v in taken for v in range(100, free))
    occupied = min(taken)
    response = api.get("/cluster/nextid", params={"vmid": occupied})
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert body["message"] == "Parameter verification failed.\n"
    assert body["errors"] == {"vmid": f"VM {occupied} already exists"}
    assert int(api.get("/cluster/nextid", params={"vmid": 4242}).json()["data"]) == 4242
    for bad in ("99", "1000000000", "abc"):
        answer = api.get("/cluster/nextid", params={"vmid": bad})
        assert answer.status_code == 400
        assert "vmid" in answer.json()["errors"]


def test_nodes_list(simulator, api) -> None:
    data = api.get("/nodes").json()["data"]
    assert [n["node"] for n in data] == simulator.nodes
    for node in data:
        assert node["status"] == "online"
        assert node["ssl_fingerprint"] == simulator.tls_sha256
        assert 0 <= node["cpu"] <= 1 and 0 < node["mem"] < node["maxmem"]
        assert node["uptime"] > 0


def test_node_status(api) -> None:
    data = api.get("/nodes/pve1/status").json()["data"]
    assert data["pveversion"].startswith("pve-manager/")
    assert data["memory"]["total"] == data["memory"]["used"] + data["memory"]["free"]
    assert data["cpuinfo"]["cpus"] >= data["cpuinfo"]["cores"] >= 1
    assert len(data["loadavg"]) == 3 and all(isinstance(x, str) for x in data["loadavg"])
    assert data["boot-info"]["mode"] in ("efi", "legacy-bios")
    assert data["current-kernel"]["sysname"] == "Linux"
    unknown = api.get("/nodes/pve9/status")
    assert unknown.status_code == 500
    assert "pve9" in unknown.json()["message"]


def test_node_network_and_type_filter(api) -> None:
    data = api.get("/nodes/pve2/network").json()["data"]
    bridges = [i for i in data if i["type"] == "bridge"]
    assert [b["iface"] for b in bridges] == ["vmbr0"]
    assert bridges[0]["active"] == 1 and bridges[0]["autostart"] == 1
    assert bridges[0]["bridge_ports"] == "eno1"
    only = api.get("/nodes/pve2/network", params={"type": "bridge"}).json()["data"]
    assert [i["iface"] for i in only] == ["vmbr0"]
    any_bridge = api.get("/nodes/pve2/network", params={"type": "any_bridge"}).json()["data"]
    assert [i["iface"] for i in any_bridge] == ["vmbr0", "vnet1"]  # + the seeded SDN vnet
    eth = api.get("/nodes/pve2/network", params={"type": "eth"}).json()["data"]
    assert [i["iface"] for i in eth] == ["eno1"]


def test_node_storage_and_content_filter(api) -> None:
    data = {s["storage"]: s for s in api.get("/nodes/pve1/storage").json()["data"]}
    assert set(data) == {"local", "local-lvm", "nas"}
    assert set(data["local"]["content"].split(",")) == {"vztmpl", "iso", "backup"}
    assert set(data["local-lvm"]["content"].split(",")) == {"rootdir", "images"}
    assert set(data["nas"]["content"].split(",")) == {"backup", "rootdir", "images"}
    assert data["nas"]["shared"] == 1 and data["local"]["shared"] == 0
    for storage in data.values():
        assert storage["total"] == storage["used"] + storage["avail"]
        assert storage["active"] == 1 and storage["enabled"] == 1
    rootdir = api.get("/nodes/pve1/storage", params={"content": "rootdir"}).json()["data"]
    assert [s["storage"] for s in rootdir] == ["local-lvm", "nas"]  # the node's first: local
    vztmpl = api.get("/nodes/pve1/storage", params={"content": "vztmpl"}).json()["data"]
    assert [s["storage"] for s in vztmpl] == ["local"]


def test_storage_content_templates(api) -> None:
    response = api.get("/nodes/pve1/storage/local/content", params={"content": "vztmpl"})
    volids = {v["volid"] for v in response.json()["data"]}
    assert volids == {
        "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
        "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
    }
    for volume in response.json()["data"]:
        assert volume["content"] == "vztmpl" and volume["size"] > 0
        assert volume["format"] in ("tzst", "txz")
    disks = api.get("/nodes/pve1/storage/local-lvm/content").json()["data"]
    assert disks and all(d["volid"].startswith("local-lvm:vm-") for d in disks)
    missing = api.get("/nodes/pve1/storage/nfs/content")
    assert missing.status_code == 500


def test_qemu_list(api) -> None:
    vms = [
        r
        for r in api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        if r["type"] == "qemu"
    ]
    node = vms[0]["node"]
    listed = api.get(f"/nodes/{node}/qemu").json()["data"]
    assert vms[0]["vmid"] in {v["vmid"] for v in listed}
    assert all(v["status"] in ("running", "stopped") and "name" in v for v in listed)


def test_unknown_route_and_method_are_501(api) -> None:
    missing = api.get("/nodes/pve1/nonsense")
    assert missing.status_code == 501
    assert missing.json()["message"] == "Method 'GET /nodes/pve1/nonsense' not implemented\n"
    assert api.delete("/version").status_code == 501


def test_parameter_errors_have_one_entry_per_parameter(api) -> None:
    response = api.post(
        "/nodes/pve1/lxc",
        data={"vmid": "abc", "memory": "8", "ostype": "windows", "bogus": "1", "onboot": "maybe"},
    )
    assert response.status_code == 400
    assert response.reason_phrase == "Parameter verification failed."
    body = response.json()
    assert body["data"] is None and body["message"] == "Parameter verification failed.\n"
    errors = body["errors"]
    assert set(errors) == {"vmid", "memory", "ostype", "bogus", "onboot", "ostemplate"}
    assert errors["vmid"] == "type check ('integer') failed - got 'abc'"
    assert errors["memory"] == "value must have a minimum value of 16"
    assert errors["ostemplate"] == "property is missing and it is not optional"
    assert "not defined in schema" in errors["bogus"]
    assert errors["onboot"] == "type check ('boolean') failed - got 'maybe'"


def test_property_strings_are_verified(api) -> None:
    response = api.post(
        "/nodes/pve1/lxc",
        data={
            "vmid": 950,
            "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            "net0": "name=eth0,bridge=vmbr0,colour=blue",
            "net1": "bridge=vmbr0",
            "net99": "name=eth9",
        },
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "colour" in errors["net0"]
    assert "name" in errors["net1"]
    assert "net99" in errors
