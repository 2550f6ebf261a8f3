"""CLI `reconcile` (one pass, terraform-style exit codes) and `drift` (the findings)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from daemon.api_reconcile import STATES, findings_csv
from daemon.bodies import dumps
from daemon.config import Settings
from daemon.runtime import open_runtime
from reconciler.resolution import finding_json
from reconciler.runner import ReconcileBusy, Reconciler

EXIT_CLEAN, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2
_COLUMNS = ("id", "kind", "expected", "state", "campaign_name", "client_id", "local_status",
            "remote_status", "external_id")


def drift_table(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no drift"
    rows = [[("" if item[c] is None else str(item[c])) for c in _COLUMNS] for item in items]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(_COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


async def _open_findings(services: Any, states: list[str]) -> list[dict[str, Any]]:
    rows = await services.db.fetch("finding_list", states, None, None, None, 100_000)
    return [finding_json(r) for r in rows]


async def reconcile_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run one pass; exit 0 clean, 2 unexpected drift open, 1 error."""
    async with open_runtime(settings) as services:
        reconciler = Reconciler(
            db=services.db, client=services.client,
            full_pause_sync=settings.full_pause_sync,
            lease_seconds=settings.toggle_lease_seconds,
        )
        try:
            run = await reconciler.run_once(trigger="cli")
        except ReconcileBusy:
            print("reconcile: another pass is running")
            return EXIT_ERROR
        print(f"run {run['id']}: {run['status']} — {run['remote_campaigns']} remote, "
              f"{run['local_linked']} linked, {run['api_calls']} API calls, "
              f"{run['findings_opened']} opened, {run['findings_resolved']} resolved"
              + (f" ({run['error']})" if run["error"] else ""))
        if run["status"] not in ("succeeded",):
            return EXIT_ERROR
        findings = await _open_findings(services, ["open", "acknowledged"])
    print(drift_table(findings))
    unexpected = [f for f in findings if not f["expected"] and f["state"] == "open"]
    return EXIT_DRIFT if unexpected else EXIT_CLEAN


async def drift_command(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(settings) as services:
        findings = await _open_findings(services, STATES[args.state])
    if args.format == "json":
        print(json.dumps(json.loads(dumps({"items": findings})), indent=2))
    elif args.format == "csv":
        print(findings_csv(findings), end="")
    else:
        print(drift_table(findings))
    return EXIT_CLEAN


def register(subparsers: argparse._SubParsersAction) -> None:
    rec = subparsers.add_parser(
        "reconcile", help="run one reconcile pass and print open drift",
        description="Exit 0: no unexpected drift open; 2: unexpected drift open; 1: error.",
    )
    rec.set_defaults(func=reconcile_command)
    drift = subparsers.add_parser("drift", help="list drift findings")
    drift.add_argument("--state", choices=tuple(STATES), default="open")
    drift.add_argument("--format", choices=("table", "json", "csv"), default="table")
    drift.set_defaults(func=drift_command)
