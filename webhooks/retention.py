"""Daily pruning of stored webhook events; the per-campaign counts stay."""

from __future__ import annotations

import structlog

from sql import Database

log = structlog.get_logger("webhooks")


async def prune_events(db: Database, *, retention_days: int, slice_rows: int = 10_000) -> int:
    """Delete events received more than `retention_days` ago; return how many.

    Deletes in slices so a large backlog never holds one long transaction.
    """
    deleted = 0
    while True:
        result = await db.execute("webhook_events_prune", retention_days, slice_rows)
        count = int(result.split()[-1])
        deleted += count
        if count < slice_rows:
            break
    log.info("webhook.pruned", deleted=deleted, retention_days=retention_days)
    return deleted
