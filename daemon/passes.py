"""A reconcile pass and, after it, our webhooks' health step: one function for all callers.

The scheduler, `POST /reconcile` and `instantly-sync reconcile` all run a pass
through here, so every pass also checks each enabled workspace's webhook at the
external service (auto-resuming it when allowed) and backfills what it missed;
the result is recorded on the run (`webhook` for the default workspace, and on
each workspace's part of the run). A webhook step that fails is recorded there
too and never fails the pass, nor another workspace's step.
"""

from __future__ import annotations

from typing import Any

import structlog

from daemon.services import Services, webhook_healths
from instantly.errors import ExternalError
from instantly.workspaces import DEFAULT_WORKSPACE_ID
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
    await services.notifier.after_pass()
    resumed = stepped = False
    for health in await webhook_healths(services):
        if not health.configured:
            continue
        try:
            found: dict[str, Any] = await health.after_pass()
        except ExternalError as exc:
            found = {"subscription": None, "backfill": None,
                     "error": f"{type(exc).__name__}: {exc}"}
            log.warning("webhook.check_failed", workspace=health.workspace,
                        error=found["error"])
        await runs.record_workspace_webhook(services.db, run["id"], health.workspace_id,
                                            found)
        await services.notifier.after_webhook(health.workspace, found)
        if health.workspace_id == DEFAULT_WORKSPACE_ID:
            await runs.record_webhook_step(services.db, run["id"], found)
        resumed = resumed or bool(found.get("resumed"))
        stepped = True
    if resumed and follow_a_resume:
        await pass_after_resume(services)
    if not stepped:
        return run
    row = await runs.get(services.db, run["id"])
    return run_json(row) if row is not None else run


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
