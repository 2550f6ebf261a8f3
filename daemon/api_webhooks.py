"""HTTP surface of the webhook receiver: POST /webhooks/instantly.

Order matters: the secret is checked before a byte of the body is read, the
body is bounded while it is read, and the 200 goes out only after the
event's transaction committed (`WebhookStore.submit`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiohttp import web

from daemon.bodies import json_response
from daemon.errors import ApiError
from daemon.scheduler import JOBS, JobSpec
from daemon.services import SERVICES
from webhooks.events import InvalidEvent, parse_event, secret_matches
from webhooks.metrics import count_event
from webhooks.receiver import WebhookStore
from webhooks.retention import prune_events

MAX_EVENT_BYTES = 1024 * 1024
SECRET_HEADER = "X-Webhook-Secret"

STORE = web.AppKey("webhook_store", WebhookStore)

log = structlog.get_logger("webhooks")


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    """The body, or `payload_too_large` as soon as it exceeds `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise _rejected("payload_too_large", limit=limit)
    chunks, size = [], 0
    while chunk := await request.content.read(65536):
        size += len(chunk)
        if size > limit:
            raise _rejected("payload_too_large", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _rejected(code: str, **fields: Any) -> ApiError:
    """Count and log a refused delivery (never a header value: it may be a secret)."""
    count_event(None, "rejected")
    log.info("webhook.rejected", code=code, **fields)
    return ApiError(code, **fields)


async def receive_event(request: web.Request) -> web.Response:
    settings = request.app[SERVICES].settings
    if not settings.webhook_secrets:
        raise ApiError("webhooks_not_configured", retry_after=60)
    secrets = tuple(s.get() for s in settings.webhook_secrets)
    if not secret_matches(request.headers.get(SECRET_HEADER), secrets):
        raise _rejected("invalid_webhook_secret")
    raw = await _read_bounded(request, MAX_EVENT_BYTES)
    try:
        event = parse_event(raw)
    except InvalidEvent as exc:
        raise _rejected("invalid_event", detail=str(exc)) from None
    receipt = await request.app[STORE].submit(event)
    return json_response({"status": receipt.status, "event_id": receipt.event_id})


async def _prune(app: web.Application) -> None:
    services = app[SERVICES]
    await prune_events(services.db, retention_days=services.settings.webhook_retention_days)


def setup(app: web.Application) -> None:
    """Mount POST /webhooks/instantly, run its writer, register the retention job."""

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        store = WebhookStore(db=app[SERVICES].db)
        store.start()
        app[STORE] = store
        try:
            yield
        finally:
            await store.close()

    app.cleanup_ctx.append(store_ctx)
    app.router.add_post("/webhooks/instantly", receive_event)
    app.setdefault(JOBS, [])
    app[JOBS].append(JobSpec("webhook_retention", _prune, seconds=86400, first_run_in=600))
