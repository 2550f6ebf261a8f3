"""Reading request input: JSON bodies, path ids and query parameters.

Everything that can be wrong with input becomes an `ApiError` (a 4xx naming
the problem) before any handler logic or SQL runs.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from daemon.errors import ApiError
from daemon.schemas import describe

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 1024 * 1024


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, separators=(",", ":"))


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (400 invalid_json / invalid_body otherwise)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError("body_too_large", limit=MAX_BODY_BYTES)
    raw = await request.read()
    if not raw.strip():
        raise ApiError("invalid_body", detail="a JSON object is required")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_body", detail="a JSON object is required")
    return data


async def read_model(request: web.Request, model: type[M]) -> M:
    data = await read_json_object(request)
    return validate(model, data)


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError("invalid_body", detail=describe(exc)) from None


def path_uuid(request: web.Request, name: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise ApiError("invalid_id") from None


def path_int(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError("invalid_parameter", name=name, detail="must be a positive integer")
    return int(raw)


def query_int(request: web.Request, name: str, *, default: int, minimum: int, maximum: int
              ) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("invalid_parameter", name=name, detail="must be an integer") from None
    if not minimum <= value <= maximum:
        raise ApiError(
            "invalid_parameter", name=name, detail=f"must be between {minimum} and {maximum}"
        )
    return value


def query_bool(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ApiError("invalid_parameter", name=name, detail="must be true or false")


def query_choice(request: web.Request, name: str, choices: tuple[str, ...],
                 default: str | None = None) -> str | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw not in choices:
        detail = "must be one of " + ", ".join(choices)
        raise ApiError("invalid_parameter", name=name, detail=detail)
    return raw


def query_text(request: web.Request, name: str, *, max_length: int = 200) -> str | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw or len(raw) > max_length or "\x00" in raw:
        raise ApiError(
            "invalid_parameter", name=name, detail=f"must be 1 to {max_length} characters"
        )
    return raw
