"""The request's rules, its Proxmox parameters (checked against the official schema) and
its JSON round trip."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import os
import re
import struct
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lxc_manager.provisioning.request import (
    MSG_VMID,
    CreateRequest,
    container_os,
    needs_ssh,
    proxmox_params,
    request_from_json,
    request_to_json,
    root_features_value,
    validate_request,
)
from lxc_manager.templates.spec import Features, FileSpec, PackageSpec, ScriptSpec

SCHEMA_PATH = Path(__file__).resolve().parents[3].parent / "shared/reference/pve-api-schema.json"


def _key(kind: str = "ssh-ed25519", comment: str = "me@laptop") -> str:
    name = kind.encode()
    blob = struct.pack(">I", len(name)) + name + struct.pack(">I", 32) + bytes(range(32))
    return f"{kind} {base64.b64encode(blob).decode()} {comment}".strip()


def _request(**changes: Any) -> CreateRequest:
    req = CreateRequest(
        node_id=1,
        pve_node="pve1",
        vmid=105,
        hostname="web-1",
        os_template="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        storage="local-lvm",
        disk_gb=8,
        cores=2,
        memory_mb=1024,
        swap_mb=512,
        bridge="vmbr0",
        ipv4="dhcp",
        gateway="",
        nameserver="",
        searchdomain="",
        ssh_public_keys="",
        features=Features(),
        tags=(),
        onboot=False,
        template_id=None,
        template_name="",
        scripts=(),
        files=(),
        packages=(),
    )
    return dataclasses.replace(req, **changes)


RICH = _request(
    vmid=999_999_999,
    hostname="app.example.org",
    ipv4="10.0.0.5/24",
    gateway="10.0.0.1",
    nameserver="1.1.1.1, 2606:4700:4700::1111",
    searchdomain="example.org  lab.example.org",
    ssh_public_keys=f"# laptop\n{_key()}\n\n{_key('ecdsa-sha2-nistp256', '')}\n",
    features=Features(unprivileged=True, nesting=True, keyctl=True),
    tags=("web", "prod"),
    onboot=True,
    template_id=7,
    template_name="Web app",
    scripts=(ScriptSpec("10-a.sh", "echo a"), ScriptSpec("20-b.sh", "echo b", enabled=False)),
    files=(FileSpec("motd", "/etc/motd", "hi\n", "backup", "0600"),),
    packages=(PackageSpec("apt", "nginx", "1.22*"), PackageSpec("custom", "tool", command="true")),
)


# -- validate_request -------------------------------------------------------------------------


def test_valid_requests_pass() -> None:
    assert validate_request(_request(), has_ssh=False) == {}
    assert validate_request(RICH, has_ssh=True) == {}
    assert validate_request(_request(vmid=100, hostname="a" * 63), has_ssh=False) == {}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"vmid": 99}, "vmid", MSG_VMID),
        ({"vmid": 1_000_000_000}, "vmid", MSG_VMID),
        ({"vmid": True}, "vmid", MSG_VMID),
        ({"hostname": ""}, "hostname", "Enter a host name, e.g. web-1"),
        ({"hostname": "a" * 64}, "hostname", "Each part of a host name is at most 63 characters"),
        (
            {"hostname": ".".join(["a" * 60] * 5)},
            "hostname",
            "A host name is at most 253 characters",
        ),
        ({"hostname": "web_1"}, "hostname", None),
        ({"hostname": "-web"}, "hostname", None),
        ({"hostname": "web..lan"}, "hostname", None),
        ({"pve_node": "pve 1"}, "pve_node", "Choose a Proxmox node"),
        ({"node_id": 0}, "node_id", "Choose a node"),
        ({"os_template": "debian-12"}, "os_template", None),
        ({"os_template": ""}, "os_template", "Choose an OS template"),
        ({"storage": "local lvm"}, "storage", "A storage id looks like local-lvm"),
        ({"disk_gb": 0}, "disk_gb", "Disk size (GB) must be a whole number between 1 and 131072"),
        ({"cores": 9000}, "cores", None),
        ({"memory_mb": 8}, "memory_mb", None),
        ({"swap_mb": -1}, "swap_mb", None),
        ({"bridge": ""}, "bridge", "Choose a network bridge"),
        ({"ipv4": "10.0.0.5"}, "ipv4", None),
        ({"ipv4": "10.0.0.300/24"}, "ipv4", None),
        ({"ipv4": "10.0.0.0/24"}, "ipv4", "10.0.0.0 is the network's own or broadcast address"),
        ({"ipv4": "127.0.0.5/8"}, "ipv4", "This address cannot be given to a container"),
        ({"gateway": "10.0.0.1"}, "gateway", None),  # with dhcp
        ({"ipv4": "10.0.0.5/24", "gateway": "10.0.0"}, "gateway", None),
        ({"ipv4": "10.0.0.5/24", "gateway": "10.0.0.5"}, "gateway", None),
        ({"nameserver": "1.1.1.1 dns.google"}, "nameserver", None),
        ({"searchdomain": "exa_mple.org"}, "searchdomain", None),
        ({"ssh_public_keys": "ssh-ed25519"}, "ssh_public_keys", None),
        ({"ssh_public_keys": "ssh-ed25519 not-base64!"}, "ssh_public_keys", None),
        ({"ssh_public_keys": "ssh-rsa " + _key().split()[1]}, "ssh_public_keys", None),
        (
            {"ssh_public_keys": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n"},
            "ssh_public_keys",
            "This is a private key: paste the public key (the .pub file) instead",
        ),
        ({"tags": ("Web",)}, "tags", None),
        ({"tags": tuple(f"t{i}" for i in range(17))}, "tags", "At most 16 tags"),
        ({"features": Features(unprivileged=False, keyctl=True)}, "features.keyctl", None),
        ({"scripts": (ScriptSpec("bad name", "x"),)}, "scripts.0.name", None),
        ({"files": (FileSpec("f", "etc/x", "x"),)}, "files.0.target_path", None),
        ({"files": (FileSpec("f", "/etc/x", "x", mode="999"),)}, "files.0.mode", None),
        ({"packages": (PackageSpec("apt", "Nginx"),)}, "packages.0.name", None),
        ({"template_name": "x" * 65}, "template_name", None),
    ],
)
def test_each_bad_field_gets_its_message(
    changes: dict[str, Any], field: str, message: str | None
) -> None:
    errors = validate_request(_request(**changes), has_ssh=True)
    assert field in errors, errors
    if message is not None:
        assert errors[field] == message
    assert errors[field] and "Traceback" not in errors[field]


def test_the_second_bad_key_is_named() -> None:
    keys = f"{_key()}\nssh-ed25519 AAAA"
    assert validate_request(_request(ssh_public_keys=keys), has_ssh=False) == {
        "ssh_public_keys": "Key 2: The key data of a ssh-ed25519 key is not valid base64"
    }


def test_without_ssh_only_api_work_is_accepted() -> None:
    errors = validate_request(RICH, has_ssh=False)
    assert set(errors) == {"files", "packages", "scripts", "features"}
    assert all("SSH credentials" in message for message in errors.values())
    only_disabled = _request(scripts=(ScriptSpec("a.sh", "x", enabled=False),))
    assert validate_request(only_disabled, has_ssh=False) == {}
    assert not needs_ssh(only_disabled) and needs_ssh(RICH)
    nesting = _request(features=Features(nesting=True))
    assert validate_request(nesting, has_ssh=False) == {} and not needs_ssh(nesting)


# -- proxmox_params -----------------------------------------------------------------------------


def test_params_of_a_blank_request() -> None:
    assert proxmox_params(_request()) == {
        "vmid": 105,
        "hostname": "web-1",
        "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "rootfs": "local-lvm:8",
        "cores": 2,
        "memory": 1024,
        "swap": 512,
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
        "unprivileged": 1,
        "onboot": 0,
        "start": 0,
    }


def test_params_of_a_rich_request() -> None:
    params = proxmox_params(RICH)
    assert params["net0"] == "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1"
    assert params["features"] == "nesting=1"  # keyctl goes through pct set
    assert root_features_value(RICH.features) == "nesting=1,keyctl=1"
    assert root_features_value(Features(nesting=True)) is None
    assert params["tags"] == "web;prod" and params["onboot"] == 1
    assert params["nameserver"] == "1.1.1.1 2606:4700:4700::1111"
    assert params["searchdomain"] == "example.org lab.example.org"
    assert params["ssh-public-keys"] == f"{_key()}\n{_key('ecdsa-sha2-nistp256', '')}"
    assert "password" not in params and "start" in params and params["start"] == 0


@cache
def _create_schema() -> dict[str, Any]:
    if not SCHEMA_PATH.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the official schema at {SCHEMA_PATH}")
        pytest.skip(f"the official schema is not beside the clone ({SCHEMA_PATH})")

    def find(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
        for node in nodes:
            if node["path"] == "/nodes/{node}/lxc":
                return node
            found = find(node.get("children", []))
            if found is not None:
                return found
        return None

    node = find(json.loads(SCHEMA_PATH.read_text()))
    assert node is not None
    properties: dict[str, Any] = node["info"]["POST"]["parameters"]["properties"]
    return properties


def _pattern(text: str) -> re.Pattern[str]:
    """Perl's `(?^:...)` groups as Python ones."""
    return re.compile(text.replace("(?^:", "(?:"))


