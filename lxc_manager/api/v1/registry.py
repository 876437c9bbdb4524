"""The registry every `/api/v1` endpoint module declares its operations in."""

from __future__ import annotations

from lxc_manager.api.framework import ApiRegistry

API = ApiRegistry()
VERSION = "1.0.0"
