"""`/containers/{node_id}/{vmid}`: one container — overview, live metrics, history,
services and logs, snapshots, events.

`page.py` assembles the tabs from `overview.py`, `metrics.py`, `services.py`, `logs.py`,
`snapshots.py` and `events.py`; `state.py` holds `ContainerDetailState`; `rows.py` the
Reflex-free display models.
"""
