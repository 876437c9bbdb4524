"""Argv quoting and validation for the commands sent to the Proxmox host."""

from __future__ import annotations

import shlex

import pytest

from lxc_manager.ssh.commands import (
    command_line,
    describe,
    pct_exec_argv,
    pct_push_argv,
    validate_argv,
    validate_vmid,
)

NASTY = [
    'it\'s; $(rm -rf /) "q"',
    "`id`",
    "a b\tc",
    "line1\nline2",
    "$HOME ${PATH} $((1+1))",
    "*",
    "~",
    "--help",
    "-",
    "",
    "'",
    '"',
    "\\",
    "a;b|c&d>e<f",
    "ünïcødé ✓",
    "!!",
    "#comment",
]


@pytest.mark.parametrize("vmid", [100, 101, 12345, 999_999_999])
def test_valid_vmids_pass_through(vmid: int) -> None:
    assert validate_vmid(vmid) == vmid


@pytest.mark.parametrize("vmid", [99, 0, -1, 1_000_000_000, True, False, "101", 101.0, None])
def test_invalid_vmids_are_refused(vmid: object) -> None:
    with pytest.raises(ValueError, match="vmid"):
        validate_vmid(vmid)


def test_each_argument_is_exactly_one_shell_word() -> None:
    argv = ["printf", "%s\\n", *NASTY]
    line = command_line(argv)
    assert shlex.split(line) == argv


def test_a_command_line_never_contains_unquoted_metacharacters() -> None:
    line = command_line(["echo", "x; rm -rf / #"])
    assert line == "echo 'x; rm -rf / #'"


@pytest.mark.parametrize(
    "argv",
    [[], "echo hi", b"echo", ["echo", 1], ["echo", b"x"], ["echo", "a\x00b"], [""], ("",)],
)
def test_bad_argv_is_refused(argv: object) -> None:
    with pytest.raises(ValueError):
        validate_argv(argv)  # type: ignore[arg-type]


def test_validate_argv_accepts_tuples_and_returns_a_list() -> None:
    assert validate_argv(("ls", "-l")) == ["ls", "-l"]


def test_pct_exec_puts_the_command_after_double_dash() -> None:
    argv = pct_exec_argv(101, ["-x", "it's; $(rm -rf /)"])
    assert argv == ["pct", "exec", "101", "--", "-x", "it's; $(rm -rf /)"]
    assert shlex.split(command_line(argv)) == argv


def test_pct_exec_validates_the_vmid_and_argv() -> None:
    with pytest.raises(ValueError):
        pct_exec_argv(5, ["true"])
    with pytest.raises(ValueError):
        pct_exec_argv(101, [])


def test_pct_push_argv_with_defaults() -> None:
    assert pct_push_argv(101, "/tmp/x", "/etc/motd", 0o644) == [
        "pct", "push", "101", "/tmp/x", "/etc/motd", "--perms", "0644",
    ]  # fmt: skip


def test_pct_push_argv_with_owner_group_and_special_modes() -> None:
    argv = pct_push_argv(101, "/tmp/x", "/srv/a b.sh", 0o4750, owner="www-data", group="1000")
    assert argv[5:] == ["--perms", "4750", "--user", "www-data", "--group", "1000"]
    assert pct_push_argv(101, "/tmp/x", "/f", 0)[6] == "0000"


@pytest.mark.parametrize("dest", ["relative/path", "", "/dir/", "/a\x00b", "/a\nb"])
def test_pct_push_refuses_bad_destinations(dest: str) -> None:
    with pytest.raises(ValueError, match="destination"):
        pct_push_argv(101, "/tmp/x", dest, 0o644)


@pytest.mark.parametrize("mode", [-1, 0o10000, True, "644", 6.44])
def test_pct_push_refuses_bad_modes(mode: object) -> None:
    with pytest.raises(ValueError, match="mode"):
        pct_push_argv(101, "/tmp/x", "/f", mode)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["-rf", "a b", "", "x;y", "$(id)", "a" * 80])
def test_pct_push_refuses_bad_owner_and_group(name: str) -> None:
    with pytest.raises(ValueError, match="owner"):
        pct_push_argv(101, "/tmp/x", "/f", 0o644, owner=name)
    with pytest.raises(ValueError, match="group"):
        pct_push_argv(101, "/tmp/x", "/f", 0o644, group=name)


def test_describe_names_the_program_but_never_the_arguments() -> None:
    secret = "hunter2-secret"
    assert describe(["pct", "exec", "101", "--", "mysql", "-p" + secret]) == (
        "pct exec 101 -- mysql (+1 args)"
    )
    assert describe(["curl", "-u", f"admin:{secret}"]) == "curl (+2 args)"
    assert describe(["pct", "push", "101", "/tmp/x", secret]) == "pct push 101 (+2 args)"
    assert describe(["/usr/bin/env", "FOO=" + secret, "sh"]) == "/usr/bin/env (+2 args)"
    assert describe(["pct", "exec", "101", "--", "$(x)"]) == "pct exec 101 -- ?"
