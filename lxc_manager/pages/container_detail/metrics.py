"""The Metrics tab: live numbers (refreshed every METRICS_MS) and the history charts."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.container_detail.rows import TIMEFRAMES
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

METRICS_MS = 2000
NO_HISTORY = "No data yet: Proxmox records a new container's first sample within a minute."


def _metric(label: str, value: rx.Var[str], element_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            muted(label, shade=11),
            rx.text(value, size="4", weight="bold", id=element_id),
            spacing="1",
        ),
        flex="1",
        min_width="10rem",
    )


def _history_chart(
    key: str, name: str, color: str, height: int, element_id: str, unit: str = ""
) -> rx.Component:
    """One rrddata series over the chosen timeframe as an area chart."""
    return rx.box(
        rx.recharts.area_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.area(
                data_key=key,
                name=name,
                stroke=rx.color(color, 9),
                fill=rx.color(color, 4),
                type_="monotone",
            ),
            rx.recharts.x_axis(data_key="label", min_tick_gap=24),
            rx.recharts.y_axis(unit=unit) if unit else rx.recharts.y_axis(),
            rx.recharts.graphing_tooltip(),
            data=S.history,
            height=height,
            width="100%",
        ),
        width="100%",
        id=element_id,
    )


def _history() -> rx.Component:
    return rx.cond(
        S.history,
        rx.fragment(
            _history_chart("cpu", "CPU %", "accent", 220, unit="%", element_id="history-cpu"),
            _history_chart("memory", "Memory MiB", "green", 180, element_id="history-memory"),
        ),
        rx.text(NO_HISTORY, size="2", color=rx.color("gray", 11), id="history-empty"),
    )


def metrics() -> rx.Component:
    return rx.vstack(
        rx.moment(interval=METRICS_MS, on_change=S.tick, display="none"),
        rx.flex(
            _metric("CPU", S.metrics.cpu, "metric-cpu"),
            _metric("Memory", S.metrics.memory, "metric-memory"),
            _metric("Network", S.metrics.net, "metric-net"),
            _metric("Disk I/O", S.metrics.disk_io, "metric-disk"),
            _metric("Uptime", S.metrics.uptime, "metric-uptime"),
            gap="3",
            wrap="wrap",
            width="100%",
        ),
        rx.hstack(
            rx.heading("History", size="3", as_="h2"),
            rx.spacer(),
            rx.segmented_control.root(
                *[rx.segmented_control.item(t.capitalize(), value=t) for t in TIMEFRAMES],
                value=S.timeframe,
                on_change=S.set_timeframe,
            ),
            width="100%",
            align="center",
        ),
        _history(),
        spacing="4",
        width="100%",
    )
