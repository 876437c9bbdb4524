"""The Logs tab: a service's last journal lines, or its journal followed live while the
tab is open (its heartbeat keeps the follow loop going)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.controls import error_callout
from lxc_manager.pages.components.listing import filter_select
from lxc_manager.pages.components.log_box import log_box
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

HEARTBEAT_MS = 2000


def _unit_select() -> rx.Component:
    return filter_select(
        "Service",
        S.log_unit,
        S.set_log_unit,
        rx.foreach(S.services, lambda s: rx.select.item(s.unit, value=s.unit)),
        placeholder="Choose a service",
    )


def _follow_button() -> rx.Component:
    return rx.cond(
        S.following,
        rx.button(
            rx.spinner(size="2"),
            "Following — stop",
            size="2",
            color_scheme="red",
            variant="soft",
            on_click=S.stop_follow,
        ),
        rx.button("Follow", size="2", on_click=S.follow, disabled=S.log_unit == ""),
    )


def logs() -> rx.Component:
    return rx.vstack(
        rx.moment(interval=HEARTBEAT_MS, on_change=S.follow_heartbeat, display="none"),
        rx.hstack(
            _unit_select(),
            rx.button(
                "Show last lines",
                size="2",
                variant="soft",
                on_click=S.tail,
                disabled=S.log_unit == "",
            ),
            _follow_button(),
            spacing="2",
            align="center",
        ),
        error_callout(S.log_error),
        log_box(
            S.log_lines,
            "log-lines",
            width="100%",
            max_height="28rem",
            border=f"1px solid {rx.color('gray', 5)}",
        ),
        on_unmount=S.stop_follow,
        spacing="3",
        width="100%",
    )
