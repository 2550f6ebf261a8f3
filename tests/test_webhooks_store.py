"""The batching writer on its own: drain on close, isolation of a bad event.

These drive `WebhookStore` directly against the test database (no HTTP), to
pin down behaviour the HTTP tests cannot force: what is queued when the
store closes, and what a batch does when Postgres refuses one of its rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import asyncpg
import pytest

from sql import DatabaseUnavailable
from webhooks.events import Event, parse_event
from webhooks.store import WebhookStore


def parsed(i: int, **extra: object) -> Event:
    body = {"event_type": "email_sent", "campaign_id": "c-store", "lead_email": f"{i}@x", **extra}
    return parse_event(json.dumps(body).encode())


@pytest.fixture
async def store(db):
    store = WebhookStore(db=db)
    store.start()
    yield store
    await store.close()


async def test_close_drains_everything_queued_then_refuses(db) -> None:
    store = WebhookStore(db=db, max_batch=16)
    store.start()
    submits = [asyncio.ensure_future(store.submit(parsed(i))) for i in range(200)]
    await asyncio.sleep(0)  # let every submit enqueue (a scheduling yield, not a wait)
    await store.close()  # writes everything queued before it returns
    receipts = await asyncio.gather(*submits)
    assert {r.status for r in receipts} == {"accepted"}
    assert len({r.event_id for r in receipts}) == 200
    assert await db.fetchval("webhook_events_count") == 200
    with pytest.raises(DatabaseUnavailable):
        await store.submit(parsed(999))


async def test_copies_inside_one_batch_are_one_accepted_and_the_rest_duplicates(store, db
                                                                              ) -> None:
    copies = await asyncio.gather(*(store.submit(parsed(1)) for _ in range(10)))
    assert sorted(r.status for r in copies) == ["accepted"] + ["duplicate"] * 9
    assert len({r.event_id for r in copies}) == 1
    counts = await db.fetch("event_counts_for", "c-store")
    assert [(r["event_type"], r["count"]) for r in counts] == [("email_sent", 1)]


async def test_a_row_postgres_refuses_fails_alone_and_the_writer_goes_on(store, db) -> None:
    # parse_event never produces this (it refuses NaN); built by hand to make
    # Postgres reject one row of a batch.
    bad = dataclasses.replace(parsed(0), dedupe_key="bad", canonical='{"event_type": NaN}')
    results = await asyncio.gather(
        *(store.submit(parsed(i)) for i in range(1, 20)), store.submit(bad),
        return_exceptions=True,
    )
    assert isinstance(results[-1], asyncpg.PostgresError)
    assert {r.status for r in results[:-1]} == {"accepted"}
    assert (await store.submit(parsed(100))).status == "accepted"
    assert await db.fetchval("webhook_events_count") == 20


async def test_payloads_are_compressed_with_lz4_where_the_server_has_it(dsn) -> None:
    """Migration 0006: lz4 where the server supports it, pglz (unchanged) where not."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            try:
                await conn.execute("CREATE TEMP TABLE lz4_probe (p text COMPRESSION lz4)")
                supported = True
            except (asyncpg.FeatureNotSupportedError, asyncpg.PostgresSyntaxError,
                    asyncpg.InvalidParameterValueError):
                supported = False
        method = await conn.fetchval(
            "SELECT attcompression::text FROM pg_attribute"
            " WHERE attrelid = 'webhook_events'::regclass AND attname = 'payload'")
    finally:
        await conn.close()
    assert method == ("l" if supported else "")
