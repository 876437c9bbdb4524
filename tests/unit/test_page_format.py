"""Display formatting shared by the pages, and the detail page's Reflex-free rows."""

from __future__ import annotations

from lxc_manager.containers.detail import HistoryPoint, Metrics
from lxc_manager.pages.components.format import (
    byte_rate,
    disk_text,
    human_bytes,
    human_uptime,
    memory_percent,
    memory_text,
    one_decimal,
)
from lxc_manager.pages.container_detail.rows import (
    chart_points,
    credential_ref,
    metrics_view,
    parse_credential_ref,
)


def test_bytes_and_uptime_read_as_before() -> None:
    assert [human_bytes(v) for v in (0, 1023, 2048, 3 * 1024**3 // 2)] == [
        "0 B",
        "1023 B",
        "2 KiB",
        "1.5 GiB",
    ]
    assert [human_uptime(s) for s in (0, 59 * 60, 3 * 3600 + 5 * 60, 2 * 86400 + 3600)] == [
        "—",
        "59m",
        "3h 5m",
        "2d 1h",
    ]


def test_a_stopped_containers_disk_usage_is_unknown_not_zero() -> None:
    assert disk_text(0, 8 * 1024**3, running=False) == "— / 8.0 GiB"
    assert disk_text(1024**3, 8 * 1024**3, running=True) == "1.0 GiB / 8.0 GiB"
    assert disk_text(5, 0, running=True) == "—"


def test_memory_and_rates() -> None:
    assert (memory_text(512 * 1024**2, 1024**3), memory_percent(512, 1024)) == (
        "512.0 MiB / 1.0 GiB",
        50,
    )
    assert (memory_text(1, 0), memory_percent(1, 0)) == ("—", 0)
    assert byte_rate(3072, 1024, 2.0) == "1 KiB/s"
    assert byte_rate(10, 20, 2.0) == "—"  # the counter went back: restarted
    assert byte_rate(10, 0, 0.0) == "—"  # no interval yet
    assert (one_decimal(1.26), one_decimal(None)) == (1.3, None)


def test_metrics_show_rates_from_the_second_reading_on() -> None:
    m = Metrics(
        cpu_pct=12.34, mem=1024**3, maxmem=2 * 1024**3, netin=4096, netout=0,
        diskread=0, diskwrite=0, uptime=7200, status="running",
    )  # fmt: skip
    first, counters = metrics_view(m, (0.0, 0, 0, 0, 0), now=100.0)
    assert (first.cpu, first.mem_pct, first.uptime) == ("12.3%", 50, "2h 0m")
    assert first.net == "in — · out —" and counters == (100.0, 4096, 0, 0, 0)
    later = m.__class__(**{**m.__dict__, "netin": 4096 + 2048})
    second, _ = metrics_view(later, counters, now=102.0)
    assert second.net == "in 1 KiB/s · out 0 B/s"
    stopped, _ = metrics_view(m.__class__(**{**m.__dict__, "status": "stopped"}), counters, 103.0)
    assert (stopped.cpu, stopped.uptime) == ("—", "—")


def test_chart_points_keep_gaps() -> None:
    points = chart_points([HistoryPoint(0, 12.34, None, 0.0, None)], "hour")
    assert (points[0]["cpu"], points[0]["netin"]) == (12.3, 0.0)
    assert points[0]["memory"] is None and points[0]["netout"] is None


def test_a_credential_is_named_by_reference() -> None:
    ref = credential_ref("grafana-server.service", "GF_SECURITY_ADMIN_PASSWORD")
    assert parse_credential_ref(ref) == ("grafana-server.service", "GF_SECURITY_ADMIN_PASSWORD")
    assert parse_credential_ref("no-separator") == ("no-separator", "")
