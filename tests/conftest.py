"""Shared fixtures: a real Postgres per test, the fake Instantly over real HTTP.

Postgres: `DATABASE_URL` when set, else an embedded server under
`.instantly-sync/test-pgdata`. The schema is migrated once into a template
database; every test gets a fresh `CREATE DATABASE ... TEMPLATE` copy, so
tests commit for real (leases and locks need that) and never see each other.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from daemon.app import build_app
from daemon.config import Settings, load_settings
from daemon.logs import configure_logging
from daemon.services import SERVICES, Services
from instantly.fake import FakeInstantlyServer
from sql import Database, connect
from sql.migrate import migrate
from sql.scratch import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()
FAKE_KEY = "fake-key"
API_TOKEN = "test-token"


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """DSN of the server's maintenance database."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from daemon.embedded_db import start_embedded

    yield start_embedded(ROOT / ".instantly-sync" / "test")


@pytest.fixture(scope="session")
def template_db(server_dsn: str) -> Iterator[str]:
    """A migrated database that every test's database is copied from."""
    name = f"isync_tpl_{os.getpid()}"

    async def create() -> None:
        db = await connect(await create_database(server_dsn, name), min_size=1, max_size=1)
        try:
            await migrate(db)
        finally:
            await db.close()

    asyncio.run(create())
    yield name
    asyncio.run(drop_database(server_dsn, name))


@pytest.fixture
async def dsn(server_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test."""
    name = f"isync_t_{os.getpid()}_{next(_counter)}"
    yield await create_database(server_dsn, name, template=template_db)
    await drop_database(server_dsn, name)


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[Database]:
    """A pool on the test database, for arranging and inspecting state."""
    database = await connect(dsn, min_size=1, max_size=4)
    yield database
    await database.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeInstantlyServer]:
    server = FakeInstantlyServer(api_key=FAKE_KEY, rate_limit_per_second=100)
    await server.start()
    yield server
    await server.close()


@pytest.fixture(autouse=True, scope="session")
def _logging() -> None:
    configure_logging(fmt="json", level="warning", secrets=(FAKE_KEY, API_TOKEN))


def make_settings(fake_url: str | None, **overrides: str) -> Settings:
    env = {
        "INSTANTLY_BASE_URL": fake_url or "http://127.0.0.1:9",
        "INSTANTLY_API_KEY": FAKE_KEY,
        "API_TOKENS": API_TOKEN,
        "RECONCILE_INTERVAL_SECONDS": "0",
        "INSTANTLY_TIMEOUT_SECONDS": "5",
        "INSTANTLY_MAX_RPS": "1000",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "warning",
    }
    env.update(overrides)
    return load_settings({k: v for k, v in env.items() if v is not None})


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_api(
    dsn: str, fake: FakeInstantlyServer, aiohttp_client: Any
) -> AppFactory:
    """Start the daemon's app (real server on loopback) with settings overrides."""

    async def factory(*, dsn_override: str | None = None, **overrides: str) -> TestClient:
        settings = make_settings(fake.url, **overrides)
        app = build_app(settings, dsn=dsn_override or dsn)
        token = settings.api_tokens[0].get() if settings.api_tokens else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await aiohttp_client(app, headers=headers)

    return factory


@pytest.fixture
async def api(make_api: AppFactory) -> TestClient:
    """The daemon with default test settings, authenticated as API_TOKEN."""
    return await make_api()


def services_of(client: TestClient) -> Services:
    return client.server.app[SERVICES]


async def create_campaign(
    client: TestClient, *, name: str = "Spring promo", client_id: str = "acme",
    external_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": client_id, "name": name}
    if external_id is not None:
        body["external_id"] = external_id
    resp = await client.post("/campaigns", json=body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def linked_campaign(
    client: TestClient, fake: FakeInstantlyServer, *, remote_status: int = 2,
    name: str = "Linked campaign",
) -> tuple[dict[str, Any], str]:
    """A local campaign linked to a new remote one; returns (campaign, external_id)."""
    remote = fake.state.add_campaign(name=name, status=remote_status)
    campaign = await create_campaign(client, name=name, external_id=remote["id"])
    return campaign, remote["id"]


async def wait_for(predicate: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    """Poll a condition (never a bare sleep-and-assert)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def new_uuid() -> str:
    return str(uuid.uuid4())
