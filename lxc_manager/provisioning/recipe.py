"""What a job runs, resolved on the server: the chosen template's scripts and files, the
wizard's packages and those of the chosen buckets, with their content digest.

The wizard keeps only the user's choices (`RecipeChoices`: the template id, the template's
script names in the chosen order with their switches, the package list and bucket names),
never script contents. The review step resolves them for the signed-in user
(`resolve_recipe`) and shows the result with its digest. `submit_reviewed` resolves them
again and refuses when the digest differs from the one the review showed, so a template
or bucket changed by its owner in between is never run unseen. From then on the job row
keeps the request (scripts, files and packages included) and its digest: the worker and a
retry read only that row, never the template or the buckets again (DESIGN §3.3).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from lxc_manager.security.actor import Actor
from lxc_manager.templates import service as templates
from lxc_manager.templates.spec import FileSpec, PackageSpec, ScriptSpec, TemplateSpec

from . import jobs
from .request import CreateRequest, content_digest

__all__ = [
    "MSG_REVIEW_AGAIN",
    "MSG_TEMPLATE_GONE",
    "Recipe",
    "RecipeChoices",
    "RecipeUnavailable",
    "ScriptChoice",
    "apply_recipe",
    "resolve_recipe",
    "submit_reviewed",
]

MSG_REVIEW_AGAIN = "The template changed since you reviewed it: review again"
MSG_TEMPLATE_GONE = "This template no longer exists or is no longer shared with you"
MSG_BUCKET_GONE = "The package bucket {name} no longer exists or is no longer shared with you"


@dataclass(frozen=True)
class ScriptChoice:
    name: str
    enabled: bool = True


@dataclass(frozen=True)
class RecipeChoices:
    """What the user chose in the wizard (no contents: those are read at review)."""

    template_id: int | None = None
    scripts: tuple[ScriptChoice, ...] = ()
    packages: tuple[PackageSpec, ...] = ()
    buckets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recipe:
    template_id: int | None
    template_name: str
    scripts: tuple[ScriptSpec, ...]
    files: tuple[FileSpec, ...]
    packages: tuple[PackageSpec, ...]
    digest: str


class RecipeUnavailable(Exception):
    """The chosen template or a bucket may no longer be used; `message` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def choose_scripts(
    template_scripts: tuple[ScriptSpec, ...], choices: tuple[ScriptChoice, ...]
) -> tuple[ScriptSpec, ...]:
    """The template's scripts in the chosen order with the chosen switches; scripts the
    template no longer has are dropped, new ones follow as the template has them."""
    by_name = {script.name: script for script in template_scripts}
    chosen = [
        replace(by_name[choice.name], enabled=choice.enabled)
        for choice in choices
        if choice.name in by_name
    ]
    known = {choice.name for choice in choices}
    chosen.extend(script for script in template_scripts if script.name not in known)
    return tuple(chosen)


def resolve_recipe(actor: Actor, choices: RecipeChoices) -> Recipe:
    """Read the template and buckets as they are now, as `actor` may use them. Raises
    `RecipeUnavailable` when the template or a chosen bucket may not be used (any more)."""
    spec = TemplateSpec(name="")
    template_id: int | None = None
    if choices.template_id:
        stored = templates.get_template_sync(actor, choices.template_id)
        if stored is None:
            raise RecipeUnavailable(MSG_TEMPLATE_GONE)
        spec, template_id = stored.spec, stored.id
    usable = templates.usable_buckets(actor, choices.buckets)
    if missing := [name for name in choices.buckets if name not in usable]:
        raise RecipeUnavailable(MSG_BUCKET_GONE.format(name=missing[0]))
    scripts = choose_scripts(spec.scripts, choices.scripts)
    own = TemplateSpec(name="wizard", packages=choices.packages)
    packages = templates.resolve_packages(actor, own, choices.buckets)
    return Recipe(
        template_id=template_id,
        template_name=spec.name,
        scripts=scripts,
        files=spec.files,
        packages=packages,
        digest=content_digest(scripts, spec.files, packages),
    )


def apply_recipe(base: CreateRequest, recipe: Recipe) -> CreateRequest:
    """The request with the recipe's template, scripts, files and packages."""
    return replace(
        base,
        template_id=recipe.template_id,
        template_name=recipe.template_name,
        scripts=recipe.scripts,
        files=recipe.files,
        packages=recipe.packages,
    )


async def submit_reviewed(
    actor: Actor, base: CreateRequest, choices: RecipeChoices, reviewed_digest: str
) -> jobs.SubmitResult:
    """Resolve the choices again and submit them only when they are what the review showed
    (`reviewed_digest`); otherwise nothing is saved, held or queued."""
    try:
        recipe = await asyncio.to_thread(resolve_recipe, actor, choices)
    except RecipeUnavailable as exc:
        return jobs.SubmitResult(None, {"form": exc.message})
    if not reviewed_digest or recipe.digest != reviewed_digest:
        return jobs.SubmitResult(None, {"form": MSG_REVIEW_AGAIN})
    return await jobs.submit(actor.user_id, apply_recipe(base, recipe))
