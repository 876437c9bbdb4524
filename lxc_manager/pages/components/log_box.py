"""Lines of text output (a task log, a journal) in a scrolling monospace box."""

from __future__ import annotations

from typing import Any

import reflex as rx


def log_box(lines: rx.Var[list[str]], element_id: str, **props: Any) -> rx.Component:
    """One monospace line per item, wrapped, in a box that scrolls past `max_height`
    (`props` go to the box: `max_height`, `border`, ...)."""
    return rx.box(
        rx.foreach(
            lines,
            lambda line: rx.text(line, font_family="monospace", size="1", white_space="pre-wrap"),
        ),
        id=element_id,
        overflow_y="auto",
        padding="0.75rem",
        background=rx.color("gray", 2),
        border_radius="var(--radius-3)",
        **props,
    )
