"""The HTTP API (docs/behaviour.md §3-§6): app assembly, middleware, one module per resource.

Handlers parse input (`requests`), call a service from `daemon.services`,
and answer with `responses`; errors propagate to the middleware, which maps
them once (`daemon.errors.api_error`). The route table of every resource
module is the single source of the routes and of `/openapi.json`.
"""
