"""Display formatting shared by the pages: plain functions, no Reflex.

Pages and their row models format numbers for people here, so that the same quantity
reads the same on every page and tests import this module rather than a page.
"""

from __future__ import annotations

from datetime import datetime

NONE = "—"  # what a page shows for a value it does not have


def owner_label(catalog: bool, mine: bool, visibility: str, owner_name: str) -> str:
    """Whose a template or package bucket is and who sees it: `catalog`, `mine · private`,
    `mine · shared` or `shared by USER`."""
    if catalog:
        return "catalog"
    return f"mine · {visibility}" if mine else f"shared by {owner_name}"


def minute(at: datetime) -> str:
    """A timestamp to the minute: `2025-01-31 14:05`."""
    return at.strftime("%Y-%m-%d %H:%M")


def human_bytes(value: int) -> str:
    """`512 B`, `3 KiB`, `1.5 GiB`: binary units, one decimal from MiB on."""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit in ("B", "KiB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def human_uptime(seconds: int) -> str:
    """`3d 4h`, `2h 5m`, `7m`; `—` when not running."""
    if seconds <= 0:
        return NONE
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return f"{days}d {hours}h" if days else f"{hours}h {minutes}m" if hours else f"{minutes}m"


def disk_text(disk: int, maxdisk: int, running: bool) -> str:
    """Proxmox reports `disk` 0 for a stopped container (pve-container LXC.pm vmstatus
    measures it only while it runs): its usage is unknown then, not zero."""
    if not maxdisk:
        return NONE
    used = human_bytes(disk) if running else NONE
    return f"{used} / {human_bytes(maxdisk)}"


def memory_text(mem: int, maxmem: int) -> str:
    """`used / limit`, or `—` when the limit is unknown."""
    return f"{human_bytes(mem)} / {human_bytes(maxmem)}" if maxmem else NONE


def memory_percent(mem: int, maxmem: int) -> int:
    return round(100 * mem / maxmem) if maxmem else 0


def byte_rate(current: int, previous: int, elapsed: float) -> str:
    """Bytes per second between two readings of a counter; `—` without an interval or
    when the counter went back (the container restarted)."""
    if not elapsed or current < previous:
        return NONE
    return f"{human_bytes(int((current - previous) / elapsed))}/s"


def one_decimal(value: float | None) -> float | None:
    """A chart value rounded for display; None (no sample) stays None."""
    return None if value is None else round(value, 1)
