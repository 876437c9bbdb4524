"""`/templates/{id}` and `/templates/new`: the template editor (page.py assembles, state.py
holds `TemplateEditorState`)."""
