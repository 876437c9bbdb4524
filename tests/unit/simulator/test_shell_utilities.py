"""The utilities of the simulated machines: files, text filters, printing, identity."""

from __future__ import annotations

import pytest
from shell_helpers import run

from lxc_manager_simulator.shell.world import ContainerWorld

TEXT_CASES = [
    # echo / printf
    ("echo -n a; echo b; echo -e 'x\\ty'; echo -E 'x\\ty'", "ab\nx\ty\nx\\ty\n"),
    ("printf '%s=%d\\n' a 1 b 2", "a=1\nb=2\n"),
    ("printf '%5s|%-4s|%03d|%x|%.2f|%%\\n' ab cd 7 255 3.14159", "   ab|cd  |007|ff|3.14|%\n"),
    ("printf '%b' 'one\\ntwo\\n'", "one\ntwo\n"),
    ("printf -v out '%s-%s' a b; echo $out", "a-b\n"),
    ("printf 'no newline'", "no newline"),
    ("printf 'a%sb%bX\\n' 1 'two\\cthree'; echo; echo -e 'x\\cy'; echo z", "a1btwo\nxz\n"),
    # grep
    ("printf 'apple\\nBanana\\ncherry\\n' | grep an", "Banana\n"),
    ("printf 'apple\\nBanana\\n' | grep -i BAN", "Banana\n"),
    ("printf 'a\\nb\\na\\n' | grep -c a", "2\n"),
    ("printf 'a\\nb\\n' | grep -v a", "b\n"),
    ("printf 'x1\\ny22\\n' | grep -oE '[0-9]+'", "1\n22\n"),
    ("printf 'a1\\nb2\\n' | grep -n 'b'", "2:b2\n"),
    ("printf 'ab\\nabc\\n' | grep -x ab", "ab\n"),
    ("printf 'foo bar\\nfoobar\\n' | grep -w foo", "foo bar\n"),
    ("printf 'a.b\\naxb\\n' | grep -F a.b", "a.b\n"),
    ("printf 'aaa\\n' | grep 'a\\{3\\}'", "aaa\n"),
    ("printf 'cat\\ndog\\n' | grep -E 'cat|dog' | wc -l", "2\n"),
    ("grep -q root /etc/passwd && echo found", "found\n"),
    ("grep -h '^root' /etc/passwd /etc/group", "root:x:0:0:root:/root:/bin/bash\nroot:x:0:\n"),
    # awk
    ("echo 'a b c' | awk '{print $2}'", "b\n"),
    ("echo 'a b c' | awk '{print $NF, $1}'", "c a\n"),
    ("echo 'a:b:c' | awk -F: '{print $3 \"-\" $1}'", "c-a\n"),
    ("printf '1 x\\n2 y\\n3 z\\n' | awk '$1 > 1 {print $2}'", "y\nz\n"),
    ("printf 'a\\nb\\n' | awk 'NR==2'", "b\n"),
    ("printf 'k 1\\nk 2\\n' | awk '{s += $2} END {print s}'", "3\n"),
    ("printf 'x 1\\n' | awk -v p=pre '{print p $1; print length($1)}'", "prex\n1\n"),
    ("printf 'GET /a\\nPOST /b\\n' | awk '/POST/ {print toupper($2)}'", "/B\n"),
    ("echo 'a b' | awk '{printf \"%s|%s\\n\", $2, $1}'", "b|a\n"),
    ('echo \'x\' | awk \'{ if ($1 == "x") print "yes"; else print "no" }\'', "yes\n"),
    # sed
    ("echo 'hello world' | sed 's/world/there/'", "hello there\n"),
    ("echo 'aaa' | sed 's/a/b/g'", "bbb\n"),
    ("echo 'aaa' | sed 's/a/b/2'", "aba\n"),
    ("echo 'path/to/x' | sed 's|/|::|g'", "path::to::x\n"),
    ("echo 'key=value' | sed -E 's/([a-z]+)=(.*)/\\2=\\1/'", "value=key\n"),
    ("echo 'key=value' | sed 's/\\(.*\\)=\\(.*\\)/\\2 \\1/'", "value key\n"),
    ("printf 'a\\nb\\nc\\n' | sed '2d'", "a\nc\n"),
    ("printf 'a\\nb\\nc\\n' | sed -n '/b/p'", "b\n"),
    ("printf 'a\\nb\\n' | sed '$d'", "a\n"),
    ("echo 'x' | sed -e 's/x/y/' -e 's/y/z/'", "z\n"),
    ("echo 'Hi' | sed 's/hi/yo/I'", "yo\n"),
    ("echo 'a.b' | sed 's/a.b/&&/'", "a.ba.b\n"),
    # head / tail
    ("seq 1 20 | head -n 3", "1\n2\n3\n"),
    ("seq 5 | head -2", "1\n2\n"),
    ("seq 5 | head -n -3", "1\n2\n"),
    ("seq 10 | tail -n 2", "9\n10\n"),
    ("seq 5 | tail -n +4", "4\n5\n"),
    ("seq 5 | tail -1", "5\n"),
    ("echo abcdef | head -c 3", "abc"),
    # cut / wc / sort / uniq / tr
    ("echo 'a:b:c:d' | cut -d: -f2", "b\n"),
    ("echo 'a:b:c:d' | cut -d: -f2-3", "b:c\n"),
    ("echo 'a:b:c:d' | cut -d : -f 1,4", "a:d\n"),
    ("echo abcdef | cut -c2-4", "bcd\n"),
    ("printf 'a b\\nc\\n' | wc -l", "2\n"),
    ("printf 'a b\\nc\\n' | wc -w", "3\n"),
    ("printf 'abc' | wc -c", "3\n"),
    ("printf 'a b\\nc\\n' | wc", "      2       3       6\n"),
    ("printf 'b\\na\\nc\\n' | sort", "a\nb\nc\n"),
    ("printf 'b\\na\\nc\\n' | sort -r", "c\nb\na\n"),
    ("printf '10\\n9\\n100\\n' | sort -n", "9\n10\n100\n"),
    ("printf 'x 3\\ny 1\\nz 2\\n' | sort -k2 -n", "y 1\nz 2\nx 3\n"),
    ("printf 'a:3\\nb:1\\n' | sort -t: -k2", "b:1\na:3\n"),
    ("printf 'b\\na\\nb\\n' | sort -u", "a\nb\n"),
    ("printf 'a\\na\\nb\\n' | uniq", "a\nb\n"),
    ("printf 'a\\na\\nb\\n' | uniq -c", "      2 a\n      1 b\n"),
    ("printf 'a\\na\\nb\\n' | uniq -d", "a\n"),
    ("echo hello | tr a-z A-Z", "HELLO\n"),
    ("echo 'a  b   c' | tr -s ' '", "a b c\n"),
    ("echo 'a1b2' | tr -d '0-9'", "ab\n"),
    ("echo 'Hi There' | tr '[:upper:]' '[:lower:]'", "hi there\n"),
    # misc
    ("basename /a/b/c.txt .txt; dirname /a/b/c.txt; dirname file", "c\n/a/b\n.\n"),
    ("seq 2 2 6", "2\n4\n6\n"),
    ("echo a b | xargs printf '<%s>'", "<a><b>"),
    ("date +%Y | grep -cE '^[0-9]{4}$'", "1\n"),
    ("uname -s; uname -m", "Linux\nx86_64\n"),
    ("env -i FOO=bar printenv FOO", "bar\n"),
]


