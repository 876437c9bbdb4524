"""`/nodes/{node}/lxc/{vmid}/termproxy` and `/vncwebsocket`: the console (console.py)."""

from __future__ import annotations

from typing import Any

from .lxc_params import CT
from .params import opt_int, opt_str, req
from .router import Ctx, route


# Neither has `proxyto => 'node'` (pve-container src/PVE/API2/LXC.pm): termproxy reaches
# another node's container through `ssh -t` in its command, not by proxying the request.
@route("POST", "/nodes/{node}/lxc/{vmid}/termproxy", CT)
async def termproxy(ctx: Ctx) -> Any:
    return ctx.services.consoles.open(ctx)


@route(
    "GET",
    "/nodes/{node}/lxc/{vmid}/vncwebsocket",
    {
        **CT,
        "vncticket": req(opt_str(max_length=512)),
        "port": req(opt_int(minimum=5900, maximum=5999)),
    },
)
async def vncwebsocket(ctx: Ctx) -> Any:
    delay = ctx.services.auth_failure_delay
    return await ctx.services.consoles.websocket(ctx, delay, delay)
