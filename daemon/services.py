"""The long-lived objects every handler shares, built once per process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import structlog
from aiohttp import web

from daemon.config import Settings
from daemon.toggle import ToggleService
from instantly.client import InstantlyClient, make_limiter
from sql import Database, DatabaseUnavailable, connect
from sql.migrate import migrate

log = structlog.get_logger("daemon")


@dataclass
class Services:
    settings: Settings
    db: Database
    http: aiohttp.ClientSession
    client: InstantlyClient
    toggles: ToggleService


SERVICES = web.AppKey("services", Services)


async def connect_with_retry(dsn: str, *, wait_seconds: float = 30.0, max_size: int = 10
                             ) -> Database:
    """Postgres may come up after us (containers, embedded start): wait a while."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.2
    while True:
        try:
            return await connect(dsn, max_size=max_size)
        except DatabaseUnavailable:
            if loop.time() + delay > deadline:
                raise
            log.warning("database.waiting", retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)


def build_client(settings: Settings, session: aiohttp.ClientSession) -> InstantlyClient:
    return InstantlyClient(
        session=session,
        base_url=settings.instantly_base_url,
        api_key=settings.instantly_api_key.get() if settings.instantly_api_key else None,
        timeout_seconds=settings.instantly_timeout_seconds,
        max_retries=settings.instantly_max_retries,
        limiter=make_limiter(settings.instantly_max_rps),
    )


def new_http_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
        headers={"User-Agent": "instantly-sync/0.1"},
    )


async def open_services(settings: Settings, dsn: str, *, run_migrations: bool = True
                        ) -> Services:
    """Connect, migrate and build the shared objects (closed by `close_services`)."""
    db = await connect_with_retry(dsn)
    try:
        if run_migrations:
            applied = await migrate(db)
            if applied:
                log.info("database.migrated", versions=applied)
    except BaseException:
        await db.close()
        raise
    http = new_http_session()
    client = build_client(settings, http)
    toggles = ToggleService(
        db=db, client=client, full_pause_sync=settings.full_pause_sync,
        lease_seconds=settings.toggle_lease_seconds,
    )
    return Services(settings=settings, db=db, http=http, client=client, toggles=toggles)


async def close_services(services: Services) -> None:
    await services.http.close()
    await services.db.close()
