"""A reconcile pass and, after it, our webhook's health step: one function for all callers.

The scheduler, `POST /reconcile` and `instantly-sync reconcile` all run a pass
through here, so every pass also checks our webhook at the external service
(auto-resuming it when allowed) and backfills what it missed; the result is
recorded on the run (`webhook`). A webhook step that fails is recorded there
too and never fails the pass.
"""

from __future__ import annotations

from typing import Any

import structlog

from daemon.services import Services
from instantly.errors import ExternalError
from reconciler.findings import run_json
from reconciler.runner import PassHandle, ReconcileBusy
from sql import runs

log = structlog.get_logger("daemon")


async def finish_pass(services: Services, handle: PassHandle, *,
                      follow_a_resume: bool = True) -> dict[str, Any]:
    """Execute a started pass, then the webhook step; the run summary. When the step
    resumed our webhook, another pass runs at once (without that follow-up of its own):
    the delivery log may hold nothing of the disabled period, the comparison finds it."""
    run = await handle.execute()
    health = services.webhook_health
    if not health.configured:
        return run
    try:
        found: dict[str, Any] = await health.after_pass()
    except ExternalError as exc:
        found = {"subscription": None, "backfill": None,
                 "error": f"{type(exc).__name__}: {exc}"}
        log.warning("webhook.check_failed", error=found["error"])
    row = await runs.record_webhook_step(services.db, run["id"], found)
    if found.get("resumed") and follow_a_resume:
        await pass_after_resume(services)
    return run_json(row) if row is not None else {**run, "webhook": found}


async def pass_after_resume(services: Services) -> dict[str, Any] | None:
    """The reconcile pass that follows a resume (None when another pass is running: that
    one compares as well)."""
    try:
        handle = await services.reconciler.start(trigger="after_resume")
    except ReconcileBusy:
        return None
    return await finish_pass(services, handle, follow_a_resume=False)


async def run_pass(services: Services, *, trigger: str) -> dict[str, Any]:
    """Start and finish a pass (`ReconcileBusy` when another one runs)."""
    return await finish_pass(services, await services.reconciler.start(trigger=trigger))
