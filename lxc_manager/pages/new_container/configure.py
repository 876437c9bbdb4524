"""The wizard's Configure step: node, identity, resources, network, features."""

from __future__ import annotations

from typing import Any

import reflex as rx

from lxc_manager.pages.components.form import (
    Form,
    error,
    field,
    flag,
    radios,
    select,
    text_input,
    textarea,
)
from lxc_manager.pages.components.recipe_parts import resources_grid

from .state import FIELDS
from .state import WizardState as W

FORM = Form(errors=W.errors, id_prefix="wizard-", fields=FIELDS)


def _text(name: str, value: rx.Var[str], **props: Any) -> rx.Component:
    return text_input(FORM, name, value, lambda v: W.set_field(name, v), **props)


def _number(label: str, name: str, value: rx.Var[str]) -> rx.Component:
    return field(FORM, label, name, _text(name, value, input_mode="numeric"))


def _choice(
    label: str, name: str, value: rx.Var[str], items: Any, placeholder: str
) -> rx.Component:
    control = select(FORM, name, value, lambda v: W.set_choice(name, v), items, placeholder)
    return field(FORM, label, name, control)


def _flag(name: str, label: str, value: rx.Var[bool], hint: str = "") -> rx.Component:
    return flag(FORM, name, label, value, lambda v: W.set_flag(name, v), hint)


def _grid(*children: rx.Component, columns: str = "2") -> rx.Component:
    return rx.grid(*children, columns=columns, spacing="4", width="100%")


def root_warning(element_id: str) -> rx.Component:
    return rx.cond(
        W.root_warning != "",
        rx.callout(
            W.root_warning,
            icon="shield-alert",
            color_scheme="amber",
            size="1",
            width="100%",
            id=element_id,
        ),
    )


def _vmid_field() -> rx.Component:
    status = W.vmid_status
    control = rx.input(
        rx.input.slot(
            rx.match(
                status,
                ("free", rx.icon("circle-check", size=16, color=rx.color("green", 10))),
                ("taken", rx.icon("circle-x", size=16, color=rx.color("red", 10))),
                ("invalid", rx.icon("circle-x", size=16, color=rx.color("red", 10))),
                ("checking", rx.spinner(size="1")),
                rx.fragment(),
            ),
            side="right",
        ),
        id="wizard-vmid",
        value=W.vmid,
        on_change=W.set_vmid.debounce(300),
        input_mode="numeric",
        width="100%",
        color_scheme=rx.match(
            status, ("free", "green"), ("taken", "red"), ("invalid", "red"), "gray"
        ),
        custom_attrs={"aria-describedby": "wizard-vmid-status", "data-status": status},
    )
    message = rx.text(
        W.vmid_message,
        size="1",
        id="wizard-vmid-status",
        role="status",
        color=rx.match(
            status,
            ("free", rx.color("green", 11)),
            ("taken", rx.color("red", 11)),
            ("invalid", rx.color("red", 11)),
            rx.color("gray", 10),
        ),
    )
    return rx.vstack(
        rx.el.label(rx.text("VMID", size="2", weight="medium"), html_for=FORM.control_id("vmid")),
        control,
        message,
        spacing="1",
        width="100%",
    )


def _node_picker() -> rx.Component:
    picker = rx.select.root(
        rx.select.trigger(placeholder="Choose a node", id="wizard-node-select"),
        rx.select.content(
            rx.foreach(W.node_choices, lambda n: rx.select.item(n.name, value=n.id.to_string()))
        ),
        value=W.node_id.to_string(),
        on_change=W.choose_node,
        default_open=True,
    )
    change = rx.button(
        "Change node",
        size="1",
        variant="ghost",
        on_click=W.set_changing_node(True),
        id="wizard-change-node",
    )
    current = rx.badge(
        rx.icon("server", size=12), W.node_name, size="2", variant="soft", id="wizard-node-name"
    )
    return rx.vstack(
        rx.el.label(rx.text("Node", size="2", weight="medium"), html_for="wizard-node-select"),
        rx.hstack(
            current,
            rx.cond(W.options_loading, rx.spinner(size="1")),
            rx.cond(W.node_choices.length() > 1, rx.cond(W.changing_node, picker, change)),
            align="center",
            spacing="2",
        ),
        rx.cond(
            W.options_error != "",
            rx.text(W.options_error, size="1", color=rx.color("red", 11), role="alert"),
        ),
        error(FORM, "node_id"),
        spacing="1",
        width="100%",
    )


