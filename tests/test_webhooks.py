"""docs/behaviour.md §4, the HTTP receiver: authenticated, bounded, parsed, stored once.

Apply semantics are in test_webhooks_apply.py, the batching writer on its own
in test_webhooks_store.py, the CLI and the end-to-end path through the fake
in test_webhooks_cli.py.
"""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from daemon.http.requests import MAX_BODY_BYTES
from daemon.logs import configure_logging
from sql import Database, connect
from tests.factories import API_TOKEN, FAKE_KEY, event, new_uuid, services_of
from tests.tcp_proxy import TcpProxy, dsn_via_proxy, proxy_target

SECRET = "s3cret-current"
OLD_SECRET = "s3cret-previous"


@pytest.fixture
async def hooks(make_api):
    return await make_api(WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}")


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


DEEP = b'{"event_type": "email_sent", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        pytest.param(b"{oops", "not valid JSON", id="invalid-json"),
        pytest.param(b"[1,2,3]", "JSON object", id="array"),
        pytest.param(b'"email_sent"', "JSON object", id="string"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"   \n ", "empty", id="whitespace"),
        pytest.param(b'{"campaign_id": "x"}', "event_type is missing", id="no-event-type"),
        pytest.param(b'{"event_type": null}', "event_type is missing", id="null-event-type"),
        pytest.param(b'{"event_type": 7}', "event_type must be", id="number-event-type"),
        pytest.param(b'{"event_type": ["a"]}', "event_type must be", id="list-event-type"),
        pytest.param(b'{"event_type": ""}', "event_type must be", id="empty-event-type"),
        pytest.param(b'{"event_type": "' + b"x" * 201 + b'"}', "at most 200 characters",
                     id="long-event-type"),
        # jsonb cannot hold NUL: an escaped one is refused by name, a raw one is bad JSON.
        pytest.param(b'{"event_type": "email_sent", "note": "a\\u0000b"}', "NUL",
                     id="nul-escape"),
        pytest.param(b'{"event_type": "email_sent", "a\\u0000": 1}', "NUL", id="nul-in-key"),
        pytest.param(b'{"event_type": "email_sent", "note": "a\x00b"}', "not valid JSON",
                     id="nul-raw"),
        pytest.param(b'{"event_type": "email_sent", "note": "\xff\xfe"}', "UTF-8",
                     id="invalid-utf8"),
        pytest.param(b'{"event_type": "email_sent", "note": "\\ud800"}', "Unicode",
                     id="lone-surrogate"),
        pytest.param(b'{"event_type": "email_sent", "score": NaN}', "NaN", id="nan"),
        pytest.param(b'{"event_type": "email_sent", "score": 1e999}', "infinite", id="inf"),
        pytest.param(DEEP, "nested too deeply", id="deep-nesting"),
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
    assert (await resp.json())["error"]["code"] == "body_too_large"
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


async def test_a_secret_header_that_is_not_utf8_is_401_not_a_crash(hooks, db) -> None:
    payload = json.dumps(event()).encode()
    reader, writer = await asyncio.open_connection(hooks.server.host, hooks.server.port)
    try:
        writer.write(b"POST /webhooks/instantly HTTP/1.1\r\nHost: x\r\n"
                     b"X-Webhook-Secret: " + SECRET.encode() + b"\xff\xfe\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(payload)
                     + payload)
        await writer.drain()
        status_line = (await reader.read()).split(b"\r\n", 1)[0]
    finally:
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 401 ")
    assert await count(db) == 0


async def test_a_body_of_exactly_one_mebibyte_is_accepted(hooks, db) -> None:
    body = event()
    bare = len(json.dumps({**body, "pad": ""}).encode())
    raw = json.dumps({**body, "pad": "x" * (MAX_BODY_BYTES - bare)}).encode()
    assert len(raw) == MAX_BODY_BYTES
    assert (await post(hooks, None, raw=raw)).status == 200
    assert (await post(hooks, None, raw=raw + b" ")).status == 413
    assert await count(db) == 1


async def test_a_chunked_body_without_length_is_cut_off_at_the_limit(hooks, db) -> None:
    async def chunks():  # no Content-Length: only the bounded read can stop it
        yield b'{"event_type": "email_sent", "pad": "'
        for _ in range(64):
            yield b"x" * 65536
        yield b'"}'

    resp = await hooks.post("/webhooks/instantly", data=chunks(),
                            headers={"X-Webhook-Secret": SECRET})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "body_too_large"
    assert await count(db) == 0


async def test_text_that_merely_looks_like_an_escaped_nul_is_stored(hooks, db) -> None:
    # JSON "C:\\u0000" is a backslash and the text "u0000": no NUL, jsonb stores it.
    resp = await post(hooks, None, raw=b'{"event_type": "email_sent", "path": "C:\\\\u0000"}')
    assert resp.status == 200
    stored = await db.fetchrow("webhook_event_get", (await resp.json())["event_id"])
    assert stored["payload"]["path"] == "C:\\u0000"


async def test_a_utf8_byte_order_mark_is_tolerated(hooks) -> None:
    body = event()
    resp = await post(hooks, None, raw=b"\xef\xbb\xbf" + json.dumps(body).encode())
    assert (await resp.json())["status"] == "accepted"
    assert (await (await post(hooks, body)).json())["status"] == "duplicate"


