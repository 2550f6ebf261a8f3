"""SPEC section 7: the webhook receiver stores each event once and never loses one."""

from __future__ import annotations

import argparse
import asyncio
import io
import json

import aiohttp
import pytest

from daemon.cli_webhooks import list_webhooks, register_webhook
from sql import Database, connect
from tests.conftest import linked_campaign, make_settings, new_uuid, wait_for
from tests.tcp_proxy import TcpProxy
from tests.test_health_and_outage import _target, _via_proxy

SECRET = "s3cret-current"
OLD_SECRET = "s3cret-previous"


@pytest.fixture
async def hooks(make_api):
    return await make_api(WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}")


def event(event_type: str = "email_sent", campaign_id: str | None = None, **extra) -> dict:
    body = {"event_type": event_type, "timestamp": "2026-11-24T10:00:00.000Z",
            "workspace": "0199a3f0-0000-7000-8000-00000000feed",
            "campaign_id": campaign_id or new_uuid(), "campaign_name": "C",
            "lead_email": "lead@example.com"}
    body.update(extra)
    return body


async def post(client, body, *, secret: str | None = SECRET, raw: bytes | None = None):
    headers = {"X-Webhook-Secret": secret} if secret is not None else {}
    data = raw if raw is not None else json.dumps(body).encode()
    return await client.post("/webhooks/instantly", data=io.BytesIO(data), headers=headers)


async def count(db: Database) -> int:
    return await db.fetchval("webhook_events_count")


async def test_accepted_then_duplicate_with_other_formatting(hooks, db) -> None:
    body = event()
    first = await post(hooks, body)
    assert first.status == 200
    receipt = await first.json()
    assert receipt["status"] == "accepted"
    reformatted = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    second = await post(hooks, None, raw=reformatted)
    assert await second.json() == {"status": "duplicate", "event_id": receipt["event_id"]}
    assert await count(db) == 1


@pytest.mark.parametrize("secret", [None, "", "wrong-secret!!", "s", SECRET + "x"])
async def test_bad_secret_is_401_and_stores_nothing(hooks, db, secret) -> None:
    resp = await post(hooks, event(), secret=secret)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_webhook_secret"
    assert await count(db) == 0


async def test_both_rotation_secrets_are_accepted(hooks) -> None:
    assert (await post(hooks, event(), secret=SECRET)).status == 200
    assert (await post(hooks, event(), secret=OLD_SECRET)).status == 200


async def test_unconfigured_receiver_answers_503(make_api, db) -> None:
    client = await make_api(WEBHOOK_SECRET="")
    resp = await post(client, event(), secret="anything")
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "webhooks_not_configured"
    assert await count(db) == 0


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{oops", "not valid JSON"),
        (b"[1,2,3]", "JSON object"),
        (b"", "empty"),
        (b'{"campaign_id": "x"}', "event_type is missing"),
        (b'{"event_type": 7}', "event_type must be"),
        (b'{"event_type": ""}', "event_type must be"),
        (b'{"event_type": "email_sent", "note": "a\\u0000b"}', "NUL"),
        (b'{"event_type": "email_sent", "note": "a\x00b"}', "not valid JSON"),
        (b'{"event_type": "email_sent", "note": "\xff\xfe"}', "UTF-8"),
        (b'{"event_type": "email_sent", "note": "\\ud800"}', "Unicode"),
    ],
)
async def test_invalid_events_are_400_naming_the_problem(hooks, db, raw, fragment) -> None:
    resp = await post(hooks, None, raw=raw)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_event"
    assert fragment in error["message"]
    assert await count(db) == 0


async def test_two_mebibyte_body_is_413(hooks, db) -> None:
    big = json.dumps(event(email_html="x" * (2 * 1024 * 1024))).encode()
    resp = await post(hooks, None, raw=big)
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"
    assert await count(db) == 0


async def test_lenient_content_type_and_extra_fields(hooks) -> None:
    body = json.dumps(event(custom_lead_field="vip", another={"nested": [1, 2]})).encode()
    resp = await hooks.post("/webhooks/instantly", data=body,
                            headers={"X-Webhook-Secret": SECRET, "Content-Type": "text/plain"})
    assert resp.status == 200


