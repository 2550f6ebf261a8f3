"""Our webhook at the external service: notice when it stops, resume it, backfill the gap.

The service retries a failed delivery a few times, then disables the webhook
(status -1) until someone resumes it; a database outage (we answer 503) or a
secret mix-up (401) can therefore silently end all deliveries. So:

- `check` lists the workspace's webhooks and finds ours by its target URL
  (WEBHOOK_PUBLIC_URL): `active`, `disabled` (with the service's
  `timestamp_error`), `missing`, or `secret_mismatch` (its headers carry no
  secret we accept). `unconfigured` when WEBHOOK_PUBLIC_URL is not set.
- `resume` re-enables a disabled webhook and then backfills. Whether the log
  holds events that happened while the webhook was disabled is unpublished, so
  the caller follows a resume with a reconcile pass at once: what the log
  cannot give back, the comparison finds (daemon/passes.py, the CLI).
- `backfill` reads the delivery log's failed deliveries to our URL (the
  service filters by `search`) since the high-water mark, minus an overlap for
  clock skew. The log's window is whole days (UTC dates; its time zone is
  unpublished, so a row is also read back if its timestamp is earlier than
  asked): every row of those days is fed through the same parse-and-store path
  as a live delivery, and de-duplication absorbs what had arrived. The mark
  advances to the moment the read began: everything the log held until then
  was read. A payload that fails validation is
  kept in `webhook_rejects` (counted once, never retried). Each backfill's
  summary is a row of `webhook_backfills` and a log line.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

import structlog

from instantly.client import InstantlyClient
from sql import Database
from webhooks.events import InvalidEvent, parse_event
from webhooks.metrics import BACKFILLED, SUBSCRIPTION_UP
from webhooks.store import WebhookStore

log = structlog.get_logger("webhooks")

SECRET_HEADER = "X-Webhook-Secret"
# Each backfill re-reads this much before the high-water mark: the service's
# clock and ours differ, and de-duplication makes the overlap free.
OVERLAP = dt.timedelta(minutes=5)
FIRST_WINDOW = dt.timedelta(days=1)  # no backfill yet: look back this far
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Subscription:
    state: str  # active | disabled | missing | secret_mismatch | unconfigured
    url: str | None
    webhook_id: str | None = None
    event_type: str | None = None
    timestamp_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BackfillSummary:
    id: int
    status: str
    window_from: str
    window_to: str
    read: int
    stored: int
    duplicates: int
    rejected: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _secret_of(hook: dict[str, Any]) -> str | None:
    headers = hook.get("headers")
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == SECRET_HEADER.lower():
            return value if isinstance(value, str) else None
    return None


def ours(hooks: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The webhook posting to `url` (an active one first, if there are several)."""
    matching = [h for h in hooks if h.get("target_hook_url") == url]
    matching.sort(key=lambda h: h.get("status") != 1)
    return matching[0] if matching else None


