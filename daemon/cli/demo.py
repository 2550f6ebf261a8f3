"""`instantly-sync demo`: a fake Instantly, the daemon and seeded campaigns, in one process.

Embedded Postgres (unless DATABASE_URL), the fake on 127.0.0.1:8081 and the
daemon on 127.0.0.1:8080 (--fake-port and --port to change them) with API token
`demo-token`, on a database of its own that is recreated every run.
Campaigns are seeded through the daemon's own API: three clients in two
workspaces (acme and globex in the default one; initech in a workspace of its
own, with its own key, campaigns and webhook at the fake), linked and unlinked,
some already drifted; then a day of history (webhook events and external calls,
a few refused) so every chart of the console has something to show. Ctrl-C or
SIGTERM stops everything cleanly.

A demo never harms another: it reserves both ports before touching anything,
then takes a lock on the database server that it holds while it runs (its
session's name says its ports); a second demo on the same server refuses with
one line naming them, before it drops anything. The daemon's port answers only
once the data is seeded (seeding goes through a private loopback port), so a
script that waits for /readyz sees every campaign.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import errno
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from daemon.cli.exits import CommandRefused
from daemon.cli.helptext import DATABASE, Subcommands, help_args
from daemon.config import Settings, load_settings
from daemon.http.app import build_app
from daemon.http.keys import SERVICES
from daemon.http.server import PortBusy
from daemon.logs import configure_logging
from daemon.services import resolve_dsn
from instantly.fake import FakeInstantlyServer, FakeState
from sql import connect
from sql.scratch import create_database

TOKEN = "demo-token"
WEBHOOK_SECRET = "demo-webhook-secret"
FAKE_KEY = "fake-key"
# The second workspace: its name, its key at the fake, its webhook's secret, and the
# client that belongs to it. The encryption key is the demo's own (its database is
# recreated every run); a real install makes one with `workspaces new-key`.
WORKSPACE = "initech"
WORKSPACE_KEY = "fake-key-initech"
WORKSPACE_WEBHOOK_SECRET = "demo-webhook-secret-initech"
WORKSPACE_CLIENT = "initech"
DEMO_ENCRYPTION_KEY = "ZGVtby1vbmx5LWtleS1uZXZlci11c2UtaW4tcHJvZCE="
DEMO_DATABASE = "instantly_sync_demo"
# Session advisory lock held by a running demo, in the server's maintenance database.
DEMO_LOCK_KEY = 7_412_009

# (client, name, remote status or None for unlinked, local status to reach)
SEED = [
    ("acme", "Acme — spring launch", 2, "draft"),
    ("acme", "Acme — re-engagement", 1, "active"),
    ("acme", "Acme — webinar invite", 2, "paused"),
    ("acme", "Acme — partner outreach", None, "draft"),
    ("acme", "Acme — churn save", 1, "paused"),          # drift: local pause only
    ("acme", "Acme — holiday promo", 3, "active"),        # drift: remote completed
    ("acme", "Acme — local draft", None, "active"),
    ("globex", "Globex — enterprise ABM", 2, "draft"),
    ("globex", "Globex — SMB trial follow-up", 1, "active"),
    ("globex", "Globex — product update", 2, "paused"),
    ("globex", "Globex — event follow-up", -1, "active"),  # drift: remote unhealthy
    ("globex", "Globex — cold list A", 2, "draft"),
    ("globex", "Globex — newsletter", None, "paused"),
    ("initech", "Initech — Q3 pipeline", 2, "draft"),
    ("initech", "Initech — upsell", 1, "active"),
    ("initech", "Initech — referral ask", 2, "active"),   # drift: status mismatch
    ("initech", "Initech — case study", 2, "paused"),
    ("initech", "Initech — old sequence", 2, "paused"),   # drift: deleted remotely
    ("initech", "Initech — internal test", None, "draft"),
    ("initech", "Initech — cold list B", 2, "draft"),
]


def _remote(fake: FakeInstantlyServer, client_id: str) -> FakeState:
    """The fake workspace a client's remote campaigns live in."""
    return fake.workspaces[WORKSPACE_KEY].state if client_id == WORKSPACE_CLIENT else fake.state


async def _second_workspace(http: aiohttp.ClientSession, fake: FakeInstantlyServer,
                            public_base: str) -> None:
    """The initech workspace: at the fake (its own key and data), then in the daemon."""
    if WORKSPACE_KEY not in fake.workspaces:
        fake.add_workspace(WORKSPACE_KEY)
    answer = await http.post("/workspaces", json={
        "name": WORKSPACE, "api_key": WORKSPACE_KEY,
        "webhook_secret": WORKSPACE_WEBHOOK_SECRET,
        "webhook_public_url": f"{public_base}/webhooks/instantly/{WORKSPACE}"})
    answer.raise_for_status()
    answer = await http.post(f"/workspaces/{WORKSPACE}/clients",
                             json={"client_id": WORKSPACE_CLIENT})
    answer.raise_for_status()


