"""The app shell: a sidebar with the main sections, a header, and the page body.

From WIDE on the sidebar sits at the left and stays in view while the page scrolls; below
it a top bar with a menu button takes its place. The header carries the colour-scheme
choice (System by default; Reflex keeps the user's pick in localStorage).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import reflex as rx

from lxc_manager import routes
from lxc_manager.state.session import SessionState

PRODUCT_NAME = "LXC Manager"
WIDE = "900px"  # below this width the sidebar folds into the top bar's menu
ColorMode = Literal["system", "light", "dark"]
COLOR_MODES: tuple[tuple[str, ColorMode, str], ...] = (
    ("System", "system", "monitor"),
    ("Light", "light", "sun"),
    ("Dark", "dark", "moon"),
)


def on_wide(display: str) -> dict[str, str]:
    """A `display` value shown from WIDE on and hidden below it."""
    return rx.breakpoints({"0px": "none", WIDE: display})


def on_narrow(display: str) -> dict[str, str]:
    """A `display` value shown below WIDE and hidden from it on."""
    return rx.breakpoints({"0px": display, WIDE: "none"})


@dataclass(frozen=True)
class NavItem:
    label: str
    route: str
    icon: str


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Dashboard", routes.DASHBOARD, "layout-dashboard"),
    NavItem("New container", routes.NEW_CONTAINER, "circle-plus"),
    NavItem("Templates", routes.TEMPLATES, "layout-template"),
    NavItem("Backups", routes.BACKUPS, "archive"),
)
SETTINGS_ITEMS: tuple[NavItem, ...] = (
    NavItem("Nodes", routes.NODES, "server"),
    NavItem("Sign-in endpoints", routes.SIGN_IN_ENDPOINTS, "key-round"),
    NavItem("API keys", routes.API_KEYS, "key"),
)


# Reflex names the "/" route "/index" in router data.
_ROUTE_IDS = {routes.DASHBOARD: "/index"}


def _nav_link(item: NavItem) -> rx.Component:
    active = rx.State.router.route_id == _ROUTE_IDS.get(item.route, item.route)
    return rx.link(
        rx.hstack(
            rx.icon(item.icon, size=18),
            rx.text(item.label, size="3", weight="medium"),
            align="center",
            spacing="3",
            padding_x="0.75rem",
            padding_y="0.5rem",
            border_radius="var(--radius-3)",
            width="100%",
            background=rx.cond(active, rx.color("accent", 4), "transparent"),
            color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
            _hover={"background": rx.color("accent", 3), "color": rx.color("accent", 11)},
        ),
        href=item.route,
        underline="none",
        width="100%",
        custom_attrs={"aria-current": rx.cond(active, "page", "false")},
    )


def _brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.image(src="/favicon.svg", width="28px", height="28px", alt=""),
            rx.heading(PRODUCT_NAME, size="4", weight="bold"),
            align="center",
            spacing="2",
        ),
        href=routes.DASHBOARD,
        underline="none",
        color=rx.color("gray", 12),
    )


def sidebar() -> rx.Component:
    """The main sections; its column runs the page's full height, the links stay in view."""
    return rx.box(_sidebar_nav(), **_SIDEBAR_COLUMN)


_SIDEBAR_COLUMN: dict[str, object] = {
    "align_self": "stretch",
    "flex_shrink": "0",
    "border_right": f"1px solid {rx.color('gray', 5)}",
    "background": rx.color("gray", 2),
    "display": on_wide("block"),
}


def _section_label(text: str, **props: str) -> rx.Component:
    return rx.text(
        text, size="1", weight="bold", color=rx.color("gray", 10), padding_x="0.75rem", **props
    )


def _sidebar_nav() -> rx.Component:
    return rx.el.nav(
        rx.vstack(
            _brand(),
            rx.vstack(*[_nav_link(item) for item in NAV_ITEMS], spacing="1", width="100%"),
            _section_label("Settings", padding_top="1rem"),
            rx.vstack(*[_nav_link(item) for item in SETTINGS_ITEMS], spacing="1", width="100%"),
            spacing="3",
            width="100%",
            align="start",
        ),
        aria_label="Main",
        width="15rem",
        min_width="15rem",
        height="100vh",
        position="sticky",
        top="0",
        overflow_y="auto",
        padding="1.25rem 0.75rem",
    )


