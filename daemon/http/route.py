"""One row of the route table: what a route accepts and answers.

Each resource module lists its routes; `daemon.http.app` mounts them and
`daemon.http.openapi` documents them from the same rows, so the document
cannot drift from the handlers. A route declares its query and body models
once: `endpoint()` parses them (a 4xx naming the problem before any handler
logic runs) and hands the handler typed objects as `query=` and `body=`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from daemon.http.requests import read_body, read_model, read_query

# What aiohttp calls, and what our handlers are: the request plus the parsed input.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TypedHandler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: TypedHandler
    summary: str
    # success status → its response model (None: not JSON, see `media`)
    ok: dict[int, type[BaseModel] | None]
    errors: tuple[int, ...] = (400, 401, 503)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    # "optional": an empty body means the model's defaults; "handler": documented here,
    # read by the handler itself (the webhook route checks the secret first)
    body_read: Literal["required", "optional", "handler"] = "required"
    path_id: Literal["uuid", "int", "name"] | None = None
    idempotency_key: bool = False
    public: bool = False  # no bearer token needed
    headers: tuple[str, ...] = ()  # required request headers (documented)
    media: dict[str, str] = field(default_factory=dict)  # extra 200 media type → description

    def endpoint(self) -> Handler:
        """The handler aiohttp calls: parse the declared input, then call ours with it."""
        query_model, body_model = self.query, self.body if self.body_read != "handler" else None
        optional = self.body_read == "optional"
        handler = self.handler

        async def endpoint(request: web.Request) -> web.StreamResponse:
            given: dict[str, Any] = {}
            if query_model is not None:
                given["query"] = read_query(request, query_model)
            if body_model is not None:
                empty = optional and not (await read_body(request)).strip()
                given["body"] = body_model() if empty else await read_model(request, body_model)
            return await handler(request, **given)

        return endpoint
