"""The webhook lane: deliveries answered by a plain protocol in front of aiohttp.

Why: at ingest rates aiohttp's per-request machinery (request and response
objects, router, middleware, stream reader and writer) cost more CPU than
storing the event. On loopback at concurrency 64 a bare aiohttp handler took
about 34 µs of CPU per request, a bare asyncio protocol about 6 µs.

How: every connection starts here. A request in the common form, exactly
`POST /webhooks/instantly` over HTTP/1.1 with one Content-Length of at most
MAX_BODY_BYTES, no Transfer-Encoding, Expect or Upgrade, an accepted secret
and a body that parses as an event, is queued for the writers and answered
here with what the aiohttp route answers (same status, body, X-Request-ID,
metrics). Anything else (another route, an unusual or malformed request, a
refused secret, an invalid body) hands the connection over to aiohttp for
good, with every byte not yet answered: the full stack then answers that
request exactly as it always has. So the lane itself only ever answers 200,
or the store's 503 (or 500) once an event was queued. Requests on one
connection are answered in order, one at a time, as aiohttp does.
"""

from __future__ import annotations

import asyncio
import re
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.web_protocol import RequestHandler

from daemon.http.keys import SERVICES
from daemon.http.middleware import answer_for, count_request, request_id_from
from daemon.http.requests import MAX_BODY_BYTES
from daemon.http.responses import encode, retry_after_value
from daemon.http.webhooks import refusal
from sql import DatabaseUnavailable
from webhooks.events import InvalidEvent, parse_event
from webhooks.health import SECRET_HEADER
from webhooks.store import Receipt

log = structlog.get_logger("daemon.http")

ROUTE = "/webhooks/instantly"
# aiohttp's limit for one header line is 8,190 bytes; a longer head goes to aiohttp.
MAX_HEAD_BYTES = 16 * 1024
# Stop reading from a connection whose unanswered bytes pass this (pipelining).
MAX_BUFFERED_BYTES = MAX_BODY_BYTES + MAX_HEAD_BYTES

_REQUEST_LINE = re.compile(rb"POST /webhooks/instantly(?:\?[!-~]*)? HTTP/1\.1\r\n")
_FIELD = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*\r\n")
_PREFIXES = (b"POST /webhooks/instantly ", b"POST /webhooks/instantly?")
# Requests carrying these are left to aiohttp, which implements them.
_LEFT_TO_AIOHTTP = frozenset({b"transfer-encoding", b"expect", b"upgrade"})
_SECRET = SECRET_HEADER.lower().encode()


def parse_head(head: bytes) -> dict[bytes, bytes] | None:
    """The header fields (lower-case names) of a lane request's head (request line and
    field lines, each ending in CRLF), or None when the lane leaves it to aiohttp:
    another route, anything malformed, a repeated field, or a feature above."""
    line = _REQUEST_LINE.match(head)
    if line is None:
        return None
    fields: dict[bytes, bytes] = {}
    pos = line.end()
    for field in _FIELD.finditer(head, pos):
        if field.start() != pos:
            return None
        pos = field.end()
        name = field.group(1).lower()
        if name in fields or name in _LEFT_TO_AIOHTTP:
            return None
        fields[name] = field.group(2)
    return fields if pos == len(head) else None


def _text(value: bytes | None) -> str | None:
    """A header value as aiohttp hands it to handlers."""
    return None if value is None else value.decode("utf-8", "surrogateescape")


_date_cache: list[Any] = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[:] = [now, formatdate(now, usegmt=True)]
    return _date_cache[1]


def answer_bytes(status: int, body: bytes, request_id: str, *,
                 retry_after: float | None = None, close: bool = False) -> bytes:
    """One complete HTTP/1.1 response with the headers the aiohttp route sends."""
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nDate: {_http_date()}\r\n"
            f"Server: {SERVER_SOFTWARE}\r\nX-Request-ID: {request_id}\r\n")
    if retry_after is not None:
        head += f"Retry-After: {retry_after_value(retry_after)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode("latin-1") + b"\r\n" + body


