"""Notifications: tell ops where they already are (Slack, Teams, e-mail, ntfy…).

Each message is written to the outbox table `notifications` by the statement or
transaction that changes the state it reports (a pass's new drift, a finding's age,
a webhook's state, a run of failed passes, the calls' success rate, the daily
digest), so a message exists exactly when its cause committed, once per change:
watched states live in `notification_state` and a message goes out when one
changes (`notify_on_change`), never while it stays.

A sender (`Notifier.send_due`, a loop in `serve`) leases due messages with
`FOR UPDATE SKIP LOCKED`, so among replicas one sends each, and delivers each to
every NOTIFY_URLS target through apprise, each delivery within
NOTIFY_TIMEOUT_SECONDS. A target that misses it is tried again later with a
growing pause (the others are not sent twice); a notification service that is
down loses nothing: its messages go out when it is back (one still undelivered
after 31 days, the outbox's retention, is given up and logged). Nothing
here ever runs inside a pass or a request: they only write a row.

Words are chosen when a message is sent (NOTIFY_LANGUAGE, `daemon/messages.py`),
link to the console when CONSOLE_PUBLIC_URL is set, and never name the vendor. A
URL is shown only with its secrets masked (apprise's privacy form); apprise's own
log lines, which may carry a URL, are not passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import structlog
from prometheus_client import Gauge
from pydantic import SecretStr

from daemon.config import Settings
from daemon.messages import KIND_WORDS, NOTIFY_TEXT
from sql import Database, DatabaseUnavailable

log = structlog.get_logger("daemon.notify")

PENDING = Gauge(
    "instantly_sync_notifications_pending",
    "Notifications not yet delivered to every target (every replica's), and how old the"
    " oldest is in seconds (measure=oldest_seconds)", ["measure"])

SEND_EVERY_SECONDS = 1.0
BATCH = 20
GIVE_UP_HOURS = 31 * 24  # as long as anything is kept (the outbox is pruned after 31 days)
MAX_RETRY_SECONDS = 600.0
NAMES_SHOWN = 3  # campaign names a drift message lists before "and more"


class Kind(StrEnum):
    """What a message reports (the outbox's `kind`)."""

    DRIFT_NEW = "drift_new"
    DRIFT_OLD = "drift_old"
    WEBHOOK_DOWN = "webhook_down"
    WEBHOOK_RESUMED = "webhook_resumed"
    BACKFILL = "backfill"
    BACKFILL_FAILED = "backfill_failed"
    PASSES_FAILING = "passes_failing"
    PASSES_RECOVERED = "passes_recovered"
    SUCCESS_LOW = "success_low"
    SUCCESS_RECOVERED = "success_recovered"
    DIGEST = "digest"
    TEST = "test"


# The console page each kind links to (with CONSOLE_PUBLIC_URL).
LINKS = {
    Kind.DRIFT_NEW: "/ui/drift", Kind.DRIFT_OLD: "/ui/drift",
    Kind.WEBHOOK_DOWN: "/ui/health", Kind.WEBHOOK_RESUMED: "/ui/health",
    Kind.BACKFILL: "/ui/health", Kind.BACKFILL_FAILED: "/ui/health",
    Kind.PASSES_FAILING: "/ui/runs", Kind.PASSES_RECOVERED: "/ui/runs",
    Kind.SUCCESS_LOW: "/ui/health", Kind.SUCCESS_RECOVERED: "/ui/health",
    Kind.DIGEST: "/ui/", Kind.TEST: "/ui/",
}


@dataclass(frozen=True)
class Target:
    """One of NOTIFY_URLS: `key` fingerprints it, `shown` is it with secrets masked."""

    key: str
    shown: str
    url: SecretStr


def targets(settings: Settings) -> list[Target]:
    """NOTIFY_URLS as targets (apprise is imported only when there are some)."""
    if not settings.notify_urls:
        return []
    import apprise

    # apprise logs requests and failures with their URLs: not passed on (ours name
    # the masked URL instead).
    logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)
    found = []
    for url in settings.notify_urls:
        plugin = apprise.Apprise.instantiate(url.get_secret_value())
        shown = plugin.url(privacy=True) if plugin is not None else "unusable URL"
        key = hashlib.sha256(url.get_secret_value().encode()).hexdigest()[:16]
        found.append(Target(key, shown, url))
    return found


async def deliver(target: Target, title: str, body: str, *, deadline: float) -> str | None:
    """Send one message to one target within `deadline` seconds: None when it was
    delivered, else why not."""
    import apprise

    sender = apprise.Apprise()
    if not sender.add(target.url.get_secret_value()):
        return "not a notification URL apprise knows"
    try:
        async with asyncio.timeout(deadline):
            delivered = await sender.async_notify(body=body, title=title)
    except TimeoutError:
        return f"no answer within {deadline:g} s"
    return None if delivered else "not delivered (the service refused or was unreachable)"


