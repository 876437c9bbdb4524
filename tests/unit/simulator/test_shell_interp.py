"""The bash-subset interpreter: every construct of the documented subset."""

from __future__ import annotations

import asyncio

import pytest
from shell_helpers import run

from lxc_manager_simulator.shell.world import ContainerWorld

CASES = [
    # lists and exit statuses
    ("echo a; echo b", 0, "a\nb\n"),
    ("true && echo yes", 0, "yes\n"),
    ("false && echo no", 1, ""),
    ("false || echo fallback", 0, "fallback\n"),
    ("true || echo no", 0, ""),
    ("false && echo x || echo y", 0, "y\n"),
    ("false; echo $?", 0, "1\n"),
    ("! false; echo $?", 0, "0\n"),
    ("! true; echo $?", 0, "1\n"),
    # quoting and words
    ("echo 'a  b' \"c  d\" e\\ f", 0, "a  b c  d e f\n"),
    ("x='$HOME'; echo \"$x\" '$x'", 0, "$HOME $x\n"),
    ("echo \"a\\\"b\" 'it''s'", 0, 'a"b its\n'),
    ("echo $'tab\\there'", 0, "tab\there\n"),
    ('echo "back\\\\slash \\$dollar"', 0, "back\\slash $dollar\n"),
    ("echo a\\\nb", 0, "ab\n"),
    ("echo ''", 0, "\n"),
    ("set -- 'one two' three; echo $#", 0, "2\n"),
    # variables and parameter expansion
    ('x=1; echo $x ${x} "$x"', 0, "1 1 1\n"),
    ("echo ${unset:-default} ${unset-dash}", 0, "default dash\n"),
    ("e=; echo [${e:-colon}] [${e-plain}]", 0, "[colon] []\n"),
    ("echo ${v:=assigned}; echo $v", 0, "assigned\nassigned\n"),
    ("x=set; echo ${x:+alt} [${nope:+alt}]", 0, "alt []\n"),
    ("s=hello; echo ${#s}", 0, "5\n"),
    (
        "p=/usr/local/bin/tool.tar.gz; echo ${p##*/} ${p%%.*} ${p#*/} ${p%.*}",
        0,
        "tool.tar.gz /usr/local/bin/tool usr/local/bin/tool.tar.gz /usr/local/bin/tool.tar\n",
    ),
    ("s=a-b-c; echo ${s/-/+} ${s//-/+}", 0, "a+b-c a+b+c\n"),
    ("s=Hello; echo ${s^^} ${s,,} ${s:1:3} ${s: -2}", 0, "HELLO hello ell lo\n"),
    ('echo "${missing:-two words}" | wc -w', 0, "2\n"),
    ("X=1 env | grep '^X='", 0, "X=1\n"),
    ("export A=exported; bash -c 'echo $A'", 0, "exported\n"),
    ("B=local; bash -c 'echo [$B]'", 0, "[]\n"),
    ('set -- a \'b c\' d; for i in "$@"; do echo "<$i>"; done', 0, "<a>\n<b c>\n<d>\n"),
    ('set -- a b; echo "$*" $# $1 ${2}', 0, "a b 2 a b\n"),
    ("set -- x y z; shift; echo $@", 0, "y z\n"),
    ("echo $((2 + 3 * 4)) $((7 / 2)) $((7 % 3)) $((2 ** 10)) $((-7 / 2))", 0, "14 3 1 1024 -3\n"),
    ("i=5; echo $((i + 1)) $(( i > 3 ? 10 : 20 ))", 0, "6 10\n"),
    ("i=0; (( i++ )); (( i += 5 )); echo $i", 0, "6\n"),
    ("(( 0 )); echo $?", 0, "1\n"),
    ("let x=3*3; echo $x", 0, "9\n"),
    # command substitution
    ("echo $(echo hi) \"$(echo 'a  b')\" `echo tick`", 0, "hi a  b tick\n"),
    ("x=$(printf 'l1\\nl2\\n\\n'); echo \"[$x]\"", 0, "[l1\nl2]\n"),
    ("echo $(echo $(echo nested))", 0, "nested\n"),
    ('echo "${x:-$(echo computed)}"', 0, "computed\n"),
    ("x=$(false); echo $?", 0, "1\n"),
    # field splitting and globbing
    ("v='a b  c'; for w in $v; do echo \"[$w]\"; done", 0, "[a]\n[b]\n[c]\n"),
    ("IFS=:; v=a:b:c; for w in $v; do echo $w; done", 0, "a\nb\nc\n"),
    (
        "mkdir /tmp/g && touch /tmp/g/a.txt /tmp/g/b.txt /tmp/g/c.log; echo /tmp/g/*.txt",
        0,
        "/tmp/g/a.txt /tmp/g/b.txt\n",
    ),
    ("echo /nonexistent/*.zz", 0, "/nonexistent/*.zz\n"),
    ("echo '*'", 0, "*\n"),
    ("echo ~ ~/x", 0, "/root /root/x\n"),
    # if / loops
    ("if false; then echo a; elif true; then echo b; else echo c; fi", 0, "b\n"),
    ("if false; then echo a; else echo c; fi", 0, "c\n"),
    ("if false; then echo a; fi; echo $?", 0, "0\n"),
    ("for i in 1 2 3; do echo -n $i; done; echo", 0, "123\n"),
    ("for ((i = 0; i < 3; i++)); do echo $i; done", 0, "0\n1\n2\n"),
    ("i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i", 0, "3\n"),
    ("i=0; until [ $i -ge 2 ]; do i=$((i+1)); echo $i; done", 0, "1\n2\n"),
    ("for i in 1 2 3 4; do [ $i = 3 ] && break; echo $i; done", 0, "1\n2\n"),
    ("for i in 1 2 3; do [ $i = 2 ] && continue; echo $i; done", 0, "1\n3\n"),
    (
        "for i in a b; do for j in 1 2; do [ $j = 2 ] && continue 2; echo $i$j; done; done",
        0,
        "a1\nb1\n",
    ),
    ("printf 'x\\ny\\n' | while read line; do echo \"got $line\"; done", 0, "got x\ngot y\n"),
    # functions
    ('f() { echo "f:$1:$#"; }; f one two', 0, "f:one:2\n"),
    ("function g { return 3; }; g; echo $?", 0, "3\n"),
    ("x=global; f() { local x=inner; echo $x; }; f; echo $x", 0, "inner\nglobal\n"),
    ("f() { local y; y=1; }; f; echo [${y-unset}]", 0, "[unset]\n"),
    ('f() { echo "$@"; shift; echo $1; }; f a b c; echo [$1]', 0, "a b c\nb\n[]\n"),
    (
        "fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }"
        "; fact 5",
        0,
        "120\n",
    ),
    ("f() { echo out; echo err >&2; }; f 2>/dev/null", 0, "out\n"),
    # subshells and groups
    ("x=1; (x=2; echo $x); echo $x", 0, "2\n1\n"),
    ("{ echo a; echo b; } | wc -l", 0, "2\n"),
    ("(exit 4); echo $?", 0, "4\n"),
    ("echo $$ $(echo $$) | awk '{print ($1 == $2)}'", 0, "1\n"),
    ('f() { local v=in; (echo $v; return 3); echo "sub=$?"; }; f', 0, "in\nsub=3\n"),
    # exit and eval
    ("echo before; exit 3; echo after", 3, "before\n"),
    ("eval 'x=5; echo $x'", 0, "5\n"),
    ("cmd='echo evaluated'; eval \"$cmd\"", 0, "evaluated\n"),
    # [[ ]]
    ("[[ -n abc && -z '' ]] && echo yes", 0, "yes\n"),
    ("[[ abc == a* ]] && echo glob", 0, "glob\n"),
    ("[[ abc == 'a*' ]] || echo literal", 0, "literal\n"),
    ("[[ 10 -gt 9 ]] && [[ b > a ]] && echo cmp", 0, "cmp\n"),
    ("[[ ! -e /nope || -d /tmp ]] && echo or", 0, "or\n"),
    ("[[ ( 1 -eq 2 ) || ( 2 -eq 2 ) ]] && echo parens", 0, "parens\n"),
    ('[[ v1.2.3 =~ ^v([0-9]+)\\. ]] && echo "$BASH_REMATCH"', 0, "v1.\n"),
    ("x='a b'; [[ $x == 'a b' ]] && echo nosplit", 0, "nosplit\n"),
    # test / [
    ("[ -f /etc/os-release ] && [ -d /etc ] && [ ! -e /nope ] && echo files", 0, "files\n"),
    ("[ 3 -lt 4 -a abc != abd ] && echo and", 0, "and\n"),
    ('[ -z "" ] && [ -n x ] && test x = x && echo strings', 0, "strings\n"),
    ("[ abc ]; echo $?; [ '' ]; echo $?", 0, "0\n1\n"),
    # command -v, type
    ("command -v echo ls nosuch; echo $?", 0, "echo\n/usr/bin/ls\n1\n"),
    ("f() { :; }; command -v f; type f", 0, "f\nf is a function\n"),
    ("type cd ls", 0, "cd is a shell builtin\nls is /usr/bin/ls\n"),
    # cd, pwd, read
    ("cd /etc && pwd && cd - >/dev/null && pwd", 0, "/etc\n/root\n"),
    ("read a b <<< 'one two three'; echo \"$a|$b\"", 0, "one|two three\n"),
    ("IFS=: read -r u rest <<< 'root:x:0'; echo $u", 0, "root\n"),
    ("echo 'k=v' | { IFS== read -r key value; echo $key $value; }", 0, "k v\n"),
    # traps and background jobs
    ("trap 'echo bye' EXIT; echo hi", 0, "hi\nbye\n"),
    ("trap 'echo cleanup' EXIT; exit 2", 2, "cleanup\n"),
    ("trap 'echo \"failed with $?\"' ERR; false; true; if false; then :; fi", 0, "failed with 1\n"),
    (
        "set -e; trap 'echo trapped' ERR; trap 'echo exiting' EXIT INT TERM; false; echo no",
        1,
        "trapped\nexiting\n",
    ),
    ("(sleep 0; echo bg) & wait; echo done", 0, "bg\ndone\n"),
    ("true & echo $! | grep -qE '^[0-9]+$' && echo pid", 0, "pid\n"),
    # comments and empty scripts
    ("# just a comment", 0, ""),
    ("", 0, ""),
    ("echo a # trailing comment", 0, "a\n"),
]


