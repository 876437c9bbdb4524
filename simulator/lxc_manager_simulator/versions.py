"""Proxmox VE releases the simulator can play (`--pve-version`), and what differs between them.

Only behaviour the app can notice is modelled, each with the Proxmox source that says when
it changed (see also README.md, "Proxmox sources behind the behaviour"):

- `GET /nodes/{node}/lxc/{vmid}/interfaces` exists since pve-container 5.0.6 ("api:
  network: add endpoint to get interfaces details like configured IPs", debian/changelog,
  19 Nov 2023), first shipped with PVE 8.1. Before, pve-http-server answers the unknown
  route with 501 "Method '...' not implemented".
- Error bodies carry `message` since libpve-http-server-perl 5.2.0 (28 Jan 2025, fix #6503,
  commit "return api handler errors in the json body",
  src/PVE/APIServer/Formatter/Standard.pm `prepare_response_data`), i.e. PVE 8.3 point
  updates and later (8.4, 9.x). Older servers answer `{"data": null}` (+ `errors` for a
  parameter error) and put the message only in the HTTP reason phrase.
- Pressure stall information (`pressurecpusome`, `pressurecpufull`, `pressureiosome`,
  `pressureiofull`, `pressurememorysome`, `pressurememoryfull`) in `GET /nodes/{node}/lxc`
  and `.../status/current` since pve-container 6.0.7 ("metrics: add pressure stall
  information to status"; src/PVE/LXC.pm `vmstatus`), i.e. PVE 9.0.

Version strings: 8.0.4/d258a813cfa6b390 and 8.2.4/faa83925c9641325 as printed by real hosts
(`pveversion`); 8.4.0/ec58e45e1bcdf2ac likewise; the 9.1 repoid is a placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

INTERFACES_ROUTE = ("GET", "/nodes/{node}/lxc/{vmid}/interfaces")
PRESSURE_FIELDS = (
    "pressurecpusome",
    "pressurecpufull",
    "pressureiosome",
    "pressureiofull",
    "pressurememorysome",
    "pressurememoryfull",
)


@dataclass(frozen=True)
class PveVersion:
    release: str  # "8.0"
    version: str  # "8.0.4"
    repoid: str
    kernel: str

    @property
    def number(self) -> tuple[int, int]:
        major, minor = self.release.split(".")
        return int(major), int(minor)

    @property
    def has_interfaces_route(self) -> bool:
        return self.number >= (8, 1)

    @property
    def error_message_in_body(self) -> bool:
        return self.number >= (8, 4)

    @property
    def has_pressure_fields(self) -> bool:
        return self.number >= (9, 0)

    def route_exists(self, method: str, path: str) -> bool:
        return (method, path) != INTERFACES_ROUTE or self.has_interfaces_route


VERSIONS: dict[str, PveVersion] = {
    "8.0": PveVersion("8.0", "8.0.4", "d258a813cfa6b390", "6.2.16-3-pve"),
    "8.2": PveVersion("8.2", "8.2.4", "faa83925c9641325", "6.8.12-1-pve"),
    "8.4": PveVersion("8.4", "8.4.0", "ec58e45e1bcdf2ac", "6.8.12-9-pve"),
    "9.1": PveVersion("9.1", "9.1.4", "5b0f2c3f8e7d1a96", "6.17.4-2-pve"),
}
NEWEST = VERSIONS["9.1"]
