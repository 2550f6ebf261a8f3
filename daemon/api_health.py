"""Liveness, readiness and Prometheus metrics (no auth on any of them)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from daemon.bodies import json_response
from daemon.services import SERVICES
from sql import DatabaseUnavailable
from sql.migrate import pending_migrations

READINESS_CHECKS: web.AppKey = web.AppKey("readiness_checks", list)


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers, migrations are applied and jobs run.

    Shows only booleans and timestamps: never a DSN, key or secret.
    """
    services = request.app[SERVICES]
    settings = services.settings
    checks: dict[str, object] = {}
    database_ok = await services.db.ping()
    checks["database"] = database_ok
    migrations_ok = False
    if database_ok:
        try:
            migrations_ok = not await pending_migrations(services.db)
        except DatabaseUnavailable:
            checks["database"] = database_ok = False
    checks["migrations"] = migrations_ok
    ready = database_ok and migrations_ok
    for check in request.app.get(READINESS_CHECKS, []):
        name, ok, extra = await check(request.app)
        checks[name] = ok
        checks.update(extra)
        ready = ready and ok
    checks["api_key_configured"] = settings.instantly_api_key is not None
    checks["webhook_secret_configured"] = bool(settings.webhook_secrets)
    return json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def setup(app: web.Application) -> None:
    app[READINESS_CHECKS] = []
    app.router.add_get("/healthz", healthz, allow_head=False)
    app.router.add_get("/readyz", readyz, allow_head=False)
    app.router.add_get("/metrics", metrics, allow_head=False)