class WebhookHealth:
    """Check, resume and backfill our webhook (one instance per process)."""

    def __init__(self, *, db: Database, client: InstantlyClient, store: WebhookStore,
                 public_url: str | None, secrets: tuple[str, ...], auto_resume: bool,
                 workspace_id: int = 1, workspace: str = "default") -> None:
        self.workspace_id = workspace_id  # one instance per workspace (docs/workspaces.md)
        self.workspace = workspace
        self._db = db
        self._client = client
        self._store = store
        self.public_url = public_url
        self._secrets = secrets
        self._auto_resume = auto_resume

    @property
    def configured(self) -> bool:
        return bool(self.public_url and self._client.configured)

    async def check(self) -> Subscription:
        """Where our webhook stands now (raises ExternalError when the list fails)."""
        if not self.configured or self.public_url is None:
            SUBSCRIPTION_UP.labels(workspace=self.workspace).set(0)
            return Subscription("unconfigured", self.public_url)
        hook = ours(await self._client.list_webhooks(), self.public_url)
        if hook is None:
            sub = Subscription("missing", self.public_url)
        else:
            state = "active"
            if hook.get("status") != 1:
                state = "disabled"
            elif _secret_of(hook) not in self._secrets:
                state = "secret_mismatch"
            sub = Subscription(state, self.public_url, str(hook.get("id")),
                               hook.get("event_type"), hook.get("timestamp_error"))
        up = 1 if sub.state == "active" else 0
        SUBSCRIPTION_UP.labels(workspace=self.workspace).set(up)
        log.info("webhook.subscription", workspace=self.workspace, state=sub.state,
                 webhook_id=sub.webhook_id, timestamp_error=sub.timestamp_error)
        return sub

    async def resume(self, *, trigger: str) -> tuple[Subscription, BackfillSummary | None]:
        """Resume our webhook if it is disabled, then backfill what it missed."""
        sub = await self.check()
        if sub.state != "disabled" or sub.webhook_id is None:
            return sub, None
        await self._client.resume_webhook(sub.webhook_id)
        log.warning("webhook.resumed", workspace=self.workspace, webhook_id=sub.webhook_id,
                    timestamp_error=sub.timestamp_error)
        summary = await self.backfill(trigger=trigger)
        return await self.check(), summary

    async def after_pass(self) -> dict[str, Any]:
        """The reconcile pass's step: check, auto-resume when allowed, backfill the window."""
        sub = await self.check()
        summary, resumed = None, False
        if sub.state == "disabled" and self._auto_resume:
            sub, summary = await self.resume(trigger="auto_resume")
            resumed = True
        if summary is None and sub.state != "unconfigured":
            summary = await self.backfill(trigger="schedule")
        return {"subscription": sub.as_dict(),
                "backfill": summary.as_dict() if summary else None,
                "resumed": resumed}

    async def backfill(self, *, trigger: str, since: dt.datetime | None = None
                       ) -> BackfillSummary:
        """Store every failed delivery to our URL since `since` (default: the high-water mark)."""
        now = dt.datetime.now(dt.UTC)
        if since is None:
            mark = await self._db.fetchval("backfill_high_water", self.workspace_id)
            since = (mark - OVERLAP) if mark else now - FIRST_WINDOW
        run_id = await self._db.fetchval("backfill_start", trigger, since, now,
                                         self.workspace_id)
        counts = {"read": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        status, error = "succeeded", None
        try:
            # A day either side: the log's days may not be UTC days.
            async for page in self._client.iter_webhook_events(
                    success=False, first_day=(since - DAY).date(), last_day=(now + DAY).date(),
                    search=self.public_url):
                await self._absorb(page, counts)
        except Exception as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            log.warning("webhook.backfill_failed", error=error)
        row = await self._db.fetchrow(
            "backfill_finish", run_id, status, counts["read"], counts["stored"],
            counts["duplicates"], counts["rejected"], error)
        summary = BackfillSummary(
            id=row["id"], status=status, window_from=_iso(since), window_to=_iso(now),
            error=error, **counts)
        log.info("webhook.backfill", **summary.as_dict())
        return summary

    async def _absorb(self, page: list[dict[str, Any]], counts: dict[str, int]) -> None:
        events = []
        for item in page:
            if item.get("webhook_url") != self.public_url:
                continue
            counts["read"] += 1
            raw = json.dumps(item.get("payload")).encode()
            try:
                events.append(replace(parse_event(raw), workspace_id=self.workspace_id))
            except InvalidEvent as exc:
                kept = await self._db.fetchval(
                    "webhook_reject_keep", str(item.get("id")), str(exc), raw.decode())
                if kept is not None:
                    counts["rejected"] += 1
                    BACKFILLED.labels(result="rejected").inc()
        if not events:
            return
        for receipt in await self._store.write(events):
            stored = receipt.status == "accepted"
            counts["stored" if stored else "duplicates"] += 1
            BACKFILLED.labels(result="stored" if stored else "duplicate").inc()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
