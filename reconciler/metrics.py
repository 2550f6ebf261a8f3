"""Prometheus metrics of the reconciler."""

from prometheus_client import Gauge, Histogram

FINDINGS = Gauge(
    "instantly_sync_drift_findings",
    "Drift findings not yet resolved, by kind, expected flag, state and workspace",
    ["kind", "expected", "state", "workspace"],
)
OLDEST_FINDING = Gauge(
    "instantly_sync_drift_oldest_first_seen_timestamp_seconds",
    "Unix time the oldest unresolved finding was first seen, by kind, expected flag, state"
    " and workspace",
    ["kind", "expected", "state", "workspace"],
)
PASS_SECONDS = Histogram(
    "instantly_sync_reconcile_pass_seconds",
    "Wall time of reconcile passes by outcome",
    ["status"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
LAST_SUCCESS = Gauge(
    "instantly_sync_reconcile_last_success_timestamp_seconds",
    "Unix time of the last successful reconcile pass",
)
PASS_API_CALLS = Gauge(
    "instantly_sync_reconcile_last_pass_api_calls",
    "External API calls made by the last finished reconcile pass",
)
WORKSPACE_LISTED = Gauge(
    "instantly_sync_reconcile_workspace_listed",
    "1 when the last pass listed the workspace completely, 0 when its listing failed",
    ["workspace"],
)
WORKSPACE_LAST_SUCCESS = Gauge(
    "instantly_sync_reconcile_workspace_last_success_timestamp_seconds",
    "Unix time of the last complete listing of the workspace",
    ["workspace"],
)
