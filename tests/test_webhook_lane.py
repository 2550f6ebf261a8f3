"""The webhook lane (daemon/http/webhook_lane.py): deliveries answered in front of
aiohttp, everything else handed over to it on the same connection.

Raw sockets on loopback, so the bytes on the wire are what is asserted: the
answers, their order on one connection, and the hand-over's exact bytes.
"""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import asyncpg
import pytest

from daemon.http.webhook_lane import WebhookLane, parse_head
from daemon.metrics import HTTP_REQUESTS
from tests.factories import event, new_uuid, wait_for
from tests.openapi_check import Answer, problems
from tests.processes import daemon_env, free_port, start_daemon, wait_ready
from tests.tcp_proxy import TcpProxy, dsn_via_proxy, proxy_target

SECRET = "lane-secret"


@pytest.fixture
async def hooks(make_api):
    return await make_api(WEBHOOK_SECRET=SECRET, KEEPALIVE_TIMEOUT_SECONDS="0.5")


def delivery(body: dict | bytes, *, secret: str = SECRET, extra: str = "") -> bytes:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (f"POST /webhooks/instantly HTTP/1.1\r\nHost: x\r\nX-Webhook-Secret: {secret}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n{extra}\r\n"
            ).encode() + raw


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body: status, headers, body."""
    async with asyncio.timeout(10):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *lines = head.split("\r\n")[:-2]
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


_opened: list[asyncio.StreamWriter] = []


@pytest.fixture(autouse=True)
async def _close_sockets():
    """Every raw connection a test opened is closed, whatever the test's outcome."""
    yield
    while _opened:
        _opened.pop().close()


async def connect_to(client) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    _opened.append(writer)
    return reader, writer


def connections(client) -> list:
    return list(client.server.runner.server._connections)


async def test_a_delivery_is_answered_by_the_lane_as_the_route_documents(hooks, db) -> None:
    counted = ("/webhooks/instantly", "POST", "200")
    before = HTTP_REQUESTS.value(counted)
    reader, writer = await connect_to(hooks)
    writer.write(delivery(event(), extra="X-Request-ID: lane-req-1\r\n"))
    status, headers, body = await read_answer(reader)
    assert status == 200
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-request-id"] == "lane-req-1"
    assert "date" in headers and "server" in headers
    receipt = json.loads(body)
    assert receipt["status"] == "accepted"
    assert await db.fetchval("webhook_events_count") == 1
    # Still the lane's connection: it was not handed over to aiohttp.
    assert any(isinstance(c, WebhookLane) for c in connections(hooks))
    assert not problems([Answer("POST", "/webhooks/instantly", 200, "application/json", body)])
    assert HTTP_REQUESTS.value(counted) == before + 1
    metrics = await (await hooks.get("/metrics")).text()
    assert ('instantly_sync_http_requests_total{method="POST",route="/webhooks/instantly",'
            f'status="200"}} {before + 1}') in metrics


async def test_pipelined_and_fragmented_deliveries_are_answered_in_order(hooks, db) -> None:
    reader, writer = await connect_to(hooks)
    first, second = event(), event()
    stream = delivery(first) + delivery(second) + delivery(first)
    # In pieces that split the request line, a header and a body.
    for cut in (3, 30, 90, len(stream) - 5, len(stream)):
        writer.write(stream[:cut])
        stream = stream[cut:]
        await writer.drain()
        if not stream:
            break
    answers = [json.loads((await read_answer(reader))[2]) for _ in range(3)]
    assert [a["status"] for a in answers] == ["accepted", "accepted", "duplicate"]
    assert answers[2]["event_id"] == answers[0]["event_id"] != answers[1]["event_id"]
    assert await db.fetchval("webhook_events_count") == 2
    writer.close()


@pytest.mark.parametrize("request_bytes, status, code", [
    (delivery(event(), secret="wrong"), 401, "invalid_webhook_secret"),
    (delivery(b"{not json"), 400, "invalid_event"),
    (delivery(b"[]"), 400, "invalid_event"),
    (b"POST /webhooks/instantly HTTP/1.1\r\nHost: x\r\nX-Webhook-Secret: " + SECRET.encode()
     + b"\r\nContent-Length: 99999999\r\n\r\n", 413, "body_too_large"),
    (b"GET /webhooks/instantly HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
])
async def test_what_the_lane_does_not_take_aiohttp_answers_on_the_same_connection(
        hooks, db, request_bytes, status, code) -> None:
    reader, writer = await connect_to(hooks)
    writer.write(delivery(event()) + request_bytes)
    assert (await read_answer(reader))[0] == 200
    got, headers, body = await read_answer(reader)
    assert (got, json.loads(body)["error"]["code"]) == (status, code)
    assert "x-request-id" in headers
    assert not any(isinstance(c, WebhookLane) for c in connections(hooks))
    assert await db.fetchval("webhook_events_count") == 1
    writer.close()


async def test_a_refused_secret_is_answered_before_the_body_is_sent(hooks, db) -> None:
    reader, writer = await connect_to(hooks)
    writer.write(b"POST /webhooks/instantly HTTP/1.1\r\nHost: x\r\nX-Webhook-Secret: nope\r\n"
                 b"Content-Length: 5000\r\n\r\n")  # and no body, ever
    status, _, body = await read_answer(reader)
    assert (status, json.loads(body)["error"]["code"]) == (401, "invalid_webhook_secret")
    writer.close()  # aiohttp would wait for the body it never read until its shutdown timeout
    assert await db.fetchval("webhook_events_count") == 0


async def test_chunked_and_expect_continue_deliveries_are_stored_through_aiohttp(hooks, db
                                                                                ) -> None:
    raw = json.dumps(event()).encode()
    reader, writer = await connect_to(hooks)
    writer.write(b"POST /webhooks/instantly HTTP/1.1\r\nHost: x\r\nX-Webhook-Secret: "
                 + SECRET.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + f"{len(raw):x}\r\n".encode() + raw + b"\r\n0\r\n\r\n")
    status, _, body = await read_answer(reader)
    assert (status, json.loads(body)["status"]) == (200, "accepted")
    writer.close()
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"http://{hooks.server.host}:{hooks.server.port}"
                               "/webhooks/instantly", data=json.dumps(event()).encode(),
                               headers={"X-Webhook-Secret": SECRET}, expect100=True)
        assert (resp.status, (await resp.json())["status"]) == (200, "accepted")
    assert await db.fetchval("webhook_events_count") == 2


