"""Suspending and resuming syncing over the API (daemon/suspension.py; the runbook is
docs/operations.md, "Stopping all external calls"). Changing it needs an admin token
(ADMIN_TOKENS); reading it, any token."""

from __future__ import annotations

from aiohttp import web

from daemon.errors import ApiError
from daemon.http.keys import CALLER, SERVICES
from daemon.http.response_models import Suspension, SyncState
from daemon.http.responses import json_response
from daemon.http.route import Route
from daemon.http.schemas import SuspendBody


def admin_caller(request: web.Request) -> str:
    """The caller's name, when it may suspend and resume; else 403 `admin_only`."""
    caller = request[CALLER]
    if not request.app[SERVICES].settings.is_admin(caller):
        raise ApiError("admin_only")
    return caller


async def sync_state(request: web.Request) -> web.Response:
    sync = request.app[SERVICES].sync
    current = await sync.current()
    return json_response({"suspended": current is not None,
                          "current": current.json() if current else None,
                          "history": [s.json() for s in await sync.history()]})


async def suspend(request: web.Request, *, body: SuspendBody) -> web.Response:
    by = admin_caller(request)
    done = await request.app[SERVICES].sync.suspend(by=by, reason=body.reason,
                                                    no_read=body.no_read)
    return json_response(done.json())


async def resume(request: web.Request) -> web.Response:
    done = await request.app[SERVICES].sync.resume(by=admin_caller(request))
    return json_response(done.json())


ROUTES = [
    Route("GET", "/sync", sync_state, "Whether syncing is suspended, and the last suspensions",
          {200: SyncState}),
    Route("POST", "/sync/suspend", suspend, "Suspend every change sent to the external service",
          {200: Suspension}, errors=(400, 401, 403, 409, 503), body=SuspendBody),
    Route("POST", "/sync/resume", resume, "Resume syncing", {200: Suspension},
          errors=(401, 403, 409, 503)),
]
