"""Shared fixtures: a real Postgres per test, the fake Instantly over real HTTP.

Postgres: `DATABASE_URL` when set, else an embedded server under
`.instantly-sync/test-pgdata`. The schema is migrated once into a template
database; tests commit for real (leases and locks need that) and never see each
other: each starts on a database copied from the template, or on the previous
test's database emptied (`reset_database`: every other session on it ended,
every table but the migration record truncated, the seeded row reset), which
takes a few milliseconds where a copy takes about 0.4 s. A test that changed
the migration record gets a fresh copy.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from daemon.http.app import build_app
from daemon.logs import configure_logging
from instantly.fake import FakeInstantlyServer
from sql import Database, connect
from sql.migrate import migrate
from sql.queries import add_dev_queries
from sql.scratch import create_database, drop_database, dsn_for, reset_database
from tests.factories import API_TOKEN, FAKE_KEY, make_settings
from tests.openapi_check import Answer, problems, recorder

ROOT = Path(__file__).resolve().parent.parent
add_dev_queries()  # the inspection queries of sql/dev (not shipped)


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


@pytest.fixture(scope="session")
def scratch_name(server_dsn: str, template_db: str) -> Iterator[str]:
    """The database the tests run on, one after the other (dropped at the end)."""
    name = f"isync_t_{os.getpid()}"
    yield name
    asyncio.run(drop_database(server_dsn, name))


@pytest.fixture
async def dsn(server_dsn: str, template_db: str, scratch_name: str) -> str:
    """An empty, migrated database for this test."""
    if not await reset_database(server_dsn, scratch_name):
        await create_database(server_dsn, scratch_name, template=template_db)
    return dsn_for(server_dsn, scratch_name)


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


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture(autouse=True)
async def _no_task_left_running() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running (torn down last: it is requested first)."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    leftover = {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}
    if leftover:  # give tasks that are closing a bounded moment to finish
        _, leftover = await asyncio.wait(leftover, timeout=2)
    for task in leftover:
        task.cancel()
    assert not leftover, f"test left tasks running: {sorted(t.get_name() for t in leftover)}"


@pytest.fixture
async def openapi_answers() -> AsyncIterator[list[Answer]]:
    """Every answer of the apps a test starts; checked against /openapi.json at its end."""
    answers: list[Answer] = []
    yield answers
    found = problems(answers)
    assert not found, "answers not allowed by /openapi.json:\n" + "\n".join(found)


@pytest.fixture
def make_api(
    dsn: str, fake: FakeInstantlyServer, aiohttp_client: Any, openapi_answers: list[Answer],
) -> AppFactory:
    """Start the daemon's app (real server on loopback) with settings overrides."""

    async def factory(*, dsn_override: str | None = None, port: int | None = None,
                      **overrides: str) -> TestClient:
        settings = make_settings(fake.url, **overrides)
        app = build_app(settings, dsn=dsn_override or dsn)
        recorder(app, openapi_answers)
        token = settings.named_tokens()[0][1] if settings.api_tokens else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        server = TestServer(app, **({"port": port} if port else {}))
        # Started here with the keep-alive timeout that `serve` gives its runner.
        await server.start_server(keepalive_timeout=settings.keepalive_timeout_seconds)
        return await aiohttp_client(server, headers=headers)

    return factory


@pytest.fixture
async def api(make_api: AppFactory) -> TestClient:
    """The daemon with default test settings, authenticated as API_TOKEN."""
    return await make_api()




@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Mark a failed test so fixtures can react (the console's saves a screenshot)."""
    outcome = yield
    if outcome.get_result().failed:  # type: ignore[attr-defined]
        item.failed = True  # type: ignore[attr-defined]