@pytest.mark.parametrize(("script", "status", "out"), CASES)
async def test_construct(script: str, status: int, out: str) -> None:
    result = await run(script)
    assert (result.status, result.out) == (status, out), result.err


async def test_redirections_create_append_and_read_files(debian: ContainerWorld) -> None:
    result = await run(
        "echo one > /tmp/f; echo two >> /tmp/f; cat < /tmp/f; wc -l < /tmp/f", debian
    )
    assert result.out == "one\ntwo\n2\n"
    assert debian.vfs.read_text("/tmp/f") == "one\ntwo\n"


async def test_stderr_redirections(debian: ContainerWorld) -> None:
    result = await run("ls /nope 2>/tmp/err; echo status=$?; cat /tmp/err", debian)
    assert result.out == ("status=2\nls: cannot access '/nope': No such file or directory\n")
    assert result.err == ""
    both = await run("{ echo out; echo err >&2; } > /tmp/both 2>&1; cat /tmp/both", debian)
    assert both.out == "out\nerr\n"
    amp = await run("{ echo o; echo e >&2; } &> /tmp/amp; cat /tmp/amp", debian)
    assert amp.out == "o\ne\n"
    swapped = await run("echo e >&2 2>/dev/null", debian)
    assert (swapped.out, swapped.err) == ("", "e\n")


