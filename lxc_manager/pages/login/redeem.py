"""The script that hands a signed-in tab its grant (Reflex-free, tested in Node.js).

A successful sign-in ends in a full page load of `/auth/complete?grant=...`, a plain HTTP
route that sets the HttpOnly session cookie (a Reflex event cannot).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from lxc_manager.security.sessions import GRANT_NONCE_COOKIE, GRANT_NONCE_PATH, GRANT_TTL_SECONDS
from lxc_manager.settings import get_settings
from lxc_manager.signin.service import SignedIn


def redeem_script(outcome: SignedIn, next_path: str) -> str:
    """Hand the grant's nonce to this tab only (a short-lived cookie scoped to the route),
    then navigate to `/auth/complete`: a same-origin navigation that carries it."""
    secure = "; secure" if get_settings().secure_cookies else ""
    cookie = (
        f"{GRANT_NONCE_COOKIE}={outcome.nonce}; path={GRANT_NONCE_PATH}; "
        f"max-age={GRANT_TTL_SECONDS}; samesite=strict{secure}"
    )
    target = f"{GRANT_NONCE_PATH}?grant={quote(outcome.grant)}&next={quote(next_path)}"
    return f"document.cookie = {json.dumps(cookie)}; window.location.assign({json.dumps(target)});"
