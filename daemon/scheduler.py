"""APScheduler 3 in the daemon's event loop: the periodic jobs.

Other parts register `JobSpec`s in `app[JOBS]` during set-up; the scheduler
starts after every service is open and shuts down first. Jobs are coroutines
that take the app; `max_instances=1` and `coalesce=True` mean a slow pass is
never stacked. APScheduler cancels running asyncio jobs at shutdown, so jobs
must close their own bookkeeping in a shielded `finally`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from daemon.api_health import READINESS_CHECKS
from daemon.services import SERVICES

log = structlog.get_logger("daemon.scheduler")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[web.Application], Awaitable[Any]]
    seconds: float
    first_run_in: float | None = None  # None: one period after start
    jitter: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


JOBS: web.AppKey = web.AppKey("scheduler_jobs", list)
SCHEDULER: web.AppKey = web.AppKey("scheduler", AsyncIOScheduler)


async def prune_idempotency_keys(app: web.Application) -> None:
    """Idempotency keys live 24 hours."""
    result = await app[SERVICES].db.execute("idempotency_prune")
    log.info("idempotency.pruned", result=result)


def _wrap(spec: JobSpec, app: web.Application) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await spec.func(app)
        except Exception:
            # A failed run must not kill the schedule; the next one tries again.
            log.exception("job.failed", job=spec.id)

    return run


async def _scheduler_ready(app: web.Application) -> tuple[str, bool, dict[str, Any]]:
    scheduler = app.get(SCHEDULER)
    return "scheduler", bool(scheduler and scheduler.running), {}


def setup(app: web.Application) -> None:
    app.setdefault(JOBS, [])
    app[JOBS].append(JobSpec("idempotency_prune", prune_idempotency_keys, seconds=3600))
    app[READINESS_CHECKS].append(_scheduler_ready)

    async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        now = dt.datetime.now(dt.UTC)
        for spec in app[JOBS]:
            first = spec.first_run_in if spec.first_run_in is not None else spec.seconds
            if spec.jitter:
                first += random.uniform(0, spec.jitter)
            scheduler.add_job(
                _wrap(spec, app), "interval", seconds=spec.seconds, id=spec.id,
                max_instances=1, coalesce=True, jitter=spec.jitter,
                next_run_time=now + dt.timedelta(seconds=first),
                misfire_grace_time=max(1, int(spec.seconds)),
            )
        scheduler.start()
        app[SCHEDULER] = scheduler
        log.info("scheduler.started", jobs=[spec.id for spec in app[JOBS]])
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            log.info("scheduler.stopped")

    app.cleanup_ctx.append(scheduler_ctx)
