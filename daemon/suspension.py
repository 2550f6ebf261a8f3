"""Suspending syncing: one switch, kept in Postgres, that every replica obeys at once.

An operator who must stop every call to the external service (a leaked key, the
service misbehaving, a migration on their side) suspends syncing instead of
unlinking campaigns (which loses the links) or stopping the service (which also
stops webhooks and drift detection). docs/operations.md, "Stopping all external
calls", is the runbook; docs/behaviour.md §3 the contract.

Where it is enforced, each place reading the database, never a cached copy:
- the toggle path reads it in the statement that claims a change
  (`campaign_claim_for_change`): a status change of a linked campaign is refused
  before anything is written, whether or not it would call out;
- every other external call passes `check` first (the client's gate): a change
  (any method but GET) is refused while suspended, a read too when the
  suspension says `no_read`. (The toggle path's own call does not ask again:
  its claim statement read the state where it claimed the change; a second read
  cost about 0.5 ms and a tenth of toggle throughput, measured by
  `python -m bench.compare`.) So resolutions that call out (`push_local`), webhook resumes
  and registrations stop too, and a reconcile pass under `no_read` is skipped.
A call already on its way when the suspension commits finishes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge

from instantly.errors import SyncSuspended
from sql import Database, suspensions

SUSPENDED = Gauge("instantly_sync_suspended",
                  "1 while syncing with the external service is suspended, else 0")
HISTORY_SHOWN = 50
MAX_REASON = 500  # characters; the table's CHECK says the same


class SuspendError(Exception):
    """Suspending or resuming refused (the base, never raised itself)."""

    code = ""


class AlreadySuspended(SuspendError):
    code = "sync_already_suspended"


class NotSuspended(SuspendError):
    code = "sync_not_suspended"


class InvalidReason(SuspendError):
    code = "invalid_reason"


@dataclass(frozen=True)
class Suspension:
    id: int
    suspended_at: dt.datetime
    suspended_by: str
    reason: str
    no_read: bool
    resumed_at: dt.datetime | None
    resumed_by: str | None

    @classmethod
    def of(cls, row: Any) -> Suspension:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def error(self) -> SyncSuspended:
        return suspended_error(self.suspended_by, self.suspended_at, self.reason)

    def json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def suspended_error(by: str, since: dt.datetime, reason: str) -> SyncSuspended:
    return SyncSuspended(by=by, since=f"{since.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC",
                         reason=reason)


class SyncControl:
    """Suspend, resume, read the state; and the gate every external call passes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def current(self) -> Suspension | None:
        row = await suspensions.current(self._db)
        SUSPENDED.set(0 if row is None else 1)
        return None if row is None else Suspension.of(row)

    async def suspend(self, *, by: str, reason: str, no_read: bool) -> Suspension:
        """Suspend, for a reason of 1 to MAX_REASON characters (trimmed); the one place
        the rule is checked for the CLI, the API and the console."""
        reason = reason.strip()
        if not 1 <= len(reason) <= MAX_REASON or "\x00" in reason:
            raise InvalidReason
        row = await suspensions.start(self._db, by=by, reason=reason, no_read=no_read)
        if row is None:
            raise AlreadySuspended
        SUSPENDED.set(1)
        return Suspension.of(row)

    async def resume(self, *, by: str) -> Suspension:
        row = await suspensions.end(self._db, by=by)
        SUSPENDED.set(0)
        if row is None:
            raise NotSuspended
        return Suspension.of(row)

    async def history(self, *, limit: int = HISTORY_SHOWN) -> list[Suspension]:
        return [Suspension.of(r) for r in await suspensions.recent(self._db, limit=limit)]

    async def check(self, *, write: bool) -> None:
        """The gate: `SyncSuspended` when this call may not be made now."""
        current = await self.current()
        if current is not None and (write or current.no_read):
            raise current.error()
