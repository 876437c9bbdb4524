"""The console tests' `lab`: see console_support.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from console_support import IDLE_MINUTES, MAX_PER_USER, Lab, _nodes, _running_container

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.embedded_redis import EmbeddedRedis
from tests.conftest import reset_app_caches
from tests.support.backend import running_backend
from tests.support.simulator import start_simulator


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("console")
    secrets = {"ci": str(uuid.uuid4()), "ro": str(uuid.uuid4())}
    password = "pw-" + uuid.uuid4().hex[:10]
    sim = start_simulator(
        [
            "--port", "0", "--ssh-port", "0", "--nodes", "1", "--containers", "4",
            "--vms", "0", "--seed", "11", "--auth-failure-delay", "0",
            "--task-seconds", "0.2", "--log-level", "WARNING",
            "--user", f"root@pam:{password}",
            "--token", f"root@pam!ci:{secrets['ci']}",
            "--token", f"root@pam!ro:{secrets['ro']}:privsep",
        ]
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LXCM_DATA_DIR", str(tmp / "data"))
        env.setenv("REDIS_URL", redis_server.url)
        for name in ("DATABASE_URL", "LXCM_SECRET_KEY", "LXCM_PUBLIC_URL"):
            env.delenv(name, raising=False)
        reset_app_caches()
        try:
            upgrade_head()
            full, no_console, other = asyncio.run(_nodes(sim.ready, secrets, password))
            reset_app_caches()  # clients made on that loop must not be reused
            with running_backend(
                tmp,
                redis_server.url,
                LXCM_CONSOLE_IDLE_MINUTES=IDLE_MINUTES,
                LXCM_CONSOLE_MAX_PER_USER=str(MAX_PER_USER),
                LXCM_CONSOLE_RECORDING="on",
                LXCM_LOG_LEVEL="INFO",
            ) as backend:
                yield Lab(
                    sim,
                    backend,
                    tmp / "data",
                    full,
                    no_console,
                    other,
                    _running_container(sim.ready, secrets["ci"]),
                    secrets,
                )
        finally:
            sim.stop()
            reset_app_caches()
