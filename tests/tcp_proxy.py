"""A loopback TCP proxy the tests can cut and restore, to simulate an outage.

Real bytes to a real Postgres pass through it; `cut()` drops every open
connection and refuses new ones, `restore()` accepts again. `blackhole()` keeps
every connection open but silently drops every byte in both directions (a
failover without RST); `heal()` forwards again.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        # A host starting with "/" is a Unix socket directory (libpq convention).
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()
        self.blackholed = False

    async def start(self) -> TcpProxy:
        await self._listen(0)
        return self

    async def _listen(self, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.blackholed:
                    continue  # dropped on the floor, nothing tells either side
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            host, port = self.target
            if host.startswith("/"):
                up_reader, up_writer = await asyncio.open_unix_connection(
                    f"{host}/.s.PGSQL.{port}"
                )
            else:
                up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        tasks = [asyncio.ensure_future(self._pipe(reader, up_writer)),
                 asyncio.ensure_future(self._pipe(up_reader, writer))]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)
        self._writers.difference_update((writer, up_writer))

    async def cut(self) -> None:
        """Stop listening and kill every proxied connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    def blackhole(self) -> None:
        self.blackholed = True

    def heal(self) -> None:
        self.blackholed = False

    async def restore(self) -> None:
        await self._listen(self.port)

    async def close(self) -> None:
        await self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def dsn_via_proxy(dsn: str, port: int) -> str:
    """`dsn` pointed at a proxy on 127.0.0.1:`port` (same user, password, database)."""
    parts = urlsplit(dsn)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{port}"
    if parts.password:
        netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, query=""))


def proxy_target(dsn: str) -> tuple[str, int]:
    """Where `dsn` points: host (or Unix socket directory) and port, for the proxy."""
    parts = urlsplit(dsn)
    if parts.hostname:
        return parts.hostname, parts.port or 5432
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    return query["host"], int(query.get("port", 5432))
