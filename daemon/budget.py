"""The external API budget, shared by every replica that uses the same database.

Instantly's limits (100 requests/second, 6,000/minute) are per workspace, so
a per-process token bucket multiplies with the number of replicas. Each call
therefore reserves a slot in Postgres (`budget_take`: one row paces every
replica's calls at least 1.25/INSTANTLY_MAX_RPS and 60.25/INSTANTLY_MAX_RPM
seconds apart) and waits until its slot. No new server: the database the
replicas already share is the coordinator.
"""

from __future__ import annotations

import asyncio

from sql import Database

# Slots further apart than the window needs, so calls cannot land closer together
# at the other end than the budget allows, even with this much network delay.
WINDOW_MARGIN_SECONDS = 0.25


class SharedBudget:
    """`max_rps` per second and `max_rpm` per minute across replicas (a `RateBudget`)."""

    def __init__(self, *, db: Database, max_rps: float, max_rpm: int) -> None:
        self._db = db
        self._max_rps = max_rps
        self._max_rpm = max_rpm

    async def acquire(self) -> None:
        """Reserve a slot and wait for it; the caller bounds the wait with its deadline."""
        wait = await self._db.fetchval(
            "budget_take", self._max_rps, self._max_rpm, WINDOW_MARGIN_SECONDS)
        if wait > 0:
            await asyncio.sleep(wait)