async def send_test(settings: Settings) -> list[tuple[Target, str | None]]:
    """A test message to every target now, outside the outbox (`notify test`): each
    target with None when it was delivered, else why not."""
    title, body = render(Kind.TEST, {}, lang=settings.notify_language,
                         console_url=settings.console_public_url)
    return [(t, await deliver(t, title, body, deadline=settings.notify_timeout_seconds))
            for t in targets(settings)]


def _words(lang: str, key: str, **fields: Any) -> str:
    english, dutch = NOTIFY_TEXT[key]
    return (dutch if lang == "nl" else english).format(**fields)


def _kinds(lang: str, kinds: dict[str, int]) -> str:
    index = 1 if lang == "nl" else 0
    return ", ".join(f"{KIND_WORDS.get(k, (k, k))[index]} {n}" for k, n in sorted(kinds.items()))


def render(kind: str, facts: dict[str, Any], *, lang: str, console_url: str | None
           ) -> tuple[str, str]:
    """A message's title and body in `lang`, with a link to the console when known."""
    k = Kind(kind)
    if k is Kind.DIGEST:
        title, body = _words(lang, "digest.title", day=facts["day"]), _digest(lang, facts)
    else:
        shown = dict(facts)
        if "kinds" in facts:
            shown["kinds"] = _kinds(lang, facts["kinds"])
        if f"state.{facts.get('state')}" in NOTIFY_TEXT:
            shown["state"] = _words(lang, f"state.{facts['state']}")
        title = _words(lang, f"{kind}.title", **shown)
        body = _words(lang, f"{kind}.body", **shown)
        names = facts.get("names") or []
        if names:
            listed = ", ".join(names[:NAMES_SHOWN])
            if facts.get("total", 0) > NAMES_SHOWN:
                listed = _words(lang, "more", names=listed)
            body += f" ({listed})"
    if console_url:
        body += "\n" + _words(lang, "link", url=console_url + _link(k, facts))
    return title, body


def _link(kind: Kind, facts: dict[str, Any]) -> str:
    path = LINKS[kind]
    if kind in (Kind.DRIFT_NEW, Kind.DRIFT_OLD) and len(facts.get("kinds") or {}) == 1:
        return f"{path}?kind={quote(next(iter(facts['kinds'])))}"  # the filtered page
    return path


def _digest(lang: str, facts: dict[str, Any]) -> str:
    index = 1 if lang == "nl" else 0
    lines = []
    drift = facts.get("drift") or {}
    if drift:
        items = "; ".join(_words(lang, "digest.oldest", kind=KIND_WORDS.get(k, (k, k))[index],
                                 n=v["open"], hours=v["oldest_hours"])
                          for k, v in sorted(drift.items()))
        lines.append(_words(lang, "digest.drift", items=items))
    else:
        lines.append(_words(lang, "digest.no_drift"))
    passes = facts.get("passes") or {}
    lines.append(_words(lang, "digest.passes", items=", ".join(
        f"{_words(lang, f'run.{status}') if f'run.{status}' in NOTIFY_TEXT else status} {n}"
        for status, n in sorted(passes.items())) or "0"))
    events = facts.get("events") or {}
    lines.append(_words(lang, "digest.events", items=", ".join(
        f"{t} {n}" for t, n in sorted(events.items())))
                 if events else _words(lang, "digest.no_events"))
    calls = facts.get("calls") or 0
    if calls:
        lines.append(_words(lang, "digest.calls", calls=calls,
                            rate=round(100 * facts.get("calls_ok", 0) / calls, 1)))
    return "\n".join(lines)