async def test_same_event_fifty_times_concurrently_is_stored_once(hooks, db) -> None:
    body = event()
    responses = await asyncio.gather(*(post(hooks, body) for _ in range(50)))
    receipts = [await r.json() for r in responses]
    assert all(r.status == 200 for r in responses)
    assert sorted(r["status"] for r in receipts).count("accepted") == 1
    assert len({r["event_id"] for r in receipts}) == 1
    assert await count(db) == 1
    counts = await db.fetch("event_counts_for", body["campaign_id"])
    assert [(r["event_type"], r["count"]) for r in counts] == [("email_sent", 1)]


async def test_two_hundred_distinct_events_at_once_all_counted(hooks, db) -> None:
    ext = new_uuid()
    types = ["email_sent", "email_opened", "reply_received", "lead_interested"]
    bodies = [event(types[i % 4], ext, lead_email=f"l{i}@x.com") for i in range(200)]
    responses = await asyncio.gather(*(post(hooks, b) for b in bodies))
    assert all(r.status == 200 for r in responses)
    assert {(await r.json())["status"] for r in responses} == {"accepted"}
    assert await count(db) == 200
    counts = {r["event_type"]: r["count"] for r in await db.fetch("event_counts_for", ext)}
    assert counts == {t: 50 for t in types}


async def test_counts_show_on_the_campaign_and_account_errors_are_visible(hooks, fake) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    for i in range(3):
        await post(hooks, event("email_opened", ext, lead_email=f"{i}@x"))
    await post(hooks, event("account_error", ext, email_account="a@x"))
    body = await (await hooks.get(f"/campaigns/{campaign['id']}")).json()
    assert body["events"] == {"email_opened": 3, "account_error": 1}