@pytest.mark.slow
async def test_database_outage_mid_burst_loses_nothing_acknowledged(make_api, dsn) -> None:
    proxy = await TcpProxy(*proxy_target(dsn)).start()
    try:
        client = await make_api(dsn_override=dsn_via_proxy(dsn, proxy.port), WEBHOOK_SECRET=SECRET)
        bodies = [event(lead_email=f"{i}@x") for i in range(400)]
        queue = list(reversed(bodies))
        acked: dict[str, int] = {}  # lead_email -> event_id
        refused: list[dict] = []
        some_acked = asyncio.Event()

        async def deliver() -> None:  # one of 32 concurrent senders
            while queue:
                body = queue.pop()
                resp = await post(client, body)
                assert resp.status in (200, 503), await resp.text()
                if resp.status == 200:
                    acked[body["lead_email"]] = (await resp.json())["event_id"]
                    if len(acked) >= 100:
                        some_acked.set()
                else:
                    assert (await resp.json())["error"]["code"] == "database_unavailable"
                    assert resp.headers["Retry-After"]
                    refused.append(body)

        senders = [asyncio.ensure_future(deliver()) for _ in range(32)]
        await some_acked.wait()
        await proxy.cut()  # Postgres gone while deliveries are in flight
        await asyncio.gather(*senders)
        assert len(acked) >= 100 and refused, (len(acked), len(refused))
        await proxy.restore()
        for body in refused:  # Instantly retries what we refused
            resp = await post(client, body)
            assert resp.status == 200
            # "duplicate" when the commit landed but the connection died before the ack
            assert (await resp.json())["status"] in ("accepted", "duplicate")
    finally:
        await proxy.close()
    checker = await connect(dsn, min_size=1, max_size=1)
    try:
        assert await checker.fetchval("webhook_events_count") == len(bodies)
        for lead_email, event_id in acked.items():
            stored = await checker.fetchrow("webhook_event_get", event_id)
            assert stored["payload"]["lead_email"] == lead_email
    finally:
        await checker.close()


async def test_secrets_never_appear_in_logs(hooks, capfd) -> None:
    # No scrubber: the receiver itself must never log a secret.
    configure_logging(fmt="json", level="debug")
    try:
        await post(hooks, event())
        await post(hooks, event(), secret="wrong")
        await post(hooks, event(), secret=SECRET + "-and-more")
        await post(hooks, event(), secret=OLD_SECRET[:-1])
        await post(hooks, None, raw=b"{bad")
        out = capfd.readouterr()
    finally:
        configure_logging(fmt="json", level="warning", secrets=(FAKE_KEY, API_TOKEN))
    text = out.out + out.err
    assert text.count('"webhook.rejected"') == 4  # the log is not empty: rejections are there
    assert SECRET not in text
    assert OLD_SECRET not in text
    assert SECRET in services_of(hooks).settings.secret_values()  # production scrubs it too


async def test_metrics_count_webhook_outcomes(hooks) -> None:
    body = event("reply_received")
    await post(hooks, body)
    await post(hooks, body)
    await post(hooks, body, secret="nope")
    await post(hooks, None, raw=b"[]")
    text = await (await hooks.get("/metrics")).text()
    assert 'instantly_sync_webhook_events_total{event_type="reply_received",outcome="accepted"}' \
        in text
    assert 'event_type="reply_received",outcome="duplicate"' in text
    assert 'instantly_sync_webhook_events_total{event_type="other",outcome="rejected"}' in text
    assert "instantly_sync_webhook_apply_seconds_bucket" in text
    assert "instantly_sync_webhook_batch_size_bucket" in text


async def test_openapi_documents_the_webhook_endpoint(hooks) -> None:
    doc = await (await hooks.get("/openapi.json")).json()
    op = doc["paths"]["/webhooks/instantly"]["post"]
    assert op["security"] == []  # no bearer token: the shared secret authenticates
    assert {"name": "X-Webhook-Secret", "in": "header", "required": True,
            "schema": {"type": "string"}} in op["parameters"]
    schemas = doc["components"]["schemas"]

    def resolved(schema: dict) -> dict:
        return schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema

    schema = resolved(op["requestBody"]["content"]["application/json"]["schema"])
    assert schema["required"] == ["event_type"]
    assert schema["additionalProperties"] is True
    assert {"200", "400", "401", "413", "503"} <= set(op["responses"])
    ok = resolved(op["responses"]["200"]["content"]["application/json"]["schema"])
    assert ok["properties"]["status"]["enum"] == ["accepted", "duplicate"]


async def test_the_writers_pool_keeps_one_plan_and_opens_with_the_first_event(hooks) -> None:
    """The store writes through its own pool, whose sessions use generic plans."""
    writers = services_of(hooks).webhook_db.pool
    assert writers.get_size() == 0  # nothing opened before an event arrives
    assert (await post(hooks, event())).status == 200
    assert await writers.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    main = services_of(hooks).db.pool
    assert await main.fetchval("SHOW plan_cache_mode") == "auto"
