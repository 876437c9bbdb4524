"""The content digest and the script choices of a recipe (pure functions)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from lxc_manager.provisioning.recipe import ScriptChoice, choose_scripts
from lxc_manager.provisioning.request import content_digest
from lxc_manager.templates.spec import FileSpec, PackageSpec, ScriptSpec

SCRIPTS = (ScriptSpec("10-a.sh", "echo a\n"), ScriptSpec("20-b.sh", "echo b\n"))
FILES = (FileSpec("motd", "/etc/motd", "hi\n"),)
PACKAGES = (PackageSpec("apt", "curl"), PackageSpec("custom", "x", command="make install"))


def test_the_digest_is_sha256_hex_and_stable() -> None:
    digest = content_digest(SCRIPTS, FILES, PACKAGES)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == content_digest(tuple(SCRIPTS), tuple(FILES), tuple(PACKAGES))
    assert content_digest((), (), ()) != digest


def test_every_part_of_the_content_changes_the_digest() -> None:
    digest = content_digest(SCRIPTS, FILES, PACKAGES)
    changed = [
        content_digest(SCRIPTS[::-1], FILES, PACKAGES),
        content_digest((SCRIPTS[0], replace(SCRIPTS[1], enabled=False)), FILES, PACKAGES),
        content_digest((SCRIPTS[0], replace(SCRIPTS[1], content="echo b \n")), FILES, PACKAGES),
        content_digest(SCRIPTS, (replace(FILES[0], mode="0600"),), PACKAGES),
        content_digest(SCRIPTS, (replace(FILES[0], policy="backup"),), PACKAGES),
        content_digest(SCRIPTS, FILES, PACKAGES[:1]),
        content_digest(SCRIPTS, FILES, (PACKAGES[0], replace(PACKAGES[1], command="rm -rf /"))),
        # a script moved into a file (the parts are kept apart)
        content_digest((), (FileSpec("10-a.sh", "/x", "echo a\n"),), PACKAGES),
    ]
    assert digest not in changed and len(set(changed)) == len(changed)


def test_scripts_follow_the_choices_and_the_template_as_it_is_now() -> None:
    choices = (ScriptChoice("20-b.sh", True), ScriptChoice("10-a.sh", False))
    assert choose_scripts(SCRIPTS, choices) == (
        SCRIPTS[1],
        replace(SCRIPTS[0], enabled=False),
    )
    added = (*SCRIPTS, ScriptSpec("30-c.sh", "echo c\n"))
    assert choose_scripts(added, choices)[-1].name == "30-c.sh"
    assert choose_scripts(SCRIPTS[:1], choices) == (replace(SCRIPTS[0], enabled=False),)
    assert choose_scripts(SCRIPTS, ()) == SCRIPTS


def test_the_worker_side_never_loads_the_template_service() -> None:
    """A job runs from its own row: the modules a worker runs (RQ entry point, pipeline,
    retry) do not even import the code that reads templates or buckets."""
    code = (
        "import sys\n"
        "import lxc_manager.worker, lxc_manager.provisioning.jobs, lxc_manager.provisioning.pipeline\n"
        "print(sorted(m for m in sys.modules if m.startswith('lxc_manager.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = done.stdout
    assert "lxc_manager.provisioning.pipeline" in loaded  # the check itself ran
    assert "lxc_manager.templates.service" not in loaded
    assert "lxc_manager.provisioning.recipe" not in loaded
    assert "lxc_manager.db.models" in loaded
