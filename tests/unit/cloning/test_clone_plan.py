"""The clone rules said before Proxmox says them (lxc_manager/cloning/plan.py)."""

from __future__ import annotations

from dataclasses import replace

from lxc_manager.cloning.plan import (
    MSG_LINKED_NOT_TEMPLATE,
    MSG_RUNNING_NEEDS_SNAPSHOT,
    ClonePlan,
    CloneSource,
    StorageChoice,
    clone_errors,
    linked_clone_possible,
    required_privileges,
    template_error,
)

LVM = StorageChoice("local-lvm", "lvmthin", False, ("pve1", "pve2"))
NAS = StorageChoice("nas", "nfs", True, ("pve1", "pve2"))
DIR = StorageChoice("local", "dir", False, ("pve1",))
STORAGES = (LVM, NAS, DIR)
NODES = ("pve1", "pve2")
SOURCE = CloneSource(
    pve_node="pve1",
    vmid=105,
    hostname="web",
    running=False,
    template=False,
    rootfs_storage="local-lvm",
    snapshots=("before-upgrade",),
    volume_storages=(LVM,),
)
PLAN = ClonePlan(newid=120, hostname="web-2", full=True)


def test_a_stopped_container_clones_in_full_on_its_node() -> None:
    assert clone_errors(SOURCE, PLAN, STORAGES, NODES) == {}
    assert required_privileges(SOURCE, PLAN) == [
        ("/vms/105", "VM.Clone"),
        ("/vms/120", "VM.Allocate"),
        ("/storage/local-lvm", "Datastore.AllocateSpace"),
    ]


def test_running_source_needs_a_snapshot_for_a_full_clone() -> None:
    running = replace(SOURCE, running=True)
    assert clone_errors(running, PLAN, STORAGES, NODES) == {"snapname": MSG_RUNNING_NEEDS_SNAPSHOT}
    from_snapshot = replace(PLAN, snapname="before-upgrade")
    assert clone_errors(running, from_snapshot, STORAGES, NODES) == {}
    gone = replace(PLAN, snapname="nope")
    assert "nope does not exist" in clone_errors(running, gone, STORAGES, NODES)["snapname"]


def test_linked_clones_only_from_templates_on_storage_that_makes_them() -> None:
    linked = replace(PLAN, full=False)
    assert clone_errors(SOURCE, linked, STORAGES, NODES) == {"full": MSG_LINKED_NOT_TEMPLATE}
    template = replace(SOURCE, template=True)
    assert linked_clone_possible(template)
    assert clone_errors(template, linked, STORAGES, NODES) == {}
    on_dir = replace(template, rootfs_storage="local", volume_storages=(DIR,))
    assert not linked_clone_possible(on_dir)
    assert "cannot make linked clones" in clone_errors(on_dir, linked, STORAGES, NODES)["full"]
    # a linked clone stays on the template's storage: a chosen storage is not used
    assert required_privileges(template, replace(linked, storage="nas"))[-1] == (
        "/storage/local-lvm",
        "Datastore.AllocateSpace",
    )


def test_another_node_needs_shared_storage() -> None:
    elsewhere = replace(PLAN, target="pve2")
    assert "shared storage" in clone_errors(SOURCE, elsewhere, STORAGES, NODES)["storage"]
    to_local = replace(elsewhere, storage="local-lvm")
    assert "local-lvm is local" in clone_errors(SOURCE, to_local, STORAGES, NODES)["storage"]
    to_nas = replace(elsewhere, storage="nas")
    assert clone_errors(SOURCE, to_nas, STORAGES, NODES) == {}
    assert ("/storage/nas", "Datastore.AllocateSpace") in required_privileges(SOURCE, to_nas)
    nowhere = replace(to_nas, target="pve9")
    assert clone_errors(SOURCE, nowhere, STORAGES, NODES) == {
        "target": "pve9 is not a PVE node of this cluster"
    }
    # the same node named as target is no move at all
    assert clone_errors(SOURCE, replace(PLAN, target="pve1"), STORAGES, NODES) == {}


def test_bad_fields() -> None:
    bad = ClonePlan(newid=5, hostname="-bad-", full=True, storage="tank")
    errors = clone_errors(SOURCE, bad, STORAGES, NODES)
    assert set(errors) == {"newid", "hostname", "storage"}
    dir_elsewhere = replace(PLAN, target="pve2", storage="local")
    assert (
        "cannot hold containers on pve2"
        in clone_errors(SOURCE, dir_elsewhere, STORAGES, NODES)["storage"]
    )


def test_template_conversion_rules() -> None:
    assert template_error(replace(SOURCE, snapshots=())) is None
    assert "snapshots" in (template_error(SOURCE) or "")
    assert "running" in (template_error(replace(SOURCE, running=True, snapshots=())) or "")
    assert "already a template" in (template_error(replace(SOURCE, template=True)) or "")


def test_proxmox_refusals_are_said_in_the_users_words() -> None:
    from lxc_manager.cloning.plan import refusal_message

    assert refusal_message(
        "Full clone of a running container is only possible from a snapshot\n"
    ) == (MSG_RUNNING_NEEDS_SNAPSHOT)
    assert "shared" in (refusal_message("can't clone to non-shared storage 'local-lvm'\n") or "")
    assert refusal_message("you can't convert a CT to template if the CT is running\n") == (
        "The container is running: stop it first"
    )
    assert refusal_message("something else entirely") is None
