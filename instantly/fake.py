"""A fake Instantly API v2 server (aiohttp), faithful to the official shapes.

Used by the tests, the benchmarks, `selftest` and `demo` in place of the real
API, which is unreachable from our machines. It keeps workspaces in memory (one
per key; `/_fake/workspaces` adds one, `?workspace=KEY` points a control at it),
each with its campaigns (official `Campaign` shape and status codes), webhooks
and their delivery log. It enforces Bearer auth and a workspace rate limit (429 with
`Retry-After`), paginates with `starting_after` / `next_starting_after`, and
lets tests inject faults for the next N calls (a status, a delay, a held
response after the change was made, a dropped connection). Control endpoints
under `/_fake/` are unauthenticated, never rate-limited and never logged.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import datetime as dt
import json
import re
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from instantly.scopes import grants
from instantly.statuses import RemoteStatus

WORKSPACE_ID = "0199a3f0-0000-7000-8000-00000000feed"


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    reasons = {400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
               403: "Forbidden", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large",
               429: "Too Many Requests"}
    body = {"statusCode": status, "error": reasons.get(status, "Error"), "message": message}
    return web.json_response(body, status=status, headers=headers)


@dataclass
class Fault:
    count: int
    status: int | None = None
    delay_ms: int = 0
    hold_ms: int = 0
    drop: bool = False
    retry_after: float | None = None
    path: str | None = None
    method: str | None = None
    skip: int = 0  # matching calls let through before the fault applies
    body: str | None = None  # answer this raw body (status `status`, default 200)
    location: str | None = None  # answer a redirect (status `status`, default 302)

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path in path) and (
            self.method is None or self.method.upper() == method
        )


# The scope each endpoint demands (instantly/scopes.py says which our calls need).
SCOPES = {
    ("GET", "/api/v2/campaigns"): "campaigns:read",
    ("GET", "/api/v2/campaigns/analytics"): "campaigns:read",
    ("GET", "/api/v2/campaigns/{id}"): "campaigns:read",
    ("POST", "/api/v2/campaigns/{id}/activate"): "campaigns:update",
    ("POST", "/api/v2/campaigns/{id}/pause"): "campaigns:update",
    ("POST", "/api/v2/webhooks"): "webhooks:create",
    ("GET", "/api/v2/webhooks"): "webhooks:read",
    ("GET", "/api/v2/webhooks/event-types"): "webhooks:read",
    ("GET", "/api/v2/webhooks/{id}"): "webhooks:read",
    ("PATCH", "/api/v2/webhooks/{id}"): "webhooks:update",
    ("DELETE", "/api/v2/webhooks/{id}"): "webhooks:delete",
    ("POST", "/api/v2/webhooks/{id}/test"): "webhooks:update",
    ("POST", "/api/v2/webhooks/{id}/resume"): "webhooks:update",
    ("GET", "/api/v2/webhook-events"): "webhook_events:read",
}

# What activate / pause leave a campaign at, by its status before the call.
# Undocumented for suspended (-99), unhealthy (-1), bounce-protected (-2) and
# completed (3) campaigns: by default they stay as they are (the unhelpful case).
_UNCHANGED = {s: s for s in (RemoteStatus.ACCOUNTS_UNHEALTHY, RemoteStatus.BOUNCE_PROTECTION,
                             RemoteStatus.ACCOUNT_SUSPENDED, RemoteStatus.COMPLETED)}
ACTIVATE_OUTCOMES = {RemoteStatus.DRAFT: RemoteStatus.ACTIVE,
                     RemoteStatus.ACTIVE: RemoteStatus.ACTIVE,
                     RemoteStatus.PAUSED: RemoteStatus.ACTIVE,
                     RemoteStatus.RUNNING_SUBSEQUENCES: RemoteStatus.RUNNING_SUBSEQUENCES,
                     **_UNCHANGED}
PAUSE_OUTCOMES = {RemoteStatus.DRAFT: RemoteStatus.DRAFT,
                  RemoteStatus.ACTIVE: RemoteStatus.PAUSED,
                  RemoteStatus.PAUSED: RemoteStatus.PAUSED,
                  RemoteStatus.RUNNING_SUBSEQUENCES: RemoteStatus.PAUSED, **_UNCHANGED}
SCHEDULE = {"name": "Weekdays", "timing": {"from": "09:00", "to": "17:00"},
            "days": {"0": False, "1": True, "2": True, "3": True, "4": True, "5": True,
                     "6": False}, "timezone": "America/Chicago"}


class FakeState:
    """The in-memory workspace: campaigns, webhooks, deliveries, faults, call log.

    Behaviour switches tests set directly: `activate_outcomes` / `pause_outcomes`
    (status before → status after), `stale_answers` (activate and pause answer
    with the campaign as it was before the change), `already_in_state_status`
    (the error answering an activation of an active campaign, None for none),
    `rate_limit_retry_after` (whether the workspace limit's 429 carries Retry-After),
    `cursor_on_last_page`, `event_types_as_objects`, `key_scopes`, `unpaid`. Each
    defaults to the unhelpful case the published material allows.
    """

    def __init__(self) -> None:
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.ids_sorted: list[str] = []
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.webhook_events: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.calls: list[dict[str, Any]] = []
        self.repeat_on_next_page: set[str] = set()
        self.activate_outcomes: dict[int, int] = dict(ACTIVATE_OUTCOMES)
        self.pause_outcomes: dict[int, int] = dict(PAUSE_OUTCOMES)
        self.stale_answers = False
        # The key's scopes (None: every scope, as an all:all key); a call whose scope
        # the key lacks is a 403 on that endpoint only. `unpaid`: every call is a 402.
        self.key_scopes: set[str] | None = None
        self.unpaid = False
        # Activating an active campaign (pausing a paused one) is unpublished; the
        # unhelpful case, which integrations expect: an error ("already active").
        # None: answer the campaign as for any other activation.
        self.already_in_state_status: int | None = 400
        # Retry-After is documented only for the OAuth endpoints: none by default.
        self.rate_limit_retry_after = False
        # The listing's last page may still carry a cursor (Instantly's kit warns of
        # it): every page does, and the one after the last is empty.
        self.cursor_on_last_page = True
        # The event-types endpoint's shape is unpublished; the only public evidence
        # shows objects {id, label, type}. False: plain strings.
        self.event_types_as_objects = True
        self.endless_listing = False  # every page full, every cursor new: never ends
        # Deliveries: attempts per event (the first and its retries), and how many
        # events in a row may fail before the webhook is disabled (status -1).
        self.delivery_attempts = 3
        self.disable_after_failures = 3
        self.failures: dict[str, int] = {}  # webhook id → events in a row that failed
        self.waiting: set[asyncio.Task[Any]] = set()  # handlers inside a fault's wait

    # -- the delivery log ---------------------------------------------------

    def log_delivery(self, payload: dict[str, Any], url: str, *, success: bool = False,
                     at: dt.datetime | None = None, status_code: int | None = 503,
                     error_message: str | None = None, attempt: int = 0,
                     will_retry: bool = False, group: str | None = None) -> dict[str, Any]:
        """One row of the delivery log, with every field the reference lists. A retry is
        scheduled (`timestamp_next_retry`), not immediate."""
        at = at or dt.datetime.now(dt.UTC)
        row = {
            "id": str(uuid.uuid4()),
            "timestamp_created": at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "timestamp_created_date": at.astimezone(dt.UTC).date().isoformat(),
            "organization_id": WORKSPACE_ID, "payload": payload, "success": success,
            "retry_count": attempt, "retry_group_id": group or str(uuid.uuid4()),
            "retry_successful": success if attempt else None, "will_retry": will_retry,
            "webhook_url": url, "lead_email": payload.get("lead_email"),
            "status_code": status_code, "error_message": error_message,
            "response_time_ms": 12 if status_code is not None else None,
            "timestamp_next_retry": (at + dt.timedelta(seconds=30 * 2 ** attempt)).isoformat()
            if will_retry else None,
        }
        self.webhook_events.append(row)
        return row

    # -- campaigns ---------------------------------------------------------

    def add_campaign(self, *, name: str, status: int = 0, id: str | None = None
                     ) -> dict[str, Any]:
        campaign_id = id or str(uuid.uuid4())
        now = _now_iso()
        campaign = {
            "id": campaign_id, "name": name, "status": status,
            "campaign_schedule": {"schedules": [SCHEDULE]},
            "timestamp_created": now, "timestamp_updated": now,
            "daily_limit": 50, "stop_on_reply": True, "email_list": [],
        }
        if campaign_id not in self.campaigns:
            bisect.insort(self.ids_sorted, campaign_id)
        self.campaigns[campaign_id] = campaign
        return campaign

    def add_campaigns(self, count: int, *, status: int = 0, name_prefix: str = "Campaign"
                      ) -> list[dict[str, Any]]:
        now = _now_iso()
        made = []
        for i in range(count):
            campaign_id = str(uuid.uuid4())
            campaign = {
                "id": campaign_id, "name": f"{name_prefix} {i + 1}", "status": status,
                "campaign_schedule": {"schedules": [SCHEDULE]},
                "timestamp_created": now, "timestamp_updated": now,
            }
            self.campaigns[campaign_id] = campaign
            made.append(campaign)
        self.ids_sorted = sorted(self.campaigns)
        return made

    def set_status(self, campaign_id: str, status: int) -> dict[str, Any]:
        campaign = self.campaigns[campaign_id]
        campaign["status"] = status
        campaign["timestamp_updated"] = _now_iso()
        return campaign

    def delete_campaign(self, campaign_id: str) -> None:
        if self.campaigns.pop(campaign_id, None) is not None:
            index = bisect.bisect_left(self.ids_sorted, campaign_id)
            del self.ids_sorted[index]

    def page(self, *, limit: int, starting_after: str | None) -> tuple[list[dict], str | None]:
        start = bisect.bisect_right(self.ids_sorted, starting_after) if starting_after else 0
        ids = self.ids_sorted[start:start + limit]
        items = [self.campaigns[i] for i in ids]
        # Test seam: a campaign listed again at the top of the next page, as a
        # server whose ordering shifts under concurrent writes would do.
        if starting_after and self.repeat_on_next_page:
            items = [self.campaigns[i] for i in sorted(self.repeat_on_next_page)
                     if i in self.campaigns] + items
            self.repeat_on_next_page = set()
        cursor = ids[-1] if len(ids) == limit else None
        return items, cursor

    # -- faults and calls --------------------------------------------------

    def add_fault(self, *, count: int = 1, status: int | None = None, delay_ms: int = 0,
                  hold_ms: int = 0, drop: bool = False, retry_after: float | None = None,
                  path: str | None = None, method: str | None = None, skip: int = 0,
                  body: str | None = None, location: str | None = None) -> None:
        self.faults.append(Fault(count=count, status=status, delay_ms=delay_ms,
                                 hold_ms=hold_ms, drop=drop, retry_after=retry_after,
                                 path=path, method=method, skip=skip, body=body,
                                 location=location))

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def calls_to(self, *, method: str | None = None, path_contains: str | None = None
                 ) -> list[dict[str, Any]]:
        return [c for c in self.calls
                if (method is None or c["method"] == method)
                and (path_contains is None or path_contains in c["path"])]

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


class _RateLimit:
    """Workspace limit: N per rolling second and 6,000 per rolling minute."""

    def __init__(self, per_second: int, per_minute: int = 6000) -> None:
        self.per_second = per_second
        self.per_minute = max(per_minute, per_second)
        self._hits: collections.deque[float] = collections.deque()

    def allow(self) -> bool:
        now = time.monotonic()
        while self._hits and now - self._hits[0] > 60:
            self._hits.popleft()
        last_second = len(self._hits) - bisect.bisect_right(self._hits, now - 1.0)
        if last_second >= self.per_second or len(self._hits) >= self.per_minute:
            return False
        self._hits.append(now)
        return True


STATE: web.AppKey[FakeState] = web.AppKey("fake_state", FakeState)  # the default workspace
WORKSPACE_STATE = web.RequestKey("fake_workspace_state", FakeState)  # the request's


def _state(request: web.Request) -> FakeState:
    """The state of the workspace whose key the request carries (API routes); for the
    /_fake/ controls, the workspace of `?workspace=KEY`, else the default one."""
    found = request.get(WORKSPACE_STATE)
    if found is not None:
        return found
    key = request.query.get("workspace")
    if key is None:
        return request.app[STATE]
    workspace = request.app[WORKSPACES].get(key)
    if workspace is None:
        raise web.HTTPNotFound(text="no fake workspace has that key")
    return workspace.state


async def _sleep(state: FakeState, seconds: float) -> None:
    """A fault's wait, cut short when the fake stops (see `FakeInstantlyServer.close`)."""
    task = asyncio.current_task()
    assert task is not None
    state.waiting.add(task)
    try:
        await asyncio.sleep(seconds)
    finally:
        state.waiting.discard(task)


@dataclass
class Workspace:
    """One workspace of the fake: its key, its state and its own rate limit."""

    api_key: str
    state: FakeState
    limiter: _RateLimit


WORKSPACES: web.AppKey[dict[str, Workspace]] = web.AppKey("fake_workspaces", dict)


def _workspace_limit(per_second: int) -> _RateLimit:
    return _RateLimit(per_second, per_minute=max(6000, per_second * 60))


def build_app(state: FakeState, *, api_key: str, rate_limit_per_second: int,
              workspaces: dict[str, Workspace] | None = None) -> web.Application:
    """The fake's aiohttp application: `state` is the workspace of `api_key` (the
    default); `workspaces` (by key, filled by `FakeInstantlyServer.add_workspace`)
    are more, each with its own campaigns, webhooks, delivery log and rate limit. A
    request is served by the workspace of its key; one with no known key is logged
    in the default workspace and answered 401. `/_fake/` controls act on the default
    workspace."""
    by_key = workspaces if workspaces is not None else {}
    by_key[api_key] = Workspace(api_key, state, _workspace_limit(rate_limit_per_second))

    @web.middleware
    async def api_gate(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_fake/"):
            return await handler(request)
        body = await request.text()
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        workspace = by_key.get(key) if scheme == "Bearer" else None
        served = workspace or by_key[api_key]
        request[WORKSPACE_STATE] = served.state
        call = {
            "method": request.method, "path": request.path, "query": dict(request.query),
            "status": 0, "body": body, "content_type": request.headers.get("Content-Type"),
            "authorized": workspace is not None, "at": time.time(),
        }
        served.state.calls.append(call)
        response = await _gate(request, handler, call, body, served)
        if response is not None:
            call["status"] = response.status
        return response

    async def _gate(request: web.Request, handler: Any, call: dict, body: str,
                    served: Workspace) -> web.StreamResponse:
        state = served.state
        if not served.limiter.allow():
            retry = {"Retry-After": "1"} if state.rate_limit_retry_after else {}
            return _error(429, "Rate limit exceeded", retry)
        fault = state.take_fault(request.method, request.path)
        if fault is not None:
            if fault.delay_ms:
                await _sleep(state, fault.delay_ms / 1000)
            if fault.drop:
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError  # nothing is sent; the client sees a reset
            if fault.location is not None:
                return web.Response(status=fault.status or 302,
                                    headers={"Location": fault.location})
            if fault.body is not None:
                return web.Response(status=fault.status or 200, text=fault.body,
                                    content_type="application/json")
            if fault.status is not None:
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(int(fault.retry_after))
                return _error(fault.status, "Injected fault", headers)
        if not call["authorized"]:
            return _error(401, "Invalid API key")
        if state.unpaid:
            return _error(402, "Workspace has no active paid plan")
        resource = request.match_info.route.resource
        needed = SCOPES.get((request.method, resource.canonical if resource else ""))
        if state.key_scopes is not None and needed and not grants(state.key_scopes, needed):
            return _error(403, f"Missing required scope: {needed}")
        if call["content_type"] and "json" in call["content_type"] and not body.strip() \
                and request.method in ("POST", "PATCH", "PUT"):
            return _error(400, "Body cannot be empty when content-type is set to "
                               "'application/json'")
        response = await handler(request)
        if fault is not None and fault.hold_ms:
            # The change is made; only the answer is late (or never heard).
            await _sleep(state, fault.hold_ms / 1000)
        return response

    app = web.Application(middlewares=[api_gate])
    app[STATE] = state
    app[WORKSPACES] = by_key
    r = app.router
    r.add_get("/api/v2/campaigns", list_campaigns)
    r.add_get("/api/v2/campaigns/analytics", campaigns_analytics)
    r.add_get("/api/v2/campaigns/{id}", get_campaign)
    r.add_post("/api/v2/campaigns/{id}/activate", activate_campaign)
    r.add_post("/api/v2/campaigns/{id}/pause", pause_campaign)
    r.add_post("/api/v2/webhooks", create_webhook)
    r.add_get("/api/v2/webhooks", list_webhooks)
    r.add_get("/api/v2/webhooks/event-types", webhook_event_types)
    r.add_get("/api/v2/webhooks/{id}", get_webhook)
    r.add_patch("/api/v2/webhooks/{id}", patch_webhook)
    r.add_delete("/api/v2/webhooks/{id}", delete_webhook)
    r.add_post("/api/v2/webhooks/{id}/test", test_webhook)
    r.add_post("/api/v2/webhooks/{id}/resume", resume_webhook)
    r.add_get("/api/v2/webhook-events", list_webhook_events)
    r.add_post("/_fake/workspaces", control_add_workspace)
    r.add_post("/_fake/campaigns", control_seed)
    r.add_put("/_fake/campaigns/{id}/status", control_set_status)
    r.add_delete("/_fake/campaigns/{id}", control_delete)
    r.add_post("/_fake/faults", control_add_fault)
    r.add_delete("/_fake/faults", control_clear_faults)
    r.add_get("/_fake/calls", control_calls)
    r.add_delete("/_fake/calls", control_clear_calls)
    r.add_post("/_fake/webhooks/emit", control_emit)
    r.add_post("/_fake/reset", control_reset)
    return app


def _limit(request: web.Request) -> int | web.Response:
    raw = request.query.get("limit", "10")
    try:
        limit = int(raw)
    except ValueError:
        return _error(400, "querystring/limit must be integer")
    if not 1 <= limit <= 100:
        return _error(400, "querystring/limit must be >= 1 and <= 100")
    return limit


# -- campaigns -----------------------------------------------------------------

async def list_campaigns(request: web.Request) -> web.Response:
    state = _state(request)
    limit = _limit(request)
    if isinstance(limit, web.Response):
        return limit
    search = request.query.get("search")
    status = request.query.get("status")
    if search or status:
        items = [c for c in (state.campaigns[i] for i in state.ids_sorted)
                 if (not search or search.lower() in c["name"].lower())
                 and (status is None or str(c["status"]) == status)]
        after = request.query.get("starting_after")
        if after:
            items = [c for c in items if c["id"] > after]
        page = items[:limit]
        cursor = page[-1]["id"] if page and (len(page) == limit or state.cursor_on_last_page) \
            else None
    elif state.endless_listing:
        first = state.campaigns[state.ids_sorted[0]]
        page, cursor = [first] * limit, str(uuid.uuid4())
    else:
        page, cursor = state.page(limit=limit, starting_after=request.query.get("starting_after"))
    if cursor is None and page and state.cursor_on_last_page:
        cursor = page[-1]["id"]  # the last page still carries one; the next is empty
    body: dict[str, Any] = {"items": page}
    if cursor:
        body["next_starting_after"] = cursor
    return web.json_response(body)


async def campaigns_analytics(request: web.Request) -> web.Response:
    state = _state(request)
    return web.json_response([
        {"campaign_id": c["id"], "campaign_name": c["name"], "campaign_status": c["status"],
         "campaign_is_evergreen": False, "leads_count": 0, "contacted_count": 0,
         "emails_sent_count": 0}
        for c in (state.campaigns[i] for i in state.ids_sorted)
    ])


def _campaign_or_404(request: web.Request) -> dict[str, Any] | web.Response:
    campaign = _state(request).campaigns.get(request.match_info["id"])
    if campaign is None:
        return _error(404, "Campaign not found")
    return campaign


async def get_campaign(request: web.Request) -> web.Response:
    campaign = _campaign_or_404(request)
    return campaign if isinstance(campaign, web.Response) else web.json_response(campaign)


async def _change(request: web.Request, outcomes: dict[int, int], *,
                  already: frozenset[int], word: str) -> web.Response:
    campaign = _campaign_or_404(request)
    if isinstance(campaign, web.Response):
        return campaign
    state = _state(request)
    if campaign["status"] in already and state.already_in_state_status is not None:
        return _error(state.already_in_state_status, f"Campaign is already {word}")
    before = dict(campaign)
    after = state.set_status(campaign["id"], outcomes.get(campaign["status"],
                                                         campaign["status"]))
    return web.json_response(before if state.stale_answers else after)


async def activate_campaign(request: web.Request) -> web.Response:
    return await _change(request, _state(request).activate_outcomes, word="active",
                         already=frozenset({RemoteStatus.ACTIVE,
                                            RemoteStatus.RUNNING_SUBSEQUENCES}))


async def pause_campaign(request: web.Request) -> web.Response:
    return await _change(request, _state(request).pause_outcomes, word="paused",
                         already=frozenset({RemoteStatus.PAUSED}))


# -- webhooks ------------------------------------------------------------------

async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        data = json.loads(await request.text() or "null")
    except ValueError:
        return _error(400, "Body is not valid JSON")
    if not isinstance(data, dict):
        return _error(400, "body must be object")
    return data


async def create_webhook(request: web.Request) -> web.Response:
    data = await _json_body(request)
    if isinstance(data, web.Response):
        return data
    url = data.get("target_hook_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return _error(400, "body/target_hook_url must be a URL")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        return _error(400, "body/headers must be an object of strings")
    hook = {
        "id": str(uuid.uuid4()), "organization": WORKSPACE_ID,
        "campaign": data.get("campaign"), "name": data.get("name"),
        "target_hook_url": url, "event_type": data.get("event_type", "all_events"),
        "custom_interest_value": data.get("custom_interest_value"), "headers": headers,
        "timestamp_created": _now_iso(), "status": 1, "timestamp_error": None,
    }
    _state(request).webhooks[hook["id"]] = hook
    return web.json_response(hook)


def _page_answer(items: list[dict[str, Any]], limit: int, *, cursor_always: bool = False
                 ) -> web.Response:
    """The first `limit` items, with a cursor when the page is full (as Instantly pages),
    or on every non-empty page with `cursor_always` (a last page may carry one)."""
    page = items[:limit]
    body: dict[str, Any] = {"items": page}
    if page and (len(page) == limit or cursor_always):
        body["next_starting_after"] = page[-1]["id"]
    return web.json_response(body)


def _paged(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    limit = _limit(request)
    if isinstance(limit, web.Response):
        return limit
    items = sorted(items, key=lambda x: x["id"])
    after = request.query.get("starting_after")
    if after:
        items = [x for x in items if x["id"] > after]
    return _page_answer(items, limit, cursor_always=_state(request).cursor_on_last_page)


async def list_webhooks(request: web.Request) -> web.Response:
    return _paged(request, list(_state(request).webhooks.values()))


def _webhook_or_404(request: web.Request) -> dict[str, Any] | web.Response:
    hook = _state(request).webhooks.get(request.match_info["id"])
    return hook if hook is not None else _error(404, "Webhook not found")


async def get_webhook(request: web.Request) -> web.Response:
    hook = _webhook_or_404(request)
    return hook if isinstance(hook, web.Response) else web.json_response(hook)


async def patch_webhook(request: web.Request) -> web.Response:
    hook = _webhook_or_404(request)
    if isinstance(hook, web.Response):
        return hook
    data = await _json_body(request)
    if isinstance(data, web.Response):
        return data
    for key in ("name", "target_hook_url", "event_type", "campaign", "headers"):
        if key in data:
            hook[key] = data[key]
    return web.json_response(hook)


async def delete_webhook(request: web.Request) -> web.Response:
    hook = _webhook_or_404(request)
    if isinstance(hook, web.Response):
        return hook
    del _state(request).webhooks[hook["id"]]
    return web.json_response(hook)


async def test_webhook(request: web.Request) -> web.Response:
    hook = _webhook_or_404(request)
    if isinstance(hook, web.Response):
        return hook
    payload = {"event_type": "webhook_test", "timestamp": _now_iso(), "workspace": WORKSPACE_ID}
    results = await deliver(_state(request), payload, only=[hook])
    return web.json_response({"success": bool(results and results[0]["success"])})


async def resume_webhook(request: web.Request) -> web.Response:
    hook = _webhook_or_404(request)
    if isinstance(hook, web.Response):
        return hook
    hook["status"], hook["timestamp_error"] = 1, None
    _state(request).failures.pop(hook["id"], None)
    return web.json_response(hook)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


async def list_webhook_events(request: web.Request) -> web.Response:
    """The delivery log, oldest first: `success`; `from` and `to` as dates (YYYY-MM-DD,
    UTC days, both included; anything else is a 400, as the service's query schema
    answers); `search` (an exact webhook URL or lead e-mail); a cursor."""
    events = _state(request).webhook_events
    success = request.query.get("success")
    if success in ("true", "false"):
        events = [e for e in events if e["success"] == (success == "true")]
    for name, keep in (("from", lambda d, b: d >= b), ("to", lambda d, b: d <= b)):
        raw = request.query.get(name)
        if raw is None:
            continue
        try:
            if not _DATE.match(raw):
                raise ValueError(raw)
            bound = dt.date.fromisoformat(raw)
        except ValueError:
            return _error(400, f'querystring/{name} must match format "date"')
        events = [e for e in events if keep(_utc_day(e["timestamp_created"]), bound)]
    search = request.query.get("search")
    if search:
        events = [e for e in events if search in (e["webhook_url"], e["lead_email"])]
    limit = _limit(request)
    if isinstance(limit, web.Response):
        return limit
    after = request.query.get("starting_after")
    if after:
        ids = [e["id"] for e in events]
        events = events[ids.index(after) + 1:] if after in ids else []
    return _page_answer(events, limit, cursor_always=_state(request).cursor_on_last_page)


def _utc_day(stamp: str) -> dt.date:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(dt.UTC).date()


async def webhook_event_types(request: web.Request) -> web.Response:
    names = ["all_events", *EVENT_TYPES]
    if not _state(request).event_types_as_objects:
        return web.json_response({"event_types": names})
    return web.json_response({"event_types": [
        {"id": name, "label": name.replace("_", " ").capitalize(),
         "type": "lead" if name.startswith("lead_") else "email"} for name in names]})


# Subscription names that are delivered under another name.
DELIVERED_AS = {"email_link_clicked": "link_clicked"}
EVENT_TYPES = [
    "email_sent", "email_opened", "email_link_clicked", "reply_received", "email_bounced",
    "lead_unsubscribed", "campaign_completed", "account_error", "lead_neutral",
    "lead_interested", "lead_not_interested", "lead_meeting_booked", "lead_meeting_completed",
    "lead_closed", "lead_out_of_office", "lead_wrong_person", "lead_no_show",
    "supersearch_enrichment_completed",
]


def _subscribed(hook: dict[str, Any], event_type: str | None) -> bool:
    wanted = hook["event_type"]
    return wanted == "all_events" or event_type in (wanted, DELIVERED_AS.get(wanted))


async def deliver(state: FakeState, payload: dict[str, Any],
                  only: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """POST `payload` to every matching active webhook with its custom headers.

    A failed delivery is retried at once up to `delivery_attempts` times, each
    attempt logged (`retry_count`, `will_retry`); after `disable_after_failures`
    events in a row failed for good, the webhook is disabled (status -1) and
    gets nothing more until resumed. Nothing is logged for a disabled webhook.
    """
    payload.setdefault("timestamp", _now_iso())
    payload.setdefault("workspace", WORKSPACE_ID)
    hooks = only if only is not None else [
        h for h in state.webhooks.values()
        if h["status"] == 1 and _subscribed(h, payload.get("event_type"))
        and h["campaign"] in (None, payload.get("campaign_id"))
    ]
    results = []
    async with aiohttp.ClientSession() as session:
        for hook in hooks:
            group = str(uuid.uuid4())
            for attempt in range(state.delivery_attempts):
                status, error = await _post(session, hook, payload)
                success = status is not None and 200 <= status < 300
                last = attempt == state.delivery_attempts - 1
                state.log_delivery(payload, hook["target_hook_url"], success=success,
                                   status_code=status, error_message=error, attempt=attempt,
                                   will_retry=not success and not last, group=group)
                if success or last:
                    break
            failures = 0 if success else state.failures.get(hook["id"], 0) + 1
            state.failures[hook["id"]] = failures
            if failures >= state.disable_after_failures:
                hook["status"], hook["timestamp_error"] = -1, _now_iso()
            results.append({"webhook_id": hook["id"], "status_code": status,
                            "success": success, "error": error})
    return results


async def _post(session: aiohttp.ClientSession, hook: dict[str, Any], payload: dict[str, Any]
                ) -> tuple[int | None, str | None]:
    try:
        async with session.post(hook["target_hook_url"], json=payload, headers=hook["headers"],
                                timeout=aiohttp.ClientTimeout(total=30)) as resp:
            await resp.read()
            return resp.status, None
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, type(exc).__name__


# -- control endpoints -----------------------------------------------------------

async def control_add_workspace(request: web.Request) -> web.Response:
    """Another workspace: {"api_key": ..., "rate_limit_per_second": n} (the controls then
    act on it with ?workspace=KEY)."""
    data = await _json_body(request)
    if isinstance(data, web.Response):
        return data
    key = data.get("api_key")
    if not isinstance(key, str) or not key or key in request.app[WORKSPACES]:
        return _error(400, "api_key must be a new, non-empty string")
    limit = _workspace_limit(int(data.get("rate_limit_per_second", 100)))
    request.app[WORKSPACES][key] = Workspace(key, FakeState(), limit)
    return web.json_response({"api_key_added": True}, status=201)


async def control_seed(request: web.Request) -> web.Response:
    state = _state(request)
    data = await _json_body(request)
    if isinstance(data, web.Response):
        return data
    if "count" in data:
        items = state.add_campaigns(int(data["count"]), status=int(data.get("status", 0)),
                                    name_prefix=str(data.get("name_prefix", "Campaign")))
    else:
        items = [state.add_campaign(name=c["name"], status=int(c.get("status", 0)),
                                    id=c.get("id")) for c in data.get("campaigns", [])]
    return web.json_response({"items": items})


async def control_set_status(request: web.Request) -> web.Response:
    state = _state(request)
    data = await _json_body(request)
    if isinstance(data, web.Response):
        return data
    if request.match_info["id"] not in state.campaigns:
        return _error(404, "Campaign not found")
    return web.json_response(state.set_status(request.match_info["id"], int(data["status"])))


async def control_delete(request: web.Request) -> web.Response:
    _state(request).delete_campaign(request.match_info["id"])
    return web.Response(status=204)


async def control_add_fault(request: web.Request) -> web.Response:
    data = await _json_body(request)
    if isinstance(data, web.Response):
        return data
    allowed = {"count", "status", "delay_ms", "hold_ms", "drop", "retry_after", "path", "method",
               "skip", "body", "location"}
    _state(request).add_fault(**{k: v for k, v in data.items() if k in allowed})
    return web.json_response({"ok": True}, status=201)


async def control_clear_faults(request: web.Request) -> web.Response:
    _state(request).clear_faults()
    return web.Response(status=204)


async def control_calls(request: web.Request) -> web.Response:
    return web.json_response({"items": _state(request).calls})


async def control_clear_calls(request: web.Request) -> web.Response:
    _state(request).calls.clear()
    return web.Response(status=204)


async def control_emit(request: web.Request) -> web.Response:
    data = await _json_body(request)
    if isinstance(data, web.Response):
        return data
    if not isinstance(data.get("event_type"), str):
        return _error(400, "event_type is required")
    return web.json_response({"deliveries": await deliver(_state(request), data)})


async def control_reset(request: web.Request) -> web.Response:
    _state(request).reset()
    return web.Response(status=204)


class FakeInstantlyServer:
    """The fake on a real loopback port (port 0 picks a free one)."""

    def __init__(self, *, api_key: str = "fake-key", rate_limit_per_second: int = 100,
                 host: str = "127.0.0.1", port: int = 0, state: FakeState | None = None,
                 sock: socket.socket | None = None) -> None:
        """`sock`: a socket already bound (the demo reserves its ports before anything)."""
        self.state = state or FakeState()  # the workspace of `api_key`
        self.workspaces: dict[str, Workspace] = {}  # by key, the default one included
        self._app = build_app(self.state, api_key=api_key,
                              rate_limit_per_second=rate_limit_per_second,
                              workspaces=self.workspaces)
        self._host, self._port, self._sock = host, port, sock
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add_workspace(self, api_key: str, *, rate_limit_per_second: int = 100) -> FakeState:
        """Another workspace, reached with `api_key`: its own campaigns, webhooks,
        delivery log, calls and rate limit (the real limit is per workspace)."""
        if api_key in self.workspaces:
            raise ValueError("a workspace with this key exists")
        workspace = Workspace(api_key, FakeState(), _workspace_limit(rate_limit_per_second))
        self.workspaces[api_key] = workspace
        return workspace.state

    async def start(self) -> FakeInstantlyServer:
        # A held or delayed answer must not hold the tests up when the fake stops.
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = (web.SockSite(self._runner, self._sock) if self._sock is not None
                else web.TCPSite(self._runner, self._host, self._port))
        await site.start()
        port = self._runner.addresses[0][1]  # the port the kernel chose when given 0
        self.url = f"http://{self._host}:{port}"
        return self

    async def close(self) -> None:
        for workspace in self.workspaces.values():
            for task in list(workspace.state.waiting):
                task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def emit_event(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        return await deliver(self.state, dict(payload))

    async def complete_leads(self, campaign_id: str, leads: list[str], *,
                             campaign_done: bool = False) -> list[dict[str, Any]]:
        """`campaign_completed` once per lead, as third-party code sees it sent; the
        campaign itself becomes completed (3) only with `campaign_done`, after the last."""
        campaign = self.state.campaigns[campaign_id]
        deliveries = []
        for i, lead in enumerate(leads):
            if campaign_done and i == len(leads) - 1:
                self.state.set_status(campaign_id, 3)
            deliveries += await deliver(self.state, {
                "event_type": "campaign_completed", "campaign_id": campaign_id,
                "campaign_name": campaign["name"], "lead_email": lead})
        return deliveries


async def run_forever(*, host: str, port: int, campaigns: int, api_key: str,
                      rate_limit_per_second: int) -> None:
    """Serve the fake until cancelled (CLI `fake-instantly`)."""
    server = FakeInstantlyServer(api_key=api_key, rate_limit_per_second=rate_limit_per_second,
                                 host=host, port=port)
    if campaigns:
        server.state.add_campaigns(campaigns, status=2)
    await server.start()
    print(f"fake Instantly listening on {server.url} (key {api_key!r}, {campaigns} campaigns)",
          flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()
