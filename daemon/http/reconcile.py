"""Reconcile passes on demand and their history (docs/behaviour.md §5)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from daemon.errors import ApiError
from daemon.http.keys import BACKGROUND, SERVICES
from daemon.http.requests import path_int
from daemon.http.response_models import ReconcileStarted, Run, RunList
from daemon.http.responses import json_response
from daemon.http.route import Route
from daemon.http.schemas import ReconcileQuery, RunListQuery
from daemon.passes import finish_pass
from reconciler.findings import run_json
from sql import runs


async def start_reconcile(request: web.Request, *, query: ReconcileQuery) -> web.Response:
    """202 with the run id (the pass goes on in the background), or 200 when `wait=true`."""
    services = request.app[SERVICES]
    handle = await services.reconciler.start(trigger="api")  # ReconcileBusy → 409
    if query.wait:
        return json_response(await finish_pass(services, handle))
    background = request.app[BACKGROUND]
    task = asyncio.get_running_loop().create_task(finish_pass(services, handle))
    background.add(task)
    task.add_done_callback(background.discard)
    return json_response({"run_id": handle.run_id}, status=202)


async def list_runs(request: web.Request, *, query: RunListQuery) -> web.Response:
    rows = await runs.recent(request.app[SERVICES].db, limit=query.limit)
    return json_response({"items": [run_json(r) for r in rows]})


async def get_run(request: web.Request) -> web.Response:
    row = await runs.get(request.app[SERVICES].db, path_int(request))
    if row is None:
        raise ApiError("run_not_found")
    return json_response(run_json(row))


ROUTES = [
    Route("POST", "/reconcile", start_reconcile, "Start a reconcile pass",
          {202: ReconcileStarted, 200: Run}, errors=(400, 401, 409, 503), query=ReconcileQuery),
    Route("GET", "/reconcile/runs", list_runs, "Reconcile run history", {200: RunList},
          query=RunListQuery),
    Route("GET", "/reconcile/runs/{id}", get_run, "One reconcile run", {200: Run},
          errors=(400, 401, 404, 503), path_id="int"),
]
