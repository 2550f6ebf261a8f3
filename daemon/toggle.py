"""The toggle path: external call first, local commit only on success.

Invariants (docs/behaviour.md §3):
- a linked campaign's local status changes only after the external call
  succeeded; a failed call leaves it as it was and writes an audit row;
- no database transaction is open while the external call runs: a lease
  (`pending_*` columns, committed first) keeps other toggles away instead;
- every change and every attempted call gets a `status_changes` row;
- a crash between the remote success and the local commit leaves an
  expiring lease that the reconciler settles.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from daemon.messages import toggle_message
from daemon.metrics import TOGGLES
from daemon.suspension import suspended_error
from instantly.errors import ExternalError
from instantly.workspaces import Clients, WorkspaceDisabled
from sql import Database
from sql.statuses import LocalStatus

# Campaigns changed at once by one bulk request (each takes a slot of the shared budget).
BULK_CONCURRENCY = 8

log = structlog.get_logger("daemon.toggle")


class ToggleError(Exception):
    """A status change refused before or after its external call; `code` says why."""

    code: str


class CampaignNotFound(ToggleError):
    """No campaign has that id."""

    code = "campaign_not_found"


class CampaignCompleted(ToggleError):
    """Completed is final: a completed campaign cannot be toggled."""

    code = "campaign_completed"


class ToggleInProgress(ToggleError):
    """Another change of this campaign holds a live lease."""

    code = "toggle_in_progress"


class StatusConflict(ToggleError):
    """The status changed between our read and our write (a lost race)."""

    code = "status_conflict"


@dataclass(frozen=True)
class ToggleResult:
    campaign_id: str
    campaign_name: str
    previous_status: str
    new_status: str
    external_sync: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "previous_status": self.previous_status,
            "new_status": self.new_status,
            "external_sync": self.external_sync,
            "message": self.message,
        }


class ToggleService:
    """Changes campaign statuses following the atomic rule above."""

    def __init__(
        self,
        *,
        db: Database,
        clients: Clients,
        full_pause_sync: bool,
        lease_seconds: int,
    ) -> None:
        self._db = db
        self._clients = clients  # a campaign is called with its own workspace's key
        self._full_pause_sync = full_pause_sync
        self._lease_seconds = lease_seconds

    async def toggle(
        self, campaign_id: uuid.UUID, *, source: str = "api", request_id: str | None = None
    ) -> ToggleResult:
        """Flip a campaign (POST /campaigns/{id}/toggle)."""
        return await self._change(campaign_id, None, source=source, request_id=request_id)

    async def set_status(
        self,
        campaign_id: uuid.UUID,
        status: str,
        *,
        source: str = "api",
        request_id: str | None = None,
    ) -> ToggleResult:
        """Put a campaign in `status` (active|paused); already there is a no-op."""
        return await self._change(campaign_id, status, source=source, request_id=request_id)

    async def set_many(
        self,
        campaign_ids: Sequence[uuid.UUID],
        status: str,
        *,
        source: str = "bulk",
        request_id: str | None = None,
    ) -> list[ToggleResult | Exception]:
        """Put each campaign in `status` through the same path, BULK_CONCURRENCY at a time;
        per campaign, in order, its result or the error it ended with (the API's bulk
        endpoint and the console's bulk form map errors to sentences themselves)."""
        semaphore = asyncio.Semaphore(BULK_CONCURRENCY)

        async def one(campaign_id: uuid.UUID) -> ToggleResult | Exception:
            async with semaphore:
                try:
                    return await self.set_status(campaign_id, status, source=source,
                                                 request_id=request_id)
                except Exception as exc:
                    return exc

        return list(await asyncio.gather(*(one(cid) for cid in campaign_ids)))

    def _result(self, row: Any, new_status: str, external_sync: str) -> ToggleResult:
        return ToggleResult(
            campaign_id=str(row["id"]),
            campaign_name=row["name"],
            previous_status=row["status"],
            new_status=new_status,
            external_sync=external_sync,
            message=toggle_message(external_sync, name=row["name"], status=new_status),
        )

    async def _change(
        self, campaign_id: uuid.UUID, requested: str | None, *, source: str,
        request_id: str | None,
    ) -> ToggleResult:
        # One round trip reads the campaign, decides the external action (the
        # rule lives in that query) and, if there is one, claims the lease.
        token = uuid.uuid4()
        row = await self._db.fetchrow(
            "campaign_claim_for_change", campaign_id, token, requested,
            self._full_pause_sync, self._lease_seconds,
        )
        if row is None:
            raise CampaignNotFound
        if row["status"] == LocalStatus.COMPLETED:
            raise CampaignCompleted
        new_status = row["target"]
        if row["status"] == new_status:
            return self._result(row, new_status, "noop")
        action = row["action"]
        log.info(
            "toggle.start", campaign=str(row["id"]), name=row["name"],
            **{"from": row["status"], "to": new_status}, action=action,
        )
        try:
            if row["external_id"] is not None and row["suspended_by"] is not None:
                # Syncing is suspended: no change of a linked campaign, called out or
                # not (daemon/suspension.py); nothing was claimed or written.
                raise suspended_error(row["suspended_by"], row["suspended_at"],
                                      row["suspended_reason"])
            if row["external_id"] is not None and not row["workspace_enabled"]:
                raise WorkspaceDisabled(row["workspace"])  # nothing was claimed either
            if action is None:
                result = await self._change_locally(row, new_status, source, request_id)
            elif not row["claimed"]:
                raise ToggleInProgress
            else:
                # Shielded: once the call is on its way, a cancelled request must
                # still record the outcome (or leave the lease for the reconciler).
                result = await asyncio.shield(
                    self._call_and_commit(row, new_status, action, token, source, request_id)
                )
        except (ToggleError, ExternalError) as exc:
            TOGGLES.labels(outcome=exc.code).inc()
            log.warning("toggle.failed", campaign=str(row["id"]), code=exc.code)
            raise
        TOGGLES.labels(outcome=result.external_sync).inc()
        log.info(
            "toggle.done", campaign=str(row["id"]), to=new_status,
            external_sync=result.external_sync,
        )
        return result

    async def _change_locally(
        self, row: Any, new_status: str, source: str, request_id: str | None
    ) -> ToggleResult:
        sync = "unlinked" if row["external_id"] is None else "local_only"
        won = await self._db.fetchval(
            "campaign_set_status_local",
            row["id"], new_status, row["status"], self._lease_seconds, source, request_id,
        )
        if won is None:
            raise await self._why_missed(row["id"])
        return self._result(row, new_status, sync)

    async def _call_and_commit(
        self,
        row: Any,
        new_status: str,
        action: str,
        token: uuid.UUID,
        source: str,
        request_id: str | None,
    ) -> ToggleResult:
        external_id = row["external_id"]
        started = time.perf_counter()
        try:
            # Succeeds only when the remote status confirms the action.
            # Not gated again: the claim statement read the suspension (none) and
            # claimed the change in one step (daemon/suspension.py).
            workspace = await self._clients.get(row["workspace_id"],
                                                version=row["workspace_version"])
            confirmed = await workspace.client.change_status(action, external_id, gated=False)
        except ExternalError as exc:
            took_ms = round((time.perf_counter() - started) * 1000)
            log.warning("external.failed", action=action, external_id=external_id,
                        code=exc.code, duration_ms=took_ms)
            await self._db.execute(
                "campaign_release_lease", row["id"], token, row["status"], new_status, source,
                action, exc.code, request_id, exc.outcome, took_ms,
            )
            raise
        committed = await self._db.fetchval(
            "campaign_commit_lease", row["id"], token, confirmed.status, row["status"],
            new_status, source, action, request_id,
            round((time.perf_counter() - started) * 1000),
            "confirmed_by_read" if confirmed.by_read else "applied",
        )
        if committed is None:
            # The lease expired and was settled or taken over while we waited.
            current = await self._db.fetchrow("campaign_get", row["id"])
            if current is None or current["status"] != new_status:
                raise StatusConflict
        return self._result(row, new_status, "activated" if action == "activate" else "paused")

    async def _why_missed(self, campaign_id: uuid.UUID) -> ToggleError:
        state = await self._db.fetchrow(
            "campaign_lease_state", campaign_id, self._lease_seconds
        )
        if state is None:
            return CampaignNotFound()
        if state["leased"]:
            return ToggleInProgress()
        return StatusConflict()
