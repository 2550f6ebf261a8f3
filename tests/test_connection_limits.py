"""Hoarded sockets: idle ones are closed at the keep-alive timeout, so they cannot lock
out new clients for long, and running out of descriptors does not flood the log."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import aiohttp
import pytest

from daemon.http.limits import throttled_loop_errors
from tests.factories import wait_for
from tests.processes import daemon_env, free_port, start_daemon, wait_ready

pytestmark = pytest.mark.process

DESCRIPTOR_LIMIT = 256


async def open_idle(port: int, count: int) -> list[asyncio.StreamWriter]:
    """`count` connections that never send a byte (those the kernel will not queue fail)."""

    async def one() -> asyncio.StreamWriter:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        return writer

    opened = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    return [w for w in opened if isinstance(w, asyncio.StreamWriter)]


async def stop(proc: asyncio.subprocess.Process) -> bytes:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    return err


async def test_idle_connections_beyond_the_descriptor_limit_lock_out_no_one_for_long(
        dsn) -> None:
    port = free_port()
    proc = await start_daemon(daemon_env(DATABASE_URL=dsn, PORT=str(port),
                                         KEEPALIVE_TIMEOUT_SECONDS="1"),
                              descriptor_limit=DESCRIPTOR_LIMIT)
    idle: list[asyncio.StreamWriter] = []
    try:
        await wait_ready(port, proc)
        # More idle sockets than the daemon has descriptors, in waves so the
        # kernel's accept queue takes them all.
        for _ in range(2):
            idle += await open_idle(port, 150)
        assert len(idle) > DESCRIPTOR_LIMIT

        # A new client (the health probe) is served once the idle ones have timed out.
        async def healthy() -> bool:
            try:
                async with aiohttp.ClientSession(
                        timeout=aiohttp.ClientTimeout(total=2)) as http, \
                        http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    return resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        await wait_for(healthy, within=20)
    finally:
        for writer in idle:
            writer.close()
        err = await stop(proc)
    assert proc.returncode == 0
    # accept() failed with EMFILE on every retry meanwhile; the log says so once per
    # interval, not per failure.
    assert len(err) < 20_000, err[-2000:]


async def test_idle_keep_alive_connection_is_closed_after_the_timeout(dsn) -> None:
    port = free_port()
    proc = await start_daemon(daemon_env(DATABASE_URL=dsn, PORT=str(port),
                                         KEEPALIVE_TIMEOUT_SECONDS="0.5"))
    try:
        await wait_ready(port, proc)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
        # Then silence: the server closes the connection (EOF), well before this deadline.
        async with asyncio.timeout(10):
            while await reader.read(65536):
                pass
        writer.close()
    finally:
        await stop(proc)


def test_loop_errors_are_logged_once_per_interval_with_the_suppressed_count(capsys) -> None:
    now = [0.0]
    handle = throttled_loop_errors(interval=10, clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        for _ in range(1000):
            handle(loop, {"message": "socket.accept() out of system resource",
                          "exception": OSError(24, "Too many open files")})
        now[0] = 10.5
        handle(loop, {"message": "socket.accept() out of system resource"})
    finally:
        loop.close()
    lines = [line for line in capsys.readouterr().err.splitlines() if "loop.error" in line]
    assert len(lines) == 2
    assert "999" in lines[1]
