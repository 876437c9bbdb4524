"""The helper library of template scripts, run with the host's bash in a temporary directory."""

from __future__ import annotations

import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from lxc_manager.templates.runtime import HELPERS_FILE, helper_library, script_preamble

HELPERS = (
    Path(__file__).resolve().parents[2] / "lxc_manager" / "templates" / "runtime" / HELPERS_FILE
)
STAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


def bash(
    script: str, tmp_path: Path, *, preamble: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `script` after the preamble (default: debian-12, root) like the pipeline: bash -s."""
    text = (preamble if preamble is not None else script_preamble("debian-12")) + script
    return subprocess.run(
        ["bash", "-s"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"LXCM_CREDENTIALS_DIR": str(tmp_path / "credentials"), "HOME": str(tmp_path)},
    )


# --- the Python accessors --------------------------------------------------------------------


def test_helper_library_is_the_shipped_file() -> None:
    assert helper_library() == HELPERS.read_text(encoding="utf-8")


def test_preamble_exports_and_ends_with_the_library() -> None:
    preamble = script_preamble("ubuntu-24.04", "admin")
    lines = preamble.splitlines()
    assert lines[1] == f"export LXCM_PREAMBLE_LINES={len(lines)}"
    assert "export CONTAINER_OS=ubuntu-24.04" in lines
    assert "export CONTAINER_USER=admin" in lines
    assert helper_library() in preamble
    assert preamble.endswith("\n")


@pytest.mark.parametrize(
    ("container_os", "user"),
    [
        ("debian-12; rm -rf /", "root"),
        ("", "root"),
        ("debian-12", "Bad User"),
        ("debian-12", "$(id)"),
    ],
)
def test_preamble_refuses_values_that_are_not_names(container_os: str, user: str) -> None:
    with pytest.raises(ValueError, match="must"):
        script_preamble(container_os, user)


def test_preamble_values_reach_the_script(tmp_path: Path) -> None:
    result = bash(
        'printf "%s|%s|%s\\n" "$CONTAINER_OS" "$CONTAINER_USER" "$DEBIAN_FRONTEND"\n',
        tmp_path,
        preamble=script_preamble("alpine-3.20", "app"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "alpine-3.20|app|noninteractive\n"


def test_a_failing_command_stops_the_script_and_names_its_line(tmp_path: Path) -> None:
    result = bash("echo first\nfalse\necho never\n", tmp_path)
    assert result.returncode == 1
    assert result.stdout == "first\n"
    assert re.search(
        rf"^\[ERROR\] {STAMP} command failed with exit status 1 at line 2 of the script: false$",
        result.stderr,
        re.M,
    ), result.stderr


def test_without_errexit_failures_are_not_logged(tmp_path: Path) -> None:
    result = bash("set +e\nfalse\necho after\n", tmp_path)
    assert (result.returncode, result.stdout) == (0, "after\n")
    assert "[ERROR]" not in result.stderr


def test_defaults_without_the_pipeline_exports(tmp_path: Path) -> None:
    result = bash(
        f'source {shlex.quote(str(HELPERS))}\nprintf "%s|%s|%s\\n" "$CONTAINER_OS" "$CONTAINER_USER" "$PATH"\n',
        tmp_path,
        preamble="",
    )
    assert result.returncode == 0, result.stderr
    container_os, user, path = result.stdout.strip().split("|")
    assert re.fullmatch(r"[a-z]+-[0-9a-z.]+", container_os)
    assert user == "root"
    assert path == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# --- logging -----------------------------------------------------------------------------------


def test_log_functions_prefix_their_level_and_a_timestamp(tmp_path: Path) -> None:
    result = bash(
        'log_info "hello world"\nlog_warn careful\nlog_error "two\nlines"\nmsg_ok done\n', tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    expected = [
        r"\[INFO\] {} hello world",
        r"\[WARN\] {} careful",
        r"\[ERROR\] {} two",
        r"\[ERROR\] {} lines",
        r"\[INFO\] {} OK: done",
    ]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern.format(STAMP), line), line


def test_die_logs_and_exits_with_1(tmp_path: Path) -> None:
    result = bash('die "cannot go on"\necho never\n', tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.search(rf"^\[ERROR\] {STAMP} cannot go on$", result.stderr, re.M)


# --- generate_password -------------------------------------------------------------------------


def test_generate_password_default_length_and_charset(tmp_path: Path) -> None:
    result = bash("generate_password\ngenerate_password\ngenerate_password 64\n", tmp_path)
    assert result.returncode == 0, result.stderr
    first, second, long = result.stdout.splitlines()
    assert re.fullmatch(r"[A-Za-z0-9]{24}", first)
    assert re.fullmatch(r"[A-Za-z0-9]{24}", second)
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9]{64}", long)


def test_generate_password_uses_the_whole_alphabet(tmp_path: Path) -> None:
    result = bash("generate_password 256\ngenerate_password 256\n", tmp_path)
    text = result.stdout.replace("\n", "")
    assert len(text) == 512
    assert re.search("[a-z]", text) and re.search("[A-Z]", text) and re.search("[0-9]", text)
    assert len(set(text)) > 40


@pytest.mark.parametrize("length", ["7", "257", "abc", "-5"])
def test_generate_password_refuses_bad_lengths(tmp_path: Path, length: str) -> None:
    result = bash(f"generate_password {length}\n", tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "the length must be a number from 8 to 256" in result.stderr


# --- save_credential ---------------------------------------------------------------------------


def test_save_credential_writes_key_value_with_private_modes(tmp_path: Path) -> None:
    result = bash("save_credential webapp SECRET_KEY 's3cr3t value $x \"q\"'\n", tmp_path)
    assert result.returncode == 0, result.stderr
    directory = tmp_path / "credentials"
    file = directory / "webapp"
    assert file.read_text() == 'SECRET_KEY=s3cr3t value $x "q"\n'
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert [p.name for p in directory.iterdir()] == ["webapp"]


def test_save_credential_replaces_a_key_in_place(tmp_path: Path) -> None:
    directory = tmp_path / "credentials"
    directory.mkdir(mode=0o755)
    (directory / "db").write_text(
        "# kept comment\nUSER=app\nPASSWORD=old\nPORT=5432\nPASSWORD=older\n"
    )
    result = bash("save_credential db PASSWORD new\nsave_credential db HOST localhost\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (directory / "db").read_text() == (
        "# kept comment\nUSER=app\nPASSWORD=new\nPORT=5432\nHOST=localhost\n"
    )
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "db").stat().st_mode) == 0o600


def test_save_credential_does_not_confuse_key_prefixes(tmp_path: Path) -> None:
    result = bash("save_credential app KEY_ID 1\nsave_credential app KEY 2\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "credentials" / "app").read_text() == "KEY_ID=1\nKEY=2\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("../etc KEY v", "the service name is"),
        (".hidden KEY v", "the service name is"),
        ("'a b' KEY v", "the service name is"),
        ("app 1KEY v", "the key is"),
        ("app 'KEY=X' v", "the key is"),
        ("app KEY $'two\\nlines'", "cannot contain a line break"),
        ("app KEY", "usage: save_credential SERVICE KEY VALUE"),
    ],
)
def test_save_credential_refuses_unsafe_arguments(tmp_path: Path, args: str, message: str) -> None:
    result = bash(f"save_credential {args}\n", tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "credentials").exists() or not any((tmp_path / "credentials").iterdir())
    assert not (tmp_path / "etc").exists()


# --- packages, users ----------------------------------------------------------------------------


def test_is_installed_asks_the_package_database(tmp_path: Path) -> None:
    result = bash(
        'dpkg-query() { [[ $3 == present ]] && printf "install ok installed"; }\n'
        "is_installed present && echo present-yes\n"
        "is_installed absent || echo absent-no\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "present-yes\nabsent-no\n"


def test_ensure_installed_installs_only_the_missing_packages(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    result = bash(
        f"calls={shlex.quote(str(log))}\n"
        "is_installed() { [[ $1 == curl || $1 == sudo ]]; }\n"
        'wait_for_apt_lock() { echo "lock-wait" >>"$calls"; }\n'
        "_lxcm_apt_lists_present() { return 1; }\n"
        'apt-get() { echo "apt-get $*" >>"$calls"; }\n'
        "ensure_installed curl nginx sudo jq\n"
        "ensure_installed curl sudo\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [
        "lock-wait",
        "apt-get update -q",
        "lock-wait",
        "apt-get install -y -q --no-install-recommends nginx jq",
    ]
    assert re.search(rf"^\[INFO\] {STAMP} installing nginx jq$", result.stderr, re.M)


def test_ensure_installed_retries_once_after_refreshing(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    result = bash(
        f"calls={shlex.quote(str(log))}\n"
        "is_installed() { return 1; }\n"
        "wait_for_apt_lock() { :; }\n"
        "_lxcm_apt_lists_present() { return 0; }\n"
        'apt-get() { echo "$*" >>"$calls"; [[ $1 != install || -e "$calls.second" ]] || { touch "$calls.second"; return 100; }; }\n'
        "ensure_installed nginx\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [
        "install -y -q --no-install-recommends nginx",
        "update -q",
        "install -y -q --no-install-recommends nginx",
    ]


def test_run_as_user_runs_as_that_user_from_its_home(tmp_path: Path) -> None:
    result = bash(
        'me=$(id -un)\nrun_as_user "$me" sh -c \'id -un; printf "%s\\n" "$1"\' sh "a b"\n', tmp_path
    )
    assert result.returncode == 0, result.stderr
    user, argument = result.stdout.splitlines()
    assert argument == "a b"
    assert (
        user
        == subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    )


def test_run_as_user_refuses_an_unknown_user(tmp_path: Path) -> None:
    result = bash("run_as_user no-such-user-lxcm true\n", tmp_path)
    assert result.returncode == 1
    assert "run_as_user: no such user: no-such-user-lxcm" in result.stderr


def test_shell_quoting_for_su_survives_a_shell(tmp_path: Path) -> None:
    result = bash(
        "quoted=$(_lxcm_shell_quote printf '%s|' \"it's\" 'a b' '$HOME' '\"')\nsh -c \"$quoted\"\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "it's|a b|$HOME|\"|"


def test_wait_for_apt_lock_returns_when_nothing_holds_the_locks(tmp_path: Path) -> None:
    result = bash(
        "_lxcm_apt_lock_holder() { printf '\\n'; }\nwait_for_apt_lock 5 && echo free\n", tmp_path
    )
    assert (result.returncode, result.stdout) == (0, "free\n")


def test_wait_for_apt_lock_gives_up_after_its_timeout(tmp_path: Path) -> None:
    result = bash(
        "_lxcm_apt_lock_holder() { printf '/var/lib/dpkg/lock-frontend\\n'; }\n"
        "wait_for_apt_lock 2 || echo gave-up\n",
        tmp_path,
    )
    assert (result.returncode, result.stdout) == (0, "gave-up\n")
    assert "still locked after 2s (/var/lib/dpkg/lock-frontend)" in result.stderr


def test_wait_for_port(tmp_path: Path) -> None:
    result = bash("wait_for_port 1 127.0.0.1 1 || echo closed\n", tmp_path)
    assert result.stdout == "closed\n"
    assert "nothing answers on 127.0.0.1:1 after 1s" in result.stderr


# --- the simulator can run the library ---------------------------------------------------------


async def test_the_simulator_runs_the_preamble() -> None:
    """The Proxmox VE simulator (tests, demo) must parse and run the library too."""
    from tests.unit.simulator.shell_helpers import run

    script = script_preamble("debian-12") + (
        "log_info hello\n"
        "save_credential web KEY one\n"
        "save_credential web KEY two\n"
        "cat /etc/lxc-manager/credentials/web\n"
        "is_installed nginx || echo absent\n"
        "ensure_installed nginx\n"
        "is_installed nginx && echo present\n"
        "run_as_user root id -un\n"
    )
    result = await run(script)
    assert result.status == 0, result.err
    assert result.out == "KEY=two\nabsent\npresent\nroot\n"
    assert re.search(rf"^\[INFO\] {STAMP} hello$", result.err, re.M)
