"""Campaigns as the API and the console read and write them: named, typed functions.

Handlers and views call these with keywords; the positional parameters of the
named queries (sql/queries/campaigns.sql, console.sql) are spelled out here
once. A duplicate `external_id` raises `sql.UniqueViolation` for the caller
to map.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sql.db import Database

# The fields `update` may change; absent from its keywords means "leave as it is"
# (so an explicit None can unlink).
EDITABLE = ("name", "external_id", "email_subject", "email_body")


async def create(db: Database, *, client_id: str, name: str, external_id: str | None = None,
                 email_subject: str | None = None, email_body: str | None = None) -> Any:
    return await db.fetchrow("campaign_insert", client_id, name, external_id, email_subject,
                             email_body)


async def get(db: Database, campaign_id: uuid.UUID) -> Any | None:
    """The campaign with its event counts, or None."""
    return await db.fetchrow("campaign_get", campaign_id)


async def page(db: Database, *, limit: int, client_id: str | None = None,
               status: str | None = None, linked: bool | None = None,
               after: tuple[dt.datetime, uuid.UUID] | None = None,
               workspace: str | None = None) -> tuple[list[Any], bool]:
    """Up to `limit` campaigns after the keyset `after` (created_at, id), and whether
    more follow."""
    after_at, after_id = after or (None, None)
    rows = await db.fetch("campaign_list", client_id, status, linked, after_at, after_id,
                          limit + 1, workspace)
    return rows[:limit], len(rows) > limit


async def update(db: Database, campaign_id: uuid.UUID, **changes: Any) -> Any | None:
    """Change the given fields (of EDITABLE); the campaign after it, or None if unknown."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    values = [changes.get(name) for name in EDITABLE]
    given = [name in changes for name in EDITABLE]
    return await db.fetchrow("campaign_update", campaign_id, *values, *given)


async def history(db: Database, campaign_id: uuid.UUID, *, limit: int) -> list[Any]:
    """Its audit rows, newest first."""
    return await db.fetch("campaign_history", campaign_id, limit)


async def event_counts(db: Database, external_id: str) -> list[Any]:
    """Event counts of a remote campaign by type, with the last time of each."""
    return await db.fetch("console_campaign_events", external_id)


async def events_binned(db: Database, *, width: dt.timedelta, since: dt.datetime,
                        external_id: str | None = None) -> list[Any]:
    """Webhook events per `width`-wide bin from `since`: per type for every campaign, or
    the total of one remote campaign."""
    if external_id is None:
        return await db.fetch("console_events_binned", width, since)
    return await db.fetch("console_campaign_events_binned", width, since, external_id)
