"""Every page's route, and the builders of links to them: the one place URLs are spelt.

Builders take plain values or Reflex Vars (an f-string of a Var is a Var), so the same
builder serves a redirect in a handler and a link in a component. Dynamic segments are
read through `route_arg`, which reads Reflex's own route vars, never the URL path.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import reflex as rx

from lxc_manager.security.sessions import safe_next

DASHBOARD = "/"
LOGIN = "/login"
LOGOUT = "/auth/logout"
NEW_CONTAINER = "/containers/new"
CONTAINER = "/containers/[ct_node]/[ct_vmid]"
JOB = "/containers/jobs/[job_id]"
BACKUPS = "/backups"
TEMPLATES = "/templates"
PACKAGE_BUCKETS = "/templates/packages"
TEMPLATE = "/templates/[tpl]"
NODES = "/settings/nodes"
SIGN_IN_ENDPOINTS = "/settings/sign-in"

API_KEYS = "/settings/api-keys"

# The HTTP API (lxc_manager/api): plain Starlette routes, path parameters in braces.
API_V1 = "/api/v1"
API_OPENAPI = API_V1 + "/openapi.json"
API_ME = API_V1 + "/me"
API_NODES = API_V1 + "/nodes"
API_CONTAINERS = API_V1 + "/containers"
API_CONTAINER = API_V1 + "/containers/{node_id}/{vmid}"
API_CONTAINER_ACTION = API_V1 + "/containers/{node_id}/{vmid}/status/{action}"
API_TEMPLATES = API_V1 + "/templates"
API_TEMPLATE = API_V1 + "/templates/{template_id}"
API_CREATIONS = API_V1 + "/creations"
API_CREATION_PREVIEW = API_CREATIONS + "/preview"
API_CREATION = API_CREATIONS + "/{job_id}"
API_CREATION_EVENTS = API_CREATION + "/events"
API_CREATION_ACTION = API_CREATION + "/{action}"
API_CONTAINER_BACKUPS = API_CONTAINER + "/backups"
API_CONTAINER_BACKUP_UPDATE = API_CONTAINER_BACKUPS + "/update"
API_CONTAINER_BACKUP_DELETE = API_CONTAINER_BACKUPS + "/delete"
API_CONTAINER_BACKUP_RESTORE = API_CONTAINER_BACKUPS + "/restore"
API_OPERATIONS = API_V1 + "/operations"
API_OPERATION = API_OPERATIONS + "/{job_id}"
API_OPERATION_EVENTS = API_OPERATION + "/events"
# The Settings page fetches a key it has just created from here, once (not an API route).
API_KEY_ONCE = "/auth/api-key"

# The dynamic segments above, as Reflex names its route vars.
CT_NODE, CT_VMID, JOB_ID, TEMPLATE_ID = "ct_node", "ct_vmid", "job_id", "tpl"


def container(node_id: Any, vmid: Any) -> Any:
    return f"/containers/{node_id}/{vmid}"


def job(job_id: Any) -> Any:
    return f"/containers/jobs/{job_id}"


def template(template_id: Any) -> Any:
    return f"/templates/{template_id}"


def container_clone(node_id: Any, vmid: Any) -> Any:
    """The container page with its Clone dialog open."""
    return f"/containers/{node_id}/{vmid}?action=clone"


def container_console(node_id: Any, vmid: Any) -> Any:
    """The container page with its Console tab open."""
    return f"/containers/{node_id}/{vmid}?tab=console"


def console_ws(node_id: Any, vmid: Any) -> Any:
    """The WebSocket of a container's console (the app relays it; issue 16)."""
    return f"/console/ws/{node_id}/{vmid}"


def console_recording(recording_id: Any) -> Any:
    return f"/console/recordings/{recording_id}"


def api_creation(job_id: Any) -> Any:
    return f"{API_CREATIONS}/{job_id}"


def api_operation(job_id: Any) -> Any:
    return f"{API_OPERATIONS}/{job_id}"


def new_container(template_id: int | None = None) -> str:
    return NEW_CONTAINER + (f"?template={template_id}" if template_id else "")


def login(next_path: str | None = None, ended: bool = False) -> str:
    query = {"next": safe_next(next_path)}
    if ended:
        query["ended"] = "1"
    return LOGIN + "?" + urlencode(query)


def route_arg(state: rx.State, name: str) -> str:
    """A dynamic segment of the current page's route (`CT_NODE`, `JOB_ID`, ...), from the
    route var Reflex defines for it ("" when the page has no such segment)."""
    value = getattr(state, name, "")
    return value if isinstance(value, str) else ""