async def test_dev_null_and_missing_directory() -> None:
    result = await run("echo gone > /dev/null; cat /dev/null; echo x > /no/such/file; echo $?")
    assert result.out == "1\n"
    assert result.err == "bash: line 1: /no/such/file: No such file or directory\n"


async def test_here_documents_expand_unless_quoted() -> None:
    script = (
        "name=world\n"
        "cat <<EOF\nhello $name $(echo sub) \\$literal\nEOF\n"
        "cat <<'EOF'\nraw $name $(echo no)\nEOF\n"
        'cat <<"END"\nalso raw $name\nEND\n'
        "cat <<-EOF\n\tindented $name\n\tEOF\n"
    )
    result = await run(script)
    assert result.out == (
        "hello world sub $literal\nraw $name $(echo no)\nalso raw $name\nindented world\n"
    )


async def test_here_document_into_a_file_and_a_pipe(debian: ContainerWorld) -> None:
    script = "cat > /etc/app.conf <<'EOF'\nport=8080\nEOF\ncat <<EOF | tr a-z A-Z\nshout\nEOF\n"
    result = await run(script, debian)
    assert result.out == "SHOUT\n"
    assert debian.vfs.read_text("/etc/app.conf") == "port=8080\n"


async def test_set_e_stops_at_the_first_failure_but_not_in_conditions() -> None:
    result = await run(
        "set -e\nif false; then :; fi\nfalse || true\n! false\n"
        "false && true\necho reached\nfalse\necho not-reached"
    )
    assert (result.status, result.out) == (1, "reached\n")


