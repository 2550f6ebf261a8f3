"""Prometheus metrics for calls to the external API."""

from prometheus_client import Counter, Histogram

EXTERNAL_CALLS = Counter(
    "instantly_sync_external_calls_total",
    "HTTP calls made to the external campaign API (each attempt), per workspace",
    ["action", "outcome", "workspace"],
)
EXTERNAL_LATENCY = Histogram(
    "instantly_sync_external_call_seconds",
    "Latency of one external API attempt",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