async def test_api_requests_after_a_delivery_and_connection_close(hooks) -> None:
    reader, writer = await connect_to(hooks)
    writer.write(delivery(event()) + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await read_answer(reader))[0] == 200
    status, _, body = await read_answer(reader)
    assert status == 200 and json.loads(body)["status"] == "ok"
    writer.close()
    reader, writer = await connect_to(hooks)
    writer.write(delivery(event(), extra="Connection: close\r\n"))
    status, headers, _ = await read_answer(reader)
    assert status == 200 and headers["connection"] == "close"
    async with asyncio.timeout(10):
        assert await reader.read() == b""  # closed after the answer
    writer.close()


async def test_idle_and_stalled_lane_connections_close_after_the_keep_alive_timeout(hooks
                                                                                    ) -> None:
    idle = await connect_to(hooks)
    stalled = await connect_to(hooks)
    stalled[1].write(delivery(event())[:60])  # half a head, then nothing
    for reader, writer in (idle, stalled):
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()


async def test_database_down_is_a_503_from_the_lane_then_it_recovers(make_api, dsn) -> None:
    proxy = await TcpProxy(*proxy_target(dsn)).start()
    try:
        client = await make_api(dsn_override=dsn_via_proxy(dsn, proxy.port),
                                WEBHOOK_SECRET=SECRET)
        reader, writer = await connect_to(client)
        writer.write(delivery(event()))
        assert (await read_answer(reader))[0] == 200
        await proxy.cut()
        writer.write(delivery(event()))
        status, headers, body = await read_answer(reader)
        assert status == 503 and "retry-after" in headers
        assert "Instantly" not in body.decode()
        assert any(isinstance(c, WebhookLane) for c in connections(client))
        assert not problems([Answer("POST", "/webhooks/instantly", 503, "application/json",
                                    body)])
        await proxy.restore()

        async def accepted() -> bool:
            writer.write(delivery(event()))
            return (await read_answer(reader))[0] == 200

        await wait_for(accepted, within=20)
        writer.close()
    finally:
        await proxy.close()


def test_parse_head_takes_only_the_plain_form() -> None:
    line = b"POST /webhooks/instantly HTTP/1.1\r\n"
    assert parse_head(line + b"Content-Length: 2\r\nX-A:  b c \r\n") == {
        b"content-length": b"2", b"x-a": b"b c"}
    assert parse_head(b"POST /webhooks/instantly?x=1 HTTP/1.1\r\nA: b\r\n") == {b"a": b"b"}
    for head in (
        b"POST /webhooks/instantlyX HTTP/1.1\r\n",  # another path
        b"POST /webhooks/instantly HTTP/1.0\r\n",  # another version
        line + b"Content-Length: 2\r\nContent-Length: 2\r\n",  # repeated field
        line + b"Transfer-Encoding: chunked\r\n",
        line + b"Expect: 100-continue\r\n",
        line + b"Bad Name: x\r\n",
        line + b" folded: x\r\n",
        line + b"A: b\x00c\r\n",
        line + b"A: b\nC: d\r\n",
    ):
        assert parse_head(head) is None, head


async def test_sigterm_answers_a_delivery_waiting_for_its_commit(dsn, fake) -> None:
    """In flight at shutdown: the lane waits (within the grace) for the commit."""
    port = free_port()
    proc = await start_daemon(daemon_env(DATABASE_URL=dsn, WEBHOOK_SECRET=SECRET,
                                         PORT=str(port), INSTANTLY_BASE_URL=fake.url))
    conn = await asyncpg.connect(dsn)
    try:
        await wait_ready(port, proc)
        async with conn.transaction():
            await conn.execute("LOCK TABLE webhook_events IN EXCLUSIVE MODE")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(delivery(event(campaign_id=new_uuid())))
            await writer.drain()

            async def waiting() -> bool:
                return await conn.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted") > 0

            await wait_for(waiting)
            proc.send_signal(signal.SIGTERM)

            async def listener_closed() -> bool:
                try:
                    _, w = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    return True
                w.close()
                return False

            await wait_for(listener_closed)
        status, _, body = await read_answer(reader)
        writer.close()
        assert (status, json.loads(body)["status"]) == (200, "accepted")
        await asyncio.wait_for(proc.wait(), 30)
        assert proc.returncode == 0
    finally:
        await conn.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
