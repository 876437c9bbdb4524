"""`/containers/new`: the creation wizard — Template → Configure → Packages → Scripts → Review."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import error_callout
from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.components.no_nodes import no_nodes_banner
from lxc_manager.provisioning.form import STEPS

from .configure import configure_step
from .review import review_step
from .start import start_choice, start_panel
from .start_state import StartState
from .state import WizardState as W
from .steps import packages_step, scripts_step, template_step
from .wizard import nav_buttons, ssh_warning, stepper

ROUTE = routes.NEW_CONTAINER
TITLE = "New container"
ON_LOAD = W.load


def _wizard() -> rx.Component:
    return rx.vstack(
        stepper(),
        ssh_warning(),
        error_callout(W.submit_error, width="100%", id="wizard-submit-error"),
        rx.box(
            rx.match(
                W.step,
                (0, template_step()),
                (1, configure_step()),
                (2, packages_step()),
                (3, scripts_step()),
                review_step(),
            ),
            width="100%",
        ),
        nav_buttons(len(STEPS)),
        spacing="4",
        width="100%",
        id="wizard",
        custom_attrs={"data-ready": "true"},
    )


def page() -> rx.Component:
    no_node = empty_state(
        "circle-plus",
        "Creating containers needs a Proxmox node",
        "The wizard builds a container from a template on one of your nodes. "
        "Add a node first; the wizard is enabled as soon as one is configured.",
        rx.link(rx.button("Go to Settings → Nodes", size="2", variant="soft"), href=routes.NODES),
    )
    return page_shell(
        TITLE,
        rx.vstack(
            no_nodes_banner(W.summary_loaded, W.has_nodes),
            rx.cond(
                W.loaded,
                rx.cond(
                    W.has_nodes,
                    rx.vstack(
                        start_choice(),
                        rx.cond(StartState.start == "recipe", _wizard(), start_panel()),
                        spacing="4",
                        width="100%",
                    ),
                    no_node,
                ),
                rx.center(rx.spinner(), width="100%", padding="2rem"),
            ),
            spacing="4",
            width="100%",
        ),
    )
