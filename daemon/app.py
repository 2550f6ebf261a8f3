"""Application assembly: the only place that wires every package together.

`build_app` returns an aiohttp app whose cleanup contexts open the shared
services (pool, migrations, HTTP session, client), then the webhook
receiver, then the scheduler; they are torn down in reverse order, so jobs
stop before the pool they use closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from daemon import api_campaigns, api_health, api_reconcile, api_webhooks, scheduler
from daemon.bodies import MAX_BODY_BYTES
from daemon.config import Settings
from daemon.middleware import (
    auth_middleware,
    error_middleware,
    metrics_middleware,
    request_id_middleware,
)
from daemon.openapi import add_openapi_route
from daemon.services import SERVICES, close_services, open_services


def build_app(settings: Settings, *, dsn: str) -> web.Application:
    """The daemon's web application, connected to Postgres at `dsn`."""
    app = web.Application(
        middlewares=[
            request_id_middleware,
            metrics_middleware,
            error_middleware,
            auth_middleware(t.get() for t in settings.api_tokens),
        ],
        client_max_size=MAX_BODY_BYTES,
    )

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        app[SERVICES] = await open_services(settings, dsn)
        try:
            yield
        finally:
            await close_services(app[SERVICES])

    app.cleanup_ctx.append(services_ctx)
    api_health.setup(app)
    api_campaigns.setup(app)
    api_webhooks.setup(app)
    api_reconcile.setup(app, settings)
    scheduler.setup(app)
    add_openapi_route(app)
    return app
