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

ROOT = Path(__file__).resolve().parent.parent
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


class Proc:
    """A child process with its pid for psutil."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=full_env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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
                err = proc.popen.stderr.read().decode() if proc.popen.stderr else ""
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


async def run_load(
    request_for: Callable[[int, int], tuple[str, str, dict[str, Any]]],
    *,
    total: int,
    concurrency: int,
    ok: Callable[[int], bool] = lambda s: s == 200,
) -> LoadResult:
    """`total` requests over `concurrency` workers; request_for(worker, i) → (method, url, kw)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def worker(w: int) -> None:
            nonlocal errors
            for i in counter:
                method, url, kw = request_for(w, i)
                t0 = time.perf_counter()
                async with http.request(method, url, **kw) as resp:
                    await resp.read()
                    if not ok(resp.status):
                        errors += 1
                latencies.append((time.perf_counter() - t0) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        seconds = time.perf_counter() - start
    return LoadResult(total, errors, seconds, latencies)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
