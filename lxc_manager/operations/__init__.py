"""Long operations on containers (backup, restore, clone, convert to template, ...) run
as RQ jobs with provisioning's heartbeat and stale-job rules, their progress in the same
Redis stream `progress:{job}` (so the job page shows them live and after a reload).

An operation is an ordered list of steps; each step has a kind whose handler is
registered in `registry` ("back up first, then restore" is one job with two steps).

- `store`     the `OperationJob` rows (sync, short transactions, conditional on the run)
- `registry`  step kinds: `register(kind, name, handler)`, `step_name`
- `run`       `StepContext` (Proxmox client, live task following, output, audit) and
              `run_operation`, the steps in order with a heartbeat
- `jobs`      `submit`, `get_operation`, `operations_for`, `run_job` (the RQ entry point)
- `stale`     `mark_stale_operations` (called by provisioning's sweeper)

This package imports nothing at package level (see `provisioning/__init__.py`).
"""