class WebhookLane(asyncio.Protocol):
    """One connection, while its requests are webhook deliveries."""

    def __init__(self, server: LaneServer) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._busy = False  # a queued event awaits its commit
        self._closing = False  # answer what is in progress, then close
        self._eof = False
        self._handed_off = False
        self._reading_paused = False
        self._writing_paused = False
        self._last_io = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._finished: asyncio.Future[None] | None = None  # for shutdown()
        # The request being received: body start, body end, header fields.
        self._head: tuple[int, int, dict[bytes, bytes]] | None = None

    # -- what aiohttp's Server and ConnectionCap expect of a connection --------------

    @property
    def idle(self) -> bool:
        """Waiting for a request, with nothing of one received."""
        return not self._busy and not self._buffer

    def close(self) -> None:
        """Answer what is in progress, then close (graceful shutdown)."""
        self._closing = True
        if not self._busy and self._transport is not None:
            self._transport.close()

    def force_close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def shutdown(self, timeout: float | None = 15.0) -> None:  # noqa: ASYNC109 (aiohttp's signature)
        self._closing = True
        if self._busy:
            self._finished = self._loop.create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._finished
            except TimeoutError:
                pass
        self.force_close()

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server.connection_made(self, transport)  # type: ignore[arg-type]
        self._last_io = self._loop.time()
        self._arm_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._server._connections.pop(self, None)  # type: ignore[call-overload]
        if self._timer is not None:
            self._timer.cancel()
        self._wake_shutdown()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._last_io = self._loop.time()
        if not self._busy:
            self._advance()

    def eof_received(self) -> bool | None:
        self._eof = True
        if not self._busy and not self._buffer:
            return None  # the transport closes
        if not self._busy:
            self._advance()
        return True  # keep it open to answer what is in progress

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if not self._busy:
            self._advance()

    # -- requests ------------------------------------------------------------------------

    def _advance(self) -> None:
        """Answer or hand over the requests buffered, in order, until one is in progress."""
        try:
            while (not self._busy and not self._handed_off and self._buffer
                   and self._transport is not None and not self._writing_paused):
                if not self._start_request():
                    break
            self._flow_control()
        except Exception:
            log.exception("webhook_lane.failed")
            self.force_close()

    def _read_head(self) -> tuple[int, int, dict[bytes, bytes]] | None:
        """Where the body of the request at the head of the buffer starts and stops, and
        its fields; None while the head is incomplete or once the request was handed over.
        Read once per request (a body arriving in many pieces does not re-parse it), and
        the secret is checked before the lane waits for a byte of the body."""
        buf = self._buffer
        if not buf.startswith(_PREFIXES):
            if not (len(buf) < len(_PREFIXES[0]) and any(p.startswith(buf) for p in _PREFIXES)):
                self._hand_off()  # another route, or nothing like a request line
            return None
        end = buf.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES)
        if end < 0:
            if len(buf) >= MAX_HEAD_BYTES:
                self._hand_off()
            return None
        fields = parse_head(bytes(buf[:end + 2]))
        length = fields.get(b"content-length", b"") if fields is not None else b""
        connection = fields.get(b"connection", b"").lower() if fields is not None else b""
        if (fields is None or not length.isdigit() or len(length) > 9
                or int(length) > MAX_BODY_BYTES
                or connection not in (b"", b"keep-alive", b"close")
                or refusal(self._server.app[SERVICES], _text(fields.get(_SECRET))) is not None):
            self._hand_off()
            return None
        return end + 4, end + 4 + int(length), fields

    def _start_request(self) -> bool:
        """Take the request at the head of the buffer; False when it is still incomplete."""
        if self._head is None:
            self._head = self._read_head()
            if self._head is None:
                return False
        start, stop, fields = self._head
        buf = self._buffer
        if len(buf) < stop:
            return False
        self._head = None
        services = self._server.app[SERVICES]
        try:
            event = parse_event(bytes(buf[start:stop]))
        except InvalidEvent:
            self._hand_off()
            return False
        request_id = request_id_from(_text(fields.get(b"x-request-id")) or "")
        close = fields.get(b"connection", b"").lower() == b"close"
        started = time.perf_counter()
        try:
            future = services.webhook_store.enqueue(event)
        except Exception as exc:  # shutting down: answered now, from the error map
            self._answer_error(exc, request_id, close, started)
            del buf[:stop]
            if close or self._closing:
                self.force_close()
                return False
            return True
        self._busy = True
        future.add_done_callback(
            lambda f: self._committed(f, stop, request_id, close, started))
        return True

    def _committed(self, future: asyncio.Future[Receipt], size: int, request_id: str,
                   close: bool, started: float) -> None:
        self._busy = False
        try:
            if future.cancelled():
                raise DatabaseUnavailable("the receiver stopped before the commit")
            error = future.exception()
            if error is not None:
                self._answer_error(error, request_id, close, started)
            else:
                receipt = future.result()
                body = encode({"status": receipt.status, "event_id": receipt.event_id})
                self._write(answer_bytes(200, body, request_id, close=close or self._closing),
                            200, started)
            del self._buffer[:size]
        except Exception:
            log.exception("webhook_lane.failed")
            self.force_close()
            return
        finally:
            self._wake_shutdown()
        if close or self._closing:
            self.force_close()
        else:
            self._advance()

    def _answer_error(self, exc: BaseException, request_id: str, close: bool,
                      started: float) -> None:
        """The answer the middleware gives for an exception, from the one error map."""
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            error = answer_for(exc)
        self._write(answer_bytes(error.status, encode(error.body()), request_id,
                                 retry_after=error.retry_after, close=close or self._closing),
                    error.status, started)

    def _write(self, data: bytes, status: int, started: float) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
            self._last_io = self._loop.time()
        count_request(ROUTE, "POST", status, time.perf_counter() - started)

    # -- hand-over, flow control, idle connections ---------------------------------------

    def _hand_off(self) -> None:
        """Give this connection, and every byte not yet answered, to aiohttp for good."""
        transport = self._transport
        assert transport is not None
        self._handed_off = True
        self._server._connections.pop(self, None)  # type: ignore[call-overload]
        if self._timer is not None:
            self._timer.cancel()
        if self._reading_paused:
            transport.resume_reading()
        handler = self._server.aiohttp_handler()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self._buffer:
            handler.data_received(bytes(self._buffer))
        self._buffer.clear()
        if self._eof and handler.eof_received() is not True:
            transport.close()
        if self._closing:
            handler.close()

    def _flow_control(self) -> None:
        if self._transport is None or self._handed_off:
            return
        if len(self._buffer) > MAX_BUFFERED_BYTES and not self._reading_paused:
            self._transport.pause_reading()
            self._reading_paused = True
        elif len(self._buffer) <= MAX_BUFFERED_BYTES and self._reading_paused:
            self._transport.resume_reading()
            self._reading_paused = False
        if self._eof and not self._busy:
            self.force_close()  # the client said it is done; nothing more will complete

    def _arm_timer(self) -> None:
        timeout = self._server.keepalive_timeout
        if timeout > 0:
            self._timer = self._loop.call_at(self._last_io + timeout, self._check_idle)

    def _check_idle(self) -> None:
        """Close a connection quiet for KEEPALIVE_TIMEOUT_SECONDS (idle, or a request
        stalled half-sent), as aiohttp closes its idle keep-alive connections."""
        if self._transport is None or self._handed_off:
            return
        if (not self._busy
                and self._loop.time() - self._last_io >= self._server.keepalive_timeout):
            self.force_close()
            return
        if self._busy:
            self._last_io = self._loop.time()
        self._arm_timer()

    def _wake_shutdown(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)


class LaneServer(web.Server):
    """aiohttp's Server, whose connections start in the webhook lane."""

    app: web.Application
    keepalive_timeout: float

    def __call__(self) -> WebhookLane:  # type: ignore[override]
        return WebhookLane(self)

    def aiohttp_handler(self) -> RequestHandler:
        """A connection handler of aiohttp's own, for a connection handed over."""
        return super().__call__()


class LaneAppRunner(web.AppRunner):
    """An AppRunner whose server puts connections in the webhook lane first."""

    def __init__(self, app: web.Application, *, keepalive_timeout: float = 75.0,
                 **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=keepalive_timeout, **kwargs)
        self._keepalive_timeout = keepalive_timeout

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds its Server (Application._make_handler); LaneServer adds
        # behaviour, not state, so the instance is narrowed to it in place.
        server.__class__ = LaneServer
        server.app = self.app  # type: ignore[attr-defined]
        server.keepalive_timeout = self._keepalive_timeout  # type: ignore[attr-defined]
        return server
