"""`serve`: run the app until SIGTERM/SIGINT, then shut down gracefully, in bounded time.

On a signal the listener closes, in-flight requests get up to
SHUTDOWN_GRACE_SECONDS to finish, then cleanup contexts run in reverse
(scheduler, background passes, webhook writers, HTTP session, pool). The whole
shutdown is bounded by the grace plus 4 s whatever INSTANTLY_TIMEOUT_SECONDS
is: an external call still running then is abandoned, its toggle lease left
for the reconciler to settle (as after a crash), and the process exits 0.
"""

from __future__ import annotations

import asyncio
import errno
import signal

import structlog
from aiohttp import web

from daemon.config import Settings
from daemon.http.app import build_app
from daemon.http.limits import LISTEN_BACKLOG, raise_descriptor_limit, throttled_loop_errors
from daemon.loop import loop_name

log = structlog.get_logger("daemon")

# Beyond the grace: time for the cleanup contexts (close the pool, the session).
CLEANUP_SECONDS = 4.0


class PortBusy(Exception):
    """The address to listen on is taken; the message names it and the setting to change."""

    def __init__(self, host: str, port: int, setting: str) -> None:
        super().__init__(f"{host}:{port} is already in use; choose another with {setting}")


async def start_site(runner: web.AppRunner, host: str, port: int, *, setting: str) -> None:
    """Listen on host:port, or `PortBusy` naming `setting` (PORT, --port, ...)."""
    try:
        await web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG).start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortBusy(host, port, setting) from None
        raise


async def serve(settings: Settings) -> int:
    grace = settings.shutdown_grace_seconds
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(throttled_loop_errors())
    descriptors = raise_descriptor_limit()
    runner = web.AppRunner(
        build_app(settings), access_log=None, handle_signals=False, shutdown_timeout=grace,
        keepalive_timeout=settings.keepalive_timeout_seconds,
    )
    await runner.setup()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await start_site(runner, settings.host, settings.port, setting="PORT (or HOST)")
        log.info("http.listening", host=settings.host, port=settings.port,
                 authenticated=bool(settings.api_tokens), descriptor_limit=descriptors,
                 event_loop=loop_name())
        await stop.wait()
        log.info("http.stopping", grace_seconds=grace)
    finally:
        try:
            async with asyncio.timeout(grace + CLEANUP_SECONDS):
                await runner.cleanup()
            log.info("http.stopped")
        except TimeoutError:
            # Still-running work is cancelled when the loop closes; a toggle's lease
            # stays for the reconciler, exactly as after a crash.
            log.warning("http.stop_forced", after_seconds=grace + CLEANUP_SECONDS)
    return 0
