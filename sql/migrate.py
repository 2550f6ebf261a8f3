"""Apply `sql/migrations/NNNN_name.sql` in order, once each.

Runs under a session advisory lock so several replicas can start at once:
the first applies, the others wait and then find nothing left to do.
"""

from __future__ import annotations

from pathlib import Path

from sql.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 7_412_001


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[str, str]]:
    """(version, sql) pairs sorted by file name."""
    return [(p.stem, p.read_text()) for p in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))]


class OtherTables(Exception):
    """A first install into a schema that already holds tables not ours: refused unless
    asked for (a mistyped DATABASE_URL must not fill a shared database)."""

    def __init__(self, tables: list[str]) -> None:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        super().__init__(f"{len(tables)} table(s) not created by instantly-sync ({shown})")
        self.tables = tables


async def migrate(db: Database, *, alongside_other_tables: bool = False,
                  directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the versions applied now. A first install into
    a schema holding other tables raises `OtherTables` unless `alongside_other_tables`.
    `directory`: another set of files (the upgrade tests stop at an older version)."""
    applied_now: list[str] = []
    # Waiting for another replica's migrations may take long: a generous deadline.
    async with db.connection(statement_seconds=600) as conn:
        await conn.execute("advisory_lock", MIGRATION_LOCK_KEY)
        try:
            if not await conn.fetchval("migrations_table_exists"):
                tables = [r["tablename"] for r in await conn.fetch("tables_in_schema")]
                if tables and not alongside_other_tables:
                    raise OtherTables(tables)
            await conn.execute("create_migrations_table")
            done = {r["version"] for r in await conn.fetch("applied_migrations")}
            for version, text in migration_files(directory):
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.run_script(text)
                    await conn.execute("record_migration", version)
                applied_now.append(version)
        finally:
            await conn.execute("advisory_unlock", MIGRATION_LOCK_KEY)
    return applied_now


class SchemaBehind(Exception):
    """The database lacks migrations this code needs (a command that only reads
    does not apply them: its role may not be allowed to)."""

    def __init__(self, pending: list[str]) -> None:
        super().__init__(f"{len(pending)} migration(s) not applied, first {pending[0]}")
        self.pending = pending


async def pending_migrations(db: Database) -> list[str]:
    """Versions on disk not yet applied (for /readyz)."""
    exists = await db.fetchval("migrations_table_exists")
    done = {r["version"] for r in await db.fetch("applied_migrations")} if exists else set()
    return [v for v, _ in migration_files() if v not in done]


async def require_current_schema(db: Database) -> None:
    """Raise `SchemaBehind` unless every migration is applied (reads only)."""
    pending = await pending_migrations(db)
    if pending:
        raise SchemaBehind(pending)
