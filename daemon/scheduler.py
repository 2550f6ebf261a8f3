"""APScheduler 3 in the daemon's event loop: the periodic jobs.

Jobs: the reconcile pass (when RECONCILE_INTERVAL_SECONDS > 0), the daily
webhook retention and the hourly idempotency-key prune; with NOTIFY_URLS, the
notification checks every five minutes and the daily digest at NOTIFY_DIGEST_AT
(local time in NOTIFY_TIMEZONE). `max_instances=1`
and `coalesce=True` mean a slow job is never stacked; a failing run is
logged and the next tick tries again. APScheduler cancels running asyncio
jobs at shutdown, so jobs close their own bookkeeping in a shielded
`finally` (the reconcile pass does).
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from daemon.passes import run_pass
from daemon.services import Services
from reconciler.runner import ReconcileBusy
from sql import usage
from webhooks.retention import prune_events

log = structlog.get_logger("daemon.scheduler")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], Awaitable[object]]
    seconds: float
    first_run_in: float | None = None  # None: one period after start
    jitter: float | None = None
    at: tuple[int, int, str] | None = None  # daily at (hour, minute, time zone) instead


def job_specs(services: Services) -> list[JobSpec]:
    """The daemon's periodic jobs for these services and settings."""
    settings = services.settings

    async def reconcile() -> None:
        try:
            await run_pass(services, trigger="schedule")
        except ReconcileBusy:
            pass  # another replica is reconciling; this tick skips

    async def webhook_retention() -> None:
        await prune_events(services.db, retention_days=settings.webhook_retention_days)

    async def idempotency_prune() -> None:
        result = await services.db.execute("idempotency_prune")
        log.info("idempotency.pruned", result=result)
        log.info("usage.pruned", result=await usage.prune(services.db))
        log.info("notifications.pruned", result=await services.db.execute("notify_prune"))

    async def notify_checks() -> None:
        await services.notifier.check_health()

    async def notify_digest() -> None:
        zone = zoneinfo.ZoneInfo(settings.notify_timezone)
        await services.notifier.digest(dt.datetime.now(zone).date().isoformat())

    specs = [
        JobSpec("webhook_retention", webhook_retention, seconds=86_400, first_run_in=600),
        JobSpec("idempotency_prune", idempotency_prune, seconds=3600),
    ]
    if services.notifier.enabled:
        specs.append(JobSpec("notify_checks", notify_checks, seconds=300, first_run_in=60))
        if settings.notify_digest_at:
            hour, minute = (int(part) for part in settings.notify_digest_at.split(":"))
            specs.append(JobSpec("notify_digest", notify_digest, seconds=86_400,
                                 at=(hour, minute, settings.notify_timezone)))
    interval = settings.reconcile_interval_seconds
    if interval > 0:
        specs.append(JobSpec("reconcile", reconcile, seconds=interval, first_run_in=5,
                             jitter=min(30.0, interval * 0.1)))
    return specs


def _logged(spec: JobSpec) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await spec.func()
        except Exception:
            # A failed run must not kill the schedule; the next one tries again.
            log.exception("job.failed", job=spec.id)

    return run


def start_scheduler(specs: list[JobSpec]) -> AsyncIOScheduler:
    """Start the jobs in the running loop (stop with `scheduler.shutdown(wait=False)`)."""
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    for spec in specs:
        if spec.at is not None:
            hour, minute, zone = spec.at
            scheduler.add_job(_logged(spec), "cron", hour=hour, minute=minute, timezone=zone,
                              id=spec.id, max_instances=1, coalesce=True,
                              misfire_grace_time=3600)
            continue
        first = spec.first_run_in if spec.first_run_in is not None else spec.seconds
        if spec.jitter:
            first += random.uniform(0, spec.jitter)
        scheduler.add_job(
            _logged(spec), "interval", seconds=spec.seconds, id=spec.id,
            max_instances=1, coalesce=True, jitter=spec.jitter,
            next_run_time=now + dt.timedelta(seconds=first),
            misfire_grace_time=max(1, int(spec.seconds)),
        )
    scheduler.start()
    log.info("scheduler.started", jobs=[spec.id for spec in specs])
    return scheduler
