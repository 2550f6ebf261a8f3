"""Create, empty and drop scratch databases (selftest, tests), by generated names only.

Identifiers cannot be query parameters, so names are checked against a
strict pattern before they are quoted into the statement.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from sql.migrate import migration_files

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    return f'"{name}"'


def dsn_for(server_dsn: str, name: str) -> str:
    """The same server, another database."""
    return urlunsplit(urlsplit(server_dsn)._replace(path="/" + name))


async def create_database(server_dsn: str, name: str, *, template: str | None = None) -> str:
    """(Re)create database `name`, optionally as a copy of `template`; returns its DSN."""
    statement = f"CREATE DATABASE {_checked(name)}"
    if template is not None:
        statement += f" TEMPLATE {_checked(template)}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_checked(name)} WITH (FORCE)")
        await conn.execute(statement)
    finally:
        await conn.close()
    return dsn_for(server_dsn, name)


async def drop_database(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_checked(name)} WITH (FORCE)")
    finally:
        await conn.close()


# Seeded by migrations: emptied tables get these rows back.
_SEEDED = {"external_call_pace": "INSERT INTO external_call_pace (id, next_at)"
                                 " VALUES (1, '-infinity')"}


async def reset_database(server_dsn: str, name: str) -> bool:
    """Empty database `name` as if just copied from the migrated template; False where it
    cannot be (missing, or its migration record is not every migration: copy it anew)."""
    try:
        conn = await asyncpg.connect(dsn_for(server_dsn, _checked(name).strip('"')))
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        applied = await conn.fetchval("SELECT array_agg(version ORDER BY version)"
                                      " FROM schema_migrations")
        if applied != [version for version, _ in migration_files()]:
            return False
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'schema_migrations' ORDER BY tablename")]
        async with conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '5s'")
            await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                               + " RESTART IDENTITY CASCADE")
            for table, seed in _SEEDED.items():
                if table in tables:
                    await conn.execute(seed)
        return True
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()
