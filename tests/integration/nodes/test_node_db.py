"""The database itself guards the node table: at most one default node per user (a partial
unique index) and unique names per user, on SQLite and on PostgreSQL, whatever the code
above it does."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from node_support import USER_A, USER_B, sim_input

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.nodes import NodeView, create_node, list_nodes, service
from tests.support.postgres import postgres_server
from tests.support.simulator import SimulatorInfo

NODE = sa.table(
    "proxmox_node",
    *(
        sa.column(name)
        for name in (
            "id", "user_id", "name", "host", "port", "token_id", "token_secret", "ssh_user",
            "ssh_port", "ssh_secret", "ssh_secret_kind", "tls_fingerprint", "ssh_host_key",
            "cluster_name", "cluster_key", "pve_nodes", "is_default", "created_at", "updated_at",
        )
    ),
)  # fmt: skip


def row(user_id: str, name: str, is_default: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "user_id": user_id,
        "name": name,
        "host": "pve.lan",
        "port": 8006,
        "token_id": "root@pam!x",
        "token_secret": "v1:k:xx",
        "ssh_user": "root",
        "ssh_port": 22,
        "ssh_secret": None,
        "ssh_secret_kind": "",
        "tls_fingerprint": "AA:BB",
        "ssh_host_key": None,
        "cluster_name": "",
        "cluster_key": "endpoint:pve.lan:8006",
        "pve_nodes": "[]",
        "is_default": is_default,
        "created_at": now,
        "updated_at": now,
    }


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        upgrade_head(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database migrated by the app's migrations (not by the models)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'guard.db'}"
        upgrade_head(url)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.delete(NODE))
    yield engine
    engine.dispose()


def insert(engine: sa.Engine, *rows: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(sa.insert(NODE), list(rows))


def test_a_second_default_is_refused_by_the_database(engine: sa.Engine) -> None:
    insert(engine, row(USER_A, "a", True), row(USER_A, "b", False), row(USER_A, "c", False))
    insert(engine, row(USER_B, "a", True))  # another user's default: fine

    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, row(USER_A, "d", True))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            sa.update(NODE)
            .where(NODE.c.user_id == USER_A, NODE.c.name == "b")
            .values(is_default=True)
        )
    with engine.begin() as connection:  # clear first, then set: allowed
        connection.execute(sa.update(NODE).where(NODE.c.user_id == USER_A).values(is_default=False))
        connection.execute(
            sa.update(NODE)
            .where(NODE.c.user_id == USER_A, NODE.c.name == "b")
            .values(is_default=True)
        )
        defaults = connection.execute(
            sa.select(NODE.c.name).where(NODE.c.user_id == USER_A, NODE.c.is_default)
        ).scalars()
        assert list(defaults) == ["b"]


def test_names_are_unique_per_user_in_the_database(engine: sa.Engine) -> None:
    insert(engine, row(USER_A, "a", False), row(USER_B, "a", False))
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, row(USER_A, "a", False))


@pytest.mark.usefixtures("nodes_db")
async def test_racing_first_nodes_fall_back_to_non_default(
    simulator: SimulatorInfo, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Both saves see "no node yet" before either inserts: the index refuses the second
    default and the service saves that node as a non-default."""
    barrier = threading.Barrier(2, timeout=10)
    waited: set[int] = set()
    real_now = service.utcnow

    def now_after_both_looked() -> datetime:  # called between the lookup and the insert
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        return real_now()

    monkeypatch.setattr(service, "utcnow", now_after_both_looked)
    with caplog.at_level(logging.INFO, logger="lxc_manager.nodes.service"):
        first, second = await asyncio.gather(
            create_node(USER_A, sim_input(simulator, "one")),
            create_node(USER_A, sim_input(simulator, "two")),
        )
    assert isinstance(first, NodeView) and isinstance(second, NodeView)
    assert sorted([first.is_default, second.is_default]) == [False, True]
    assert [n.is_default for n in await list_nodes(USER_A)] == [True, False]
    assert "saving as non-default" in caplog.text
