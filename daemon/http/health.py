"""Liveness, readiness and Prometheus metrics (no auth on any of them)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from daemon.http.keys import SCHEDULER, SERVICES
from daemon.http.response_models import Health, Readiness
from daemon.http.responses import json_response
from daemon.http.route import Route
from sql import DatabaseUnavailable, runs
from sql.migrate import pending_migrations


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers, migrations are applied and the scheduler runs.

    Shows only booleans and timestamps: never a DSN, key or secret.
    """
    services = request.app[SERVICES]
    settings = services.settings
    checks: dict[str, object] = {}
    database_ok = await services.db.ping()
    migrations_ok = False
    last_success = None
    if database_ok:
        try:
            migrations_ok = not await pending_migrations(services.db)
            last_success = await runs.last_success(services.db)
        except DatabaseUnavailable:
            database_ok = False
    scheduler = request.app.get(SCHEDULER)
    scheduler_ok = bool(scheduler and scheduler.running)
    checks["database"] = database_ok
    checks["migrations"] = migrations_ok
    checks["reconciler"] = True
    checks["last_successful_reconcile"] = last_success.isoformat() if last_success else None
    checks["scheduler"] = scheduler_ok
    checks["api_key_configured"] = settings.instantly_api_key is not None
    checks["webhook_secret_configured"] = bool(settings.webhook_secrets)
    ready = database_ok and migrations_ok and scheduler_ok
    return json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus's text; the suspension and budget gauges read now (other replicas
    change them too), kept as they were when the database does not answer."""
    services = request.app[SERVICES]
    try:
        await services.sync.current()
        await services.calls.refresh_gauges()
        await services.notifier.refresh_gauges()
    except DatabaseUnavailable:
        pass
    return web.Response(
        body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


ROUTES = [
    Route("GET", "/healthz", healthz, "Liveness", {200: Health}, errors=(), public=True),
    Route("GET", "/readyz", readyz, "Readiness", {200: Readiness, 503: Readiness}, errors=(),
          public=True),
    Route("GET", "/metrics", metrics, "Prometheus metrics", {200: None}, errors=(),
          public=True, media={"text/plain": "Prometheus text format"}),
]
