"""The wizard's frame: the steps, the SSH warning, Back / Next / Create."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import note
from lxc_manager.provisioning.form import STEPS

from .state import WizardState as W


def stepper() -> rx.Component:
    def item(index: int, label: str) -> rx.Component:
        active = W.step == index
        done = W.step > index
        return rx.button(
            rx.center(
                rx.cond(done, rx.icon("check", size=12), rx.text(index + 1, size="1")),
                width="20px",
                height="20px",
                border_radius="50%",
                background=rx.cond(active | done, rx.color("accent", 9), rx.color("gray", 5)),
                color="white",
            ),
            rx.text(label, size="2", weight=rx.cond(active, "bold", "regular")),
            variant=rx.cond(active, "soft", "ghost"),
            color_scheme=rx.cond(active, "indigo", "gray"),
            on_click=W.go(index),
            custom_attrs={"aria-current": rx.cond(active, "step", "false")},
            id=f"wizard-step-{index}",
        )

    return rx.el.nav(
        rx.hstack(*[item(i, label) for i, label in enumerate(STEPS)], spacing="2", wrap="wrap"),
        aria_label="Wizard steps",
    )


def ssh_warning() -> rx.Component:
    return rx.cond(
        ~W.node_has_ssh & W.recipe_needs_ssh & (W.node_id != 0),
        note(
            "key-round",
            rx.callout.text(
                rx.text.strong(W.node_name),
                " has no SSH credentials. LXC Manager writes files, installs packages and runs "
                "scripts with pct exec over SSH, so this node can only take a blank container "
                "or a template without files, packages and scripts. ",
                rx.link(
                    "Add SSH credentials in Settings → Nodes", href=routes.NODES, weight="bold"
                ),
                ".",
            ),
            "amber",
            id="wizard-ssh-warning",
        ),
    )


def nav_buttons(steps: int) -> rx.Component:
    return rx.hstack(
        rx.cond(
            W.step > 0,
            rx.button(
                rx.icon("arrow-left", size=14),
                "Back",
                variant="soft",
                color_scheme="gray",
                on_click=W.go(W.step - 1),
                id="wizard-back",
            ),
        ),
        rx.spacer(),
        rx.cond(
            W.step < steps - 1,
            rx.button(
                "Next", rx.icon("arrow-right", size=14), on_click=W.go(W.step + 1), id="wizard-next"
            ),
            rx.button(
                rx.cond(W.submitting, rx.spinner(size="2"), rx.icon("rocket", size=14)),
                rx.cond(W.submitting, "Creating…", "Create container"),
                on_click=W.submit,
                disabled=W.submitting,
                id="wizard-create",
            ),
        ),
        width="100%",
    )
