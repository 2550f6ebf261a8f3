"""Workspaces and client assignments (named, typed functions over
sql/queries/workspaces.sql; the daemon's `daemon.workspaces` is their only user)."""

from __future__ import annotations

from typing import Any

from sql.db import Database


async def all_rows(db: Database) -> list[Any]:
    """Every workspace row (no counts: read by every pass)."""
    return await db.fetch("workspace_rows")


async def listing(db: Database) -> list[Any]:
    """Every workspace with its clients and linked campaigns counted (admin listing)."""
    return await db.fetch("workspace_list")


async def by_id(db: Database, workspace_id: int) -> Any | None:
    return await db.fetchrow("workspace_get", workspace_id)


async def by_name(db: Database, name: str) -> Any | None:
    return await db.fetchrow("workspace_by_name", name)


async def insert(db: Database, *, name: str, api_key: bytes, webhook_secret: bytes | None,
                 webhook_public_url: str | None, max_rps: float | None,
                 max_rpm: int | None) -> Any | None:
    """The new row; None when the name is taken."""
    return await db.fetchrow("workspace_insert", name, api_key, webhook_secret,
                             webhook_public_url, max_rps, max_rpm)


async def set_key(db: Database, name: str, api_key: bytes) -> Any | None:
    return await db.fetchrow("workspace_set_key", name, api_key)


async def set_webhook(db: Database, name: str, secret: bytes | None,
                      public_url: str | None) -> Any | None:
    return await db.fetchrow("workspace_set_webhook", name, secret, public_url)


async def set_limits(db: Database, name: str, max_rps: float | None, max_rpm: int | None
                     ) -> Any | None:
    return await db.fetchrow("workspace_set_limits", name, max_rps, max_rpm)


async def set_enabled(db: Database, name: str, enabled: bool) -> Any | None:
    return await db.fetchrow("workspace_set_enabled", name, enabled)


async def reencrypt(db: Database, workspace_id: int, api_key: bytes | None,
                    webhook_secret: bytes | None, version: int) -> int:
    """1 when the row was re-encrypted, 0 when it changed since it was read."""
    return 1 if await db.fetchval("workspace_reencrypt", workspace_id, api_key,
                                  webhook_secret, version) else 0


async def delete(db: Database, name: str) -> bool:
    """Whether it was removed (not: the default workspace, or campaigns linked in it)."""
    return await db.fetchval("workspace_delete", name) is not None


async def assign(db: Database, client_id: str, workspace_id: int) -> tuple[int, bool]:
    """(the workspace the client was in, whether the move was refused)."""
    row = await db.fetchrow("client_assign", client_id, workspace_id)
    return row["was"], row["blocked"]


async def assignments(db: Database) -> list[Any]:
    return await db.fetch("client_workspace_list")


async def names(db: Database) -> list[str]:
    """Every workspace's name, the default first (the console's filters)."""
    return [r["name"] for r in await db.fetch("workspace_names")]