async def test_campaign_completed_completes_a_linked_campaign(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    resp = await post(hooks, event("campaign_completed", ext, timestamp="2099-01-01T00:00:00Z"))
    assert (await resp.json())["status"] == "accepted"
    local = await (await hooks.get(f"/campaigns/{campaign['id']}")).json()
    assert local["status"] == "completed"
    rows = await db.fetch("status_changes_for", campaign["id"])
    assert [(r["from_status"], r["to_status"], r["source"]) for r in rows] == [
        ("draft", "completed", "webhook")]
    stored = await db.fetchrow("webhook_event_get", (await resp.json())["event_id"])
    assert stored["outcome"] == "applied"
    assert str(stored["campaign_id"]) == campaign["id"]


async def test_stale_completion_is_stored_but_not_applied(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    await hooks.post(f"/campaigns/{campaign['id']}/toggle")  # status changed just now
    resp = await post(hooks, event("campaign_completed", ext, timestamp="2020-01-01T00:00:00Z"))
    assert resp.status == 200
    local = await (await hooks.get(f"/campaigns/{campaign['id']}")).json()
    assert local["status"] == "active"
    stored = await db.fetchrow("webhook_event_get", (await resp.json())["event_id"])
    assert stored["outcome"] == "ignored"


async def test_unknown_campaign_and_unknown_type_are_stored_and_counted(hooks, db) -> None:
    ext = new_uuid()
    resp = await post(hooks, event("brand_new_custom_label", ext))
    assert resp.status == 200
    stored = await db.fetchrow("webhook_event_get", (await resp.json())["event_id"])
    assert (stored["campaign_id"], stored["outcome"]) == (None, "unknown_campaign")
    assert stored["payload"]["event_type"] == "brand_new_custom_label"
    counts = await db.fetch("event_counts_for", ext)
    assert [(r["event_type"], r["count"]) for r in counts] == [("brand_new_custom_label", 1)]


async def test_database_outage_mid_burst_loses_nothing_acknowledged(make_api, dsn) -> None:
    proxy = await TcpProxy(*_target(dsn)).start()
    try:
        client = await make_api(dsn_override=_via_proxy(dsn, proxy.port), WEBHOOK_SECRET=SECRET)
        bodies = [event(lead_email=f"{i}@x") for i in range(300)]

        async def send(body):
            resp = await post(client, body)
            return body, resp.status

        tasks = [asyncio.ensure_future(send(b)) for b in bodies[:150]]
        await asyncio.sleep(0)
        await proxy.cut()
        tasks += [asyncio.ensure_future(send(b)) for b in bodies[150:]]
        results = await asyncio.gather(*tasks)
        assert {status for _, status in results} <= {200, 503}
        refused = [b for b, status in results if status == 503]
        acked = [b for b, status in results if status == 200]
        assert refused, "the outage was not observed"
        await proxy.restore()
        for body in refused:  # Instantly retries what we refused
            resp = await post(client, body)
            assert resp.status == 200
    finally:
        await proxy.close()
    checker = await connect(dsn, min_size=1, max_size=1)
    try:
        stored = await checker.fetchval("webhook_events_count")
        assert stored == len(bodies)
        assert len(acked) + len(refused) == len(bodies)
    finally:
        await checker.close()


async def test_secrets_never_appear_in_logs(hooks, capsys) -> None:
    from daemon.logs import configure_logging

    configure_logging(fmt="json", level="debug", secrets=(SECRET, OLD_SECRET))
    try:
        await post(hooks, event())
        await post(hooks, event(), secret="wrong")
        await post(hooks, None, raw=b"{bad")
        out = capsys.readouterr()
    finally:
        configure_logging(fmt="json", level="warning")
    assert SECRET not in out.out + out.err
    assert OLD_SECRET not in out.out + out.err


async def test_retention_prunes_old_events_but_keeps_counts(hooks, db) -> None:
    from webhooks.retention import prune_events

    ext = new_uuid()
    await post(hooks, event("email_sent", ext))
    await post(hooks, event("email_opened", ext))
    await db.pool.execute("UPDATE webhook_events SET received_at = now() - interval '40 days'"
                          " WHERE event_type = 'email_sent'")
    assert await prune_events(db, retention_days=30, slice_rows=1) == 1
    assert await count(db) == 1
    counts = {r["event_type"]: r["count"] for r in await db.fetch("event_counts_for", ext)}
    assert counts == {"email_sent": 1, "email_opened": 1}


async def test_metrics_count_webhook_outcomes(hooks) -> None:
    body = event("reply_received")
    await post(hooks, body)
    await post(hooks, body)
    await post(hooks, body, secret="nope")
    text = await (await hooks.get("/metrics")).text()
    assert 'instantly_sync_webhook_events_total{event_type="reply_received",outcome="accepted"}' \
        in text
    assert 'event_type="reply_received",outcome="duplicate"' in text
    assert 'outcome="rejected"' in text
    assert "instantly_sync_webhook_apply_seconds_bucket" in text


async def test_end_to_end_register_then_fake_emits_into_the_daemon(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    url = str(hooks.make_url("/webhooks/instantly"))
    ns = argparse.Namespace(url=url, event_type="all_events", campaign=None)
    assert await register_webhook(ns, settings) == 0
    registered = list(fake.state.webhooks.values())
    assert registered[0]["headers"] == {"X-Webhook-Secret": SECRET}
    assert await list_webhooks(argparse.Namespace(), settings) == 0
    deliveries = await fake.emit_event(event("campaign_completed", ext))
    assert [d["status_code"] for d in deliveries] == [200]
    async with aiohttp.ClientSession() as session:
        resp = await session.post(f"{fake.url}/_fake/webhooks/emit",
                                  json=event("email_sent", ext))
        assert [d["success"] for d in (await resp.json())["deliveries"]] == [True]

    async def completed() -> bool:
        row = await db.fetchrow("campaign_get", campaign["id"])
        return row["status"] == "completed"

    await wait_for(completed)
    assert await count(db) == 2


async def test_register_refuses_without_a_secret(fake, capsys) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET="")
    ns = argparse.Namespace(url="http://127.0.0.1:1/webhooks/instantly",
                            event_type="all_events", campaign=None)
    assert await register_webhook(ns, settings) == 2
    assert fake.state.webhooks == {}
