"""Package boundaries of the services (DESIGN §2), read from the source with `ast`.

- No import cycle between the service packages (`containers` -> `provisioning` ->
  `containers` was one: the cluster key belongs to `nodes`, error texts to
  `proxmox/errors.py`).
- Proxmox URL paths are written only in `lxc_manager/proxmox/`: everyone else calls the
  client's typed methods.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lxc_manager"
# The UI layer imports the services, never the other way round; the simulator is a peer.
NOT_SERVICES = {"pages", "state", "simulator"}
# The first segment of Proxmox's API paths (pve-api-schema.json's top level). A bare
# "/storage" or "/vms" is also an ACL path (a permission's scope), so only the paths below
# a root count, and the two bare roots no ACL path is spelled as.
API_ROOTS = ("/nodes", "/cluster", "/access", "/pools", "/storage", "/api2")
BARE_API_PATHS = ("/nodes", "/version")


def _service_files() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) > 1 and parts[0] not in NOT_SERVICES:
            yield path


def _unit_of(module: str) -> str | None:
    """`lxc_manager.containers.detail` -> "containers"; top-level modules -> None."""
    parts = module.split(".")
    if parts[0] != "lxc_manager" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() else None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> Iterator[str]:
    """Every module the file imports (also inside functions and TYPE_CHECKING blocks)."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _service_files():
        source = path.relative_to(PACKAGE).parts[0]
        targets = graph.setdefault(source, set())
        for module in _imported_modules(path):
            target = _unit_of(module)
            if target is not None and target != source and target not in NOT_SERVICES:
                targets.add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path [a, b, ..., a], or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def _is_api_path(text: str) -> bool:
    return text in BARE_API_PATHS or any(text.startswith(f"{root}/") for root in API_ROOTS)


def _api_path_literals(source: str, where: str) -> Iterator[str]:
    tree = ast.parse(source)
    docstrings = {
        id(body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and (body := node.body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (  # also the pieces of an f-string: f"/nodes/{node}/lxc"
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and _is_api_path(node.value)
        ):
            yield f"{where}:{node.lineno}: {node.value!r}"


# -- the checks on the real tree -------------------------------------------------------------


def test_the_service_packages_import_each_other_without_a_cycle() -> None:
    graph = package_graph()
    assert {"containers", "provisioning", "nodes", "proxmox"} <= graph.keys()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


def test_proxmox_url_paths_are_written_only_in_the_proxmox_package() -> None:
    found = [
        hit
        for path in _service_files()
        if path.relative_to(PACKAGE).parts[0] != "proxmox"
        for hit in _api_path_literals(
            path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent))
        )
    ]
    assert found == [], "call a typed method of ProxmoxClient instead:\n" + "\n".join(found)


# -- the checks check something ------------------------------------------------------------


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ('client.get(f"/nodes/{node}/tasks/{upid}/log")', 1),
        ('client.get("/cluster/resources")', 1),
        ('client.get("/version")', 1),
        ('client.get("/nodes")', 1),
        ('PRIVILEGES = ("/vms", "VM.Allocate")', 0),  # an ACL path, not an API path
        ('PRIVILEGES = ("/storage", "Datastore.AllocateSpace")', 0),
        ('"""GET /cluster/nextid is the final check."""', 0),  # a docstring
        ('text = "see /nodesfoo"', 0),
    ],
)
def test_api_path_literals_are_recognised(source: str, hits: int) -> None:
    assert len(list(_api_path_literals(source, "probe.py"))) == hits
