"""POST /webhooks/instantly on the wire: deliveries as bytes on raw sockets.

Raw sockets on loopback, so the bytes on the wire are what is asserted: the
answers, their order on one connection, and how malformed or hostile bytes are
answered (as aiohttp answers them: the route is an ordinary aiohttp route).
"""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import asyncpg
import pytest
from prometheus_client import REGISTRY

from tests.factories import event, new_uuid, wait_for
from tests.openapi_check import Answer, problems
from tests.processes import daemon_env, free_port, start_daemon, wait_ready
from tests.tcp_proxy import TcpProxy, dsn_via_proxy, proxy_target

SECRET = "wire-secret"


def requests_counted(route: str, method: str, status: str) -> float:
    return REGISTRY.get_sample_value("instantly_sync_http_requests_total", {
        "route": route, "method": method, "status": status}) or 0.0


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


async def test_a_delivery_is_answered_as_the_route_documents(hooks, db) -> None:
    counted = ("/webhooks/instantly", "POST", "200")
    before = requests_counted(*counted)
    reader, writer = await connect_to(hooks)
    writer.write(delivery(event(), extra="X-Request-ID: wire-req-1\r\n"))
    status, headers, body = await read_answer(reader)
    assert status == 200
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-request-id"] == "wire-req-1"
    assert "date" in headers and "server" in headers
    receipt = json.loads(body)
    assert receipt["status"] == "accepted"
    assert await db.fetchval("webhook_events_count") == 1
    assert not problems([Answer("POST", "/webhooks/instantly", 200, "application/json", body)])
    assert requests_counted(*counted) == before + 1
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
async def test_refused_requests_after_a_delivery_are_answered_on_the_same_connection(
        hooks, db, request_bytes, status, code) -> None:
    reader, writer = await connect_to(hooks)
    writer.write(delivery(event()) + request_bytes)
    assert (await read_answer(reader))[0] == 200
    got, headers, body = await read_answer(reader)
    assert (got, json.loads(body)["error"]["code"]) == (status, code)
    assert "x-request-id" in headers
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