_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?"
_FORMATS = {
    "dns-name": lambda v: re.fullmatch(rf"(?:{_LABEL}\.)*{_LABEL}", v) is not None,
    "dns-name-list": lambda v: all(_FORMATS["dns-name"](p) for p in re.split(r"[;, ]+", v)),
    "pve-tag-list": lambda v: all(
        re.fullmatch(r"[a-z0-9_][a-z0-9_\-+.]*", t, re.I) for t in re.split(r"[;, ]+", v)
    ),
    "lxc-ip-with-ll-iface-list": lambda v: all(
        ipaddress.ip_address(p) is not None for p in re.split(r"[;, ]+", v)
    ),
    "pve-storage-id": lambda v: re.fullmatch(r"[a-z][a-z0-9\-_.]*[a-z0-9]", v, re.I) is not None,
    "pve-vmid": lambda v: True,
    "ipv4": lambda v: ipaddress.IPv4Address(v) is not None,
    "pve-ipv4-config": lambda v: v in ("dhcp", "manual") or ipaddress.IPv4Interface(v) is not None,
    "pve-lxc-mp-string": lambda v: re.fullmatch(r"[A-Za-z][\w.-]*:\d+", v) is not None,
}


def _check_value(name: str, value: Any, spec: dict[str, Any]) -> None:
    kind = spec.get("type")
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), name
        assert spec.get("minimum", value) <= value <= spec.get("maximum", value), name
    elif kind == "boolean":
        assert value in (0, 1, "0", "1"), name
    elif kind == "string":
        text = str(value)
        assert len(text) <= spec.get("maxLength", len(text)), name
        if "enum" in spec:
            assert text in spec["enum"], name
        if "pattern" in spec:
            assert _pattern(spec["pattern"]).fullmatch(text), (name, text)
        fmt = spec.get("format")
        if isinstance(fmt, dict):
            _check_property_string(name, text, fmt)
        elif isinstance(fmt, str):
            assert fmt in _FORMATS, f"no checker for format {fmt} ({name})"
            assert _FORMATS[fmt](text), (name, text)
    else:
        raise AssertionError(f"unexpected type {kind} of {name}")


