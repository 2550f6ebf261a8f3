"""Prometheus metrics of the webhook receiver."""

import functools

from prometheus_client import Counter, Gauge, Histogram

# Known types keep their name; anything else is "other", so new or custom
# label events cannot blow up the label set.
KNOWN_TYPES = frozenset({
    "email_sent", "email_opened", "email_link_clicked", "link_clicked", "reply_received",
    "auto_reply_received", "email_bounced", "lead_unsubscribed", "campaign_completed",
    "account_error", "lead_neutral", "lead_interested", "lead_not_interested",
    "lead_meeting_booked", "lead_meeting_completed", "lead_closed", "lead_out_of_office",
    "lead_wrong_person", "lead_no_show", "supersearch_enrichment_completed",
})

EVENTS = Counter(
    "instantly_sync_webhook_events_total",
    "Webhook deliveries by event type and outcome (accepted, duplicate, rejected)",
    ["event_type", "outcome"],
)
APPLY_SECONDS = Histogram(
    "instantly_sync_webhook_apply_seconds",
    "Time from receipt to commit of a webhook event",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
BATCH_SIZE = Histogram(
    "instantly_sync_webhook_batch_size",
    "Events written per transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


def type_label(event_type: str | None) -> str:
    return event_type if event_type in KNOWN_TYPES else "other"


@functools.cache
def _events_child(label: str, outcome: str) -> Counter:
    # labels() costs more than the increment; the label set is small and fixed.
    return EVENTS.labels(event_type=label, outcome=outcome)


def count_event(event_type: str | None, outcome: str, n: int = 1) -> None:
    """`n` deliveries of `event_type` (None: unparsed) ended as `outcome`."""
    _events_child(type_label(event_type), outcome).inc(n)


SUBSCRIPTION_UP = Gauge(
    "instantly_sync_webhook_subscription_up",
    "1 when a workspace's webhook at the external service is active with an accepted secret,"
    " else 0",
    ["workspace"],
)
LAST_EVENT = Gauge(
    "instantly_sync_webhook_last_event_timestamp_seconds",
    "Unix time of the last webhook event stored (received or backfilled)",
)
BACKFILLED = Counter(
    "instantly_sync_webhook_backfilled_events_total",
    "Delivery-log items read by backfills, by result (stored, duplicate, rejected)",
    ["result"],
)
