"""One row of the route table: what a route accepts and answers.

Each resource module lists its routes; `daemon.http.app` mounts them and
`daemon.http.openapi` documents them from the same rows, so the document
cannot drift from the handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    # success status → the name of its model in daemon/http/response_models.py (named,
    # not imported, so start-up does not build them); None: not JSON, see `media`
    ok: dict[int, str | None]
    errors: tuple[int, ...] = (400, 401, 503)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    path_id: Literal["uuid", "int"] | None = None
    idempotency_key: bool = False
    public: bool = False  # no bearer token needed
    headers: tuple[str, ...] = ()  # required request headers (documented)
    media: dict[str, str] = field(default_factory=dict)  # extra 200 media type → description
