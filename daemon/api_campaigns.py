"""HTTP handlers for campaigns, toggles and bulk status changes (SPEC section 5)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Any

import asyncpg
from aiohttp import web

from daemon.bodies import (
    json_response,
    path_uuid,
    query_bool,
    query_choice,
    query_int,
    query_text,
    read_json_object,
    read_model,
    validate,
)
from daemon.errors import ApiError
from daemon.idempotency import idempotent
from daemon.middleware import REQUEST_ID
from daemon.schemas import BulkStatusBody, CampaignCreate, CampaignPatch, StatusBody
from daemon.services import SERVICES
from sql import DatabaseUnavailable

BULK_CONCURRENCY = 8
CAMPAIGN_FIELDS = (
    "id", "client_id", "name", "status", "external_id", "email_subject", "email_body",
    "remote_status", "remote_checked_at", "pending_status", "created_at", "updated_at",
    "status_changed_at", "events",
)


def campaign_json(row: Any) -> dict[str, Any]:
    return {field: row[field] for field in CAMPAIGN_FIELDS}


def _encode_cursor(row: Any) -> str:
    raw = json.dumps([row["created_at"].isoformat(), str(row["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = json.loads(base64.urlsafe_b64decode(padded))
        return dt.datetime.fromisoformat(created), uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error):
        raise ApiError("invalid_parameter", name="cursor", detail="is not a valid cursor") from None


async def create_campaign(request: web.Request) -> web.Response:
    body = await read_model(request, CampaignCreate)
    services = request.app[SERVICES]
    try:
        row = await services.db.fetchrow(
            "campaign_insert", body.client_id, body.name, body.external_id,
            body.email_subject, body.email_body,
        )
    except asyncpg.UniqueViolationError:
        raise ApiError("external_id_in_use") from None
    return json_response(campaign_json(row), status=201)


async def list_campaigns(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", default=50, minimum=1, maximum=500)
    client_id = query_text(request, "client_id")
    status = query_choice(request, "status", ("draft", "active", "paused", "completed"))
    linked = query_bool(request, "linked")
    cursor = request.query.get("cursor")
    after_at, after_id = _decode_cursor(cursor) if cursor else (None, None)
    rows = await request.app[SERVICES].db.fetch(
        "campaign_list", client_id, status, linked, after_at, after_id, limit + 1
    )
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return json_response(
        {"items": [campaign_json(r) for r in rows[:limit]], "next_cursor": next_cursor}
    )


async def get_campaign(request: web.Request) -> web.Response:
    row = await request.app[SERVICES].db.fetchrow("campaign_get", path_uuid(request))
    if row is None:
        raise ApiError("campaign_not_found")
    return json_response(campaign_json(row))


async def patch_campaign(request: web.Request) -> web.Response:
    campaign_id = path_uuid(request)
    data = await read_json_object(request)
    body = validate(CampaignPatch, data)
    given = body.model_fields_set
    if "name" in given and body.name is None:
        raise ApiError("invalid_body", detail="name: must not be null")
    try:
        row = await request.app[SERVICES].db.fetchrow(
            "campaign_update", campaign_id, body.name, body.external_id,
            body.email_subject, body.email_body,
            "name" in given, "external_id" in given, "email_subject" in given,
            "email_body" in given,
        )
    except asyncpg.UniqueViolationError:
        raise ApiError("external_id_in_use") from None
    if row is None:
        raise ApiError("campaign_not_found")
    return json_response(campaign_json(row))


async def campaign_history(request: web.Request) -> web.Response:
    campaign_id = path_uuid(request)
    limit = query_int(request, "limit", default=100, minimum=1, maximum=1000)
    db = request.app[SERVICES].db
    if await db.fetchrow("campaign_get", campaign_id) is None:
        raise ApiError("campaign_not_found")
    rows = await db.fetch("campaign_history", campaign_id, limit)
    return json_response({"items": [dict(r) for r in rows]})


def _abandon_after(request: web.Request) -> int:
    settings = request.app[SERVICES].settings
    return int(settings.toggle_lease_seconds + settings.instantly_timeout_seconds * 2 + 30)


async def toggle_campaign(request: web.Request) -> web.Response:
    campaign_id = path_uuid(request)
    services = request.app[SERVICES]

    async def run() -> web.Response:
        result = await services.toggles.toggle(
            campaign_id, source="api", request_id=request[REQUEST_ID]
        )
        return json_response(result.as_dict())

    return await idempotent(request, services.db, run, abandon_after=_abandon_after(request))


async def set_campaign_status(request: web.Request) -> web.Response:
    campaign_id = path_uuid(request)
    body = await read_model(request, StatusBody)
    services = request.app[SERVICES]

    async def run() -> web.Response:
        result = await services.toggles.set_status(
            campaign_id, body.status, source="api", request_id=request[REQUEST_ID]
        )
        return json_response(result.as_dict())

    return await idempotent(request, services.db, run, abandon_after=_abandon_after(request))


async def bulk_set_status(request: web.Request) -> web.Response:
    body = await read_model(request, BulkStatusBody)
    if len(set(body.campaign_ids)) != len(body.campaign_ids):
        raise ApiError("invalid_body", detail="campaign_ids: must not contain duplicates")
    services = request.app[SERVICES]
    semaphore = asyncio.Semaphore(BULK_CONCURRENCY)

    async def one(campaign_id: uuid.UUID) -> dict[str, Any]:
        async with semaphore:
            try:
                result = await services.toggles.set_status(
                    campaign_id, body.status, source="bulk", request_id=request[REQUEST_ID]
                )
            except ApiError as exc:
                return {"campaign_id": str(campaign_id), "ok": False, **exc.body()}
            except DatabaseUnavailable:
                error = ApiError("database_unavailable")
                return {"campaign_id": str(campaign_id), "ok": False, **error.body()}
        return {**result.as_dict(), "ok": True}

    async def run() -> web.Response:
        results = await asyncio.gather(*(one(cid) for cid in body.campaign_ids))
        succeeded = sum(1 for r in results if r["ok"])
        return json_response(
            {"results": results, "succeeded": succeeded, "failed": len(results) - succeeded}
        )

    return await idempotent(request, services.db, run, abandon_after=_abandon_after(request))


def setup(app: web.Application) -> None:
    app.router.add_post("/campaigns", create_campaign)
    app.router.add_get("/campaigns", list_campaigns, allow_head=False)
    app.router.add_post("/campaigns/status", bulk_set_status)
    app.router.add_get("/campaigns/{id}", get_campaign, allow_head=False)
    app.router.add_patch("/campaigns/{id}", patch_campaign)
    app.router.add_get("/campaigns/{id}/history", campaign_history, allow_head=False)
    app.router.add_post("/campaigns/{id}/toggle", toggle_campaign)
    app.router.add_put("/campaigns/{id}/status", set_campaign_status)
