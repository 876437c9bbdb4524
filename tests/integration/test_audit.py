"""The audit trail: writing, listing, and a user's history of one target."""

from __future__ import annotations

import pytest

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.security import audit

pytestmark = pytest.mark.usefixtures("app_settings")


def test_for_target_is_scoped_to_the_user_and_the_target() -> None:
    upgrade_head()
    audit.record("container.stop", user_id="a@pam@1", target="ct:lab/100")
    audit.record("container.snapshot.create", user_id="a@pam@1", target="ct:lab/100@before")
    audit.record("container.stop", user_id="a@pam@1", target="ct:lab/1000")  # another container
    audit.record("container.start", user_id="b@pam@1", target="ct:lab/100")  # another user
    events = audit.for_target("ct:lab/100", "a@pam@1")
    assert [(e.action, e.target) for e in events] == [
        ("container.snapshot.create", "ct:lab/100@before"),
        ("container.stop", "ct:lab/100"),
    ]
    assert audit.for_target("ct:lab/100", "c@pam@1") == []
