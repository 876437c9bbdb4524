"""The dashboard keeps every listed container in the tab's state, packed small."""

from __future__ import annotations

from lxc_manager.containers import ContainerRow
from lxc_manager.pages.dashboard.rows import pack_rows, unpack_rows


def _row(vmid: int) -> ContainerRow:
    return ContainerRow(
        key=f"1:{vmid}",
        node_id=1,
        node_name="homelab",
        pve_node="pve1",
        vmid=vmid,
        name=f"web-{vmid:03d}",
        status="running" if vmid % 3 else "stopped",
        cpu=0.02 * (vmid % 7),
        maxcpu=2,
        mem=256 * 1024**2,
        maxmem=1024**3,
        disk=2 * 1024**3,
        maxdisk=8 * 1024**3,
        uptime=3600 + vmid,
        tags=("web", "prod") if vmid % 2 else (),
        template=False,
        ip=f"10.0.0.{vmid % 250}",
        last_known=False,
        ha=vmid % 5 == 0,
    )


def test_rows_come_back_equal_and_the_pack_is_small() -> None:
    rows = [_row(vmid) for vmid in range(100, 350)]
    packed = pack_rows(rows)
    assert unpack_rows(packed) == rows
    assert all(isinstance(row, ContainerRow) for row in unpack_rows(packed))
    assert len(packed) < 10 * 1024, len(packed)  # 250 containers in under 10 KiB
    assert unpack_rows(b"") == [] and unpack_rows(pack_rows([])) == []
