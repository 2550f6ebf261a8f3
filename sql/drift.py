"""Drift findings as the API, the CLI and the console read them (named, typed functions
over sql/queries/reconcile.sql and console.sql)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sql.db import Database


async def findings(db: Database, *, states: Sequence[str], limit: int, kind: str | None = None,
                   client_id: str | None = None, expected: bool | None = None,
                   workspace: str | None = None) -> list[Any]:
    return await db.fetch("finding_list", list(states), kind, client_id, expected, limit,
                          workspace)


async def finding(db: Database, finding_id: int) -> Any | None:
    return await db.fetchrow("finding_get", finding_id)


async def open_page(db: Database, *, limit: int, kind: str | None = None,
                    after: tuple[str, dt.datetime, int] | None = None,
                    workspace: str | None = None) -> tuple[list[Any], bool]:
    """Open findings grouped by kind, oldest first, after the keyset (kind, first seen,
    id); and whether more follow."""
    rows = await db.fetch("console_open_findings", limit + 1, kind, *(after or (None,) * 3),
                          workspace)
    return rows[:limit], len(rows) > limit


async def open_counts(db: Database) -> dict[str, int]:
    return {r["kind"]: r["n"] for r in await db.fetch("console_open_counts")}


async def acknowledged_count(db: Database, *, kind: str | None = None) -> int:
    return await db.fetchval("console_acknowledged_count", kind)
