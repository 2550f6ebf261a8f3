"""GET /overview: the figures of the console's home, as JSON.

Open drift per kind (with the oldest finding), our webhook as the last pass
found it, external calls of the last 24 hours (success rate, p95 duration),
the last reconcile pass and when the next one runs, campaigns per status: the
roll-up of every workspace; then the same per workspace (`workspaces`).
Nothing here calls the external service: a page that opens often must not
spend its rate budget.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from daemon.http.keys import SCHEDULER, SERVICES
from daemon.http.response_models import Overview
from daemon.http.responses import json_response
from daemon.http.route import Route
from reconciler.findings import run_json
from sql import overview, runs
from sql.statuses import LocalStatus

CALLS_WINDOW_HOURS = 24


async def figures(app: web.Application) -> dict[str, Any]:
    """The overview as the API answers it (and the console shows it)."""
    db = app[SERVICES].db
    drift = await overview.open_drift(db)
    calls = await overview.calls(db, hours=CALLS_WINDOW_HOURS)
    by_status = await overview.campaigns_by_status(db)
    [last] = await runs.recent(db, limit=1) or [None]
    webhook = (last["webhook"] or {}).get("subscription") if last is not None else None
    per_workspace = await overview.workspaces(db, hours=CALLS_WINDOW_HOURS)
    return {
        "drift": [{"kind": r["kind"], "open": r["open"], "oldest_first_seen_at": r["oldest"]}
                  for r in drift],
        "webhook": {"state": webhook["state"], "checked_at": last["finished_at"]}
        if webhook else None,
        "calls": {"window_hours": CALLS_WINDOW_HOURS, "calls": calls.calls,
                  "succeeded": calls.succeeded, "success_rate": calls.success_rate,
                  "p95_ms": calls.p95_ms},
        "last_run": run_json(last) if last is not None else None,
        "next_run_at": _next_reconcile(app),
        "campaigns": {s.value: by_status.get(s.value, 0) for s in LocalStatus},
        "workspaces": [{
            "name": w["name"], "enabled": w["enabled"], "campaigns": w["campaigns"],
            "linked": w["linked"], "open_drift": w["open_drift"], "listing": w["listing"],
            "listing_error": w["listing_error"], "listed_at": w["listed_at"],
            "webhook": w["webhook"], "calls": w["calls"],
            "success_rate": w["calls_ok"] / w["calls"] if w["calls"] else None,
        } for w in per_workspace],
    }


def _next_reconcile(app: web.Application) -> dt.datetime | None:
    scheduler = app.get(SCHEDULER)
    job = scheduler.get_job("reconcile") if scheduler is not None else None
    return job.next_run_time if job is not None else None


async def get_overview(request: web.Request) -> web.Response:
    return json_response(await figures(request.app))


ROUTES = [
    Route("GET", "/overview", get_overview, "Open drift, webhook, calls, passes, campaigns",
          {200: Overview}, errors=(401, 503)),
]
