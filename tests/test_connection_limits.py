"""Bounded connections: idle sockets cannot lock out new clients or flood the log."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import aiohttp

from daemon.http.limits import RESERVED_DESCRIPTORS, connection_cap, throttled_loop_errors
from tests.processes import daemon_env, free_port, start_daemon, wait_ready

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


async def test_idle_connections_beyond_the_descriptor_limit_do_not_lock_out_a_new_client(
        dsn) -> None:
    port = free_port()
    proc = await start_daemon(daemon_env(DATABASE_URL=dsn, PORT=str(port)),
                              descriptor_limit=DESCRIPTOR_LIMIT)
    idle: list[asyncio.StreamWriter] = []
    try:
        await wait_ready(port, proc)
        # More idle sockets than the daemon has descriptors, in waves so the
        # kernel's accept queue takes them all.
        for _ in range(3):
            idle += await open_idle(port, 150)
        assert len(idle) > DESCRIPTOR_LIMIT
        # A new client (the health probe) is served at once, and again.
        for _ in range(3):
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            metrics = await (await http.get(f"http://127.0.0.1:{port}/metrics")).text()
        assert 'instantly_sync_connections_shed_total{outcome="evicted"}' in metrics
    finally:
        for writer in idle:
            writer.close()
        err = await stop(proc)
    assert proc.returncode == 0
    # The cap was lowered to fit the descriptors, and nothing flooded the log.
    assert b"limits.max_connections_lowered" in err
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


def test_cap_is_lowered_to_fit_the_descriptor_limit() -> None:
    assert connection_cap(1000, 100_000) == 1000
    assert connection_cap(1000, 1024) == 1024 - RESERVED_DESCRIPTORS
    assert connection_cap(1000, 10) == 8


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
