"""One reconcile pass: list every workspace's campaigns, compare in Postgres, record drift.

Flow (all on one dedicated connection that holds the pass's advisory lock):
1. `pg_try_advisory_lock`; not obtained → `ReconcileBusy` (another replica or
   request is running a pass). A `reconcile_runs` row is opened.
2. Every enabled workspace is listed at once, each with its own key and within
   its own budget (docs/workspaces.md): pages of `GET /api/v2/campaigns` (limit
   100) stream into a temp table via COPY, ceil(N/100) calls per workspace,
   memory bounded by a small buffer per workspace.
3. One transaction judges the workspaces whose every page arrived: settle expired
   toggle leases, record remote statuses, compute the drift set with one query,
   upsert findings and clear those no longer seen. A workspace whose listing
   failed (revoked key, unpaid plan, missing scope, outage, too slow) is recorded
   `failed` on the run and none of its campaigns' findings change; the others go
   on. The run is `succeeded` only when every workspace's listing was.
The run row is closed in a shielded `finally`, so a cancelled pass (shutdown)
still records how it ended.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import structlog

from instantly.client import CallStats
from instantly.errors import ExternalError, SyncSuspended
from instantly.workspaces import Clients, WorkspaceClient
from reconciler.findings import run_json
from reconciler.metrics import (
    FINDINGS,
    LAST_SUCCESS,
    OLDEST_FINDING,
    PASS_API_CALLS,
    PASS_SECONDS,
    WORKSPACE_LAST_SUCCESS,
    WORKSPACE_LISTED,
)
from reconciler.statuses import remote_as_local
from sql import Connection, Database, DatabaseUnavailable

log = structlog.get_logger("reconciler")

RECONCILE_LOCK_KEY = 7_412_002
COPY_BUFFER = 2000


class ReconcileBusy(Exception):
    """Another pass holds the lock (this process's or another replica's)."""

    code = "reconcile_in_progress"


@dataclass
class _Counts:
    remote: int = 0
    linked: int = 0
    unlinked: int | None = None
    opened: int = 0
    resolved: int = 0


@dataclass
class _Listing:
    """One workspace's part of a pass."""

    workspace: WorkspaceClient
    status: str = "failed"
    error: str | None = "interrupted"
    remote: int = 0
    stats: CallStats | None = None
    suspension: SyncSuspended | None = None  # reads are suspended (the pass is skipped)


@dataclass(frozen=True, kw_only=True)
class Reconciler:
    """Runs passes; one instance per process (see module docstring)."""

    db: Database
    clients: Clients  # one per workspace: each is listed with its own key
    full_pause_sync: bool
    lease_seconds: int
    max_seconds: float = 900
    page_size: int = 100
    notify: bool = False  # write the new unexpected drift's message in the pass's transaction
    clock: Callable[[], float] = time.time

    async def start(self, *, trigger: str) -> PassHandle:
        """Take the lock and open the run row; `ReconcileBusy` if a pass runs."""
        # Held until the pass ends: the connection, then the lock on it (released
        # first). The pass's set-based statements get 12 deadlines each.
        held = AsyncExitStack()
        try:
            conn = await held.enter_async_context(
                self.db.connection(statement_seconds=self.db.timeout * 12))
            if not await conn.fetchval("try_advisory_lock", RECONCILE_LOCK_KEY):
                raise ReconcileBusy
            held.push_async_callback(conn.execute, "advisory_unlock", RECONCILE_LOCK_KEY)
            run = await conn.fetchrow("run_start", trigger)
            await conn.execute("run_abandon_stale", run["id"])
        except BaseException:
            await held.aclose()
            raise
        return PassHandle(self, conn, held, run["id"], run["started_at"])

    async def run_once(self, *, trigger: str) -> dict[str, Any]:
        """Start and finish a pass; returns the run summary."""
        handle = await self.start(trigger=trigger)
        return await handle.execute()

    async def refresh_metrics(self) -> None:
        rows = await self.db.fetch("findings_open_counts")
        FINDINGS.clear()
        OLDEST_FINDING.clear()
        for r in rows:
            labels = {"kind": r["kind"], "expected": str(r["expected"]).lower(),
                      "state": r["state"], "workspace": r["workspace"]}
            FINDINGS.labels(**labels).set(r["n"])
            OLDEST_FINDING.labels(**labels).set(r["oldest"])


