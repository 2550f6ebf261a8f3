"""Request id, metrics, the one place errors become responses, and bearer auth.

Order (outermost first): request id → metrics → errors → auth → handler, so
even a 401 or a 500 carries the request id, is counted, and has the SPEC
error body. Domain errors are mapped by `daemon.errors.api_error`;
unexpected exceptions are logged with their traceback and answered 500
`internal_error` with no detail.
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from collections.abc import Callable, Iterable

import structlog
from aiohttp import web

from daemon.errors import ApiError, api_error
from daemon.http.keys import REQUEST_ID
from daemon.http.requests import MAX_BODY_BYTES
from daemon.http.responses import error_response, json_response
from daemon.http.route import Handler
from daemon.metrics import HTTP_LATENCY, HTTP_REQUESTS
from sql import DatabaseUnavailable

log = structlog.get_logger("daemon.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        response = await handler(request)
    finally:
        structlog.contextvars.clear_contextvars()
    response.headers["X-Request-ID"] = request_id
    return response


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        route = _route_name(request)
        HTTP_REQUESTS.labels(route=route, method=request.method, status=str(status)).inc()
        HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return error_response(ApiError("body_too_large", limit=MAX_BODY_BYTES))
    except web.HTTPMethodNotAllowed as exc:
        response = error_response(ApiError("method_not_allowed"))
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response
    except web.HTTPNotFound:
        return error_response(ApiError("not_found"))
    except web.HTTPException as exc:
        if exc.status >= 400:
            log.info("http.error", status=exc.status)
            return json_response(
                {"error": {"code": "http_error", "message": exc.reason}}, status=exc.status
            )
        raise
    except Exception as exc:
        error = api_error(exc)
        if error is None:
            log.exception("http.unhandled")
            error = ApiError("internal_error")
        elif isinstance(exc, DatabaseUnavailable):
            log.warning("database.unavailable", error=str(exc))
        return error_response(error)


def auth_middleware(tokens: Iterable[str], public_paths: frozenset[str], *,
                    public_prefix: str = "/ui/") -> Callable:
    """Bearer auth against API_TOKENS (no tokens: loopback-only, unauthenticated).
    Paths under `public_prefix` (the console) have their own session sign-in."""
    encoded = [t.encode() for t in tokens]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (encoded and request.path not in public_paths
                and not request.path.startswith(public_prefix) and request.path != "/ui"):
            header = request.headers.get("Authorization", "")
            scheme, _, given = header.partition(" ")
            ok = False
            if scheme.lower() == "bearer" and given:
                # surrogatepass: a header decoded from non-UTF-8 bytes still encodes (to
                # bytes no token has) instead of raising.
                candidate = given.strip().encode("utf-8", "surrogatepass")
                # Compare against every token so timing does not reveal which matched.
                for token in encoded:
                    ok |= hmac.compare_digest(candidate, token)
            if not ok:
                response = error_response(ApiError("unauthorized"))
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        return await handler(request)

    return middleware
