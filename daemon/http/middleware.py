"""The one middleware: request id, metrics, bearer auth, and where errors become answers.

One coroutine per request does what four nested ones did (the webhook bench
showed the nesting cost more than the handler). Order of effects: the request
id is bound first, so even a 401 or a 500 carries it; auth runs before the
handler; domain errors are mapped by `daemon.errors.api_error`; unexpected
exceptions are logged with their traceback and answered 500 `internal_error`
with no detail; every answer is counted.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Iterable

import structlog
from aiohttp import web

from daemon.config import LOOPBACK_CALLER
from daemon.errors import ApiError, api_error
from daemon.http.keys import CALLER, REQUEST_ID
from daemon.http.requests import MAX_BODY_BYTES
from daemon.http.responses import error_response, json_response
from daemon.http.route import Handler
from daemon.metrics import HTTP_LATENCY, HTTP_REQUESTS
from sql import DatabaseUnavailable
from webhooks.events import matching_secret

log = structlog.get_logger("daemon.http")

# Counted for a request whose handler was cancelled: nginx's "client closed request".
CLIENT_CLOSED = 499
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_request_id() -> str:
    """32 random hex digits, like a uuid4's hex. An id correlates log lines, it guards
    nothing: the process's PRNG serves (uuid4 asks the kernel for entropy, a system
    call per request that the webhook profile showed)."""
    return f"{random.getrandbits(128):032x}"


def request_id_from(incoming: str) -> str:
    """The client's X-Request-ID when it is a sane token, else a new id."""
    return incoming if _REQUEST_ID.match(incoming) else new_request_id()


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def count_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route).observe(seconds)


def _error_answer(exc: Exception) -> web.StreamResponse:
    """The answer for an exception a handler raised (re-raises redirects)."""
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return error_response(ApiError("body_too_large", limit=MAX_BODY_BYTES))
    if isinstance(exc, web.HTTPMethodNotAllowed):
        response = error_response(ApiError("method_not_allowed"))
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response
    if isinstance(exc, web.HTTPNotFound):
        return error_response(ApiError("not_found"))
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        log.info("http.error", status=exc.status)
        return json_response(
            {"error": {"code": "http_error", "message": exc.reason}}, status=exc.status)
    return error_response(answer_for(exc))


def answer_for(exc: BaseException) -> ApiError:
    """The error map's answer for an exception, logged as the middleware logs it: an
    unexpected one with its traceback (500 `internal_error`), an outage as a warning."""
    error = api_error(exc) if isinstance(exc, Exception) else None
    if error is None:
        log.error("http.unhandled", exc_info=exc)
        return ApiError("internal_error")
    if isinstance(exc, DatabaseUnavailable):
        log.warning("database.unavailable", error=str(exc))
    return error


def api_middleware(tokens: Iterable[tuple[str, str]], public_paths: frozenset[str], *,
                   public_prefix: str = "/ui") -> Callable:
    """The middleware of the app. Bearer auth against API_TOKENS, (name, token) pairs (no
    tokens: loopback only, unauthenticated, the caller named "loopback") except on
    `public_paths` and under `public_prefix` (the console, which has its own session
    sign-in). The token's name is the request's CALLER (audits, admin checks)."""
    named = tuple(tokens)
    accepted = tuple(token for _, token in named)

    def authorized(request: web.Request) -> bool:
        path = request.path
        if not accepted:
            request[CALLER] = LOOPBACK_CALLER
            return True
        if path in public_paths or path == public_prefix or path.startswith(public_prefix + "/"):
            return True
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        found = matching_secret(given.strip(), accepted) if scheme.lower() == "bearer" else None
        if found is None:
            return False
        request[CALLER] = named[found][0]
        return True

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get("X-Request-ID", ""))
        request[REQUEST_ID] = request_id
        # Cleared in `finally`, so nothing bound by the previous request on this
        # keep-alive connection (same task, same context) is left to clear here.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        try:
            if authorized(request):
                try:
                    response = await handler(request)
                except Exception as exc:
                    response = _error_answer(exc)
            else:
                response = error_response(ApiError("unauthorized"))
                response.headers["WWW-Authenticate"] = "Bearer"
            status = response.status
            response.headers["X-Request-ID"] = request_id
            return response
        except web.HTTPException as exc:  # a redirect, passed on as aiohttp expects
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED  # the client went away (or the server is stopping)
            raise
        finally:
            structlog.contextvars.clear_contextvars()
            count_request(_route_name(request), request.method, status,
                          time.perf_counter() - started)

    return middleware
