"""The overview's figures: open drift per kind, external calls over a window, campaigns
per status (named, typed functions over sql/queries/overview.sql)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sql.db import Database


@dataclass(frozen=True)
class Calls:
    calls: int
    succeeded: int
    p95_ms: float | None

    @property
    def success_rate(self) -> float | None:
        return round(self.succeeded / self.calls, 4) if self.calls else None


async def open_drift(db: Database) -> list[Any]:
    """Per kind: open findings and the oldest one's first sighting."""
    return await db.fetch("overview_drift")


async def calls(db: Database, *, hours: int) -> Calls:
    row = await db.fetchrow("overview_calls", hours)
    p95 = row["p95_ms"]
    return Calls(row["calls"], row["succeeded"], round(p95, 1) if p95 is not None else None)


async def campaigns_by_status(db: Database) -> dict[str, int]:
    return {r["status"]: r["n"] for r in await db.fetch("overview_campaigns")}


async def workspaces(db: Database, *, hours: int) -> list[Any]:
    """Each workspace's figures (campaigns, open drift, its last listing, calls)."""
    return await db.fetch("overview_workspaces", hours)
