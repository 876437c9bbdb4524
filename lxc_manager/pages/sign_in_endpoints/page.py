"""`/settings/sign-in`: the list of sign-in endpoints; administrators add, disable,
enable and re-trust them."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import error_callout, loading
from lxc_manager.pages.components.layout import muted, page_shell
from lxc_manager.pages.sign_in_endpoints.add_form import add_form
from lxc_manager.pages.sign_in_endpoints.state import SignInEndpointsState
from lxc_manager.pages.sign_in_endpoints.table import endpoints_table

ROUTE = routes.SIGN_IN_ENDPOINTS
TITLE = "Sign-in endpoints"
ON_LOAD = SignInEndpointsState.load

INTRO = (
    "Proxmox hosts users may sign in against. Each one's TLS certificate is pinned: a "
    "changed certificate blocks sign-in until an administrator re-trusts it (Re-trust "
    "below, or `lxc-manager trust-endpoint`). A user is the Proxmox user at the "
    "endpoint that vouched for it."
)
READ_ONLY = (
    "Only administrators of LXC Manager (Sys.Modify on / in Proxmox, or named "
    "in LXCM_ADMINS) enable, disable and re-trust sign-in endpoints."
)


def page() -> rx.Component:
    state = SignInEndpointsState
    return page_shell(
        "Sign-in endpoints",
        rx.vstack(
            muted(INTRO, size="2", shade=11),
            error_callout(state.form_error),
            rx.cond(
                state.message != "",
                rx.callout(state.message, icon="check", color_scheme="green"),
            ),
            loading(state.loaded, endpoints_table()),
            rx.cond(
                state.is_admin,
                add_form(),
                rx.callout(READ_ONLY, icon="lock", color_scheme="gray", id="endpoints-read-only"),
            ),
            spacing="4",
            width="100%",
        ),
    )
