"""Prometheus metrics of the HTTP API and the toggle path (default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "instantly_sync_http_requests", "HTTP requests served", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "instantly_sync_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
)
TOGGLES = Counter(
    "instantly_sync_toggles_total",
    "Status changes by outcome (external_sync value, or the error code)",
    ["outcome"],
)
