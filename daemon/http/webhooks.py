"""POST /webhooks/instantly: the receiver's HTTP surface (docs/behaviour.md §4).

Order matters: the secret is checked before a byte of the body is read, the
body is bounded while it is read, and the 200 goes out only after the
event's transaction committed (`WebhookStore.submit`).
"""

from __future__ import annotations

from dataclasses import replace

import structlog
from aiohttp import web

from daemon.errors import ApiError
from daemon.http.keys import SERVICES
from daemon.http.requests import read_body
from daemon.http.response_models import BackfillSummary, Subscription, WebhookReceipt
from daemon.http.responses import json_response
from daemon.http.route import Route
from daemon.http.schemas import BackfillBody, WebhookEventBody, WorkspaceQuery
from daemon.services import webhook_health_named
from instantly.workspaces import DEFAULT_WORKSPACE_ID
from webhooks.events import InvalidEvent, parse_event, secret_matches
from webhooks.health import SECRET_HEADER
from webhooks.metrics import count_event

log = structlog.get_logger("webhooks")


def _rejected(exc: Exception) -> Exception:
    """Count and log a refused delivery (never a header value: it may be a secret)."""
    count_event(None, "rejected")
    log.info("webhook.rejected", code=getattr(exc, "code", None), detail=str(exc))
    return exc


async def receive_event(request: web.Request) -> web.Response:
    """The default workspace's endpoint (WEBHOOK_SECRET): no database read before the
    secret is checked."""
    services = request.app[SERVICES]
    return await _receive(request, DEFAULT_WORKSPACE_ID, services.webhook_secrets)


async def receive_workspace_event(request: web.Request) -> web.Response:
    """A workspace's own endpoint: its own secret, and its events apply to its own
    campaigns only (docs/webhooks.md, "One endpoint per workspace")."""
    found = await request.app[SERVICES].workspaces.receiver(request.match_info["name"])
    if found is None:  # not a secret: the name is in the URL the sender was given
        raise _rejected(ApiError("workspace_not_found"))
    return await _receive(request, *found)


async def _receive(request: web.Request, workspace_id: int, secrets: tuple[str, ...]
                   ) -> web.Response:
    if not secrets:
        raise ApiError("webhooks_not_configured", retry_after=60)
    if not secret_matches(request.headers.get(SECRET_HEADER), secrets):
        raise _rejected(ApiError("invalid_webhook_secret"))
    try:
        event = parse_event(await read_body(request))
    except (ApiError, InvalidEvent) as exc:
        raise _rejected(exc) from None
    if workspace_id != DEFAULT_WORKSPACE_ID:
        event = replace(event, workspace_id=workspace_id)
    receipt = await request.app[SERVICES].webhook_store.submit(event)
    return json_response({"status": receipt.status, "event_id": receipt.event_id})


async def subscription(request: web.Request, *, query: WorkspaceQuery) -> web.Response:
    """Where a workspace's webhook stands at the external service, checked now."""
    health = await webhook_health_named(request.app[SERVICES], query.workspace)
    return json_response((await health.check()).as_dict())


async def backfill(request: web.Request, *, body: BackfillBody) -> web.Response:
    """Store what the delivery log shows failed since `since` (default: the high-water mark)."""
    health = await webhook_health_named(request.app[SERVICES], body.workspace)
    if not health.configured:
        raise ApiError("webhook_url_not_configured")
    summary = await health.backfill(trigger="api", since=body.since)
    return json_response(summary.as_dict())


ROUTES = [
    Route("POST", "/webhooks/instantly", receive_event,
          "Receive an event from the external campaign service", {200: WebhookReceipt},
          errors=(400, 401, 413, 503), body=WebhookEventBody, body_read="handler", public=True,
          headers=(SECRET_HEADER,)),
    Route("POST", "/webhooks/instantly/{name}", receive_workspace_event,
          "Receive an event for one workspace (its own secret)", {200: WebhookReceipt},
          errors=(400, 401, 404, 413, 503), body=WebhookEventBody, body_read="handler",
          public=True, headers=(SECRET_HEADER,), path_id="name"),
    Route("GET", "/webhooks/subscription", subscription,
          "A workspace's webhook at the external service, checked now", {200: Subscription},
          errors=(400, 401, 404, 409, 429, 502, 503, 504), query=WorkspaceQuery),
    Route("POST", "/webhooks/backfill", backfill,
          "Store the failed deliveries of the delivery log since a time", {200: BackfillSummary},
          errors=(400, 401, 404, 409, 413, 429, 502, 503, 504), body=BackfillBody,
          body_read="optional"),
]