async def seed(base: str, fake: FakeInstantlyServer, public_base: str | None = None
               ) -> dict[str, str]:
    """Create the workspace and the campaigns through the API; returns name → local id.
    `public_base`: where the webhooks post (default: `base`)."""
    ids: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base, headers=headers) as http:
        await _second_workspace(http, fake, public_base or base)
        for client_id, name, remote, local in SEED:
            body: dict[str, object] = {"client_id": client_id, "name": name,
                                       "email_subject": f"{name.split(' — ')[1].title()}"}
            ext = None
            state = _remote(fake, client_id)
            if remote is not None:
                # Start remote paused so that activations sync; drift comes after.
                ext = state.add_campaign(name=name, status=2)["id"]
                body["external_id"] = ext
            created = await (await http.post("/campaigns", json=body)).json()
            ids[name] = created["id"]
            if local != "draft":
                await http.put(f"/campaigns/{created['id']}/status", json={"status": "active"})
            if local == "paused":
                await http.put(f"/campaigns/{created['id']}/status", json={"status": "paused"})
            if ext is not None:
                state.set_status(ext, remote)
            if name == "Initech — old sequence" and ext:
                state.delete_campaign(ext)
        await http.post("/reconcile?wait=true")
    return ids


# A day of history: webhook events and external calls made through the real paths
# (the receiver, the toggle path against the fake), then spread over the last day.
HISTORY_HOURS = 24
HISTORY_EVENTS = 480
HISTORY_ACTIVATIONS = 36
EVENT_MIX = ("email_sent",) * 6 + ("email_opened",) * 3 + ("reply_received", "email_bounced",
                                                             "link_clicked")
ACTIVE_LINKED = ("Acme — re-engagement", "Globex — SMB trial follow-up", "Initech — upsell")


async def seed_history(base: str, fake: FakeInstantlyServer, ids: dict[str, str],
                        dsn: str, flush_calls: Callable[[], Awaitable[None]]) -> None:
    """Events for every linked campaign, and activations of campaigns that end active
    (paused here and remotely in between, so each is a real call; a few answered with
    an error by the fake, so the success rate is not a flat 100 %)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base, headers=headers) as http:
        linked = [c for c in (await (await http.get("/campaigns?limit=100")).json())["items"]
                  if c["external_id"]]
        for i in range(HISTORY_EVENTS):
            campaign = linked[(i * 7) % len(linked)]
            event = {"event_type": EVENT_MIX[i % len(EVENT_MIX)], "timestamp": _now_iso(),
                     "campaign_id": campaign["external_id"], "campaign_name": campaign["name"],
                     "lead_email": f"lead{i % 97}@example.com", "email_id": str(uuid.uuid4())}
            if campaign["workspace"] == WORKSPACE:  # its own endpoint and secret
                await http.post(f"/webhooks/instantly/{WORKSPACE}", json=event,
                                headers={"X-Webhook-Secret": WORKSPACE_WEBHOOK_SECRET})
            else:
                await http.post("/webhooks/instantly", json=event,
                                headers={"X-Webhook-Secret": WEBHOOK_SECRET})
        for i in range(HISTORY_ACTIVATIONS):
            campaign_id = ids[ACTIVE_LINKED[i % len(ACTIVE_LINKED)]]
            campaign = await (await http.get(f"/campaigns/{campaign_id}")).json()
            state = _remote(fake, campaign["client_id"])
            await http.put(f"/campaigns/{campaign_id}/status", json={"status": "paused"})
            state.set_status(campaign["external_id"], 2)
            if i % 9 == 4:  # refused by the external service: local status stays paused
                state.add_fault(status=400, path=f"{campaign['external_id']}/activate")
                await http.put(f"/campaigns/{campaign_id}/status", json={"status": "active"})
            await http.put(f"/campaigns/{campaign_id}/status", json={"status": "active"})
    await flush_calls()  # the calls' log is written once a second; all of it first
    db = await connect(dsn, min_size=1, max_size=1)
    try:
        await db.execute("demo_spread_history", HISTORY_HOURS)
    finally:
        await db.close()


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _what_to_try(base: str, ids: dict[str, str], fake_url: str, dsn: str) -> str:
    linked = ids["Acme — spring launch"]
    other = ids["Globex — enterprise ABM"]
    unlinked = ids["Acme — partner outreach"]
    auth = f'-H "Authorization: Bearer {TOKEN}"'
    return f"""
