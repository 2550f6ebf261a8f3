"""Processes, a Postgres database and a load generator for the benchmarks.

Every server under test runs in its own process; the load generator runs in
the orchestrating process, so client cost never lands in a server's figures.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from sql import connect
from sql.migrate import migrate
from sql.scratch import create_database

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "isync_bench"
API_KEY = "fake-key"
TOKEN = "bench-token"
WEBHOOK_SECRET = "bench-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_dsn() -> str:
    """DATABASE_URL, else the machine's Postgres on 5432, else an embedded one."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    except OSError:
        from daemon.embedded_db import start_embedded

        return start_embedded(ROOT / ".instantly-sync" / "bench")


LOGS = ROOT / "bench" / "results"  # git-ignored


class Proc:
    """A child process with its pid for psutil."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        # Logs go to a file: a pipe nobody reads fills up and blocks the process.
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = LOGS / f"{Path(args[-1] if args[0] != '-m' else args[1]).name}.log"
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env=full_env,
                stdout=subprocess.DEVNULL, stderr=log,
            )
        self.ps = psutil.Process(self.popen.pid)
        self.started = time.perf_counter()

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return self.ps.memory_info().rss / 2**20

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


async def wait_http(url: str, *, proc: Proc, within: float = 60) -> float:
    """Poll until `url` answers 200; returns seconds since the process started."""
    deadline = time.perf_counter() + within
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.popen.poll() is not None:
                err = proc.log.read_text(errors="replace")
                raise RuntimeError(f"process exited: {err[-2000:]}")
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - proc.started
            except aiohttp.ClientError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{url} not ready")
            await asyncio.sleep(0.01)


def start_fake(port: int) -> Proc:
    return Proc(["-m", "daemon", "fake-instantly", "--port", str(port),
                 "--rate-limit", "10000000"], env={"INSTANTLY_API_KEY": API_KEY})


def start_daemon(*, dsn: str, port: int, fake_url: str, **extra: str) -> Proc:
    env = {"DATABASE_URL": dsn, "PORT": str(port), "INSTANTLY_BASE_URL": fake_url,
           "INSTANTLY_API_KEY": API_KEY, "API_TOKENS": TOKEN, "WEBHOOK_SECRET": WEBHOOK_SECRET,
           "RECONCILE_INTERVAL_SECONDS": "0", "INSTANTLY_MAX_RPS": "10000",
           "INSTANTLY_MAX_RPM": "1000000",
           "LOG_LEVEL": "warning", "LOG_FORMAT": "json", **extra}
    return Proc(["-m", "daemon", "serve"], env=env)


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors,
                "seconds": round(self.seconds, 3), "rps": round(self.rps, 1),
                "p50_ms": round(self.pct(0.50), 2), "p99_ms": round(self.pct(0.99), 2)}


async def _connection_worker(
    host: str, port: int, jobs: Any, make: Callable[[int], bytes],
    ok: Callable[[int], bool], latencies: list[float], errors: list[int],
) -> None:
    """One keep-alive HTTP/1.1 connection: send, read the whole answer, repeat."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for i in jobs:
            raw = make(i)
            t0 = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1000)
            if not ok(status):
                errors.append(status)
    finally:
        writer.close()


def http_request(method: str, url: str, *, headers: dict[str, str] | None = None,
                 body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive)."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    lines = [f"{method} /{path} HTTP/1.1", f"Host: {hostport}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run_load(
    make: Callable[[int], bytes],
    *,
    target: str,
    total: int,
    concurrency: int,
    ok: Callable[[int], bool] = lambda s: s == 200,
) -> LoadResult:
    """`total` requests over `concurrency` keep-alive connections to `target` (host:port).

    A deliberately minimal client (raw asyncio streams): an aiohttp client
    costs several times more CPU per request, and on two cores that cost
    would be measured instead of the servers.
    """
    host, port = target.rsplit(":", 1)
    latencies: list[float] = []
    errors: list[int] = []
    jobs = iter(range(total))
    start = time.perf_counter()
    await asyncio.gather(*(
        _connection_worker(host, int(port), jobs, make, ok, latencies, errors)
        for _ in range(concurrency)
    ))
    return LoadResult(total, len(errors), time.perf_counter() - start, latencies)


def cpu_snapshot(server: Proc, **others: Proc) -> dict[str, float]:
    """CPU seconds so far of the server, all Postgres processes, this load generator
    and any `others` (by their keyword)."""
    def total(p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    postgres = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            try:
                postgres += total(proc)
            except psutil.Error:
                pass
    return {"server": server.cpu_seconds(), "postgres": postgres,
            "load_generator": total(psutil.Process()),
            **{name: proc.cpu_seconds() for name, proc in others.items()}}


def cpu_per_1000(before: dict[str, float], after: dict[str, float], requests: int
                 ) -> dict[str, float]:
    """CPU milliseconds per 1,000 requests, by process group."""
    return {k: round((after[k] - before[k]) * 1e6 / requests, 1) for k in before}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


async def seed_fake(fake_url: str, campaigns: list[dict[str, Any]], *,
                    workspace: str | None = None) -> None:
    """Create `campaigns` (id, name, status) at the fake (in the workspace of that key)."""
    params = {"workspace": workspace} if workspace else None
    async with aiohttp.ClientSession() as http:
        for i in range(0, len(campaigns), 5000):
            async with http.post(f"{fake_url}/_fake/campaigns", params=params,
                                 json={"campaigns": campaigns[i:i + 5000]}) as resp:
                assert resp.status == 200, await resp.text()


async def fresh_database(server: str, name: str = BENCH_DB) -> str:
    """A new, migrated database `name` on `server`."""
    dsn = await create_database(server, name)
    db = await connect(dsn, min_size=1, max_size=1)
    try:
        await migrate(db)
    finally:
        await db.close()
    return dsn


async def seed_linked(dsn: str, rows: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """Local campaigns (name, external id, status) linked to remote ones: (id, external id)."""
    db = await connect(dsn, min_size=1, max_size=1)
    try:
        made = await db.fetch("bench_seed_linked", [r[0] for r in rows], [r[1] for r in rows],
                              [r[2] for r in rows])
    finally:
        await db.close()
    return [(str(r["id"]), r["external_id"]) for r in made]
