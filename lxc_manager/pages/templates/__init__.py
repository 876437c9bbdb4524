"""`/templates`: the templates a user may see, with search, tag filter, duplicate, delete
and the administrators' "Sync catalog"."""
