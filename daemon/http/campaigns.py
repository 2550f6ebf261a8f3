"""Campaigns, toggles and bulk status changes (docs/behaviour.md §3)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Any

from aiohttp import web

from daemon.errors import ApiError, per_item
from daemon.http.idempotency import Answer, idempotent
from daemon.http.keys import REQUEST_ID, SERVICES
from daemon.http.requests import path_uuid
from daemon.http.response_models import (
    BulkResult,
    CampaignPage,
    LinkPlan,
    StatusChangeList,
    ToggleResult,
)
from daemon.http.responses import json_response
from daemon.http.route import Route
from daemon.http.schemas import (
    BulkStatusBody,
    Campaign,
    CampaignCreate,
    CampaignListQuery,
    CampaignPatch,
    HistoryQuery,
    LinkBody,
    StatusBody,
)
from sql import UniqueViolation, campaigns

CAMPAIGN_FIELDS = tuple(Campaign.model_fields)
EXTERNAL_ERRORS = (400, 401, 404, 409, 422, 429, 502, 503, 504)


def campaign_json(row: Any) -> dict[str, Any]:
    return {field: row[field] for field in CAMPAIGN_FIELDS}


def encode_campaign_cursor(row: Any) -> str:
    """The keyset of the campaign list after `row` (API and console pages alike)."""
    raw = json.dumps([row["created_at"].isoformat(), str(row["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_campaign_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """Our own cursor back: two strings, an aware time and a UUID (checked after decoding:
    a crafted cursor is a 400, never a database error)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(created, str) or not isinstance(ident, str):
            raise TypeError("cursor parts must be strings")
        at = dt.datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("cursor time has no offset")
        at.astimezone(dt.UTC)  # OverflowError at the ends of the calendar
        return at, uuid.UUID(ident)
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        raise ApiError("invalid_parameter", name="cursor", detail="is not a valid cursor") from None


async def create_campaign(request: web.Request, *, body: CampaignCreate) -> web.Response:
    services = request.app[SERVICES]
    if body.external_id is not None:  # linked at once: it must exist in its workspace
        await services.linker.verify(body.client_id, body.external_id)
    try:
        row = await campaigns.create(services.db, **body.model_dump())
    except UniqueViolation:
        raise ApiError("external_id_in_use") from None
    return json_response(campaign_json(row), status=201)


async def list_campaigns(request: web.Request, *, query: CampaignListQuery) -> web.Response:
    rows, more = await campaigns.page(
        request.app[SERVICES].db, limit=query.limit, client_id=query.client_id,
        status=query.status, linked=query.linked, workspace=query.workspace,
        after=decode_campaign_cursor(query.cursor) if query.cursor else None)
    next_cursor = encode_campaign_cursor(rows[-1]) if more else None
    return json_response({"items": [campaign_json(r) for r in rows], "next_cursor": next_cursor})


async def get_campaign(request: web.Request) -> web.Response:
    row = await campaigns.get(request.app[SERVICES].db, path_uuid(request))
    if row is None:
        raise ApiError("campaign_not_found")
    return json_response(campaign_json(row))


async def patch_campaign(request: web.Request, *, body: CampaignPatch) -> web.Response:
    campaign_id = path_uuid(request)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise ApiError("invalid_body", detail="name: must not be null")
    if "external_id" in changes:  # a new link must exist in the campaign's workspace
        await request.app[SERVICES].linker.verify_link(campaign_id, changes["external_id"])
    try:
        row = await campaigns.update(request.app[SERVICES].db, campaign_id, **changes)
    except UniqueViolation:
        raise ApiError("external_id_in_use") from None
    if row is None:
        raise ApiError("campaign_not_found")
    return json_response(campaign_json(row))


async def campaign_history(request: web.Request, *, query: HistoryQuery) -> web.Response:
    campaign_id = path_uuid(request)
    db = request.app[SERVICES].db
    if await campaigns.get(db, campaign_id) is None:
        raise ApiError("campaign_not_found")
    rows = await campaigns.history(db, campaign_id, limit=query.limit)
    return json_response({"items": [dict(r) for r in rows]})


