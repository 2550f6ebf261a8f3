"""Daily pruning of stored webhook events; the per-campaign counts stay."""

from __future__ import annotations

import structlog

from sql import Database

log = structlog.get_logger("webhooks")


async def prune_events(db: Database, *, retention_days: int) -> int:
    """Delete events received more than `retention_days` ago; return how many."""
    result = await db.execute("webhook_events_prune", retention_days)
    deleted = int(result.split()[-1])
    log.info("webhook.pruned", deleted=deleted, retention_days=retention_days)
    return deleted