def _menu_link(item: NavItem) -> rx.Component:
    return rx.menu.item(
        rx.hstack(rx.icon(item.icon, size=16), item.label, align="center", spacing="2"),
        on_select=rx.redirect(item.route),
    )


def _icon_menu(
    icon: rx.Component, label: str, element_id: str, variant: str, *items: rx.Component
) -> rx.Component:
    """A menu opened by a gray icon button (`label` for readers)."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                icon, variant=variant, color_scheme="gray", aria_label=label, id=element_id
            )
        ),
        rx.menu.content(*items, align="end"),
    )


def nav_menu() -> rx.Component:
    """The sidebar's sections as a menu, for screens narrower than WIDE."""
    return _icon_menu(
        rx.icon("menu", size=18),
        "Menu",
        "nav-menu-button",
        "soft",
        *[_menu_link(item) for item in NAV_ITEMS],
        rx.menu.separator(),
        _section_label("Settings"),
        *[_menu_link(item) for item in SETTINGS_ITEMS],
    )


def top_bar() -> rx.Component:
    """Brand and menu button in place of the sidebar on narrow screens; stays on top."""
    return rx.hstack(
        _brand(),
        rx.spacer(),
        nav_menu(),
        **_TOP_BAR,
    )


_TOP_BAR: dict[str, object] = {
    "align": "center",
    "width": "100%",
    "padding": "0.75rem 1rem",
    "position": "sticky",
    "top": "0",
    "z_index": "10",
    "border_bottom": f"1px solid {rx.color('gray', 5)}",
    "background": rx.color("gray", 2),
    "display": on_narrow("flex"),
}


def _color_mode_item(label: str, mode: ColorMode, icon: str) -> rx.Component:
    chosen = rx.color_mode == mode
    return rx.menu.item(
        rx.hstack(rx.icon(icon, size=14), label, align="center", spacing="2"),
        rx.cond(chosen, rx.icon("check", size=14), rx.fragment()),
        on_select=rx.style.set_color_mode(mode),
        custom_attrs={"role": "menuitemradio", "aria-checked": rx.cond(chosen, "true", "false")},
    )


def color_mode_menu() -> rx.Component:
    """System (the default), light or dark; the icon shows the scheme in use."""
    return _icon_menu(
        rx.color_mode.icon(),
        "Colour scheme",
        "color-mode",
        "ghost",
        *[_color_mode_item(*mode) for mode in COLOR_MODES],
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("circle-user", size=18),
                rx.text(SessionState.user_name, id="header-user", white_space="nowrap"),
                rx.badge(
                    rx.cond(SessionState.is_admin, "administrator", "user"),
                    color_scheme=rx.cond(SessionState.is_admin, "amber", "gray"),
                    variant="soft",
                    id="header-role",
                    display=rx.breakpoints(initial="none", xs="inline-flex"),
                ),
                rx.icon("chevron-down", size=14),
                variant="ghost",
                color_scheme="gray",
                size="2",
                aria_label="Account menu",
            ),
        ),
        rx.menu.content(
            rx.box(
                muted("Signed in via ", SessionState.endpoint_label, shade=11),
                padding_x="0.75rem",
                padding_y="0.25rem",
            ),
            rx.menu.separator(),
            rx.menu.item(
                rx.icon("log-out", size=14),
                "Sign out",
                on_select=SessionState.sign_out,
                id="sign-out",
            ),
            align="end",
        ),
    )


