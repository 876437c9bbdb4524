"""Pure logic of backups: the archive a vzdump log names, a backup's owner, notes as a
vzdump notes template, which job covers a guest, the first missing privilege."""

from __future__ import annotations

from lxc_manager.backups.actions import _notes_template, owner_of
from lxc_manager.backups.coverage import covering_jobs, covers
from lxc_manager.backups.privileges import Need, first_missing, for_backup, missing_message
from lxc_manager.backups.steps import archive_volid
from lxc_manager.proxmox import Permissions
from lxc_manager.proxmox.backup_api import BackupJob


def test_the_archive_is_read_from_the_vzdump_log() -> None:
    lines = [
        "INFO: Starting Backup of VM 105 (lxc)",
        "INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-lxc-105-2026_12_03-07_00_01.tar.zst'",
    ]
    assert (
        archive_volid("local", lines) == "local:backup/vzdump-lxc-105-2026_12_03-07_00_01.tar.zst"
    )
    old = ["INFO: creating archive '/mnt/pve/nas/dump/vzdump-lxc-7-2020_01_01-00_00_00.tar.gz'"]
    assert archive_volid("nas", old) == "nas:backup/vzdump-lxc-7-2020_01_01-00_00_00.tar.gz"
    assert archive_volid("local", ["INFO: nothing"]) == ""


def test_only_container_backups_have_an_owner() -> None:
    assert owner_of("nas:backup/vzdump-lxc-105-2026_12_03-07_00_01.tar.zst") == 105
    assert owner_of("nas:backup/vzdump-qemu-105-2026_12_03-07_00_01.vma.zst") is None
    assert owner_of("local:vztmpl/debian.tar.zst") is None
    assert owner_of("../../etc/passwd") is None


def test_notes_become_a_template_that_says_what_was_typed() -> None:
    assert _notes_template("two\nlines") == "two\\nlines"
    assert _notes_template("a \\ b") == "a \\\\ b"


def test_which_job_covers_a_guest() -> None:
    everything = BackupJob(id="all", all=True, exclude="101,102", storage="nas")
    listed = BackupJob(id="some", vmid="105,106", storage="local")
    on_pve2 = BackupJob(id="pve2", all=True, node="pve2")
    off = BackupJob(id="off", vmid="105", enabled=False)
    pool = BackupJob(id="pool", pool="web")
    assert covers(everything, 105) and not covers(everything, 101)
    assert covers(listed, 106) and not covers(listed, 107)
    assert covers(on_pve2, 105, "pve2") and not covers(on_pve2, 105, "pve1")
    assert not covers(pool, 105)
    jobs = [everything, listed, on_pve2, off, pool]
    assert [j.id for j in covering_jobs(jobs, 105, "pve1")] == ["all", "some"]
    assert [j.id for j in covering_jobs(jobs, 105, "pve1", enabled_only=False)] == [
        "all", "some", "off",
    ]  # fmt: skip


def test_the_first_missing_privilege_is_named() -> None:
    perms = Permissions.from_api(
        {"/": {"VM.Audit": 1, "Datastore.AllocateSpace": 1}, "/vms/105": {"VM.Backup": 0}}
    )
    assert first_missing(perms, for_backup(105, "nas")) is None
    missing = first_missing(perms, for_backup(106, "nas"))
    assert missing == Need("/vms/106", "VM.Backup")
    assert missing_message(missing) == (
        "The node's API token lacks the Proxmox privilege VM.Backup on /vms/106: "
        "nothing was started"
    )
    either = Need("/vms/7", "VM.Backup", "VM.Allocate")
    assert first_missing(Permissions.from_api({"/vms/7": {"VM.Allocate": 1}}), [either]) is None


def test_restoring_a_guest_from_its_own_backup_needs_no_access_to_the_archive() -> None:
    """pve-storage check_volume_access: the owner of a backup reads it without storage
    privileges; anyone else needs Datastore.AllocateSpace there and VM.Backup on the owner."""
    from lxc_manager.backups import privileges

    own = privileges.for_restore_over(105, "nas", 105, "local-lvm")
    assert [(n.path, n.privilege) for n in own] == [
        ("/vms/105", "VM.Backup"),
        ("/storage/local-lvm", "Datastore.AllocateSpace"),
    ]
    other = privileges.for_restore_new(120, "nas", 105, "local-lvm")
    assert ("/storage/nas", "Datastore.AllocateSpace") in [(n.path, n.privilege) for n in other]
    assert ("/vms/105", "VM.Backup") in [(n.path, n.privilege) for n in other]


def test_proxmox_backup_server_snapshots_are_container_backups_too() -> None:
    """PBS volids are `backup/ct/<vmid>/<time>` (pve-storage PBSPlugin); vzdump logs
    "creating Proxmox Backup Server archive 'ct/<vmid>/<time>'" for them."""
    from lxc_manager.backups.actions import owner_of
    from lxc_manager.backups.steps import archive_volid

    assert owner_of("pbs:backup/ct/105/2026-09-26T10:00:00Z") == 105
    assert owner_of("pbs:backup/vm/105/2026-09-26T10:00:00Z") is None  # a VM's, not ours
    assert owner_of("nas:backup/vzdump-lxc-105-2026_09_26-10_00_00.tar.zst") == 105
    line = "INFO: creating Proxmox Backup Server archive 'ct/105/2026-09-26T10:00:00Z'"
    assert archive_volid("pbs", [line]) == "pbs:backup/ct/105/2026-09-26T10:00:00Z"
