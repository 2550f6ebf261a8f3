"""The external API's use, from every replica (named, typed functions over
sql/queries/usage.sql)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sql.db import Database


async def record(db: Database,
                 rows: Sequence[tuple[dt.datetime, str, str, float, float, int]]) -> None:
    """Store attempts: (at, action, outcome, duration ms, wait ms, workspace id) each."""
    if rows:
        await db.execute("usage_record", *[list(c) for c in zip(*rows, strict=True)])


async def now(db: Database) -> list[Any]:
    """Per workspace: its limits, calls in the last minute, and the most within one
    second of it (every replica)."""
    return await db.fetch("usage_now")


async def busiest_minute_binned(db: Database, *, width: dt.timedelta, since: dt.datetime,
                                workspace_id: int) -> list[Any]:
    return await db.fetch("usage_busiest_minute_binned", width, since, workspace_id)


async def by_action(db: Database, *, since: dt.datetime, workspace_id: int) -> list[Any]:
    return await db.fetch("usage_by_action", since, workspace_id)


async def waits(db: Database, *, since: dt.datetime, workspace_id: int) -> Any:
    return await db.fetchrow("usage_waits", since, workspace_id)


async def prune(db: Database) -> str:
    return await db.execute("usage_prune")
