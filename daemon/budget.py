"""The external API budget, shared by every replica that uses the same database.

Instantly's limits (100 requests/second, 6,000/minute) are per workspace, so
a per-process token bucket multiplies with the number of replicas. Each call
therefore takes a slot reserved in Postgres (`budget_take`: one row per workspace
paces every
replica's calls at least 1.25/INSTANTLY_MAX_RPS and 60.25/INSTANTLY_MAX_RPM
seconds apart) and waits until its slot. No new server: the database the
replicas already share is the coordinator.

At high rates a process reserves a block of slots per round trip (50 ms worth)
and hands them out itself; a slot that passed unused is dropped, never used
late, so no window ever holds more calls than the budget allows.
"""

from __future__ import annotations

import asyncio
import collections

from sql import Database

# Slots further apart than the window needs, so calls cannot land closer together
# at the other end than the budget allows, even with this much network delay.
WINDOW_MARGIN_SECONDS = 0.25
BLOCK_SECONDS = 0.05  # how much of the budget one reservation takes at most


class SharedBudget:
    """`max_rps` per second and `max_rpm` per minute across replicas (a `RateBudget`)."""

    def __init__(self, *, db: Database, max_rps: float, max_rpm: int,
                 workspace_id: int = 1) -> None:
        self._db = db
        self._workspace = workspace_id  # each workspace has its own pace row
        self._max_rps = max_rps
        self._max_rpm = max_rpm
        self._spacing = max((1 + WINDOW_MARGIN_SECONDS) / max_rps,
                            (60 + WINDOW_MARGIN_SECONDS) / max_rpm)
        self._block = max(1, int(BLOCK_SECONDS / self._spacing))
        self._slots: collections.deque[float] = collections.deque()  # loop times
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Take the next slot and wait for it; the caller bounds the wait with its deadline."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            while self._slots and self._slots[0] < loop.time():
                self._slots.popleft()  # passed unused
            if not self._slots:
                wait = await self._db.fetchval(
                    "budget_take", self._workspace, self._max_rps, self._max_rpm,
                    WINDOW_MARGIN_SECONDS, self._block)
                first = loop.time() + wait
                self._slots.extend(first + i * self._spacing for i in range(self._block))
            slot = self._slots.popleft()
        delay = slot - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