def header(title: str) -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.heading(title, size="6", as_="h1"),
            rx.spacer(),
            rx.hstack(
                color_mode_menu(),
                rx.cond(SessionState.user_name != "", user_menu()),
                align="center",
                spacing="4",
            ),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        width="100%",
        padding_bottom="1rem",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def page_shell(title: str, *children: rx.Component) -> rx.Component:
    """Sidebar (or top bar) + header + body, the frame of every signed-in page."""
    return rx.box(
        top_bar(),
        rx.hstack(
            sidebar(),
            rx.el.main(
                header(title),
                rx.box(*children, padding_top="1.5rem", width="100%"),
                flex="1",
                min_width="0",
                padding=rx.breakpoints(initial="1rem", sm="1.25rem 2rem"),
                max_width="80rem",
            ),
            spacing="0",
            align="start",
            width="100%",
        ),
        **_SCREEN,
    )


_SCREEN: dict[str, object] = {
    "width": "100%",
    "min_height": "100vh",
    "background": rx.color("gray", 1),
}


def empty_state(
    icon: str,
    title: str,
    text: str,
    action: rx.Component | None = None,
    test_id: str = "empty-state",
) -> rx.Component:
    """A calm, honest placeholder: what is missing and what to do about it."""
    return rx.center(
        rx.vstack(
            rx.center(
                rx.icon(icon, size=28, color=rx.color("accent", 11)),
                width="56px",
                height="56px",
                border_radius="50%",
                background=rx.color("accent", 3),
            ),
            rx.heading(title, size="4", as_="h2"),
            rx.text(
                text, size="2", color=rx.color("gray", 11), text_align="center", max_width="32rem"
            ),
            *([action] if action is not None else []),
            align="center",
            spacing="3",
        ),
        custom_attrs={"data-testid": test_id},
        **_EMPTY_FRAME,
    )


_EMPTY_FRAME: dict[str, object] = {
    "padding": "3rem 1.5rem",
    "border": f"1px dashed {rx.color('gray', 6)}",
    "border_radius": "var(--radius-4)",
    "width": "100%",
}


def muted(
    *children: rx.Component | rx.Var[Any] | str | int, size: str = "1", shade: int = 10
) -> rx.Component:
    """Secondary text: hints, counts, timestamps (`shade` 11 for a little more contrast)."""
    return rx.text(*children, size=size, color=rx.color("gray", shade))


def clamped(text: rx.Var[str], lines: int, shade: int = 10, **props: Any) -> rx.Component:
    """A description in small grey text cut to `lines` lines at most, wrapped at spaces
    (a nowrap line would widen its table or card)."""
    clamp = {
        "overflow": "hidden",
        "display": "-webkit-box",
        "WebkitLineClamp": str(lines),
        "WebkitBoxOrient": "vertical",
    }
    return rx.text(text, size="1", color=rx.color("gray", shade), style=clamp, **props)


def bar(*children: rx.Component, **props: str) -> rx.Component:
    """A row across the page (toolbars, headings with badges), wrapping on narrow screens."""
    for name, value in (("width", "100%"), ("align", "center"), ("spacing", "3"), ("wrap", "wrap")):
        props.setdefault(name, value)
    return rx.hstack(*children, **props)


def owner_badge(
    text: rx.Var[str], color_scheme: rx.Var[str] | str, owner: rx.Var[str]
) -> rx.Component:
    """Who owns a template or bucket and who sees it (`mine · shared`, `shared by …`); the
    owner's full user id in its tooltip (two endpoints may each have a root@pam)."""
    return rx.badge(
        text,
        color_scheme=color_scheme,
        variant="soft",
        title=owner,
        custom_attrs={"data-owner-badge": text},
    )


def back_link(label: str, href: str) -> rx.Component:
    """`← label`, to the page this one belongs to."""
    return rx.link(
        rx.hstack(
            rx.icon("arrow-left", size=14),
            rx.text(label, size="2", white_space="nowrap"),
            spacing="1",
            align="center",
        ),
        href=href,
    )


def page_stack(*children: rx.Component, **props: str) -> rx.Component:
    """The body of a page: its parts one under the other."""
    return rx.vstack(*children, spacing=props.pop("spacing", "4"), width="100%", **props)
