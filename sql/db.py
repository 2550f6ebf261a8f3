"""Run named queries through one asyncpg pool, translating outages.

Any failure to reach Postgres (refused connection, dropped socket, server
shutting down) surfaces as `DatabaseUnavailable`, so the HTTP layer can
answer 503 and the pool reconnects on its own once the server returns.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from sql.queries import QUERIES

_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)


# A unique constraint refused a row (callers turn it into their own conflict error).
UniqueViolation = asyncpg.UniqueViolationError


class DatabaseUnavailable(Exception):
    """Postgres could not be reached or dropped the connection mid-query."""

    code = "database_unavailable"


class DatabaseRefused(Exception):
    """Postgres answered but refused the role, the password or the database name:
    a configuration mistake, not an outage (waiting will not fix it)."""


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # InterfaceError also covers programming mistakes; only treat the
        # connection-state ones as an outage.
        text = str(exc).lower()
        return "closed" in text or "connection" in text or "pool" in text
    return isinstance(exc, _OUTAGE_ERRORS)


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except DatabaseUnavailable:
        raise
    except asyncpg.PostgresError as exc:
        if _is_outage(exc):
            raise DatabaseUnavailable(type(exc).__name__) from exc
        raise
    except BaseException as exc:
        if not isinstance(exc, asyncio.CancelledError) and _is_outage(exc):
            raise DatabaseUnavailable(type(exc).__name__) from exc
        raise


class _Runner:
    """Named-query methods shared by the pool and a transaction."""

    _conn: Any

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]:
        async with _translated():
            return await self._conn.fetch(QUERIES[name], *args)

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None:
        async with _translated():
            return await self._conn.fetchrow(QUERIES[name], *args)

    async def fetchval(self, name: str, *args: Any) -> Any:
        async with _translated():
            return await self._conn.fetchval(QUERIES[name], *args)

    async def execute(self, name: str, *args: Any) -> str:
        async with _translated():
            return await self._conn.execute(QUERIES[name], *args)


class Connection(_Runner):
    """One pooled connection held for a while: for session advisory locks, temp
    tables, COPY and explicit transactions (see `Database.connection`)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def transaction(self) -> Any:
        """`async with conn.transaction():` — commit on success, roll back on error."""
        return self._conn.transaction()

    async def run_script(self, text: str) -> None:
        """Run a migration file (several statements, no parameters)."""
        async with _translated():
            await self._conn.execute(text)

    async def copy_records(
        self, table: str, records: Iterable[Sequence[Any]], columns: Sequence[str]
    ) -> None:
        async with _translated():
            await self._conn.copy_records_to_table(table, records=records, columns=columns)


class Database(_Runner):
    """The process's pool, addressed by query name."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._conn = pool
        self.pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside one transaction, committed when the block ends."""
        async with _translated():
            async with self.pool.acquire() as conn, conn.transaction():
                yield Connection(conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A dedicated connection outside any transaction (session locks, COPY)."""
        async with _translated():
            async with self.pool.acquire() as conn:
                yield Connection(conn)

    async def ping(self) -> bool:
        try:
            await self.fetchval("ping")
        except DatabaseUnavailable:
            return False
        return True

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.pool.close(), timeout=10)
        except (TimeoutError, OSError):
            self.pool.terminate()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects.
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """Cheaper than asyncpg's default reset, which costs a round trip per query.

    Our code never leaves session state behind on purpose (advisory locks are
    unlocked and temp tables dropped explicitly), so only an abandoned
    transaction needs undoing before the connection is reused.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


_REFUSALS = (
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidCatalogNameError,
)


async def connect(dsn: str, *, min_size: int = 1, max_size: int = 10) -> Database:
    """Create the pool. `DatabaseUnavailable` if Postgres is down, `DatabaseRefused`
    if it refuses the role, password or database of `dsn`."""
    try:
        return await _connect(dsn, min_size=min_size, max_size=max_size)
    except _REFUSALS as exc:
        raise DatabaseRefused(str(exc)) from None
    except ValueError as exc:  # a DSN asyncpg cannot parse
        raise DatabaseRefused(f"invalid DSN: {type(exc).__name__}") from None


async def _connect(dsn: str, *, min_size: int, max_size: int) -> Database:
    async with _translated():
        pool = await asyncpg.create_pool(
            dsn,
            init=_init_connection,
            reset=_reset_connection,
            min_size=min_size,
            max_size=max_size,
            timeout=5,
            command_timeout=60,
            max_inactive_connection_lifetime=300,
        )
    return Database(pool)
