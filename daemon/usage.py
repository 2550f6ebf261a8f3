"""How much of the external API's budget the service spends, seen by every replica.

Each attempt of an external call (the client's `CallLog` hook) is kept in the
table external_calls: Prometheus counters live in one process, but the budget
(INSTANTLY_MAX_RPS / INSTANTLY_MAX_RPM) is shared by every replica, so its use
is counted where every replica writes. Attempts are buffered and written once
a second in one statement, so a call never waits for this bookkeeping; if the
database does not take a batch, the batch is dropped with a warning (the
process's own counters still have it). The console's health page and the gauges
below read the table; /metrics refreshes the gauges when it is scraped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import structlog
from prometheus_client import Gauge, Histogram

from sql import Database, DatabaseUnavailable, usage

log = structlog.get_logger("daemon.usage")

FLUSH_SECONDS = 1.0

BUDGET_USED = Gauge(
    "instantly_sync_budget_used",
    "External calls started by every replica for a workspace: in the last minute"
    " (window=minute), and the most within one second of that minute (window=second)",
    ["window", "workspace"])
BUDGET_LIMIT = Gauge(
    "instantly_sync_budget_limit",
    "A workspace's shared budget: its calls per minute (window=minute) and per second"
    " (window=second); INSTANTLY_MAX_RPM / INSTANTLY_MAX_RPS unless set for it",
    ["window", "workspace"])
BUDGET_WAIT = Histogram(
    "instantly_sync_budget_wait_seconds",
    "How long an attempt waited for the shared budget before it was sent",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15))


class CallRecorder:
    """The client's `CallLog`: attempts buffered, written in batches (see module doc)."""

    def __init__(self, db: Database, *, max_rps: float, max_rpm: int) -> None:
        self._db = db
        self._max_rps = max_rps
        self._max_rpm = max_rpm
        self._rows: list[tuple[dt.datetime, str, str, float, float, int]] = []
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()  # ends the wait of a pending flush at once

    def for_workspace(self, workspace_id: int) -> WorkspaceCalls:
        """The `CallLog` of one workspace's client."""
        return WorkspaceCalls(self, workspace_id)

    def record(self, action: str, outcome: str, seconds: float, waited: float,
               workspace_id: int = 1) -> None:
        self._rows.append((dt.datetime.now(dt.UTC), action, outcome, seconds * 1000,
                           waited * 1000, workspace_id))
        BUDGET_WAIT.observe(waited)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_SECONDS):
                await self._closing.wait()
        await self.flush()

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        if not rows:
            return
        try:
            await usage.record(self._db, rows)
        except DatabaseUnavailable as exc:
            log.warning("usage.dropped", calls=len(rows), error=str(exc))

    async def close(self) -> None:
        """Write what is buffered (the process is stopping). The pending flush is let
        finish, not cancelled: a batch cancelled mid-write would be lost."""
        self._closing.set()
        if self._task is not None:
            await self._task
        await self.flush()

    async def refresh_gauges(self) -> None:
        """The budget's use now, by every replica (for /metrics)."""
        BUDGET_USED.clear()
        BUDGET_LIMIT.clear()
        for w in await usage.now(self._db):
            BUDGET_USED.labels(window="minute", workspace=w["name"]).set(w["minute"])
            BUDGET_USED.labels(window="second", workspace=w["name"]).set(w["second"])
            BUDGET_LIMIT.labels(window="minute", workspace=w["name"]).set(
                w["max_rpm"] or self._max_rpm)
            BUDGET_LIMIT.labels(window="second", workspace=w["name"]).set(
                w["max_rps"] or self._max_rps)


class WorkspaceCalls:
    """A `CallLog` that records its attempts as one workspace's."""

    def __init__(self, recorder: CallRecorder, workspace_id: int) -> None:
        self._recorder = recorder
        self._workspace = workspace_id

    def record(self, action: str, outcome: str, seconds: float, waited: float) -> None:
        self._recorder.record(action, outcome, seconds, waited, self._workspace)
