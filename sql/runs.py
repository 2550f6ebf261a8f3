"""Reconcile runs and external-call activity as the API and the console read them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sql.db import Database


async def recent(db: Database, *, limit: int) -> list[Any]:
    return await db.fetch("run_list", limit)


async def get(db: Database, run_id: int) -> Any | None:
    return await db.fetchrow("run_get", run_id)


async def last_success(db: Database) -> dt.datetime | None:
    return await db.fetchval("run_last_success")


async def record_webhook_step(db: Database, run_id: int, found: dict[str, Any]) -> Any | None:
    """Store the webhook step's outcome on the run; the run after it."""
    return await db.fetchrow("run_set_webhook", run_id, found)


async def record_workspace_webhook(db: Database, run_id: int, workspace_id: int,
                                  found: dict[str, Any]) -> None:
    """Store a workspace's webhook step on its part of the run."""
    await db.execute("run_workspace_webhook", run_id, workspace_id, found)


async def open_over_runs(db: Database, *, runs: int) -> list[Any]:
    """For each of the last `runs` passes, newest first, how many findings were open."""
    return await db.fetch("console_open_over_runs", runs)


async def calls_binned(db: Database, *, width: dt.timedelta, since: dt.datetime) -> list[Any]:
    """External calls of status changes per `width`-wide bin from `since`: how many, how
    many succeeded, their p95 duration."""
    return await db.fetch("console_calls_binned", width, since)