async def test_chunked_and_expect_continue_deliveries_are_stored(hooks, db
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


async def test_idle_and_stalled_connections_close_after_the_keep_alive_timeout(hooks
                                                                                    ) -> None:
    idle = await connect_to(hooks)
    stalled = await connect_to(hooks)
    stalled[1].write(delivery(event())[:60])  # half a head, then nothing
    for reader, writer in (idle, stalled):
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()


async def test_database_down_is_a_503_then_it_recovers(make_api, dsn) -> None:
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


@pytest.mark.process
async def test_sigterm_answers_a_delivery_waiting_for_its_commit(dsn, fake) -> None:
    """In flight at shutdown: the answer waits (within the grace) for the commit."""
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


# -- hostile and malformed bytes: answered as aiohttp answers them --------------------------

def _head(*fields: str, line: str = "POST /webhooks/instantly HTTP/1.1") -> bytes:
    return ("\r\n".join((line, *fields)) + "\r\n\r\n").encode()


_BODY = json.dumps(event()).encode()


@pytest.mark.parametrize("request_bytes", [
    pytest.param(_head(f"X-Webhook-Secret: {SECRET}", f"Content-Length: {len(_BODY)}") + _BODY,
                 id="no-host"),
    pytest.param(_head("Host: x", f"X-Webhook-Secret: {SECRET}", "X-Long: " + "a" * 9000,
                       f"Content-Length: {len(_BODY)}") + _BODY, id="header-line-too-long"),
    pytest.param(_head("Host: x", f"X-Webhook-Secret: {SECRET}",
                       *(f"X-F{i}: v" for i in range(200)),
                       f"Content-Length: {len(_BODY)}") + _BODY, id="too-many-headers"),
    pytest.param(_head("Host: x", f"X-Webhook-Secret: {SECRET}", f"Content-Length: {len(_BODY)}",
                       line="POST /webhooks/instantly?" + "q" * 9000 + " HTTP/1.1") + _BODY,
                 id="request-line-too-long"),
    pytest.param(_head("Host: x", f"X-Webhook-Secret: {SECRET}", "Content-Encoding: br",
                       "Content-Type: application/json", f"Content-Length: {len(_BODY)}")
                 + _BODY, id="br-encoding-plain-body"),
    pytest.param(_head(f"X-Webhook-Secret: {SECRET}", f"Content-Length: {len(_BODY)}",
                       "Host: x").replace(b"\r\n", b"\n") + _BODY, id="bare-lf"),
    pytest.param(_head("Host: x", f"X-Webhook-Secret: {SECRET}", "Content-Encoding: gzip",
                       f"Content-Length: {len(_BODY)}") + _BODY, id="gzip-encoding-not-gzip"),
])
async def test_malformed_deliveries_are_a_400_and_store_nothing(hooks, db, request_bytes
                                                                ) -> None:
    errors_before = requests_counted("/webhooks/instantly", "POST", "500")
    reader, writer = await connect_to(hooks)
    writer.write(request_bytes)
    status, _, _ = await read_answer(reader)  # at once: no keep-alive wait
    assert status == 400
    writer.close()
    assert await db.fetchval("webhook_events_count") == 0
    assert requests_counted("/webhooks/instantly", "POST", "500") == errors_before


async def test_a_head_sent_a_byte_at_a_time_is_closed_at_the_keep_alive_timeout(hooks) -> None:
    """Slow-loris: bytes that trickle in do not keep a connection open past the timeout
    (0.5 s here); the head below would take 40 s at this pace."""
    reader, writer = await connect_to(hooks)
    head = _head("Host: x", "X-Padding: " + "p" * 150)
    sent = 0
    async with asyncio.timeout(20):
        for byte in head:
            try:
                writer.write(bytes([byte]))
                await writer.drain()
                sent += 1
                if await asyncio.wait_for(reader.read(1), 0.2) == b"":
                    break  # closed by the server
            except TimeoutError:
                continue  # nothing to read yet: send the next byte
            except ConnectionError:
                break
    assert sent < len(head), "the whole head was accepted"


async def test_half_sent_heads_do_not_lock_out_other_clients(hooks) -> None:
    for _ in range(8):
        _, writer = await connect_to(hooks)
        writer.write(b"P")
        await writer.drain()
    for _ in range(3):
        assert (await hooks.get("/healthz")).status == 200


@pytest.mark.slow
async def test_bytes_behind_a_waiting_delivery_are_not_read_without_bound(make_api, db,
                                                                          dsn) -> None:
    """While a delivery waits for its commit, the server stops reading the bytes that
    follow it on the connection (flow control), instead of buffering them all."""
    client = await make_api(WEBHOOK_SECRET=SECRET, DATABASE_TIMEOUT_SECONDS="30")
    conn = await asyncpg.connect(dsn)
    sent = 0
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE webhook_events IN EXCLUSIVE MODE")
            reader, writer = await connect_to(client)
            writer.write(delivery(event()))
            await writer.drain()

            async def waiting() -> bool:
                return await conn.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted") > 0

            await wait_for(waiting)
            chunk = b"x" * (1 << 20)
            while sent < (96 << 20):
                writer.write(chunk)
                try:
                    await asyncio.wait_for(writer.drain(), 2)
                except TimeoutError:
                    break  # the server stopped reading
                sent += len(chunk)
        assert sent < (48 << 20), f"{sent >> 20} MiB read behind a waiting delivery"
        status, _, body = await read_answer(reader)  # the lock is gone: it commits
        assert (status, json.loads(body)["status"]) == (200, "accepted")
        writer.close()
    finally:
        await conn.close()


@pytest.mark.process
async def test_client_faults_are_not_logged_as_server_errors(dsn) -> None:
    """Under `serve`: a handler reading a body its client abandoned sees the connection
    reset (answered 400, never read); a refused delivery whose unread body does not
    decode as its Content-Encoding says is drained by aiohttp. Neither is a traceback."""
    port = free_port()
    proc = await start_daemon(daemon_env(DATABASE_URL=dsn, WEBHOOK_SECRET=SECRET,
                                         PORT=str(port)))
    try:
        await wait_ready(port, proc)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_head("Host: x", f"X-Webhook-Secret: {SECRET}", "Content-Length: 5000")
                     + b'{"event_type": ')
        await writer.drain()
        writer.close()
        url = f"http://127.0.0.1:{port}/metrics"

        async def counted(status: str) -> bool:
            async with aiohttp.ClientSession() as http, http.get(url) as resp:
                return ('instantly_sync_http_requests_total{method="POST",route='
                        f'"/webhooks/instantly",status="{status}"}} 1.0') in await resp.text()

        await wait_for(lambda: counted("400"))
        assert not await counted("500")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_head("Host: x", "X-Webhook-Secret: wrong", "Content-Encoding: gzip",
                           "Content-Length: 20") + b"this is not gzip ...")
        assert (await read_answer(reader))[0] == 401
        async with asyncio.timeout(20):
            await reader.read()  # aiohttp drains it, fails to decode it and closes
        writer.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"http.unhandled" not in err, err[-2000:]