@pytest.mark.parametrize(("script", "out"), TEXT_CASES)
async def test_text_utility(script: str, out: str) -> None:
    result = await run(script)
    assert (result.status, result.out) == (0, out), result.err


async def test_grep_statuses_and_missing_file() -> None:
    result = await run("grep nomatch /etc/hostname; echo $?; grep x /nope; echo $?")
    assert result.out == "1\n2\n"
    assert result.err == "grep: /nope: No such file or directory\n"


async def test_sed_in_place(debian: ContainerWorld) -> None:
    debian.vfs.write_text("/etc/app.conf", "listen 80\nname old\n")
    result = await run("sed -i 's/80/8080/; s/old/new/' /etc/app.conf", debian)
    assert result.status == 0
    assert debian.vfs.read_text("/etc/app.conf") == "listen 8080\nname new\n"


async def test_cat_tee_and_files(debian: ContainerWorld) -> None:
    result = await run(
        "echo data | tee /tmp/t1 /tmp/t2 >/dev/null; echo more | tee -a /tmp/t1; "
        "cat /tmp/t1 /tmp/t2; cat -n /tmp/t1",
        debian,
    )
    assert result.out == "more\ndata\nmore\ndata\n     1\tdata\n     2\tmore\n"


async def test_cat_errors() -> None:
    result = await run("cat /nope; echo $?; cat /etc; echo $?")
    assert result.out == "1\n1\n"
    assert result.err == ("cat: /nope: No such file or directory\ncat: /etc: Is a directory\n")


