"""JSON answers: one encoder (datetimes as ISO 8601 UTC, UUIDs as text) and the error body.

orjson writes the bytes (several times cheaper than the stdlib on the hot
paths); UUIDs and 64-bit integers come out as the stdlib wrote them, datetimes
go through `_default` so they keep their "Z" form.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from aiohttp import web

from daemon.errors import ApiError


def dumps(data: Any) -> str:
    """Compact JSON; non-ASCII stays UTF-8 (names like "Acme — launch" read as written)."""
    return encode(data).decode()


def encode(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.Response(body=encode(data), status=status, headers=headers,
                        content_type="application/json", charset="utf-8")


def error_response(error: ApiError) -> web.Response:
    """`{"error": {"code", "message"}}` with Retry-After where the error knows it."""
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = retry_after_value(error.retry_after)
    return json_response(error.body(), status=error.status, headers=headers)


def retry_after_value(seconds: float) -> str:
    """Whole seconds, at least one (the header takes no fractions)."""
    return str(max(1, round(seconds)))
