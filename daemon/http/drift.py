"""Drift findings: list (JSON or CSV) and resolve (docs/behaviour.md §5)."""

from __future__ import annotations

from aiohttp import web

from daemon.http.keys import REQUEST_ID, SERVICES
from daemon.http.requests import path_int
from daemon.http.response_models import Finding, FindingList
from daemon.http.responses import json_response
from daemon.http.route import Route
from daemon.http.schemas import DriftQuery, ResolveBody
from reconciler.findings import STATE_FILTERS, finding_json, findings_csv
from sql import drift


async def list_drift(request: web.Request, *, query: DriftQuery) -> web.Response:
    rows = await drift.findings(
        request.app[SERVICES].db, states=STATE_FILTERS[query.state], kind=query.kind,
        client_id=query.client_id, expected=query.expected, workspace=query.workspace,
        limit=query.limit)
    items = [finding_json(r) for r in rows]
    if query.format == "csv":
        return csv_download(items)
    return json_response({"items": items})


def csv_download(items: list[dict]) -> web.Response:
    """Findings as a CSV attachment (the API's format=csv and the console's download)."""
    return web.Response(
        text=findings_csv(items), content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="drift.csv"'},
    )


async def resolve_finding(request: web.Request, *, body: ResolveBody) -> web.Response:
    finding_id = path_int(request)
    services = request.app[SERVICES]
    finding = await services.resolver.resolve(
        finding_id, action=body.action, note=body.note, request_id=request[REQUEST_ID]
    )
    await services.reconciler.refresh_metrics()
    return json_response(finding)


ROUTES = [
    Route("GET", "/drift", list_drift, "Drift findings", {200: FindingList}, query=DriftQuery,
          media={"text/csv": "with format=csv"}),
    Route("POST", "/drift/{id}/resolve", resolve_finding, "Resolve a drift finding",
          {200: Finding}, errors=(400, 401, 404, 409, 422, 429, 502, 503, 504),
          body=ResolveBody, path_id="int"),
]
