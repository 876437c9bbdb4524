"""`/containers/new`: the creation wizard (page.py assembles, state.py holds `WizardState`)."""
