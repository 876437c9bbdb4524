"""Every event handler of the app re-checks the session, or is allowed not to, with a reason
(DESIGN §3.3, issue 12 path 5).

Reflex turns every public method of a State into an event that any browser tab may fire by
name, signed in or not. This walks every State class of lxc_manager, finds each handler's
guard (`require_session`, `require_session_quiet`, `require_admin` mark their wrapper with
`__lxcm_guard__`) and fails on a handler that has none and is not on the allow-list below.
The table of every handler and its guard is written to test-output/handler-guards.txt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import reflex as rx

import lxc_manager.lxc_manager  # noqa: F401  (registers every page and so every State)

TABLE = Path(__file__).resolve().parents[2] / "test-output" / "handler-guards.txt"

SIGN_IN_PAGE = "the sign-in page: runs before anyone is signed in (rate-limited instead)"

# "State.handler" -> why it may run without a session. Only handlers that read and change
# no data: the sign-in form, the session check itself, and closing or cancelling things.
ALLOWED: dict[str, str] = {
    "SessionState.sign_out": "must work without a session: forgets the user shown in this "
    "tab and sends it to /auth/logout",
    "LoginState.load": SIGN_IN_PAGE,
    "LoginState.submit_credentials": SIGN_IN_PAGE,
    "LoginState.submit_code": SIGN_IN_PAGE,
    "LoginState.toggle_recovery": SIGN_IN_PAGE,
    "LoginState.start_over": SIGN_IN_PAGE,
    "DashboardState.cancel_delete": "closes the delete dialog: reads and changes no data",
    "ContainerDetailState.stop_follow": "stops this tab's log follow loop: reads no data",
    "NodesState.set_dialog_open": "opens or closes the node dialog (filled by a guarded "
    "handler): reads and changes no data",
    "BucketsState.set_dialog_open": "opens or closes the bucket dialog (filled by a guarded "
    "handler): reads and changes no data",
    "SignInEndpointsState.cancel_new": "cancels adding an endpoint: clears this tab's form",
    "ApiKeysState.close_shown": "closes the dialog that shows a new key once: reads and "
    "changes no data",
    "TemplateEditorState.close_script": "closes the script dialog: reads and changes no data",
    "TemplateEditorState.close_file": "closes the file dialog: reads and changes no data",
    "WizardState.set_changing_node": "opens or closes the node picker: reads no data",
    "ConsoleState.stop_replay": "closes the replay terminal: reads and changes no data",
    "ConsoleState.set_replay_speed": "changes the replay's speed in this tab: reads no data "
    "(the replay's route checks the session itself)",
}

# What the page does by itself: checked like any event, but never extends the idle timeout.
AUTOMATIC = {
    "DashboardState.refresh",
    "ContainerDetailState.tick",
    "ContainerDetailState.follow",
    "ContainerDetailState.follow_heartbeat",
    "JobState.follow",
    "JobState.heartbeat",
}


def _app_states() -> Iterator[type[rx.State]]:
    seen: set[type[rx.State]] = set()
    pending: list[type[rx.State]] = list(rx.State.__subclasses__())
    while pending:
        state = pending.pop()
        if state in seen:
            continue
        seen.add(state)
        pending.extend(state.__subclasses__())
        if state.__module__.startswith("lxc_manager.") and not getattr(state, "_mixin", False):
            yield state


def _guard_of(fn: Callable[..., Any]) -> tuple[str | None, bool]:
    """(guard, touches) of a handler function, looking through wrapping decorators."""
    current: Any = fn
    while current is not None:
        guard = getattr(current, "__lxcm_guard__", None)
        if guard is not None:
            return str(guard), bool(getattr(current, "__lxcm_touch__", True))
        current = getattr(current, "__wrapped__", None)
    return None, True


def _handlers() -> dict[str, tuple[str, str | None, bool, bool]]:
    """ "State.handler" -> (module, guard, touches, background) of every app handler."""
    found: dict[str, tuple[str, str | None, bool, bool]] = {}
    for state in _app_states():
        for name, handler in state.event_handlers.items():
            fn = handler.fn
            if not getattr(fn, "__module__", "").startswith("lxc_manager."):
                continue  # Reflex's own (setvar, hydrate, ...)
            guard, touches = _guard_of(fn)
            found[f"{state.__name__}.{name}"] = (
                state.__module__,
                guard,
                touches,
                handler.is_background,
            )
    return found


def _table(handlers: dict[str, tuple[str, str | None, bool, bool]]) -> str:
    lines = [f"{'handler':<48} {'guard':<16} {'kind':<10} module / why allowed"]
    for key in sorted(handlers, key=lambda k: (handlers[k][0], k)):
        module, guard, touches, background = handlers[key]
        shown = (
            f"{guard}{'' if touches else ' (quiet)'}"
            if guard
            else ("ALLOWED" if key in ALLOWED else "NONE")
        )
        kind = "background" if background else "event"
        note = ALLOWED.get(key, "") if not guard else ""
        lines.append(f"{key:<48} {shown:<16} {kind:<10} {module}{'  — ' + note if note else ''}")
    return "\n".join(lines) + "\n"


def test_every_handler_is_guarded_or_allowed_with_a_reason() -> None:
    handlers = _handlers()
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text(_table(handlers))
    unguarded = sorted(k for k, (_, guard, _, _) in handlers.items() if not guard)
    missing = [k for k in unguarded if k not in ALLOWED]
    assert not missing, (
        "event handlers without a session guard (add @require_session, or an ALLOWED entry "
        f"with a reason if they read and change no data): {missing}\nsee {TABLE}"
    )


def test_the_allow_list_names_only_unguarded_handlers_that_exist() -> None:
    handlers = _handlers()
    stale = [k for k in ALLOWED if k not in handlers or handlers[k][1] is not None]
    assert not stale, f"ALLOWED entries that are gone or guarded now: {stale}"
    assert all(len(reason) > 20 for reason in ALLOWED.values())


def test_the_walk_sees_every_page_and_background_handlers() -> None:
    handlers = _handlers()
    states = {key.split(".")[0] for key in handlers}
    assert {
        "SessionState",
        "DashboardState",
        "WizardState",
        "ContainerDetailState",
        "JobState",
        "NodesState",
        "BucketsState",
        "SignInEndpointsState",
        "ApiKeysState",
        "TemplateEditorState",
        "TemplatesState",
        "LoginState",
    } <= states
    background = {k for k, (_, guard, _, is_bg) in handlers.items() if is_bg}
    assert {"DashboardState.act", "JobState.follow", "ContainerDetailState.follow"} <= background
    assert all(handlers[k][1] for k in background), "every background handler is guarded"


def test_the_wizard_template_choice_is_guarded() -> None:
    """Path 5's example: choosing a template loads its scripts into the tab's state."""
    assert _handlers()["WizardState.choose_template"][1] == "session"


def test_only_automatic_refreshes_leave_the_idle_timer_alone() -> None:
    handlers = _handlers()
    quiet = {k for k, (_, guard, touches, _) in handlers.items() if guard and not touches}
    assert quiet == AUTOMATIC


def test_session_helpers_are_not_events() -> None:
    """`current_session` and `login_redirect` (every page State has them through the guard
    mixin) and the header's `show`/`forget` are public methods for the handlers; a
    browser must not be able to fire them as events."""
    from lxc_manager.state.guard import GuardedState
    from lxc_manager.state.session import SessionState

    guarded = [s for s in _app_states() if issubclass(s, GuardedState)]
    assert len(guarded) >= 9
    for state in guarded:
        assert "current_session" not in state.event_handlers, state
        assert "login_redirect" not in state.event_handlers, state
    assert "show" not in SessionState.event_handlers
    assert "forget" not in SessionState.event_handlers
    assert all(not name.startswith("_") for name in _handlers())


def test_the_state_tree_is_flat() -> None:
    """Every page State is a direct child of Reflex's root state with no substates:
    Reflex loads a state with all its substates, so an event of one page must not load
    another page's state (DESIGN §6)."""
    for state in _app_states():
        assert state.get_parent_state() is rx.State, state
        assert not state.get_substates(), (state, state.get_substates())
