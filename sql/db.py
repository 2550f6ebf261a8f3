"""Run named queries through one asyncpg pool, translating outages, with deadlines.

Any failure to reach Postgres (refused connection, dropped socket, server
shutting down, a path that silently drops packets) surfaces as
`DatabaseUnavailable`, so the HTTP layer can answer 503 and the pool
reconnects on its own once the server returns. Every operation has a
deadline (`timeout`, DATABASE_TIMEOUT_SECONDS): waiting for a connection and
running the statement. A connection whose statement timed out is discarded,
never reset (a reset over a dead path would wait as long again). asyncpg has
no public way to set TCP keepalives on its sockets; the deadlines are what
notice a peer that vanished (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from sql.queries import QUERIES

# Every driver error that means "the database is gone" (one place; tested).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.InternalClientError,  # "cannot switch to state …" mid-shutdown
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


class DatabasePermissionDenied(DatabaseRefused):
    """The role may connect but lacks a grant for what it tried (Postgres's sentence
    names the table or schema): a configuration mistake too."""


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # InterfaceError also covers programming mistakes; only treat the
        # connection-state ones as an outage.
        text = str(exc).lower()
        return "closed" in text or "connection" in text or "pool" in text
    return isinstance(exc, OUTAGE_ERRORS)


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except DatabaseUnavailable:
        raise
    except asyncpg.InsufficientPrivilegeError as exc:
        raise DatabasePermissionDenied(str(exc)) from None
    except asyncpg.PostgresError as exc:
        if _is_outage(exc):
            raise DatabaseUnavailable(type(exc).__name__) from exc
        raise
    except BaseException as exc:
        if not isinstance(exc, asyncio.CancelledError) and _is_outage(exc):
            raise DatabaseUnavailable(type(exc).__name__) from exc
        raise


class _Runner:
    """Named-query methods on one held connection (see `Connection`)."""

    _conn: Any
    _timeout: float | None

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]:
        async with _translated():
            return await self._conn.fetch(QUERIES[name], *args, timeout=self._timeout)

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None:
        async with _translated():
            return await self._conn.fetchrow(QUERIES[name], *args, timeout=self._timeout)

    async def fetchval(self, name: str, *args: Any) -> Any:
        async with _translated():
            return await self._conn.fetchval(QUERIES[name], *args, timeout=self._timeout)

    async def execute(self, name: str, *args: Any) -> str:
        async with _translated():
            return await self._conn.execute(QUERIES[name], *args, timeout=self._timeout)


class Connection(_Runner):
    """One pooled connection held for a while: for session advisory locks, temp
    tables, COPY and explicit transactions (see `Database.connection`)."""

    def __init__(self, conn: asyncpg.Connection, *, timeout: float | None) -> None:
        self._conn = conn
        self._timeout = timeout

    def transaction(self) -> Any:
        """`async with conn.transaction():` — commit on success, roll back on error."""
        return self._conn.transaction()

    async def run_script(self, text: str) -> None:
        """Run a migration file (several statements, no parameters; no deadline: a
        migration of a large table may take long, and it runs before serving)."""
        async with _translated():
            await self._conn.execute(text, timeout=None)

    async def copy_records(
        self, table: str, records: Iterable[Sequence[Any]], columns: Sequence[str]
    ) -> None:
        async with _translated():
            await self._conn.copy_records_to_table(table, records=records, columns=columns,
                                                   timeout=self._timeout)


class Database:
    """The process's pool, addressed by query name; every call has a deadline."""

    def __init__(self, pool: asyncpg.Pool, *, timeout: float = 5.0) -> None:
        self.pool = pool
        self.timeout = timeout

    async def _acquire(self) -> Any:
        # asyncio.timeout, not the pool's own timeout: that one wraps every acquire
        # (and the matching release) in a task of its own, a cost on every query.
        async with asyncio.timeout(self.timeout):
            return await self.pool.acquire()

    async def _run(self, method: str, name: str, args: tuple[Any, ...]) -> Any:
        async with _translated():
            conn = await self._acquire()
            try:
                return await getattr(conn, method)(QUERIES[name], *args, timeout=self.timeout)
            except (TimeoutError, OSError, asyncpg.exceptions.InternalClientError):
                conn.terminate()  # never reset a connection over a path that may be dead
                raise
            finally:
                await self.pool.release(conn)

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run("fetch", name, args)  # type: ignore[no-any-return]

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None:
        return await self._run("fetchrow", name, args)  # type: ignore[no-any-return]

    async def fetchval(self, name: str, *args: Any) -> Any:
        return await self._run("fetchval", name, args)

    async def execute(self, name: str, *args: Any) -> str:
        return await self._run("execute", name, args)  # type: ignore[no-any-return]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside one transaction, committed when the block ends."""
        async with _translated():
            conn = await self._acquire()
            try:
                async with conn.transaction():
                    yield Connection(conn, timeout=self.timeout)
            finally:
                await self.pool.release(conn)

    @asynccontextmanager
    async def connection(self, *, statement_seconds: float | None = None
                         ) -> AsyncIterator[Connection]:
        """A dedicated connection outside any transaction (session locks, COPY); its
        statements get `statement_seconds` (default: the pool's deadline)."""
        async with _translated():
            conn = await self._acquire()
            try:
                yield Connection(conn, timeout=statement_seconds or self.timeout)
            finally:
                await self.pool.release(conn)

    async def ping(self) -> bool:
        """A real query within the deadline (readiness)."""
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
        await conn.execute("ROLLBACK", timeout=5)


_REFUSALS = (
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidCatalogNameError,
)


async def connect(dsn: str, *, min_size: int = 1, max_size: int = 10,
                  deadline_seconds: float = 5.0,
                  server_settings: dict[str, str] | None = None) -> Database:
    """Create the pool. `DatabaseUnavailable` if Postgres is down, `DatabaseRefused`
    if it refuses the role, password or database of `dsn`. `deadline_seconds` bounds
    every operation (connect, acquire, statement); `server_settings` are session
    settings of every connection of the pool."""
    try:
        return await _connect(dsn, min_size=min_size, max_size=max_size,
                              deadline=deadline_seconds, server_settings=server_settings)
    except _REFUSALS as exc:
        raise DatabaseRefused(str(exc)) from None
    except ValueError as exc:  # a DSN asyncpg cannot parse
        raise DatabaseRefused(f"invalid DSN: {type(exc).__name__}") from None


async def _connect(dsn: str, *, min_size: int, max_size: int, deadline: float,
                   server_settings: dict[str, str] | None) -> Database:
    async with _translated():
        pool = await asyncpg.create_pool(
            dsn,
            init=_init_connection,
            reset=_reset_connection,
            min_size=min_size,
            max_size=max_size,
            timeout=deadline,
            command_timeout=deadline,
            max_inactive_connection_lifetime=300,
            server_settings=server_settings,
        )
    return Database(pool, timeout=deadline)
