"""Descriptors and loop errors: the service stays reachable when clients hoard sockets.

Public means only (docs/architecture.md, "Connections"):
- the soft descriptor limit is raised to the hard one at start-up (systemd and
  shells often leave 1,024 soft against a far larger hard limit);
- aiohttp closes a connection that has not completed a request within
  KEEPALIVE_TIMEOUT_SECONDS of opening, or that stays idle that long after one;
- errors the event loop reports without a handler (accept() failing with
  EMFILE is one, repeated every time the loop retries) are logged at most once
  per interval per message, with how many were suppressed.
How many connections a deployment admits is the proxy's job in front of it
(docs/operations.md: `maxconn`, systemd `LimitNOFILE`).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("daemon")

LISTEN_BACKLOG = 128
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
