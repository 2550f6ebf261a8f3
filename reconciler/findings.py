"""Drift findings and reconcile runs: their kinds, states, shapes and CSV form.

The vocabulary every reader of drift shares (HTTP, CLI, CSV): what kinds of
drift a pass can find (docs/behaviour.md §5), which states a finding moves through,
and which fields a finding or a run shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

KINDS: tuple[str, ...] = (
    "status_mismatch", "local_pause_only", "remote_completed", "remote_unhealthy",
    "remote_missing", "toggle_incomplete",
)
# A state filter as the API and CLI accept it → the finding states it selects.
STATE_FILTERS: dict[str, list[str]] = {
    "open": ["open"], "acknowledged": ["acknowledged"], "resolved": ["resolved"],
    "all": ["open", "acknowledged", "resolved"],
}
ACTIONS: tuple[str, ...] = ("adopt_remote", "push_local", "acknowledge", "reopen")
# The resolutions that can work for each kind (docs/drift.md): the console offers only
# these; the resolver refuses the others with the reason (not_fixable_remotely,
# action_not_applicable, or the service's refusal).
ACTIONS_FOR: dict[str, tuple[str, ...]] = {
    "status_mismatch": ("adopt_remote", "push_local", "acknowledge"),
    "local_pause_only": ("adopt_remote", "push_local", "acknowledge"),
    "remote_completed": ("adopt_remote", "acknowledge"),  # a completed one is not reactivated
    "remote_unhealthy": ("acknowledge",),  # no local meaning, and only a person can fix it
    "remote_missing": ("acknowledge",),  # nothing remote to adopt or push to
    "toggle_incomplete": ("acknowledge",),  # settled by the pass that found it
}

FINDING_FIELDS: tuple[str, ...] = (
    "id", "campaign_id", "campaign_name", "client_id", "workspace", "external_id", "kind",
    "local_status",
    "remote_status", "expected", "state", "first_seen_at", "last_seen_at", "resolved_at",
    "resolution", "note", "acknowledged_at", "acknowledged_by",
)
RUN_FIELDS: tuple[str, ...] = (
    "id", "status", "started_at", "finished_at", "remote_campaigns", "local_linked",
    "api_calls", "findings_opened", "findings_resolved", "error", "remote_unlinked", "webhook",
    "workspaces",
)


def finding_json(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in FINDING_FIELDS}


def run_json(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in RUN_FIELDS}


def findings_csv(items: Iterable[dict[str, Any]]) -> str:
    """Findings as CSV with a header row (the ops spreadsheet export)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FINDING_FIELDS)
    writer.writeheader()
    for item in items:
        writer.writerow({k: _csv_value(v) for k, v in item.items()})
    return out.getvalue()


# OWASP "CSV injection": a cell a spreadsheet would run as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # shown as text, never evaluated
    return value
