"""HTTP surface of the reconciler: passes, runs, drift findings and resolutions."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from daemon.api_health import READINESS_CHECKS
from daemon.bodies import (
    json_response,
    path_int,
    query_bool,
    query_choice,
    query_int,
    query_text,
    read_model,
)
from daemon.config import Settings
from daemon.errors import ApiError
from daemon.middleware import REQUEST_ID
from daemon.scheduler import JOBS, JobSpec
from daemon.schemas import ResolveBody
from daemon.services import SERVICES
from reconciler.resolution import FINDING_FIELDS, ResolutionError, Resolver, finding_json
from reconciler.runner import ReconcileBusy, Reconciler, run_json

KINDS = ("status_mismatch", "local_pause_only", "remote_completed", "remote_unhealthy",
         "remote_missing", "toggle_incomplete")
STATES = {"open": ["open"], "acknowledged": ["acknowledged"], "resolved": ["resolved"],
          "all": ["open", "acknowledged", "resolved"]}


class ReconcileState:
    """The process's reconciler, resolver and the passes started in the background."""

    def __init__(self, reconciler: Reconciler, resolver: Resolver) -> None:
        self.reconciler = reconciler
        self.resolver = resolver
        self.background: set[asyncio.Task[Any]] = set()


STATE = web.AppKey("reconcile_state", ReconcileState)


async def start_reconcile(request: web.Request) -> web.Response:
    wait = query_bool(request, "wait") or False
    state = request.app[STATE]
    try:
        handle = await state.reconciler.start(trigger="api")
    except ReconcileBusy:
        raise ApiError("reconcile_in_progress") from None
    if wait:
        return json_response(await handle.execute())
    task = asyncio.get_running_loop().create_task(handle.execute())
    state.background.add(task)
    task.add_done_callback(state.background.discard)
    return json_response({"run_id": handle.run_id}, status=202)


async def list_runs(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", default=50, minimum=1, maximum=500)
    rows = await request.app[SERVICES].db.fetch("run_list", limit)
    return json_response({"items": [run_json(r) for r in rows]})


async def get_run(request: web.Request) -> web.Response:
    row = await request.app[SERVICES].db.fetchrow("run_get", path_int(request))
    if row is None:
        raise ApiError("run_not_found")
    return json_response(run_json(row))


async def list_drift(request: web.Request) -> web.Response:
    state = query_choice(request, "state", tuple(STATES), default="open")
    kind = query_choice(request, "kind", KINDS)
    client_id = query_text(request, "client_id")
    expected = query_bool(request, "expected")
    fmt = query_choice(request, "format", ("json", "csv"), default="json")
    limit = query_int(request, "limit", default=1000, minimum=1, maximum=10000)
    rows = await request.app[SERVICES].db.fetch(
        "finding_list", STATES[state or "open"], kind, client_id, expected, limit
    )
    items = [finding_json(r) for r in rows]
    if fmt == "csv":
        return web.Response(
            text=findings_csv(items), content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="drift.csv"'},
        )
    return json_response({"items": items})


def findings_csv(items: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FINDING_FIELDS)
    writer.writeheader()
    for item in items:
        writer.writerow({k: _csv_value(v) for k, v in item.items()})
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


async def resolve_finding(request: web.Request) -> web.Response:
    finding_id = path_int(request)
    body = await read_model(request, ResolveBody)
    try:
        finding = await request.app[STATE].resolver.resolve(
            finding_id, action=body.action, note=body.note, request_id=request[REQUEST_ID]
        )
    except ResolutionError as exc:
        raise ApiError(exc.code) from None
    await request.app[STATE].reconciler.refresh_metrics()
    return json_response(finding)


async def _scheduled_pass(app: web.Application) -> None:
    try:
        await app[STATE].reconciler.run_once(trigger="schedule")
    except ReconcileBusy:
        pass  # another replica is reconciling; this tick skips


async def _last_success(app: web.Application) -> tuple[str, bool, dict[str, Any]]:
    try:
        last = await app[SERVICES].db.fetchval("run_last_success")
    except Exception:
        last = None
    return "reconciler", True, {
        "last_successful_reconcile": last.isoformat() if last else None}


def setup(app: web.Application, settings: Settings) -> None:
    """Mount /reconcile and /drift, and schedule the pass when the interval is set."""

    async def state_ctx(app: web.Application) -> AsyncIterator[None]:
        services = app[SERVICES]
        reconciler = Reconciler(
            db=services.db, client=services.client,
            full_pause_sync=settings.full_pause_sync,
            lease_seconds=settings.toggle_lease_seconds,
        )
        app[STATE] = ReconcileState(reconciler, Resolver(db=services.db, client=services.client))
        try:
            yield
        finally:
            tasks = list(app[STATE].background)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    app.cleanup_ctx.append(state_ctx)
    app.router.add_post("/reconcile", start_reconcile)
    app.router.add_get("/reconcile/runs", list_runs, allow_head=False)
    app.router.add_get("/reconcile/runs/{id}", get_run, allow_head=False)
    app.router.add_get("/drift", list_drift, allow_head=False)
    app.router.add_post("/drift/{id}/resolve", resolve_finding)
    app[READINESS_CHECKS].append(_last_success)
    app.setdefault(JOBS, [])

    if settings.reconcile_interval_seconds > 0:
        interval = settings.reconcile_interval_seconds
        app[JOBS].append(JobSpec(
            "reconcile", _scheduled_pass, seconds=interval, first_run_in=5,
            jitter=min(30.0, interval * 0.1),
        ))