class Notifier:
    """Writes the messages that are not part of another statement, and sends them all."""

    def __init__(self, *, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self.targets = targets(settings)
        self.retry_base = 5.0  # seconds before the first retry; doubled each time

    @property
    def enabled(self) -> bool:
        return bool(self.targets)

    # -- writing -------------------------------------------------------------------

    async def on_change(self, key: str, value: str, kind: Kind | None,
                        facts: dict[str, Any] | None = None,
                        report_from: list[str] | None = None) -> str | None:
        """Record a watched state; the message when it changed (see the SQL function)."""
        if not self.enabled:
            return None
        return await self._db.fetchval("notify_on_change", key, value,
                                       kind.value if kind else None, facts or {}, report_from)

    async def after_pass(self) -> None:
        """Passes failing NOTIFY_FAILED_PASSES times in a row, and the recovery."""
        if not self.enabled:
            return
        needed = self._settings.notify_failed_passes
        recent = await self._db.fetch("notify_recent_runs", needed)
        if not recent:
            return
        if len(recent) == needed and all(r["status"] == "failed" for r in recent):
            await self.on_change("passes", "failing", Kind.PASSES_FAILING,
                                 {"count": needed, "error": recent[0]["error"] or "—"})
        elif recent[0]["status"] == "succeeded":
            await self.on_change("passes", "ok", Kind.PASSES_RECOVERED, {},
                                 report_from=["failing"])

    async def after_webhook(self, workspace: str, found: dict[str, Any]) -> None:
        """A workspace's webhook stopped or started delivering; a backfill's result."""
        if not self.enabled:
            return
        sub = found.get("subscription") or {}
        state = sub.get("state")
        if state in ("disabled", "missing", "secret_mismatch"):
            await self.on_change(f"webhook:{workspace}", "down", Kind.WEBHOOK_DOWN,
                                 {"workspace": workspace, "state": state})
        elif state == "active":
            await self.on_change(f"webhook:{workspace}", "active", Kind.WEBHOOK_RESUMED,
                                 {"workspace": workspace}, report_from=["down"])
        backfill = found.get("backfill") or {}
        if backfill.get("status") == "failed" and found.get("resumed"):
            await self._db.fetchval("notify_insert", Kind.BACKFILL_FAILED.value, {
                "workspace": workspace, "error": backfill.get("error") or "—"})
        elif backfill.get("stored"):
            await self._db.fetchval("notify_insert", Kind.BACKFILL.value, {
                "workspace": workspace, "stored": backfill["stored"],
                "duplicates": backfill.get("duplicates", 0)})

    async def check_health(self) -> None:
        """The periodic checks: findings open too long, the calls' success rate."""
        if not self.enabled:
            return
        await self._db.execute("notify_old_drift", self._settings.drift_age_alert_hours)
        figures = await self._db.fetchrow("notify_success_rate")
        calls, ok = figures["calls"], figures["ok"]
        if not calls:
            return
        rate = round(100 * ok / calls, 1)
        facts = {"rate": rate, "ok": ok, "calls": calls,
                 "threshold": self._settings.notify_success_rate_below}
        if rate < self._settings.notify_success_rate_below:
            await self.on_change("success_rate", "low", Kind.SUCCESS_LOW, facts)
        else:
            await self.on_change("success_rate", "ok", Kind.SUCCESS_RECOVERED, facts,
                                 report_from=["low"])

    async def digest(self, day: str) -> None:
        """The day's digest (written once per day, whichever replica is first)."""
        if self.enabled:
            await self._db.execute("notify_digest", day)

    # -- sending -------------------------------------------------------------------

    async def send_due(self) -> int:
        """Send what is due (leased, so each message by one sender); how many were."""
        timeout = self._settings.notify_timeout_seconds
        lease = timeout * len(self.targets) + 30
        sent = 0
        for message in await self._db.fetch("notify_claim", lease, BATCH):
            title, body = render(message["kind"], message["facts"],
                                 lang=self._settings.notify_language,
                                 console_url=self._settings.console_public_url)
            done = {r["target"] for r in
                    await self._db.fetch("notify_delivered_targets", message["id"])}
            missed = 0
            for target in self.targets:
                if target.key in done:
                    continue
                error = await deliver(target, title, body, deadline=timeout)
                await self._db.execute("notify_delivery_record", message["id"], target.key,
                                       target.shown, error is None, error)
                if error is not None:
                    missed += 1
                    log.warning("notify.missed", kind=message["kind"], target=target.shown,
                                error=error, attempt=message["attempts"])
            if missed:
                pause = min(MAX_RETRY_SECONDS, self.retry_base * 2 ** (message["attempts"] - 1))
                if await self._db.fetchval("notify_retry", message["id"], pause, GIVE_UP_HOURS):
                    log.error("notify.given_up", kind=message["kind"], id=message["id"])
            else:
                await self._db.execute("notify_done", message["id"])
                log.info("notify.sent", kind=message["kind"], id=message["id"])
                sent += 1
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """`serve`'s sender loop: what is due, every second, until `stop`."""
        while not stop.is_set():
            try:
                await self.send_due()
            except DatabaseUnavailable as exc:
                log.warning("notify.database_unavailable", error=str(exc))
            except Exception:
                log.exception("notify.crashed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SEND_EVERY_SECONDS):
                    await stop.wait()

    async def refresh_gauges(self) -> None:
        """The outbox's backlog, read when /metrics is scraped (every replica's)."""
        if not self.enabled:
            return
        row = await self._db.fetchrow("notify_pending")
        PENDING.labels(measure="count").set(row["pending"])
        PENDING.labels(measure="oldest_seconds").set(row["oldest_seconds"])

    async def last_deliveries(self) -> list[Any]:
        """Per target, its last delivery (the console's health page)."""
        known = {t.key for t in self.targets}
        return [r for r in await self._db.fetch("notify_last_deliveries") if r["target"] in known]
