"""Settings parsing: defaults, good values, and one clear line for every bad value."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from lxc_manager.settings import SettingsError, load_settings, split_host_port

KEY = base64.b64encode(b"k" * 32).decode()


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=tmp_path)
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'lxc-manager.db'}"
    assert settings.redis_url is None and settings.embedded_redis
    assert settings.secret_keyring is None
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 3000, 2)
    assert settings.public_url == "http://127.0.0.1:3000"
    assert settings.secure_cookies is False
    assert settings.login_allowed_hosts == ()
    assert settings.log_level == "INFO"


def test_good_values(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "LXCM_DATA_DIR": str(tmp_path / "elsewhere"),
            "DATABASE_URL": "postgresql://lxcm:pw@db.lan:5432/lxcm",
            "REDIS_URL": "redis://:secret@cache.lan:6380/3",
            "LXCM_SECRET_KEY": f"new:{KEY},old:{base64.b64encode(b'o' * 32).decode()}",
            "LXCM_HOST": "0.0.0.0",
            "LXCM_PORT": "8080",
            "LXCM_WORKERS": "0",
            "LXCM_PUBLIC_URL": "https://lxc.example.org/",
            "LXCM_LOGIN_ALLOWED_HOSTS": "pve1.lan, 10.0.0.5:8007,[fd00::1]:8006",
            "LXCM_LOG_LEVEL": "debug",
        },
        cwd=tmp_path,
    )
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.database_url == "postgresql+psycopg://lxcm:pw@db.lan:5432/lxcm"
    assert settings.redis_url == "redis://:secret@cache.lan:6380/3"
    assert settings.secret_keyring is not None
    assert [kid for kid, _ in settings.secret_keyring] == ["new", "old"]
    assert settings.port == 8080 and settings.workers == 0
    assert settings.public_url == "https://lxc.example.org" and settings.secure_cookies
    assert settings.login_allowed_hosts == (
        ("pve1.lan", 8006),
        ("10.0.0.5", 8007),
        ("fd00::1", 8006),
    )
    assert settings.log_level == "DEBUG"


def test_public_url_follows_host_and_port(tmp_path: Path) -> None:
    settings = load_settings({"LXCM_HOST": "0.0.0.0", "LXCM_PORT": "4000"}, cwd=tmp_path)
    assert settings.public_url == "http://127.0.0.1:4000"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("LXCM_PORT", "abc", "an integer between 1 and 65535"),
        ("LXCM_PORT", "70000", "an integer between 1 and 65535"),
        ("LXCM_WORKERS", "-1", "an integer between 0 and 32"),
        ("LXCM_WEB_WORKERS", "0", "an integer between 1 and 32"),
        ("LXCM_HOST", "bad host!", "a host name or IP address"),
        ("LXCM_PUBLIC_URL", "ftp://x", "an http:// or https:// URL"),
        ("LXCM_PUBLIC_URL", "https://x/?a=1", "a URL without query"),
        ("LXCM_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR"),
        ("DATABASE_URL", "mysql://u:p@h/db", "sqlite:///PATH or postgresql://"),
        ("REDIS_URL", "http://cache", "redis://HOST:PORT/DB"),
        ("REDIS_URL", "redis://cache/99", "a database number between 0 and 13"),
        ("LXCM_SECRET_KEY", "nokid", "a keyring kid:base64key"),
        ("LXCM_SECRET_KEY", "k1:not-base64!!", "bad base64"),
        ("LXCM_SECRET_KEY", f"k1:{base64.b64encode(b'short').decode()}", "is 5 bytes"),
        ("LXCM_SECRET_KEY", f"k1:{KEY},k1:{KEY}", "repeated"),
        ("LXCM_LOGIN_ALLOWED_HOSTS", "pve:notaport", "host[:port]"),
        ("LXCM_SHUTDOWN_TIMEOUT", "0", "a number between 1 and 60"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, cwd=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{name}: expected ")
    assert expected in message
    assert "\n" not in message


def test_errors_never_echo_secrets(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"DATABASE_URL": "mysql://user:hunter2@db/x"}, cwd=tmp_path)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {"LXCM_SECRET_KEY": f"k1:{base64.b64encode(b'short').decode()}"}, cwd=tmp_path
        )
    assert base64.b64encode(b"short").decode() not in str(caught.value)


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match="LXCM_DATA_DIR"):
        load_settings({"LXCM_DATA_DIR": str(tmp_path / "file")}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pve", ("pve", 8006)),
        ("pve:8007", ("pve", 8007)),
        ("[::1]:9000", ("::1", 9000)),
        ("[::1]", ("::1", 8006)),
        ("pve:0", (None, None)),
        ("", (None, None)),
        ("a b", (None, None)),
    ],
)
def test_split_host_port(text: str, expected: tuple[str | None, int | None]) -> None:
    assert split_host_port(text, 8006) == expected


def test_cli_stops_with_one_line_on_bad_value(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lxc_manager.cli", "migrate"],
        env={"PATH": "/usr/bin:/bin", "LXCM_PORT": "abc", "LXCM_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "lxc-manager: configuration error: LXCM_PORT: expected an integer between 1 and 65535, got 'abc'"
    ]


def test_every_documented_variable_is_parsed(tmp_path: Path) -> None:
    """A documented variable with a bad value must be refused: proof that it is read at all."""
    from lxc_manager.settings import VARIABLES

    free_form = {"LXCM_DATA_DIR", "LXCM_TEMPLATES_DIR"}  # any path is a valid value
    for variable in VARIABLES:
        if variable.name in free_form:
            continue
        with pytest.raises(SettingsError, match=variable.name):
            load_settings({variable.name: "not valid ::"}, cwd=tmp_path)


def test_session_and_login_knobs(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "LXCM_SESSION_IDLE_TIMEOUT": "60",
            "LXCM_LOGIN_LIMIT_WINDOW": "2",
            "LXCM_PROXMOX_READ_TIMEOUT": "2.5",
        },
        cwd=tmp_path,
    )
    assert (
        settings.session_idle_timeout,
        settings.login_limit_window,
        settings.proxmox_read_timeout,
    ) == (60, 2, 2.5)
    assert settings.session_lifetime == 7200
    with pytest.raises(SettingsError, match="LXCM_SESSION_LIFETIME"):
        load_settings({"LXCM_SESSION_LIFETIME": "7201"}, cwd=tmp_path)
