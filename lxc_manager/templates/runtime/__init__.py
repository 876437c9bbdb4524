"""The bash runtime of template scripts: the helper library and the preamble put before a script.

A template script runs as root through `bash -s` inside the container, as
`script_preamble(...) + script`. The preamble exports `CONTAINER_OS`, `CONTAINER_USER` and
`LXCM_PREAMBLE_LINES` (so error messages give line numbers of the script itself), then
holds the helper library (`helpers.sh`, documented in docs/templates.md).
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from importlib import resources

__all__ = ["HELPERS_FILE", "helper_library", "script_preamble"]

HELPERS_FILE = "helpers.sh"

_OS_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
# useradd's default NAME_REGEX on Debian plus root; a trailing $ is for machine accounts.
_USER_PATTERN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")


@cache
def helper_library() -> str:
    """The text of helpers.sh, as shipped with the package."""
    return resources.files(__name__).joinpath(HELPERS_FILE).read_text(encoding="utf-8")


def script_preamble(container_os: str, container_user: str = "root") -> str:
    """What goes before a template script: the exports, then the helper library.

    `container_os` is the distribution and release (`debian-12`, `ubuntu-24.04`,
    `alpine-3.20`; an os_template pattern such as `debian-12-standard` is accepted too);
    `container_user` is the account the template configures for people (root by default).
    Raises ValueError for values that are not plain names.
    """
    if not _OS_PATTERN.match(container_os):
        raise ValueError(f"container_os must look like debian-12, not {container_os!r}")
    if not _USER_PATTERN.match(container_user):
        raise ValueError(f"container_user must be a Linux user name, not {container_user!r}")
    library = helper_library()
    if not library.endswith("\n"):
        library += "\n"
    body = (
        f"export CONTAINER_OS={shlex.quote(container_os)}\n"
        f"export CONTAINER_USER={shlex.quote(container_user)}\n"
        f"{library}"
        "# ---- end of the LXC Manager preamble; the template script follows ----\n"
    )
    header = "# ---- LXC Manager preamble (helper library) ----\n"
    # +1 for the LXCM_PREAMBLE_LINES line itself.
    lines = header.count("\n") + body.count("\n") + 1
    return f"{header}export LXCM_PREAMBLE_LINES={lines}\n{body}"