def _pve_node_picker() -> rx.Component:
    control = select(FORM, "pve_node", W.pve_node, W.choose_pve_node, W.pve_node_options, "Choose")
    return field(FORM, "Proxmox node", "pve_node", control)


def _ip_mode() -> rx.Component:
    return rx.vstack(
        rx.text("IPv4", size="2", weight="medium"),
        radios(
            (("dhcp", "DHCP", "wizard-ip-dhcp"), ("static", "Static", "wizard-ip-static")),
            W.ip_mode,
            lambda v: W.set_choice("ip_mode", v),
        ),
        spacing="1",
    )


def _network() -> rx.Component:
    bridge = rx.vstack(
        _choice("Bridge", "bridge", W.bridge, W.bridges, "Choose a bridge"),
        rx.cond(
            W.bridge_note != "",
            rx.text(W.bridge_note, size="1", color=rx.color("amber", 11), id="wizard-bridge-note"),
        ),
        spacing="1",
        width="100%",
    )
    static = _grid(
        field(FORM, "Address (CIDR)", "ipv4", _text("ipv4", W.ipv4, placeholder="192.168.1.50/24")),
        field(FORM, "Gateway", "gateway", _text("gateway", W.gateway, placeholder="192.168.1.1")),
    )
    dns = _grid(
        field(
            FORM,
            "DNS servers",
            "nameserver",
            _text("nameserver", W.nameserver, placeholder="blank: the host's"),
            "Space-separated",
        ),
        field(
            FORM,
            "Search domain",
            "searchdomain",
            _text("searchdomain", W.searchdomain, placeholder="lan"),
        ),
    )
    return rx.fragment(
        rx.heading("Network", size="3", as_="h3"),
        _grid(bridge, _ip_mode()),
        rx.cond(W.ip_mode == "static", static),
        dns,
    )


def _features() -> rx.Component:
    return rx.fragment(
        rx.heading("Features and options", size="3", as_="h3"),
        rx.grid(
            _flag("unprivileged", "Unprivileged", W.unprivileged, "Recommended."),
            _flag("nesting", "Nesting", W.nesting, "systemd services, Docker."),
            _flag("keyctl", "keyctl", W.keyctl, "Docker in unprivileged containers."),
            _flag("fuse", "FUSE", W.fuse),
            _flag("onboot", "Start on boot", W.onboot),
            columns="3",
            spacing="3",
            width="100%",
        ),
        error(FORM, "features"),
        root_warning("wizard-root-warning"),
    )


def configure_step() -> rx.Component:
    keys = textarea(
        FORM,
        "ssh_public_keys",
        W.ssh_public_keys,
        lambda v: W.set_field("ssh_public_keys", v),
        rows="3",
        placeholder="ssh-ed25519 AAAA… you@laptop",
        spell_check=False,
    )
    return rx.vstack(
        _grid(_node_picker(), _pve_node_picker()),
        _grid(
            field(
                FORM,
                "Hostname",
                "hostname",
                _text("hostname", W.hostname, placeholder="web-1", auto_focus=True),
                "Letters, digits and dashes; dots for a domain.",
            ),
            _vmid_field(),
        ),
        _grid(
            _choice("OS template", "os_template", W.os_template, W.os_templates, "Choose an image"),
            _choice("Root disk storage", "storage", W.storage, W.storages, "Choose a storage"),
        ),
        resources_grid(
            lambda label, name: _number(label, name, getattr(W, name)),
            ("disk_gb", "cores", "memory_mb", "swap_mb"),
        ),
        _network(),
        field(
            FORM,
            "SSH public keys",
            "ssh_public_keys",
            keys,
            "No root password is set: sign in with these keys, or use pct exec.",
        ),
        _features(),
        field(
            FORM, "Tags", "tags", _text("tags", W.tags, placeholder="web, prod"), "Comma-separated"
        ),
        spacing="4",
        width="100%",
    )
