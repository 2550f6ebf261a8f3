"""Reading request input: bodies, path ids and query parameters.

Everything that can be wrong with input becomes an `ApiError` (a 4xx naming
the problem) before any handler logic or SQL runs. One body limit for every
endpoint (`MAX_BODY_BYTES`), enforced while the body is read.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from daemon.errors import ApiError
from daemon.validation import first_problem

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 1024 * 1024


async def read_body(request: web.Request) -> bytes:
    """The raw body (read once, cached by aiohttp), or 413 `body_too_large`.

    The app's `client_max_size` is MAX_BODY_BYTES, so aiohttp stops reading
    as soon as a body without Content-Length grows past it. A body that does not
    decode as its Content-Encoding says is 400 `invalid_encoding`; a client that
    disconnects mid-body gets 400 `request_incomplete` (which it never reads: the
    point is that nothing is logged as a server fault).
    """
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError("body_too_large", limit=MAX_BODY_BYTES)
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError("body_too_large", limit=MAX_BODY_BYTES) from None
    except web.RequestPayloadError:
        raise ApiError("invalid_encoding") from None
    except ConnectionResetError:
        raise ApiError("request_incomplete") from None


def require_json(request: web.Request) -> None:
    """A body is JSON only when it says so (415 `unsupported_media_type` otherwise)."""
    if request.content_type != "application/json" and not (
            request.content_type.startswith("application/")
            and request.content_type.endswith("+json")):
        raise ApiError("unsupported_media_type")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (415 without a JSON content type; 400 invalid_json or
    invalid_body otherwise, including nesting too deep to parse)."""
    require_json(request)
    raw = await read_body(request)
    if not raw.strip():
        raise ApiError("invalid_body", detail="a JSON object is required")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_json") from None
    except RecursionError:
        raise ApiError("invalid_body", detail="nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_body", detail="a JSON object is required")
    return data


async def read_model(request: web.Request, model: type[M]) -> M:
    return validate(model, await read_json_object(request))


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, why = first_problem(exc, model)
        where = ".".join(str(part) for part in loc) or "body"
        raise ApiError("invalid_body", detail=f"{where}: {why}") from None


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string as `model` (400 `invalid_parameter` naming the first bad one).

    Unknown parameters are ignored; a repeated one counts by its first value.
    """
    given = {name: request.query.get(name) for name in request.query}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        loc, why = first_problem(exc, model)
        raise ApiError("invalid_parameter", name=str(loc[0]), detail=why) from None


def path_uuid(request: web.Request, name: str = "id", *, missing: str | None = None
              ) -> uuid.UUID:
    """The UUID in the path: 400 `invalid_id`, or the error `missing` where a page
    treats an unreadable id as naming nothing (the console's 404s)."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise ApiError(missing or "invalid_id") from None


def path_int(request: web.Request, name: str = "id", *, missing: str | None = None) -> int:
    """A positive integer id: ASCII digits only (`isdigit` also accepts superscripts and
    other scripts' digits), within bigint. Else 400, or the error `missing` (as above)."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        if missing:
            raise ApiError(missing)
        raise ApiError("invalid_parameter", name=name, detail="must be a positive integer")
    return int(raw)
