"""`/templates/packages`: package buckets, named lists of packages templates can share.

A user sees their own buckets and shared ones (with an owner/visibility badge); they edit
and delete their own, an administrator also shared ones of others."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import error_callout, loading
from lxc_manager.pages.components.layout import (
    back_link,
    bar,
    empty_state,
    muted,
    page_shell,
    page_stack,
)

from .components import bucket_card, dialog
from .state import BucketsState as S

ROUTE = routes.PACKAGE_BUCKETS
TITLE = "Package buckets"
ON_LOAD = S.load


def _intro() -> rx.Component:
    return bar(
        back_link("Templates", routes.TEMPLATES),
        muted(
            "A bucket is a named list of packages that several templates can include.",
            size="2",
            shade=11,
        ),
        rx.spacer(),
        rx.button(rx.icon("plus", size=16), "New bucket", on_click=S.open_add, id="new-bucket"),
        wrap="nowrap",
    )


def _empty() -> rx.Component:
    return empty_state(
        "package",
        "No package buckets",
        "Group packages you install again and again (say curl, htop and jq) into a bucket, "
        "then tick it in any template.",
        rx.button(rx.icon("plus", size=16), "Create a bucket", on_click=S.open_add),
    )


def page() -> rx.Component:
    return page_shell(
        TITLE,
        page_stack(
            _intro(),
            error_callout(S.action_error),
            loading(
                S.loaded,
                rx.cond(
                    S.rows.length() > 0,
                    page_stack(rx.foreach(S.rows, bucket_card), spacing="3"),
                    _empty(),
                ),
            ),
            dialog(),
        ),
    )
