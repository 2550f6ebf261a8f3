"""JSON answers: one encoder (datetimes as ISO 8601 UTC, UUIDs as text) and the error body."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from aiohttp import web

from daemon.errors import ApiError


def dumps(data: Any) -> str:
    """Compact JSON; non-ASCII stays UTF-8 (names like "Acme — launch" read as written)."""
    return json.dumps(data, default=_default, separators=(",", ":"), ensure_ascii=False)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def error_response(error: ApiError) -> web.Response:
    """`{"error": {"code", "message"}}` with Retry-After where the error knows it."""
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return json_response(error.body(), status=error.status, headers=headers)
