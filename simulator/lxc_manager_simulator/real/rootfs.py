"""The rootfs cache: one Debian (or Ubuntu) root filesystem per recipe, built once per
machine with debootstrap and copied for every real container.

A recipe is what a Proxmox "standard" template carries (systemd, openssh-server,
iproute2, ca-certificates, curl, locales; no postfix). Its cache key is the SHA-256 of the
recipe, so a changed recipe builds a new cache entry and an old one is never reused by
mistake. Builds happen in a temporary directory beside the cache and are renamed into
place when complete; a lock file keeps two test runs from building the same entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# What Proxmox's standard templates carry (pve-container's templates are built by
# dab: https://git.proxmox.com/?p=dab-pve-appliances.git — systemd, ssh, iproute2, locales).
STANDARD_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "ifupdown",
    "openssh-server",
    "ca-certificates",
    "curl",
    "locales",
    "procps",
    "less",
    "nano",
)
BUILDER_VERSION = 1


@dataclass(frozen=True)
class Recipe:
    """One OS flavour of the cache: what debootstrap fetches and installs."""

    ostype: str  # "debian" or "ubuntu", as Proxmox's `ostype`
    suite: str  # "bookworm", "noble"
    mirror: str
    packages: tuple[str, ...] = field(default=STANDARD_PACKAGES)
    components: tuple[str, ...] = ("main",)
    keyring: str | None = None

    @property
    def key(self) -> str:
        text = json.dumps({"v": BUILDER_VERSION, **asdict(self)}, sort_keys=True)
        return f"{self.ostype}-{self.suite}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


DEBIAN_12 = Recipe(ostype="debian", suite="bookworm", mirror="http://deb.debian.org/debian")
# Ubuntu 24.04 is not built: its archive is not among the package registries these
# machines may reach (Debian's, PyPI, npm). Its OS templates stay simulated.
RECIPES = {"debian": DEBIAN_12}


def cache_root() -> Path:
    """`LXCM_ROOTFS_CACHE`, else ~/.cache/lxc-manager/rootfs (kept across runs)."""
    configured = os.environ.get("LXCM_ROOTFS_CACHE")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "lxc-manager" / "rootfs"


class RootfsError(RuntimeError):
    """The rootfs could not be built (the message says which step and why)."""


@dataclass(frozen=True)
class CachedRootfs:
    recipe: Recipe
    path: Path
    built_seconds: float | None  # None when it was already cached


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure(recipe: Recipe, root: Path | None = None) -> CachedRootfs:
    """The cached rootfs of `recipe`, built now when missing (blocking; minutes)."""
    root = root or cache_root()
    final = root / recipe.key
    if (final / ".lxcm-complete").exists():
        return CachedRootfs(recipe, final / "rootfs", None)
    with _locked(root / f"{recipe.key}.lock"):
        if (final / ".lxcm-complete").exists():
            return CachedRootfs(recipe, final / "rootfs", None)
        started = time.monotonic()
        building = root / f"{recipe.key}.building"
        if building.exists():
            shutil.rmtree(building)
        building.mkdir(parents=True)
        try:
            _debootstrap(recipe, building / "rootfs")
            _finish(building / "rootfs")
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        (building / "recipe.json").write_text(json.dumps(asdict(recipe), indent=1))
        (building / ".lxcm-complete").write_text("")
        if final.exists():
            shutil.rmtree(final)
        building.rename(final)
        return CachedRootfs(recipe, final / "rootfs", time.monotonic() - started)


def shifted(cached: CachedRootfs, offset: int) -> Path:
    """The cached rootfs with every owner moved up by `offset` (an unprivileged
    container's id map), as Proxmox stores unprivileged root filesystems on disk. Made once
    beside the cache entry."""
    target = cached.path.parent / f"rootfs-{offset}"
    if (target.parent / f".shifted-{offset}").exists():
        return target
    with _locked(cached.path.parent / f"shift-{offset}.lock"):
        if (target.parent / f".shifted-{offset}").exists():
            return target
        if target.exists():
            shutil.rmtree(target)
        _run(["cp", "-a", str(cached.path), str(target)], "copy for the id map")
        shift_owners(target, offset)
        (target.parent / f".shifted-{offset}").write_text("")
    return target


def shift_owners(root: Path, offset: int) -> None:
    """Add `offset` to the owner and group of every file under `root` (symlinks too)."""
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, None]:
            path = directory if name is None else os.path.join(directory, name)
            info = os.lstat(path)
            if info.st_uid < offset or info.st_gid < offset:
                os.lchown(path, info.st_uid % offset + offset, info.st_gid % offset + offset)
                if not os.path.islink(path) and info.st_mode & 0o6000:
                    os.chmod(path, info.st_mode & 0o7777)  # chown clears setuid/setgid


def _run(argv: list[str], step: str, *, timeout: float = 1800) -> None:
    log.info("rootfs: %s", " ".join(argv))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise RootfsError(f"{step}: {argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise RootfsError(f"{step}: timed out after {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RootfsError(f"{step} failed (exit {done.returncode}):\n{tail}")


def _debootstrap(recipe: Recipe, target: Path) -> None:
    argv = [
        "debootstrap",
        "--variant=minbase",
        f"--components={','.join(recipe.components)}",
        f"--include={','.join(recipe.packages)}",
    ]
    if recipe.keyring:
        argv.append(f"--keyring={recipe.keyring}")
    argv += [recipe.suite, str(target), recipe.mirror]
    _run(argv, f"debootstrap {recipe.suite}")


def _finish(rootfs: Path) -> None:
    """What Proxmox's template build leaves behind: a UTF-8 locale, no machine id, no
    host keys (each container gets its own when created), empty apt caches."""
    (rootfs / "etc/locale.gen").write_text("en_US.UTF-8 UTF-8\n")
    _run(["chroot", str(rootfs), "locale-gen"], "locale-gen")
    (rootfs / "etc/default/locale").write_text("LANG=en_US.UTF-8\n")
    (rootfs / "etc/machine-id").write_text("")
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    for lists in (rootfs / "var/lib/apt/lists").glob("*_dists_*"):
        lists.unlink()