class PassHandle:
    """A started pass: holds the locked connection until `execute` ends."""

    def __init__(self, owner: Reconciler, conn: Connection, held: AsyncExitStack, run_id: int,
                 started_at: Any) -> None:
        self._r = owner
        self._conn = conn
        self._held = held
        self.run_id = run_id
        self.started_at = started_at  # campaigns changed after this are judged next pass

    async def execute(self) -> dict[str, Any]:
        started = time.perf_counter()
        stats = CallStats()
        counts = _Counts()
        status, error = "failed", "interrupted"
        try:
            status, error = await self._pass(stats, counts)
        except SyncSuspended as exc:  # suspended with no reads (daemon/suspension.py)
            status, error = "skipped", (f"syncing suspended by {exc.by} since {exc.since}"
                                        f" ({exc.reason}); reads suspended too")
            log.warning("reconcile.suspended", run_id=self.run_id, by=exc.by)
        except ExternalError as exc:
            status, error = "failed", f"listing failed: {type(exc).__name__}: {exc}"
            log.warning("reconcile.listing_failed", run_id=self.run_id, error=error)
        except DatabaseUnavailable:
            status, error = "failed", "database unavailable"
            raise
        except Exception as exc:
            status, error = "failed", f"internal error: {type(exc).__name__}"
            log.exception("reconcile.crashed", run_id=self.run_id)
        finally:
            run = await asyncio.shield(self._finish(status, error, stats, counts, started))
        return run

    async def _finish(self, status: str, error: str | None, stats: CallStats,
                      counts: _Counts, started: float) -> dict[str, Any]:
        conn = self._conn
        row = None
        try:
            async with self._held:  # then the lock is released and the connection returned
                await conn.execute("remote_listing_drop")
                row = await conn.fetchrow(
                    "run_finish", self.run_id, status, counts.remote, counts.linked,
                    stats.calls, counts.opened, counts.resolved, error, counts.unlinked,
                )
        except DatabaseUnavailable:
            # The server drops the session (and with it the lock); the row is
            # marked failed by the next pass.
            row = None
        elapsed = time.perf_counter() - started
        PASS_SECONDS.labels(status=status).observe(elapsed)
        PASS_API_CALLS.set(stats.calls)
        if status == "succeeded":
            LAST_SUCCESS.set(self._r.clock())
        log.info("reconcile.done", run_id=self.run_id, status=status, error=error,
                 api_calls=stats.calls, remote=counts.remote, linked=counts.linked,
                 opened=counts.opened, resolved=counts.resolved,
                 duration_ms=round(elapsed * 1000, 1))
        if row is None:
            return {"id": self.run_id, "status": status, "error": error, "started_at": None,
                    "finished_at": None, "remote_campaigns": counts.remote,
                    "local_linked": counts.linked, "api_calls": stats.calls,
                    "findings_opened": counts.opened, "findings_resolved": counts.resolved,
                    "webhook": None, "remote_unlinked": counts.unlinked, "workspaces": []}
        await self._r.refresh_metrics()
        return run_json(row)

    async def _pass(self, stats: CallStats, counts: _Counts) -> tuple[str, str | None]:
        r = self._r
        enabled = await r.clients.enabled()
        listings = [_Listing(w) for w in enabled if w.client.configured]
        # An enabled workspace without a key is recorded as skipped (not a failure).
        keyless = [_Listing(w, status="skipped", error="no API key configured")
                   for w in enabled if not w.client.configured]
        if not listings:
            return "skipped", "no API key configured"
        conn = self._conn
        await conn.execute("remote_listing_create")
        await conn.execute("remote_listing_clear")
        copying = asyncio.Lock()  # one connection: one COPY at a time
        async with asyncio.TaskGroup() as group:
            for listing in listings:
                group.create_task(self._list_workspace(listing, copying))
        for listing in listings:
            if listing.stats is not None:
                stats.calls += listing.stats.calls
        for listing in listings:
            if listing.suspension is not None:
                raise listing.suspension
        listed = [lst.workspace.id for lst in listings if lst.status == "succeeded"]
        for listing in keyless + listings:
            await conn.execute("run_workspace_record", self.run_id, listing.workspace.id,
                               listing.status, listing.remote,
                               listing.stats.calls if listing.stats else 0, listing.error)
            if listing.status == "skipped":
                continue
            WORKSPACE_LISTED.labels(workspace=listing.workspace.name).set(
                1 if listing.status == "succeeded" else 0)
            if listing.status == "succeeded":
                WORKSPACE_LAST_SUCCESS.labels(workspace=listing.workspace.name).set(
                    self._r.clock())
        failed = [lst for lst in listings if lst.status != "succeeded"]
        error = "; ".join(f"workspace {lst.workspace.name}: {lst.error}" for lst in failed)
        if not listed:
            return "failed", error  # nothing arrived whole: no finding changes
        # The workspaces whose every page arrived: now, and only now, judge them.
        async with conn.transaction():
            await conn.execute("remote_listing_index", listed)
            await conn.execute("remote_seen_analyze")
            await conn.execute("listed_campaigns", listed)
            counts.remote = await conn.fetchval("remote_seen_count")
            counts.linked = await conn.fetchval("linked_count")
            counts.unlinked = await conn.fetchval("remote_unlinked_count")
            await self._settle_leases(counts)
            await conn.execute("record_remote_status")
            await conn.execute("current_drift", r.lease_seconds, r.full_pause_sync,
                               self.started_at)
            await conn.execute("findings_touch", self.run_id)
            counts.opened += _affected(await conn.execute("findings_open_new", self.run_id))
            counts.resolved += _affected(
                await conn.execute("findings_clear_gone", self.run_id, r.lease_seconds,
                                   self.started_at)
            )
            if r.notify:  # docs/notifications.md: with the findings it reports, or not at all
                await conn.execute("notify_new_drift", self.run_id)
        return ("failed", error) if failed else ("succeeded", None)

    async def _max_pages(self, workspace_id: int) -> int:
        """A bound no honest listing reaches: twice what the workspace's last successful
        listing or its local linked count needs, plus 100 pages for campaigns created
        since (or never linked)."""
        expected = max(await self._conn.fetchval("remote_expected_count", workspace_id), 1)
        return 2 * math.ceil(expected / self._r.page_size) + 100

    async def _list_workspace(self, listing: _Listing, copying: asyncio.Lock) -> None:
        """List one workspace into `remote_listing`; its failure is recorded on `listing`
        (never raised: the other workspaces go on)."""
        name = listing.workspace.name
        listing.stats = CallStats()
        try:
            async with copying:
                max_pages = await self._max_pages(listing.workspace.id)
            async with asyncio.timeout(self._r.max_seconds):
                listing.remote = await self._list(listing, max_pages, copying)
            listing.status, listing.error = "succeeded", None
        except TimeoutError:
            listing.error = (f"listing failed: not finished within {self._r.max_seconds:g} s"
                             " (RECONCILE_MAX_SECONDS)")
        except SyncSuspended as exc:
            listing.suspension = exc
        except ExternalError as exc:
            listing.error = f"listing failed: {type(exc).__name__}: {exc}"
        if listing.suspension is None and listing.status == "failed":
            log.warning("reconcile.listing_failed", run_id=self.run_id, workspace=name,
                        error=listing.error)

    async def _list(self, listing: _Listing, max_pages: int, copying: asyncio.Lock) -> int:
        """Stream every page of one workspace into the temp table `remote_listing`;
        how many campaigns it listed."""
        conn = self._conn
        workspace_id = listing.workspace.id
        columns = ("external_id", "status", "workspace_id")
        buffer: list[tuple[str, int | None, int]] = []
        listed = 0
        pages = listing.workspace.client.iter_campaign_pages(
            limit=self._r.page_size, stats=listing.stats, max_pages=max_pages)
        async for page in pages:
            for item in page:
                if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
                    code = item.get("status")
                    buffer.append((item["id"], code if type(code) is int else None,
                                   workspace_id))
            if len(buffer) >= COPY_BUFFER:
                async with copying:
                    await conn.copy_records("remote_listing", buffer, columns)
                listed += len(buffer)
                buffer.clear()
        if buffer:
            async with copying:
                await conn.copy_records("remote_listing", buffer, columns)
            listed += len(buffer)
        return listed

    async def _settle_leases(self, counts: _Counts) -> None:
        """Toggles that crashed between the remote call and the local commit."""
        conn = self._conn
        for lease in await conn.fetch("expired_leases", self._r.lease_seconds):
            remote = lease["remote"]
            landed = remote_as_local(remote) == lease["pending_status"]
            if landed:
                await conn.execute("lease_settle_commit", lease["id"], lease["pending_token"],
                                   remote)
                outcome = "settled_applied"
                note = (f"toggle lease expired; remote status {remote} matched the pending "
                        f"'{lease['pending_status']}', local commit completed")
            else:
                await conn.execute("lease_settle_clear", lease["id"], lease["pending_token"])
                outcome = "settled_cleared"
                shown = "missing" if remote is None else str(remote)
                note = (f"toggle lease expired; remote status {shown} did not match the "
                        f"pending '{lease['pending_status']}', lease cleared")
            await conn.execute(
                "status_change_insert", lease["id"], lease["status"],
                lease["pending_status"] if landed else lease["status"], "reconciler",
                None, outcome, None, None,
            )
            await conn.execute("finding_insert_settled", lease["id"], lease["external_id"],
                               lease["status"], remote, self.run_id, note)
            counts.opened += 1
            counts.resolved += 1
            log.warning("reconcile.lease_settled", campaign=str(lease["id"]), outcome=outcome)


def _affected(command_tag: str) -> int:
    return int(command_tag.split()[-1])