async def test_mkdir_rm_and_their_errors(debian: ContainerWorld) -> None:
    result = await run(
        "mkdir /tmp/d && mkdir -p /tmp/d/e/f && mkdir /tmp/d; echo $?; "
        "mkdir /x/y; echo $?; rm /tmp/d; echo $?; rm -r /tmp/d; echo $?; "
        "rm /nope; echo $?; rm -f /nope; echo $?",
        debian,
    )
    assert result.out == "1\n1\n1\n0\n1\n0\n"
    assert result.err == (
        "mkdir: cannot create directory '/tmp/d': File exists\n"
        "mkdir: cannot create directory '/x/y': No such file or directory\n"
        "rm: cannot remove '/tmp/d': Is a directory\n"
        "rm: cannot remove '/nope': No such file or directory\n"
    )
    assert not debian.vfs.exists("/tmp/d")


async def test_mkdir_mode_and_rm_root_refused(debian: ContainerWorld) -> None:
    result = await run("mkdir -m 700 /srv/private; rm -rf /; echo $?", debian)
    assert debian.vfs.lookup("/srv/private").mode == 0o700
    assert result.out == "1\n"
    assert "dangerous to operate recursively on '/'" in result.err
    assert debian.vfs.exists("/etc/os-release")


async def test_cp_mv_ln(debian: ContainerWorld) -> None:
    result = await run(
        "echo c > /tmp/src; cp /tmp/src /tmp/dst; mkdir /tmp/dir; cp /tmp/src /tmp/dir; "
        "cp /tmp/dir /tmp/dir2; echo $?; cp -r /tmp/dir /tmp/dir2; mv /tmp/dst /tmp/moved; "
        "ln -s /tmp/moved /tmp/link; cat /tmp/link /tmp/dir2/src; readlink /tmp/link; "
        "ln -s /tmp/moved /tmp/link; echo $?; ln -sf /tmp/src /tmp/link; cat /tmp/link; "
        "mv /nope /tmp/x; echo $?",
        debian,
    )
    assert result.out == "1\nc\nc\n/tmp/moved\n1\nc\n1\n"
    assert "cp: -r not specified; omitting directory '/tmp/dir'" in result.err
    assert "ln: failed to create symbolic link '/tmp/link': File exists" in result.err
    assert "mv: cannot stat '/nope': No such file or directory" in result.err
    assert not debian.vfs.exists("/tmp/dst")


async def test_chmod_chown_touch_ls(debian: ContainerWorld) -> None:
    result = await run(
        "touch /tmp/f; chmod 640 /tmp/f; chmod u+x,g-r,o+r /tmp/f; chown www-data:www-data "
        "/tmp/f; ls -l /tmp/f; chown nobody:nogroup /tmp/f; chown bob /tmp/f; echo $?; "
        "chmod 600 /nope; echo $?",
        debian,
    )
    inode = debian.vfs.lookup("/tmp/f")
    assert inode.mode == 0o704
    assert (inode.uid, inode.gid) == (65534, 65534)
    assert result.out.startswith("-rwx---r-- 1 www-data www-data     0 ")
    assert result.out.endswith(" /tmp/f\n1\n1\n")
    assert "chown: invalid user: 'bob'" in result.err


async def test_ls_listing(debian: ContainerWorld) -> None:
    result = await run(
        "mkdir /tmp/l; touch /tmp/l/b /tmp/l/a /tmp/l/.hidden; ls /tmp/l; "
        "ls -a /tmp/l; ls /nope; echo $?",
        debian,
    )
    assert result.out == "a\nb\n.\n..\n.hidden\na\nb\n2\n"


