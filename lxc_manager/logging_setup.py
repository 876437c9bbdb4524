"""Readable log lines on stdout, one format for every process."""

from __future__ import annotations

import logging
import sys

from lxc_manager.settings import get_settings

FORMAT = "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"


def configure_logging(process_name: str | None = None) -> None:
    level = get_settings().log_level
    root = logging.getLogger()
    if not any(getattr(h, "_lxcm", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
        handler._lxcm = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "asyncssh", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    if process_name:
        import multiprocessing

        multiprocessing.current_process().name = process_name
