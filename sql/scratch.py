"""Create and drop scratch databases (selftest), by generated names only.

Identifiers cannot be query parameters, so names are checked against a
strict pattern before they are quoted into the statement.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import asyncpg

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