async def test_mktemp_and_realpath(debian: ContainerWorld) -> None:
    result = await run(
        "f=$(mktemp); d=$(mktemp -d); [ -f $f ] && [ -d $d ] && echo ok; "
        "realpath /etc/../etc/./hostname",
        debian,
    )
    assert result.out == "ok\n/etc/hostname\n"


async def test_sleep_really_sleeps() -> None:
    import time

    from lxc_manager_simulator.shell.base import Session

    started = time.monotonic()
    result = await run("sleep 0.2; sleep 0.1s", session=Session(sleep_scale=1.0))
    assert result.status == 0
    assert time.monotonic() - started >= 0.29
    bad = await run("sleep abc")
    assert (bad.status, bad.err) == (1, "sleep: invalid time interval 'abc'\n")


async def test_identity_and_accounts(debian: ContainerWorld) -> None:
    result = await run(
        "id; whoami; id -u; useradd -m -s /bin/bash -G sudo deploy; id deploy; "
        "useradd deploy; echo $?; usermod -aG www-data deploy; id -Gn deploy; "
        "getent=$(grep ^deploy: /etc/passwd); echo $getent; [ -d /home/deploy ] && echo home; "
        "usermod -s /bin/sh ghost; echo $?",
        debian,
    )
    lines = result.out.splitlines()
    assert lines[0] == "uid=0(root) gid=0(root) groups=0(root)"
    assert lines[1:3] == ["root", "0"]
    assert lines[3] == "uid=1000(deploy) gid=1000(deploy) groups=1000(deploy),27(sudo)"
    assert lines[4] == "9"
    assert set(lines[5].split()) == {"deploy", "sudo", "www-data"}
    assert lines[6] == "deploy:x:1000:1000::/home/deploy:/bin/bash"
    assert lines[7:] == ["home", "6"]
    assert "useradd: user 'deploy' already exists" in result.err
    assert "usermod: user 'ghost' does not exist" in result.err


async def test_groupadd_userdel_chpasswd(debian: ContainerWorld) -> None:
    result = await run(
        "groupadd app; useradd -g app svc; id -gn svc; echo 'svc:secret' | "
        "chpasswd; grep -c '^svc:\\$y\\$' /etc/shadow; userdel svc; id svc; "
        "echo $?",
        debian,
    )
    assert result.out == "app\n1\n1\n"


async def test_hostname(debian: ContainerWorld) -> None:
    result = await run(
        "hostname; hostname -I; hostname renamed; hostname; cat /etc/hostname", debian
    )
    address = (debian.nets[0].ipv4 or "").split("/")[0]
    assert address.startswith("192.168.1.")
    assert result.out == f"web-01\n{address} \nrenamed\nrenamed\n"


async def test_curl_and_wget_fail_offline() -> None:
    result = await run(
        "curl -fsSL https://example.com/install.sh; echo $?; "
        "curl -s http://1.2.3.4/; echo $?; wget -q https://example.com/x; echo $?; "
        "wget http://example.org/; echo $?"
    )
    assert result.out == "6\n7\n4\n4\n"
    assert "curl: (6) Could not resolve host: example.com" in result.err
    assert "wget: unable to resolve host address 'example.org'" in result.err
    assert "1.2.3.4" not in result.err  # -s without -S is silent


async def test_curl_reaches_a_local_service(debian: ContainerWorld) -> None:
    before = await run("curl -sS http://localhost/; echo $?", debian)
    assert before.out == "7\n"
    assert "Failed to connect to localhost port 80" in before.err
    await run("apt-get install -y nginx", debian)
    after = await run(
        "curl -s http://127.0.0.1/ | grep -o 'Welcome to nginx!' | head -n 1; "
        "wget -qO- http://localhost | grep -c '<h1>'",
        debian,
    )
    assert after.out == "Welcome to nginx!\n1\n"


async def test_pgrep_and_ps(debian: ContainerWorld) -> None:
    result = await run(
        "pgrep sshd >/dev/null && echo yes; pgrep -x nosuch; echo $?; "
        "pgrep -c cron; pgrep -l -x cron | awk '{print $2}'; "
        "ps aux | head -n 1 | awk '{print $1, $2}'",
        debian,
    )
    assert result.out == "yes\n1\n1\ncron\nUSER PID\n"
