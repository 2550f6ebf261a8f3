"""Instantly API v2 client: one aiohttp session, retries, a shared rate limit.

Every public method is one *logical* operation bounded by
`timeout_seconds`, retries included. Retries (exponential backoff with full
jitter, honouring `Retry-After` when the answer has one) happen only on 429,
5xx and network errors, and only for idempotent calls; every other status is
final. Every call first takes a token from a `RateBudget` (per second and per
minute; the daemon's is shared by every replica through Postgres).

Believe only what the service confirms: redirects are not followed, a 2xx
body is read up to `MAX_ANSWER_BYTES` and must have the expected shape, and
`change_status` reports success only when the campaign's status says so
(reading it again once, since the answer may be stale). Failures surface as
the `instantly.errors` tree, never as aiohttp errors. The API key is sent as
a Bearer header and never logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson
import structlog
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from instantly.errors import (
    ExternalAuthFailed,
    ExternalBadAnswer,
    ExternalConfigMissing,
    ExternalError,
    ExternalNotFound,
    ExternalPermissionMissing,
    ExternalRateLimited,
    ExternalRefused,
    ExternalStatusError,
    ExternalUnreachable,
)
from instantly.metrics import EXTERNAL_CALLS, EXTERNAL_LATENCY
from instantly.scopes import NEEDED
from instantly.statuses import CONFIRMS

log = structlog.get_logger("instantly")

# A campaign is 1 MB at most in practice; anything larger is not an answer we can use.
MAX_ANSWER_BYTES = 2 * 1024 * 1024


# Refusals that say nothing about the campaign's state (key, plan, rate): never re-read.
NOT_A_STATE_ANSWER = frozenset({401, 402, 403, 429})


@dataclass(frozen=True)
class Confirmed:
    """The remote status that confirmed an action, and whether a read (not the
    action's own answer) confirmed it."""

    status: int
    by_read: bool


@dataclass
class CallStats:
    """Counts HTTP attempts made on behalf of one caller (e.g. one reconcile pass)."""

    calls: int = 0


class RateBudget(Protocol):
    """Where every call takes its token; `acquire` waits until one is free."""

    async def acquire(self) -> None: ...


class CallGate(Protocol):
    """Asked before every attempt; raises (`SyncSuspended`) when the call may not be
    made now. `write`: the call changes something (any method but GET)."""

    async def check(self, *, write: bool) -> None: ...


class CallLog(Protocol):
    """Told about every attempt: action, outcome ("ok", an HTTP status, "unreachable"),
    its duration and how long it waited for the budget first, in seconds. Must not block."""

    def record(self, action: str, outcome: str, seconds: float, waited: float) -> None: ...


class LocalBudget:
    """Token buckets of this process alone: `max_rps` per second and `max_rpm` per minute."""

    def __init__(self, max_rps: float, max_rpm: float | None = None) -> None:
        rate = max(1.0, max_rps)
        self._second = AsyncLimiter(max_rate=rate, time_period=rate / max_rps)
        self._minute = AsyncLimiter(max_rate=max_rpm, time_period=60) if max_rpm else None

    async def acquire(self) -> None:
        if self._minute is not None:
            await self._minute.acquire()
        await self._second.acquire()


def _campaign(data: Any) -> dict[str, Any]:
    """A Campaign: a JSON object whose `status` is an integer."""
    if not isinstance(data, dict) or type(data.get("status")) is not int:
        raise ExternalBadAnswer("answer is not a campaign with an integer status")
    return data


def _page(data: Any) -> dict[str, Any]:
    """A listing page: an object whose `items` is a list (absent: empty)."""
    if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
        raise ExternalBadAnswer("answer is not a page with an items list")
    cursor = data.get("next_starting_after")
    if cursor is not None and not isinstance(cursor, str):
        raise ExternalBadAnswer("listing cursor is not a string")
    return data


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ExternalBadAnswer("answer is not a JSON object")
    return data


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def _status_error(status: int, headers: Any, action: str) -> ExternalError:
    if status == 401:
        return ExternalAuthFailed(status)
    if status == 403:
        return ExternalPermissionMissing(NEEDED.get(action))
    if status == 404:
        return ExternalNotFound("not found")
    if status == 429:
        return ExternalRateLimited(_retry_after(headers))
    if 300 <= status < 400:  # not followed: the change may not have happened
        return ExternalBadAnswer(f"redirect ({status}) not followed")
    return ExternalStatusError(status)


class InstantlyClient:
    """The process's client for the Instantly API v2 (see module docstring)."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str | None,
        timeout_seconds: float = 15.0,
        max_retries: int = 3,
        limiter: RateBudget | None = None,
        gate: CallGate | None = None,
        call_log: CallLog | None = None,
        backoff_base: float = 0.2,
        backoff_max: float = 5.0,
        workspace: str = "default",
    ) -> None:
        self.workspace = workspace  # the name its calls are counted under (metrics)
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout_seconds
        self._max_retries = max_retries
        self._limiter = limiter or LocalBudget(10)
        self._gate = gate
        self._call_log = call_log
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max

    @property
    def configured(self) -> bool:
        return bool(self._api_key)

    # -- campaigns ---------------------------------------------------------

    async def activate(self, campaign_id: str, *, gated: bool = True) -> dict[str, Any]:
        """POST /api/v2/campaigns/{id}/activate → the Campaign (as answered, maybe stale)."""
        return await self._request(
            "activate", "POST", f"/api/v2/campaigns/{campaign_id}/activate",
            json_body={}, external_id=campaign_id, expect=_campaign, gated=gated,
        )

    async def pause(self, campaign_id: str, *, gated: bool = True) -> dict[str, Any]:
        """POST /api/v2/campaigns/{id}/pause → the Campaign (as answered, maybe stale)."""
        return await self._request(
            "pause", "POST", f"/api/v2/campaigns/{campaign_id}/pause",
            json_body={}, external_id=campaign_id, expect=_campaign, gated=gated,
        )

    async def change_status(self, action: str, campaign_id: str, *,
                            gated: bool = True) -> Confirmed:
        """Activate or pause, and return the remote status only once it confirms the action.

        Believe the campaign, not the answer: when the answer's status does not show
        the target (it may be stale), or the call is refused with a 4xx other than
        401/402/403/429 (what activating an active campaign answers is unpublished;
        integrations expect 400/422 "already active"), the campaign is read once. In
        the wanted state: success, `by_read`. Otherwise the original error, or
        `ExternalRefused` with the status the service reports.

        `gated=False`: the caller already read the gate's state where it decided this
        change (the toggle path's claim statement), so these calls do not ask again.
        """
        call = self.activate if action == "activate" else self.pause
        refusal: ExternalStatusError | None = None
        try:
            status = (await call(campaign_id, gated=gated))["status"]
            if status in CONFIRMS[action]:
                return Confirmed(status, by_read=False)
        except ExternalStatusError as exc:
            if not 400 <= exc.status < 500 or exc.status in NOT_A_STATE_ANSWER:
                raise
            refusal = exc
        try:
            status = (await self.get_campaign(campaign_id, gated=gated))["status"]
        except ExternalError:
            if refusal is not None:
                raise refusal from None
            raise
        if status in CONFIRMS[action]:
            log.info("external.confirmed_by_read", action=action, external_id=campaign_id,
                     answered=refusal.status if refusal else "stale status")
            return Confirmed(status, by_read=True)
        if refusal is not None:
            raise refusal
        raise ExternalRefused(action, status)

    async def get_campaign(self, campaign_id: str, *, gated: bool = True) -> dict[str, Any]:
        """GET /api/v2/campaigns/{id} → the Campaign."""
        return await self._request(
            "get", "GET", f"/api/v2/campaigns/{campaign_id}", external_id=campaign_id,
            expect=_campaign, gated=gated,
        )

    async def list_campaigns_page(
        self, *, limit: int = 100, starting_after: str | None = None,
        stats: CallStats | None = None, search: str | None = None,
    ) -> dict[str, Any]:
        """One page of GET /api/v2/campaigns (names containing `search`, when given)."""
        params: dict[str, str] = {"limit": str(limit)}
        if starting_after:
            params["starting_after"] = starting_after
        if search:
            params["search"] = search
        return await self._request(
            "list", "GET", "/api/v2/campaigns", params=params, stats=stats, expect=_page,
        )

    async def iter_campaign_pages(
        self, *, limit: int = 100, stats: CallStats | None = None, max_pages: int = 100_000,
        search: str | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield every page of campaigns (bounded: see `_pages`)."""
        async def page(cursor: str | None) -> dict[str, Any]:
            return await self.list_campaigns_page(
                limit=limit, starting_after=cursor, stats=stats, search=search)

        async for items in _pages(page, max_pages=max_pages, what="listing"):
            yield items

    # -- webhooks ----------------------------------------------------------

    async def create_webhook(
        self, *, target_hook_url: str, event_type: str = "all_events",
        campaign: str | None = None, headers: dict[str, str] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """POST /api/v2/webhooks. Not idempotent: only a 429 is retried."""
        body: dict[str, Any] = {"target_hook_url": target_hook_url, "event_type": event_type}
        if campaign:
            body["campaign"] = campaign
        if headers:
            body["headers"] = headers
        if name:
            body["name"] = name
        return await self._request(
            "create_webhook", "POST", "/api/v2/webhooks", json_body=body, idempotent=False,
            expect=_object,
        )

    async def list_webhooks(self) -> list[dict[str, Any]]:
        """Every webhook of the workspace (all pages, bounded: see `_pages`)."""

        async def page(cursor: str | None) -> dict[str, Any]:
            params = {"limit": "100", **({"starting_after": cursor} if cursor else {})}
            return await self._request("list_webhooks", "GET", "/api/v2/webhooks",
                                       params=params, expect=_page)

        return [item async for items in _pages(page, max_pages=1000, what="webhook list")
                for item in items]

    async def update_webhook(self, webhook_id: str, *, headers: dict[str, str],
                             event_type: str) -> dict[str, Any]:
        """PATCH /api/v2/webhooks/{id}: headers and event type in place (rotation)."""
        return await self._request(
            "update_webhook", "PATCH", f"/api/v2/webhooks/{webhook_id}",
            json_body={"headers": headers, "event_type": event_type}, expect=_object,
        )

    async def resume_webhook(self, webhook_id: str) -> dict[str, Any]:
        """POST /api/v2/webhooks/{id}/resume: re-enable a webhook disabled for failures."""
        return await self._request(
            "resume_webhook", "POST", f"/api/v2/webhooks/{webhook_id}/resume",
            json_body={}, expect=_object,
        )

    async def webhook_event_types(self) -> list[str] | None:
        """The subscribable event types, or None when the answer has no list we recognise.

        The endpoint's shape is unpublished: a list of names, or of objects (the only
        public evidence shows `{id, label, type}`), bare or under any key. From
        objects the first field that is a string on every one of them is taken.
        """
        data = await self._request("event_types", "GET", "/api/v2/webhooks/event-types",
                                   expect=lambda d: d)
        candidates = [data] if isinstance(data, list) else (
            list(data.values()) if isinstance(data, dict) else [])
        for value in candidates:
            if not isinstance(value, list) or not value:
                continue
            if all(isinstance(v, str) for v in value):
                return value
            if all(isinstance(v, dict) for v in value):
                for field in ("event_type", "name", "value", "id", "type"):
                    names = [v.get(field) for v in value]
                    if all(isinstance(n, str) and n for n in names):
                        return names
        return None

    async def webhook_events_page(
        self, *, limit: int = 100, success: bool | None = None,
        first_day: dt.date | None = None, last_day: dt.date | None = None,
        search: str | None = None, starting_after: str | None = None,
    ) -> dict[str, Any]:
        """One page of the delivery log (GET /api/v2/webhook-events).

        `from` and `to` are dates (YYYY-MM-DD, both days included; the service's
        reference types them `string<date>` and refuses a timestamp with a 400), so a
        caller wanting a time window asks for its whole days and filters. `search`
        takes an exact webhook URL (or a lead's e-mail): the service filters.
        """
        params: dict[str, str] = {"limit": str(limit)}
        if success is not None:
            params["success"] = "true" if success else "false"
        if first_day is not None:
            params["from"] = first_day.isoformat()
        if last_day is not None:
            params["to"] = last_day.isoformat()
        if search:
            params["search"] = search
        if starting_after:
            params["starting_after"] = starting_after
        return await self._request("webhook_events", "GET", "/api/v2/webhook-events",
                                   params=params, expect=_page)

    async def iter_webhook_events(
        self, *, success: bool | None = None, first_day: dt.date | None = None,
        last_day: dt.date | None = None, search: str | None = None, max_pages: int = 10_000,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of the delivery log for these filters (see `webhook_events_page`)."""
        async def page(cursor: str | None) -> dict[str, Any]:
            return await self.webhook_events_page(
                success=success, first_day=first_day, last_day=last_day, search=search,
                starting_after=cursor)

        async for items in _pages(page, max_pages=max_pages, what="delivery log"):
            yield items

    # -- transport ---------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return retry_after
        ceiling = min(self._backoff_max, self._backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)  # full jitter

    async def _request(
        self,
        action: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        idempotent: bool = True,
        external_id: str | None = None,
        stats: CallStats | None = None,
        expect: Callable[[Any], Any] = _object,
        gated: bool = True,
    ) -> Any:
        if not self._api_key:
            raise ExternalConfigMissing("no API key configured")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, ExternalRateLimited):
                return True  # a 429 means the request was not processed
            return idempotent and isinstance(exc, ExternalError) and exc.transient

        def past_deadline(state: RetryCallState) -> bool:
            return loop.time() + (state.upcoming_sleep or 0) >= deadline

        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            wait=self._wait,
            stop=stop_after_attempt(self._max_retries + 1) | past_deadline,
            reraise=True,
        )
        attempt = 0

        async def one_attempt() -> Any:
            nonlocal attempt
            attempt += 1
            data = await self._attempt(
                action, method, path, params=params, json_body=json_body,
                attempt=attempt, external_id=external_id, deadline=deadline, stats=stats,
                gated=gated,
            )
            return expect(data)

        return await retrying(one_attempt)

    async def _attempt(
        self,
        action: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None,
        json_body: dict[str, Any] | None,
        attempt: int,
        external_id: str | None,
        deadline: float,
        stats: CallStats | None,
        gated: bool = True,
    ) -> Any:
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise ExternalUnreachable("deadline exceeded")
        if gated and self._gate is not None:
            await self._gate.check(write=method != "GET")
        waiting = loop.time()
        try:
            async with asyncio.timeout(remaining):
                await self._limiter.acquire()
        except TimeoutError:
            raise ExternalRateLimited(None) from None
        waited = loop.time() - waiting
        log.info("external.call", action=action, external_id=external_id, attempt=attempt)
        if stats is not None:
            stats.calls += 1
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json_body is not None:
            kwargs["json"] = json_body  # sets Content-Type: application/json
        started = time.perf_counter()
        remaining = max(0.001, deadline - loop.time())
        try:
            async with self._session.request(
                method, self._base_url + path, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=remaining), **kwargs,
            ) as resp:
                status = resp.status
                raw = await _read_bounded(resp, MAX_ANSWER_BYTES)
                error: ExternalError | None = None
                data: Any = None
                if not 200 <= status < 300:
                    error = _status_error(status, resp.headers, action)
                elif raw is None:
                    error = ExternalBadAnswer(f"answer larger than {MAX_ANSWER_BYTES} bytes")
                else:
                    try:
                        data = _loads(raw)
                    except ValueError:
                        error = ExternalBadAnswer("answer is not JSON")
        except (aiohttp.ClientError, TimeoutError) as exc:
            elapsed = time.perf_counter() - started
            self._observe(action, "unreachable", elapsed, waited)
            log.warning(
                "external.error", action=action, external_id=external_id, attempt=attempt,
                status=None, code="external_unreachable", error=type(exc).__name__,
                duration_ms=round(elapsed * 1000, 1),
            )
            raise ExternalUnreachable(type(exc).__name__) from exc
        elapsed = time.perf_counter() - started
        if error is None:
            self._observe(action, "ok", elapsed, waited)
            log.info(
                "external.ok", action=action, external_id=external_id, attempt=attempt,
                status=status, duration_ms=round(elapsed * 1000, 1),
            )
            return data
        self._observe(action, str(status), elapsed, waited)
        log.warning(
            "external.error", action=action, external_id=external_id, attempt=attempt,
            status=status, code=error.code, duration_ms=round(elapsed * 1000, 1),
        )
        raise error

    def _observe(self, action: str, outcome: str, seconds: float, waited: float) -> None:
        EXTERNAL_CALLS.labels(action=action, outcome=outcome, workspace=self.workspace).inc()
        EXTERNAL_LATENCY.labels(action=action).observe(seconds)
        if self._call_log is not None:
            self._call_log.record(action, outcome, seconds, waited)


async def _pages(fetch: Callable[[str | None], Awaitable[dict[str, Any]]], *,
                 max_pages: int, what: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Follow `next_starting_after` from page to page, yielding non-empty item lists.

    Ends on a missing cursor or an empty page (a last page may still carry a
    cursor). A cursor seen before, or more than `max_pages` pages, is a listing
    that would never end: `ExternalBadAnswer`, so the caller treats it as failed
    rather than complete.
    """
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page = await fetch(cursor)
        items = [i for i in page.get("items") or [] if isinstance(i, dict)]
        if items:
            yield items
        cursor = page.get("next_starting_after") or None
        if not items or not cursor:
            return
        if cursor in seen:
            raise ExternalBadAnswer(f"{what} cursor repeated")
        seen.add(cursor)
    raise ExternalBadAnswer(f"{what} did not end within {max_pages} pages")


def _loads(raw: bytes) -> Any:
    """orjson (a 100,000-campaign listing is ~100 MB of JSON), the stdlib for what orjson
    refuses (NaN, a BOM, lone surrogates) so answers read as they always did."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


async def _read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past `limit` (the rest is not read)."""
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            resp.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)
