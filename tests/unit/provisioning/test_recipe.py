"""The content digest and the script choices of a recipe (pure functions)."""

from __future__ import annotations

from dataclasses import replace

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
