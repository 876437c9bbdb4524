"""`python -m lxc_manager_simulator.real rootfs|leftovers|cleanup [RUN]`: the real
backend's housekeeping (build the rootfs cache, list or remove what runs left behind)."""

from __future__ import annotations

import argparse
import logging
import sys

from .backend import ID_OFFSET, cleanup, leftovers, lxc_unavailable_reason
from .rootfs import RECIPES, RootfsError, ensure, shifted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lxc_manager_simulator.real")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("rootfs", help="build the rootfs cache when missing; print how long it took")
    sub.add_parser("leftovers", help="list containers, namespaces and mounts runs left behind")
    remove = sub.add_parser("cleanup", help="remove what runs left behind")
    remove.add_argument("run", nargs="?", help="only this run id (default: every run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.command == "leftovers":
        found = leftovers()
        print("\n".join(found) if found else "nothing left behind")
        return 1 if found else 0
    if args.command == "cleanup":
        for line in cleanup(args.run):
            print(f"removed {line}")
        return 0
    reason = lxc_unavailable_reason()
    if reason:
        print(f"cannot build the rootfs cache: {reason}", file=sys.stderr)
        return 2
    for name, recipe in RECIPES.items():
        try:
            cached = ensure(recipe)
            shifted(cached, ID_OFFSET)  # the unprivileged containers' copy
        except RootfsError as exc:
            print(f"rootfs {name}: {exc}", file=sys.stderr)
            return 1
        took = (
            "cached" if cached.built_seconds is None else f"built in {cached.built_seconds:.0f} s"
        )
        print(f"rootfs {name}: {recipe.key} ({took})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