def _check_property_string(name: str, text: str, fmt: dict[str, Any]) -> None:
    default_key = next((k for k, v in fmt.items() if v.get("default_key")), None)
    seen = set()
    for index, part in enumerate(text.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            assert index == 0 and default_key, (name, part)
            key, value = default_key, part
        assert key in fmt, f"{name}: {key} is not a key of the format"
        _check_value(f"{name}.{key}", value, fmt[key])
        seen.add(key)
    required = {k for k, v in fmt.items() if not v.get("optional") and not v.get("default_key")}
    assert required <= seen, (name, required - seen)


@pytest.mark.parametrize("req", [_request(), RICH], ids=["blank", "rich"])
def test_params_follow_the_official_schema(req: CreateRequest) -> None:
    schema = _create_schema()
    params = proxmox_params(req)
    required = {k for k, v in schema.items() if not v.get("optional") and k != "node"}
    assert required <= set(params), required - set(params)
    for name, value in params.items():
        declared = re.sub(r"\d+$", "[n]", name) if name.startswith("net") else name
        assert declared in schema, f"{name} is not a parameter of POST /nodes/{{node}}/lxc"
        _check_value(name, value, schema[declared])


# -- JSON, OS name --------------------------------------------------------------------------------


def test_json_round_trip() -> None:
    for req in (_request(), RICH):
        text = request_to_json(req)
        assert request_from_json(text) == req
        assert json.loads(text)["features"]["keyctl"] is req.features.keyctl


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"node_id": "1"}',
        request_to_json(_request()).replace('"onboot":false', '"onboot":"no"'),
        request_to_json(RICH).replace('"policy":"backup"', '"policy":"sometimes"'),
        request_to_json(RICH).replace('"manager":"apt"', '"manager":"yum"'),
        "not json",
    ],
)
def test_malformed_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        request_from_json(text)


@pytest.mark.parametrize(
    ("volid", "name"),
    [
        ("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "debian-12"),
        ("local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04"),
        ("nfs:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz", "alpine-3.20"),
        ("local:vztmpl/archlinux-base_20240911-1_amd64.tar.zst", "archlinux-base"),
    ],
)
def test_container_os(volid: str, name: str) -> None:
    assert container_os(volid) == name
