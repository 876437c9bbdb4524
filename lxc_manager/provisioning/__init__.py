"""Container creation: request rules, VMID cache and reservation, RQ jobs, the pipeline
steps and their progress stream (plain async Python, no Reflex).

Modules (import them directly; this package imports nothing so that `containers/` can use
`provisioning.vmids` without a cycle):

- `request`    `CreateRequest`, `validate_request`, `proxmox_params`, JSON round trip
- `vmids`      the taken-VMID cache per cluster (`vmids:{cluster}`), `check_vmid`, holds
- `progress`   the Redis Stream `progress:{job}` (replay + live), `strip_ansi`
- `semaphore`  a Redis semaphore; `RedisSessionLimiter` caps SSH sessions per PVE node
- `store`      the `ProvisioningJob` / `ProvisioningEvent` rows (sync, short transactions)
- `pipeline`   the eight steps of a job
- `jobs`       submit / get / list / retry / destroy / keep / stale detection, `run_job`
  (retry and destroy wait while an operation, e.g. `backups.destroy_first`, runs on the CT)
- `options`    what the wizard offers for a node (PVE nodes, OS templates, storages, bridges)
"""
