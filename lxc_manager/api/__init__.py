"""The HTTP API (`/api/v1`, issue 18): personal API keys, the route framework, endpoints.

- `keys`: the keys service (create / list / revoke / authenticate; stored hashed).
- `framework`: `Operation` declarations, bearer auth, per-key rate limit, JSON errors.
- `openapi`: the OpenAPI 3.1 document, generated from the declarations.
- `v1`: the endpoints; `routes()` gives the Starlette routes the app mounts.
"""
