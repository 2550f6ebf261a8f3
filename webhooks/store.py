"""Store and apply webhook events in batches, acknowledging only after commit.

Deliveries arrive concurrently; each request puts its parsed event on a
queue and awaits a future. A writer task takes everything queued at that
moment (up to `max_batch`) and writes it with one set-based statement
(atomic on its own): insert-or-skip on the dedupe key, one aggregated
upsert of the per-campaign counts; campaign-level events schedule a check of
their campaign (`webhooks.checks`), which never delays the answer. While it
writes, new deliveries queue up, so batches grow with load and no request
waits on a timer. Four writers run at once, batches of at most 64: one
batch's COMMIT overlaps the next batch's writes and Postgres works on
several batches at a time (at concurrency 64 on two cores, about a fifth
more events per second than two writers with batches of 256). Futures are
resolved after COMMIT; on a database outage every waiter gets
`DatabaseUnavailable` (HTTP 503, Instantly retries). A batch that fails for
another reason is retried event by event, so one bad event cannot fail its
neighbours.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field

import structlog

from sql import Database, DatabaseUnavailable
from webhooks.checks import CampaignChecks
from webhooks.events import Event
from webhooks.metrics import APPLY_SECONDS, BATCH_SIZE, LAST_EVENT, count_event

log = structlog.get_logger("webhooks")

WRITERS = 4
MAX_BATCH = 64
# The writers' connections plan the batch statement once and reuse the plan: at
# small batches Postgres spent more on a custom plan per batch than on running
# it (concurrency 8: about a quarter less Postgres CPU per event, measured).
WRITER_SESSION = {"plan_cache_mode": "force_generic_plan"}


@dataclass(frozen=True)
class Receipt:
    status: str  # "accepted" | "duplicate"
    event_id: int


@dataclass(slots=True)
class _Pending:
    event: Event
    future: asyncio.Future[Receipt]
    received: float = field(default_factory=time.perf_counter)
    expiry: asyncio.TimerHandle | None = None


class WebhookStore:
    """The single writer of webhook events for this process."""

    def __init__(self, *, db: Database, checks: CampaignChecks | None = None,
                 max_batch: int = MAX_BATCH, writers: int = WRITERS,
                 answer_within: float = 10.0) -> None:
        self._db = db
        self._answer_within = answer_within
        self._checks = checks
        self._max_batch = max_batch
        self._writers = writers
        self._queue: collections.deque[_Pending] = collections.deque()
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(), name=f"webhook-writer-{i}")
                       for i in range(self._writers)]

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        self._closing = True
        self._wakeup.set()
        await asyncio.gather(*self._tasks)

    async def submit(self, event: Event) -> Receipt:
        """Store and apply one event; returns once it is committed."""
        # If this request is cancelled or gives up, the event stays queued and may
        # still be written: the sender retries after our 503 and de-duplication
        # absorbs it. The writer skips resolving a done future.
        return await self.enqueue(event)

    def enqueue(self, event: Event) -> asyncio.Future[Receipt]:
        """Queue one event; the future resolves once it is committed (or fails with
        `DatabaseUnavailable`). For callers that answer from a callback, not a task."""
        if self._closing or not self._tasks:
            raise DatabaseUnavailable("receiver is shutting down")
        loop = asyncio.get_running_loop()
        pending = _Pending(event, loop.create_future())
        # The deadline is a timer on the future itself: no task, Timeout or shield
        # per event (they were a tenth of the path's CPU). Cancelled on settling.
        pending.expiry = loop.call_later(self._answer_within, _expire, pending)
        self._queue.append(pending)
        self._wakeup.set()
        return pending.future

    async def _run(self) -> None:
        # Several writers share the queue: while one batch waits for its COMMIT
        # (the fsync), the next batch is already being written.
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue.popleft()
                     for _ in range(min(self._max_batch, len(self._queue)))]
            try:
                await self._write_batch(batch)
            except Exception as exc:
                # Never let one batch end a writer: its waiters get the error,
                # later deliveries are still written.
                log.exception("webhook.batch_failed", size=len(batch))
                for p in batch:
                    _settle(p, exc)

    async def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            receipts = await self._store([p.event for p in batch])
        except DatabaseUnavailable as exc:
            for p in batch:
                _settle(p, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                log.exception("webhook.store_failed", event_type=batch[0].event.event_type)
                _settle(batch[0], exc)
                return
            for p in batch:
                await self._write_batch([p])
            return
        BATCH_SIZE.observe(len(batch))
        now = time.perf_counter()
        seen: set[str] = set()
        outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
        for p in batch:
            key = p.event.dedupe_key
            receipt = receipts.get(key)
            if receipt is None:  # stored, then gone before we read it back (pruned)
                _settle(p, RuntimeError("stored webhook event vanished before its receipt"))
                continue
            if key in seen:  # a second copy within this very batch
                receipt = Receipt("duplicate", receipt.event_id)
            seen.add(key)
            outcomes[(p.event.event_type, receipt.status)] += 1
            APPLY_SECONDS.observe(now - p.received)
            _resolve(p, receipt)
        for (event_type, status), n in outcomes.items():  # counted per batch
            count_event(event_type, status, n)

    async def write(self, events: list[Event]) -> list[Receipt]:
        """Store events now, outside the queue (backfill); a receipt per event, in order.

        Within `events`, a second copy of a key is a duplicate of the first.
        """
        receipts = await self._store(events)
        seen: set[str] = set()
        out = []
        for event in events:
            receipt = receipts[event.dedupe_key]
            if event.dedupe_key in seen:
                receipt = Receipt("duplicate", receipt.event_id)
            seen.add(event.dedupe_key)
            out.append(receipt)
        return out

    async def _store(self, batch: list[Event]) -> dict[str, Receipt]:
        unique: dict[str, Event] = {}
        for event in batch:
            unique.setdefault(event.dedupe_key, event)
        # Sorted keys give concurrent batches one lock order (no deadlocks).
        events = sorted(unique.values(), key=lambda e: e.dedupe_key)
        rows = await self._db.fetch(
            "webhook_batch_store",
            [e.dedupe_key for e in events], [e.event_type for e in events],
            [e.campaign_external_id for e in events], [e.event_at for e in events],
            [e.canonical for e in events], [e.workspace_id for e in events],
        )
        receipts = {
            r["dedupe_key"]: Receipt("accepted" if r["stored_now"] else "duplicate", r["id"])
            for r in rows if r["id"] is not None
        }
        if any(r["stored_now"] for r in rows):
            LAST_EVENT.set(time.time())
        if self._checks is not None:  # after COMMIT (the statement is its own transaction)
            for external_id in {r["check_campaign"] for r in rows if r["check_campaign"]}:
                self._checks.schedule(external_id)
        late = [r["dedupe_key"] for r in rows if r["id"] is None]
        if late:  # stored by a concurrent writer after this statement's snapshot
            for r in await self._db.fetch("webhook_events_ids", late):
                receipts[r["dedupe_key"]] = Receipt("duplicate", r["id"])
        return receipts


def _expire(p: _Pending) -> None:
    _settle(p, DatabaseUnavailable("no commit within the deadline"))


def _resolve(p: _Pending, receipt: Receipt) -> None:
    if p.expiry is not None:
        p.expiry.cancel()
    if not p.future.done():
        p.future.set_result(receipt)


def _settle(p: _Pending, exc: BaseException) -> None:
    if p.expiry is not None:
        p.expiry.cancel()
    if not p.future.done():
        p.future.set_exception(exc)
        # Retrieved here so an abandoned (cancelled) request logs no warning.
        p.future.exception()
