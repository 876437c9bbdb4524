"""Constants of the API's integration tests (fixtures are in conftest.py)."""

from __future__ import annotations

USER_A = "root@pam@1"
USER_B = "alice@pve@1"
