"""Backups of containers (issue 17): listing on every backup storage of a cluster, the
privilege pre-checks, the actions (back up, restore, protect, notes, delete) and the
operation steps the RQ workers run. Plain async Python, no Reflex.

- `privileges` which Proxmox privilege an action lacks (`missing_privilege`)
- `listing`    `list_backups` (a container's or a cluster's, newest first), `backup_storages_of`
- `coverage`   which backup job of `/cluster/backup` covers a VMID
- `steps`      the operation step kinds "backup", "restore", "delete-ct" (registered)
- `actions`    what the pages call: `back_up`, `restore_over`, `restore_new`,
               `set_protected`, `set_notes`, `delete_backup`
- `destroy_first` "back up first" on the destroy of a failed creation (the job page):
               `destroy_after_backup` and the step kind "destroy-failed-job" (registered)
"""
