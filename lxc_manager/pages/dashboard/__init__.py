"""`/`: every container of every node of the signed-in user, with lifecycle and bulk actions.

`page.py` assembles the page from `toolbar.py`, `table.py` (rows and cards), `jobs.py`
and `dialogs.py`; `state.py` holds `DashboardState`; `rows.py` the Reflex-free row models.
"""