async def test_set_e_inside_functions_and_subshells() -> None:
    result = await run("set -e; f() { false; echo no; }; f; echo after")
    assert (result.status, result.out) == (1, "")
    guarded = await run("set -e; f() { false; echo yes; }; if f; then echo ok; fi")
    assert guarded.out == "yes\nok\n"


async def test_set_u_reports_unbound_variables() -> None:
    result = await run("set -u; echo ${fine:-ok}; echo $missing; echo never")
    assert result.status == 1
    assert result.out == "ok\n"
    assert result.err == "bash: line 1: missing: unbound variable\n"


async def test_pipefail() -> None:
    without = await run("false | true; echo $?")
    with_it = await run("set -o pipefail; false | true; echo $?")
    assert (without.out, with_it.out) == ("0\n", "1\n")


async def test_bundled_set_options() -> None:
    result = await run("set -euo pipefail; echo $-; false | true; echo unreachable")
    assert (result.status, result.out) == (1, "heuB\n")
    positional = await run("set -e -- x y; echo $2; set +e; false; echo still")
    assert positional.out == "y\nstill\n"


async def test_readonly_variables_and_declare_attributes() -> None:
    result = await run(
        "readonly R=1; R=2; echo $? $R; declare -r D=x; unset D; echo $?; "
        "declare -i n='2 * 21'; echo $n; f() { local -r l=v; echo $l; }; f; "
        "l=w; echo $l; for R in a; do :; done; echo $?"
    )
    assert result.out == "1 1\n1\n42\nv\nw\n1\n"
    assert "R: readonly variable" in result.err
    assert "unset: D: cannot unset: readonly variable" in result.err
    arrays = await run("declare -a list")
    assert (arrays.status, arrays.err) == (
        2,
        "bash: line 1: declare: arrays are not supported by the simulator\n",
    )


async def test_noclobber_and_noglob(debian: ContainerWorld) -> None:
    result = await run(
        "echo a > /tmp/c; set -o noclobber; echo b > /tmp/c; echo $?; "
        "echo c >| /tmp/c; echo d >> /tmp/c; cat /tmp/c; set -o noglob; "
        "echo /etc/host*",
        debian,
    )
    assert result.out == "1\nc\nd\n/etc/host*\n"
    assert "/tmp/c: cannot overwrite existing file" in result.err


async def test_set_x_traces_commands() -> None:
    result = await run("set -x; echo 'a b'")
    assert result.err == "+ echo 'a b'\n"


async def test_errexit_option_of_bash_c() -> None:
    result = await run("bash -e -c 'false; echo no'; echo $?")
    assert result.out == "1\n"


