"""Resolve where the database is and open the services outside the web app (CLI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from daemon.config import Settings
from daemon.services import Services, close_services, open_services


def resolve_dsn(settings: Settings) -> str:
    """DATABASE_URL, or the embedded Postgres under DATA_DIR (started now)."""
    if settings.database_url is not None:
        return settings.database_url.get()
    from daemon.embedded_db import start_embedded

    return start_embedded(settings.data_dir)


@asynccontextmanager
async def open_runtime(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Services]:
    """The shared services (pool, HTTP session, client) for one CLI command."""
    services = await open_services(settings, resolve_dsn(settings), run_migrations=migrate)
    try:
        yield services
    finally:
        await close_services(services)
