"""Suspensions of syncing: the open one, starting and ending one, the audit list
(named, typed functions over sql/queries/suspensions.sql)."""

from __future__ import annotations

from typing import Any

from sql.db import Database


async def current(db: Database) -> Any | None:
    return await db.fetchrow("suspension_current")


async def start(db: Database, *, by: str, reason: str, no_read: bool) -> Any | None:
    """The new suspension; None when one is already open (it stays as it was)."""
    return await db.fetchrow("suspension_start", by, reason, no_read)


async def end(db: Database, *, by: str) -> Any | None:
    """The suspension that was open, now resumed; None when none was open."""
    return await db.fetchrow("suspension_end", by)


async def recent(db: Database, *, limit: int) -> list[Any]:
    return await db.fetch("suspension_list", limit)