async def test_source_runs_in_the_current_shell(debian: ContainerWorld) -> None:
    debian.vfs.write_text(
        "/root/lib.sh", 'greet() { echo "hi $1"; }\nLIB=loaded\nreturn 0\necho unreachable\n'
    )
    result = await run(". /root/lib.sh; source /root/lib.sh; greet you; echo $LIB", debian)
    assert result.out == "hi you\nloaded\n"
    missing = await run("source /nope.sh; echo $?", debian)
    assert missing.out == "1\n"
    assert "/nope.sh: No such file or directory" in missing.err


async def test_exec_redirects_the_rest_of_the_script(debian: ContainerWorld) -> None:
    result = await run("exec > /tmp/log 2>&1; echo logged; echo oops >&2; echo a | cat", debian)
    assert result.out == ""
    assert debian.vfs.read_text("/tmp/log") == "logged\noops\na\n"


async def test_command_not_found_is_127_with_bash_and_dash_messages() -> None:
    bash = await run("nosuchcmd --flag")
    dash = await run("nosuchcmd", name="sh")
    assert (bash.status, bash.err) == (127, "bash: line 1: nosuchcmd: command not found\n")
    assert (dash.status, dash.err) == (127, "sh: 1: nosuchcmd: not found\n")


async def test_syntax_errors_are_status_2() -> None:
    result = await run("echo ok\nif true; then\n")
    assert result.status == 2
    assert "syntax error" in result.err
    unterminated = await run("echo 'open")
    assert unterminated.status == 2


@pytest.mark.parametrize(
    "script",
    [
        "case x in x) echo x;; esac",
        "a=(1 2 3)",
        "cat <(echo x)",
        "select x in a; do :; done",
        "declare -a list",
    ],
)
async def test_unsupported_constructs_are_reported_not_ignored(script: str) -> None:
    result = await run(script)
    assert result.status != 0
    assert "not supported by the simulator" in result.err


async def test_executable_scripts_with_shebang(debian: ContainerWorld) -> None:
    debian.vfs.write_text(
        "/usr/local/bin/hello", '#!/bin/bash\necho "hello $1 from $0"\n', mode=0o755
    )
    debian.vfs.write_text("/root/noexec.sh", "echo hi\n", mode=0o644)
    result = await run("hello there; /root/noexec.sh; echo $?", debian)
    assert result.out == "hello there from /usr/local/bin/hello\n126\n"
    assert "Permission denied" in result.err


async def test_bash_s_reads_the_script_from_stdin_with_arguments() -> None:
    result = await run("bash -s -- one two", stdin=b'echo "args: $1 $2"\necho $#\n')
    assert result.out == "args: one two\n2\n"


async def test_cat_reads_stdin_and_the_script_sees_positional_args() -> None:
    result = await run('cat; echo "$0 $1"', stdin=b"piped\n", args=["first"])
    assert result.out == "piped\nbash first\n"


async def test_broken_pipe_ends_an_endless_writer() -> None:
    result = await run('while :; do echo y; done | head -n 2; echo "${PIPESTATUS:-}done"')
    assert result.out == "y\ny\ndone\n"
    status = await run("set -o pipefail; while :; do echo y; done | head -n 1 >/dev/null; echo $?")
    assert status.out == "141\n"


class _Gone(Exception):
    """The output went away (as when the SSH connection is cut)."""


async def test_a_failing_output_leaves_no_stage_or_job_running(debian: ContainerWorld) -> None:
    from lxc_manager_simulator.shell import Interpreter
    from lxc_manager_simulator.shell.base import IO, Session
    from lxc_manager_simulator.shell.streams import BufferWriter, BytesReader, CallbackWriter

    async def explode(data: bytes) -> None:
        raise _Gone()

    before = asyncio.all_tasks()
    shell = Interpreter(debian, Session(sleep_scale=1.0))
    io = IO(BytesReader(b""), CallbackWriter(explode), BufferWriter())
    with pytest.raises(_Gone):
        await shell.run("sleep 5 & journalctl -f | cat", io)
    await asyncio.sleep(0.05)
    assert asyncio.all_tasks() - before - {asyncio.current_task()} == set()
