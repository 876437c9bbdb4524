"""What the node check decides for each cluster member's SSH host key (pure logic: the key
exchange is replaced by a table of what each member presents)."""

from __future__ import annotations

import pytest

from lxc_manager.nodes import members
from lxc_manager.nodes.members import MemberKey, MemberUnreachable

OLD, NEW = "SHA256:" + "A" * 43, "SHA256:" + "B" * 43


@pytest.fixture
def presenting(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """name -> the key that member presents (absent: unreachable)."""
    table: dict[str, str] = {}

    async def presented(name: str, ip: str, port: int) -> str:
        if name not in table:
            raise MemberUnreachable(name, f"{ip}:{port}", "Connection refused")
        return table[name]

    monkeypatch.setattr(members, "presented_member_key", presented)
    return table


async def test_first_keys_are_pinned_on_first_use_and_pinned_ones_kept(
    presenting: dict[str, str],
) -> None:
    presenting.update(pve2=NEW, pve3=OLD)
    found = await members.check_member_keys(
        [("pve2", "10.0.0.2", True), ("pve3", "10.0.0.3", True)],
        22,
        {"pve3": MemberKey("pve3", "10.0.0.3", OLD)},
        {},
    )
    assert [(m.name, m.key, m.state) for m in found] == [
        ("pve2", NEW, "new"),
        ("pve3", OLD, "pinned"),
    ]


async def test_a_changed_key_stays_refused_until_the_presented_one_is_confirmed(
    presenting: dict[str, str],
) -> None:
    presenting["pve2"] = NEW
    pinned = {"pve2": MemberKey("pve2", "10.0.0.2", OLD)}
    [changed] = await members.check_member_keys([("pve2", "10.0.0.2", True)], 22, pinned, {})
    assert (changed.state, changed.key, changed.presented) == ("changed", OLD, NEW)
    # confirming some other key does not help; confirming the presented one does
    [still] = await members.check_member_keys(
        [("pve2", "10.0.0.2", True)], 22, pinned, {"pve2": OLD}
    )
    assert still.state == "changed"
    [confirmed] = await members.check_member_keys(
        [("pve2", "10.0.0.2", True)], 22, pinned, {"pve2": " sha256:" + NEW[7:] + "= "}
    )
    assert (confirmed.state, confirmed.key) == ("confirmed", NEW)


async def test_offline_or_unreachable_members_keep_their_old_pin(
    presenting: dict[str, str],
) -> None:
    pinned = {"pve2": MemberKey("pve2", "10.0.0.2", OLD)}
    found = await members.check_member_keys(
        [("pve2", "10.0.0.2", False), ("pve3", "10.0.0.3", True), ("pve4", "", True)],
        22,
        pinned,
        {},
    )
    assert [(m.name, m.key, m.state) for m in found] == [
        ("pve2", OLD, "unreachable"),
        ("pve3", "", "unreachable"),
        ("pve4", "", "unreachable"),
    ]
    assert members.parse_member_keys(members.dump_member_keys(found)) == pinned


def test_stored_keys_round_trip_and_garbage_is_skipped() -> None:
    keys = [MemberKey("pve3", "10.0.0.3", NEW), MemberKey("pve2", "10.0.0.2", OLD)]
    assert members.parse_member_keys(members.dump_member_keys(keys)) == {
        "pve2": MemberKey("pve2", "10.0.0.2", OLD),
        "pve3": MemberKey("pve3", "10.0.0.3", NEW),
    }
    for garbage in ("", "not json", "[]", '{"pve2": "x"}', '{"pve2": {"ip": "1.2.3.4"}}'):
        assert members.parse_member_keys(garbage) == {}
