from __future__ import annotations

import pytest

from lxc_manager.redis_client import RedisDb, url_for


@pytest.mark.parametrize(
    ("url", "db", "expected"),
    [
        ("redis://127.0.0.1:6379", RedisDb.APP, "redis://127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379/0", RedisDb.RQ, "redis://127.0.0.1:6379/1"),
        ("redis://:pw@cache:6380/4", RedisDb.STATE, "redis://:pw@cache:6380/6"),
        ("unix:///run/redis.sock?db=2", RedisDb.RQ, "unix:///run/redis.sock?db=3"),
    ],
)
def test_logical_databases_are_offsets(url: str, db: RedisDb, expected: str) -> None:
    assert url_for(db, url) == expected
