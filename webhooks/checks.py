"""Confirm campaign-level events with the campaign itself before acting on them.

`campaign_completed` may be sent per lead (the docs do not say; analytics'
`completed_count` counts leads), so the event alone never completes a
campaign. It, and `account_error`, schedule a check: one
`GET /api/v2/campaigns/{id}` through the shared rate budget. Only a remote
status 3 completes the local campaign (audit source `webhook`); anything else
leaves it as it is and the waiting events say `not_confirmed`.

A campaign is read at most once per `spacing` seconds
(WEBHOOK_CHECK_SPACING_SECONDS): at most one check per campaign is in flight,
and events arriving during it or within `spacing` after it are coalesced into
one more check at the end of that interval. A campaign that finishes lead by
lead therefore costs one read per interval, not one per event, and cannot
spend the rate budget the toggles share. The webhook's 200 never waits for a
check. If the process stops first, the events stay `check_pending` and the
next reconcile pass (which reads every campaign's status) is the backstop.
"""

from __future__ import annotations

import asyncio

import structlog

from instantly.errors import ExternalError, ExternalNotFound
from instantly.workspaces import Clients, WorkspaceDisabled
from sql import Database, DatabaseUnavailable

log = structlog.get_logger("webhooks")


class CampaignChecks:
    """Schedules and runs the checks (one instance per process)."""

    def __init__(self, *, db: Database, clients: Clients, spacing: float = 5.0) -> None:
        self._db = db
        self._clients = clients  # a campaign is read in its own workspace
        self._spacing = spacing
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._last: dict[str, float] = {}  # loop time each campaign's last check ended

    def schedule(self, external_id: str) -> None:
        """Check this campaign soon: now, or when its interval since the last check ends
        (coalesced with a check already waiting or in flight)."""
        if external_id in self._running:
            self._again.add(external_id)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if len(self._last) > 10_000:  # forget campaigns whose interval has passed
            self._last = {k: t for k, t in self._last.items() if now - t < self._spacing}
        wait = self._last.get(external_id, now - self._spacing) + self._spacing - now
        task = loop.create_task(self._run(external_id, max(0.0, wait)),
                                name=f"campaign-check-{external_id}")
        self._running[external_id] = task

    async def idle(self) -> None:
        """Wait until no check is running (tests, selftest, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop: checks in flight are cancelled (their events stay check_pending)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, external_id: str, wait: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            if wait > 0:
                await asyncio.sleep(wait)  # read at most once per interval
            while True:
                self._again.discard(external_id)
                try:
                    await self._check(external_id)
                except DatabaseUnavailable:
                    log.warning("campaign_check.database_unavailable", external_id=external_id)
                except Exception:
                    log.exception("campaign_check.crashed", external_id=external_id)
                self._last[external_id] = loop.time()
                if external_id not in self._again:
                    return
                await asyncio.sleep(self._spacing)  # more events may come: read once for all
        finally:
            self._running.pop(external_id, None)
            self._again.discard(external_id)

    async def _check(self, external_id: str) -> None:
        status: int | None
        try:
            workspace = await self._db.fetchrow("campaign_workspace_by_external_id",
                                                external_id)
            if workspace is None:  # unlinked meanwhile: nothing to read
                raise ExternalNotFound("not linked")
            client = (await self._clients.get(workspace["id"],
                                              version=workspace["version"])).client
            status = (await client.get_campaign(external_id))["status"]
            otherwise = "not_confirmed"
        except ExternalNotFound:
            status, otherwise = None, "not_confirmed"
        except (ExternalError, WorkspaceDisabled) as exc:
            status, otherwise = None, "check_failed"
            log.warning("campaign_check.failed", external_id=external_id, code=exc.code)
        row = await self._db.fetchrow("webhook_confirm_campaign", external_id, status, otherwise)
        log.info("campaign_check.done", external_id=external_id, remote_status=status,
                 completed=bool(row and row["completed"]), events=row and row["settled"])
