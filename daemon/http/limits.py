"""Bounded connections: the service stays reachable when clients hoard sockets.

Three defences, all needed because each alone fails:
- the soft descriptor limit is raised to the hard one at start-up (systemd and
  shells often leave 1,024 soft against a far larger hard limit);
- at most `MAX_CONNECTIONS` connections are held (clamped below the descriptor
  limit, which the pool, log and listening sockets share). A connection over the
  cap evicts the longest-idle keep-alive connection, so a flood of idle sockets
  cannot lock out a new client such as the health probe; if none is idle, the
  new one is closed;
- idle keep-alive connections close after `KEEPALIVE_TIMEOUT_SECONDS`.
Errors the event loop reports without a handler (accept() failing with EMFILE
is one, repeated every time the loop retries) are logged at most once per
interval per message, with how many were suppressed.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from daemon.http.webhook_lane import WebhookLane
from daemon.metrics import CONNECTIONS_SHED

log = structlog.get_logger("daemon")

# Descriptors kept out of the connection budget: the pool, logs, listeners and
# the outgoing HTTP session (64), plus one accept batch (asyncio accepts up to
# `backlog` sockets before evicted ones are closed), so accept() never meets EMFILE.
LISTEN_BACKLOG = 128
RESERVED_DESCRIPTORS = 64 + LISTEN_BACKLOG
LOOP_ERROR_INTERVAL_SECONDS = 10.0


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            log.warning("limits.nofile_not_raised", soft=soft, hard=hard)
    return soft


def connection_cap(configured: int, descriptors: int) -> int:
    """The cap in force: MAX_CONNECTIONS, lowered to what the descriptors allow."""
    allowed = max(descriptors - RESERVED_DESCRIPTORS, 8)
    if configured > allowed:
        log.warning("limits.max_connections_lowered", configured=configured, allowed=allowed,
                    descriptor_limit=descriptors)
        return allowed
    return configured


def _idle(handler: RequestHandler | WebhookLane) -> bool:
    if isinstance(handler, WebhookLane):
        return handler.idle
    # aiohttp's own keep-alive check (no public "is idle" in aiohttp 3.x): the
    # handler waits for the next request.
    waiter = handler._waiter
    return waiter is not None and not waiter.done() and not handler._request_in_progress


class ConnectionCap:
    """Holds a server to `limit` connections, evicting the longest-idle ones first."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self.limit = limit
        self._connections = server._connections  # live and insertion-ordered
        self._admit = server.connection_made
        server.connection_made = self._connection_made

    def _connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        self._admit(handler, transport)
        excess = len(self._connections) - self.limit
        if excess <= 0:
            return
        # Dicts keep insertion order: the first idle ones are the oldest.
        victims = [h for h in self._connections if h is not handler and _idle(h)][:excess]
        for victim in victims:
            victim.force_close()
        if victims:
            CONNECTIONS_SHED.labels("evicted").inc(len(victims))
        if len(victims) < excess:
            handler.force_close()
            CONNECTIONS_SHED.labels("refused").inc()


def throttled_loop_errors(
    interval: float = LOOP_ERROR_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic,
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """An event-loop exception handler that logs each message at most once per interval."""
    last: dict[str, float] = {}
    suppressed: dict[str, int] = {}

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", "event loop error"))
        now = clock()
        if now - last.get(message, -interval) < interval:
            suppressed[message] = suppressed.get(message, 0) + 1
            return
        last[message] = now
        exc = context.get("exception")
        log.error("loop.error", message=message, suppressed_since_last=suppressed.pop(message, 0),
                  error=type(exc).__name__ if exc else None, detail=str(exc) if exc else None)

    return handle
