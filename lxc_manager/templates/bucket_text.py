"""A package bucket as its dialog is typed: a name, a description and the packages, one
`manager: package` line each (the grammar of `packages.py`), and the errors of a save
keyed by what the dialog shows (`name`, `description`, `packages`, `visibility`, `bucket`).

    spec, errors = read_bucket("web", "", "apt: nginx\\npip: httpie==3.2")
    result = await service.save_bucket(actor, None, spec)
    errors = dialog_errors(result.errors, spec.packages)
"""

from __future__ import annotations

from .packages import package_line, parse_package_lines
from .spec import BucketSpec, PackageSpec

__all__ = ["bucket_text", "dialog_errors", "read_bucket"]


def read_bucket(name: str, description: str, text: str) -> tuple[BucketSpec, dict[str, str]]:
    """The bucket the dialog describes, and `{"packages": "Line N: …"}` for the first line
    that is not a package ({} when every line is one)."""
    packages, line_errors = parse_package_lines(text)
    spec = BucketSpec(name=name.strip(), description=description.strip(), packages=packages)
    if line_errors:
        number, message = next(iter(line_errors.items()))
        return spec, {"packages": f"{number.capitalize()}: {message}"}
    return spec, {}


def bucket_text(packages: tuple[PackageSpec, ...]) -> str:
    """The dialog's text of `packages`, which `read_bucket` reads back."""
    return "\n".join(package_line(p) for p in packages)


def dialog_errors(errors: dict[str, str], packages: tuple[PackageSpec, ...]) -> dict[str, str]:
    """The service's errors by the dialog's fields: the first message of each field, and
    one keyed `packages.N.field` becomes a message naming the package."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "packages" and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            pkg = packages[index] if index < len(packages) else None
            named = f"{pkg.manager}: {pkg.name or '(empty)'}" if pkg else f"package {index + 1}"
            out.setdefault("packages", f"{named} — {message}")
        else:
            out.setdefault(parts[0], message)
    return out