def _abandon_after(request: web.Request) -> int:
    settings = request.app[SERVICES].settings
    return int(settings.toggle_lease_seconds + settings.instantly_timeout_seconds * 2 + 30)


async def toggle_campaign(request: web.Request) -> web.Response:
    campaign_id = path_uuid(request)
    services = request.app[SERVICES]

    async def run() -> Answer:
        result = await services.toggles.toggle(
            campaign_id, source="api", request_id=request[REQUEST_ID]
        )
        return 200, result.as_dict()

    return await idempotent(request, services.db, run, abandon_after=_abandon_after(request))


async def set_campaign_status(request: web.Request, *, body: StatusBody) -> web.Response:
    campaign_id = path_uuid(request)
    services = request.app[SERVICES]

    async def run() -> Answer:
        result = await services.toggles.set_status(
            campaign_id, body.status, source="api", request_id=request[REQUEST_ID]
        )
        return 200, result.as_dict()

    return await idempotent(request, services.db, run, abandon_after=_abandon_after(request))


async def bulk_set_status(request: web.Request, *, body: BulkStatusBody) -> web.Response:
    if len(set(body.campaign_ids)) != len(body.campaign_ids):
        raise ApiError("invalid_body", detail="campaign_ids: must not contain duplicates")
    services = request.app[SERVICES]

    async def run() -> Answer:
        outcomes = per_item(await services.toggles.set_many(
            body.campaign_ids, body.status, request_id=request[REQUEST_ID]))
        results = [
            {"campaign_id": str(cid), "ok": False, **outcome.body()}
            if isinstance(outcome, ApiError) else {**outcome.as_dict(), "ok": True}
            for cid, outcome in zip(body.campaign_ids, outcomes, strict=True)
        ]
        succeeded = sum(1 for r in results if r["ok"])
        return 200, {"results": results, "succeeded": succeeded,
                     "failed": len(results) - succeeded}

    return await idempotent(request, services.db, run, abandon_after=_abandon_after(request))


async def link_campaigns(request: web.Request, *, body: LinkBody) -> web.Response:
    """Match unlinked campaigns to remote ones by name; link them only with `apply`."""
    plan = await request.app[SERVICES].linker.by_name(client_id=body.client_id, apply=body.apply)
    return json_response(plan.as_dict())


ROUTES = [
    Route("POST", "/campaigns", create_campaign, "Create a campaign", {201: Campaign},
          errors=(400, 401, 409, 413, 422, 429, 502, 503, 504), body=CampaignCreate),
    Route("GET", "/campaigns", list_campaigns, "List campaigns", {200: CampaignPage},
          query=CampaignListQuery),
    Route("POST", "/campaigns/status", bulk_set_status, "Set the status of many campaigns",
          {200: BulkResult}, errors=(400, 401, 409, 413, 422, 503), body=BulkStatusBody,
          idempotency_key=True),
    Route("POST", "/campaigns/link", link_campaigns,
          "Link campaigns to remote ones of the same name (dry run unless apply)",
          {200: LinkPlan}, errors=(400, 401, 413, 429, 502, 503, 504), body=LinkBody),
    Route("GET", "/campaigns/{id}", get_campaign, "Get a campaign", {200: Campaign},
          errors=(400, 401, 404, 503), path_id="uuid"),
    Route("PATCH", "/campaigns/{id}", patch_campaign, "Update a campaign", {200: Campaign},
          errors=(400, 401, 404, 409, 413, 422, 429, 502, 503, 504), body=CampaignPatch,
          path_id="uuid"),
    Route("GET", "/campaigns/{id}/history", campaign_history, "Status change history",
          {200: StatusChangeList}, errors=(400, 401, 404, 503), query=HistoryQuery,
          path_id="uuid"),
    Route("POST", "/campaigns/{id}/toggle", toggle_campaign, "Toggle a campaign",
          {200: ToggleResult}, errors=EXTERNAL_ERRORS, path_id="uuid", idempotency_key=True),
    Route("PUT", "/campaigns/{id}/status", set_campaign_status, "Set a campaign's status",
          {200: ToggleResult}, errors=EXTERNAL_ERRORS, body=StatusBody, path_id="uuid",
          idempotency_key=True),
]