instantly-sync demo is running.
  daemon         {base}   (API token: {TOKEN})
  ops console    {base}/ui/   (sign in with: {TOKEN})
  fake Instantly {fake_url}   (keys: {FAKE_KEY}; workspace {WORKSPACE}: {WORKSPACE_KEY})
  workspaces     default (clients acme, globex) and {WORKSPACE} (client {WORKSPACE_CLIENT})
  database       DATABASE_URL='{dsn}'
                 (other commands reach the demo's data with it, e.g. instantly-sync drift)

Try:
  curl -s {auth} '{base}/campaigns?client_id=acme'
  curl -s {auth} {base}/workspaces
  curl -s {auth} '{base}/drift?workspace={WORKSPACE}'
  curl -s -X POST {auth} {base}/campaigns/{linked}/toggle
  curl -s -X PUT {auth} -H 'Content-Type: application/json' -d '{{"status": "active"}}' {base}/campaigns/{other}/status
  curl -s -X POST {auth} -H 'Content-Type: application/json' -d '{{"campaign_ids": ["{linked}", "{unlinked}"], "status": "paused"}}' {base}/campaigns/status
  curl -s {auth} {base}/campaigns/{linked}/history
  curl -s -X POST {auth} '{base}/reconcile?wait=true'
  curl -s {auth} {base}/drift
  curl -s {auth} '{base}/drift?format=csv'
  curl -s -X POST -H 'Content-Type: application/json' -d '{{"event_type": "email_opened", "campaign_id": "'$(curl -s {auth} {base}/campaigns/{linked} | python3 -c 'import json,sys; print(json.load(sys.stdin)["external_id"])')'"}}' {fake_url}/_fake/webhooks/emit
  curl -s {auth} {base}/campaigns/{linked}
  curl -s {base}/readyz
  curl -s {base}/metrics | grep instantly_sync_
Ctrl-C stops the daemon, the fake and the database.
"""  # noqa: E501


def demo_settings(port: int, fake_port: int, *, notify_url: str | None = None) -> Settings:
    """The demo's own configuration (its token, secret and fake), on the database the
    environment names (embedded by default). Also used by `make screenshots`."""
    base = f"http://127.0.0.1:{port}"
    return load_settings({
        "NOTIFY_URLS": notify_url or "",
        "CONSOLE_PUBLIC_URL": base if notify_url else "",
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "DATA_DIR": os.environ.get("DATA_DIR", ""),
        "INSTANTLY_BASE_URL": f"http://127.0.0.1:{fake_port}",
        "INSTANTLY_API_KEY": FAKE_KEY,
        "API_TOKENS": TOKEN,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_PUBLIC_URL": f"{base}/webhooks/instantly",
        "WORKSPACE_KEYS": DEMO_ENCRYPTION_KEY,
        "PORT": str(port),
        "RECONCILE_INTERVAL_SECONDS": "60",
        "INSTANTLY_MAX_RPS": "50",
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning"),
    })


async def register_webhook(fake: FakeInstantlyServer, base: str) -> None:
    """Register the daemon's receivers at the fake, each workspace's with its own key,
    URL and secret, as `webhooks register` would."""
    if WORKSPACE_KEY not in fake.workspaces:
        fake.add_workspace(WORKSPACE_KEY)
    async with aiohttp.ClientSession() as http:
        for key, path, secret in (
                (FAKE_KEY, "/webhooks/instantly", WEBHOOK_SECRET),
                (WORKSPACE_KEY, f"/webhooks/instantly/{WORKSPACE}", WORKSPACE_WEBHOOK_SECRET)):
            await http.post(f"{fake.url}/api/v2/webhooks",
                            headers={"Authorization": f"Bearer {key}"},
                            json={"target_hook_url": f"{base}{path}",
                                  "event_type": "all_events",
                                  "headers": {"X-Webhook-Secret": secret}})


async def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    """The demo configures itself (its own token, secret and fake), not from `settings`."""
    return await run_demo(port=args.port, fake_port=args.fake_port,
                          notify_echo=args.notify_echo)


@asynccontextmanager
async def echo_receiver() -> AsyncIterator[str]:
    """A notification receiver on loopback that prints every message it gets; yields the
    apprise URL (json://) that posts to it."""
    async def received(request: web.Request) -> web.Response:
        message = await request.json()
        print(f"\nnotification received: {message.get('title')}\n  "
              + str(message.get("message", "")).replace("\n", "\n  "), flush=True)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", received)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"json://127.0.0.1:{runner.addresses[0][1]}/notify"
    finally:
        await runner.cleanup()


class DemoRunning(CommandRefused):
    """Another demo holds the demo database on this server; the message names it."""


def _reserve(port: int, setting: str) -> socket.socket:
    """A socket bound to 127.0.0.1:port, not yet listening (connections are refused
    until the site starts on it), or `PortBusy` naming the setting."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortBusy("127.0.0.1", port, setting) from None
        raise
    return sock


@asynccontextmanager
async def _demo_lock(server_dsn: str, *, port: int, fake_port: int) -> AsyncIterator[None]:
    """Hold the demo's lock on the server for the demo's life, or `DemoRunning`."""
    me = f"instantly-sync demo on ports {port} and {fake_port}"
    db = await connect(server_dsn, min_size=1, max_size=1,
                       server_settings={"application_name": me})
    try:
        async with db.connection() as conn:
            if not await conn.fetchval("try_advisory_lock", DEMO_LOCK_KEY):
                holder = await conn.fetchval("advisory_lock_holder", DEMO_LOCK_KEY)
                raise DemoRunning(
                    f"another demo is running on this database server"
                    f" ({holder or 'its ports unknown'}); stop it first (Ctrl-C), or give"
                    " this one a server of its own with DATA_DIR or DATABASE_URL")
            try:
                yield
            finally:
                await conn.execute("advisory_unlock", DEMO_LOCK_KEY)
    finally:
        await db.close()


async def run_demo(*, port: int = 8080, fake_port: int = 8081, notify_echo: bool = False
                   ) -> int:
    """Fresh data every run: the database `instantly_sync_demo` is recreated on the
    configured server (embedded by default) and the fake starts empty, so every
    printed command answers as printed, however often the demo is run."""
    base = f"http://127.0.0.1:{port}"
    daemon_sock = _reserve(port, "--port")
    try:
        fake_sock = _reserve(fake_port, "--fake-port")
    except PortBusy:
        daemon_sock.close()
        raise
    try:
        async with contextlib.AsyncExitStack() as stack:
            notify_url = await stack.enter_async_context(echo_receiver()) if notify_echo else None
            settings = demo_settings(port, fake_port, notify_url=notify_url)
            configure_logging(fmt=settings.log_format, level=settings.log_level)
            server_dsn = resolve_dsn(settings)
            async with _demo_lock(server_dsn, port=port, fake_port=fake_port):
                dsn = await create_database(server_dsn, DEMO_DATABASE)  # dropped if it exists
                if notify_url:
                    print(f"notifications go to {notify_url}: each one is printed here",
                          flush=True)
                return await _serve(settings, dsn, base, daemon_sock, fake_sock)
    finally:
        daemon_sock.close()
        fake_sock.close()


async def _serve(settings: Settings, dsn: str, base: str, daemon_sock: socket.socket,
                 fake_sock: socket.socket) -> int:
    fake = FakeInstantlyServer(api_key=FAKE_KEY, sock=fake_sock)
    await fake.start()
    app = build_app(settings, dsn=dsn)
    runner = web.AppRunner(app, access_log=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = False
    try:
        await runner.setup()
        # Seeded through a private loopback port; the public one listens afterwards.
        private = web.TCPSite(runner, "127.0.0.1", 0)
        await private.start()
        private_base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        await register_webhook(fake, base)  # before the first pass, which checks them
        ids = await seed(private_base, fake, base)
        print(f"seeding a day of history ({HISTORY_EVENTS} events, {HISTORY_ACTIVATIONS}"
              " activations; the few refused ones are logged)", flush=True)
        await seed_history(private_base, fake, ids, dsn, app[SERVICES].calls.flush)
        fake.state.add_campaign(name="Unlinked remote campaign", status=1)
        await web.SockSite(runner, daemon_sock).start()
        await private.stop()
        started = True
        print(_what_to_try(base, ids, fake.url, dsn), flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
        await fake.close()
        if started:
            print("demo stopped", flush=True)
    return 0


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "demo", help="embedded Postgres + fake + daemon with seeded campaigns",
        description="Start a fake external API, the daemon and 20 seeded campaigns, and"
                    " print commands to try. Every run starts from fresh data (database"
                    f" {DEMO_DATABASE!r}, recreated). Ctrl-C stops everything.",
        **help_args(*DATABASE, "LOG_FORMAT", "LOG_LEVEL",
                    example="instantly-sync demo --port 9080 --fake-port 9081"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8080),
                        help="port of the daemon (default: PORT or 8080)")
    parser.add_argument("--fake-port", type=int, default=8081,
                        help="port of the fake external API (default: 8081)")
    parser.add_argument("--notify-echo", action="store_true",
                        help="send notifications to a receiver the demo starts, which prints"
                             " each message it gets (docs/notifications.md)")
    parser.set_defaults(func=demo_command)
