"""Application assembly: routes, middleware and the lifetime of every service.

`build_app` lists every cleanup context in the order they open; aiohttp
closes them in reverse, so the scheduler stops before the webhook writers,
and both before the services (HTTP session, pool) they use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from daemon.config import Settings
from daemon.http import (
    campaigns,
    drift,
    health,
    overview,
    reconcile,
    sync,
    webhooks,
    workspaces,
)
from daemon.http.console.routes import PREFIX as CONSOLE_PREFIX
from daemon.http.console.routes import setup_console
from daemon.http.keys import BACKGROUND, SCHEDULER, SERVICES
from daemon.http.middleware import api_middleware
from daemon.http.openapi import build_document
from daemon.http.requests import MAX_BODY_BYTES
from daemon.http.responses import json_response
from daemon.http.route import Route
from daemon.scheduler import job_specs, start_scheduler
from daemon.services import close_services, open_services


def with_openapi(routes: list[Route]) -> list[Route]:
    """`routes` plus GET /openapi.json, which documents all of them (itself included)."""
    document: dict[str, object] = {}

    async def openapi(request: web.Request) -> web.Response:
        if not document:  # built on the first request: start-up builds no schema
            document.update(build_document(everything))
        return json_response(document)

    everything = [*routes, Route("GET", "/openapi.json", openapi, "This document", {200: None},
                                 errors=(401,), media={"application/json": "OpenAPI 3.1"})]
    return everything


ROUTES: list[Route] = [
    *campaigns.ROUTES, *webhooks.ROUTES, *reconcile.ROUTES, *drift.ROUTES, *overview.ROUTES,
    *sync.ROUTES, *workspaces.ROUTES, *health.ROUTES,
]


def build_app(settings: Settings, *, dsn: str | None = None) -> web.Application:
    """The daemon's web application (Postgres at `dsn`, else as `settings` say)."""
    routes = with_openapi(ROUTES)
    app = web.Application(
        middlewares=[
            api_middleware(settings.named_tokens(),
                           frozenset(r.path for r in routes if r.public),
                           public_prefix=CONSOLE_PREFIX),
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    for route in routes:
        app.router.add_route(route.method, route.path, route.endpoint())
    setup_console(app, settings)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        app[SERVICES] = await open_services(settings, dsn=dsn)
        try:
            yield
        finally:
            await close_services(app[SERVICES])

    async def webhook_writers_ctx(app: web.Application) -> AsyncIterator[None]:
        store = app[SERVICES].webhook_store
        store.start()
        try:
            yield
        finally:
            await store.close()  # drains what is queued

    async def background_passes_ctx(app: web.Application) -> AsyncIterator[None]:
        app[BACKGROUND] = set()
        try:
            yield
        finally:
            tasks = list(app[BACKGROUND])
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
        app[SCHEDULER] = start_scheduler(job_specs(app[SERVICES]))
        try:
            yield
        finally:
            app[SCHEDULER].shutdown(wait=False)

    async def notification_sender_ctx(app: web.Application) -> AsyncIterator[None]:
        """Sends the outbox's messages (daemon/notify.py) while the app runs."""
        notifier = app[SERVICES].notifier
        if not notifier.enabled:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(notifier.run(stop),
                                                      name="notification-sender")
        try:
            yield
        finally:
            stop.set()  # a delivery under way finishes within its deadline
            await task

    app.cleanup_ctx.extend(
        [services_ctx, webhook_writers_ctx, background_passes_ctx, scheduler_ctx,
         notification_sender_ctx])
    return app
