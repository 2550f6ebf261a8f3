"""`instantly-sync reconcile`: one pass, then the open drift (terraform-style exit codes)."""

from __future__ import annotations

import argparse

from daemon.cli.drift import drift_table, findings
from daemon.cli.exits import EXIT_DRIFT, EXIT_ERROR, EXIT_OK
from daemon.cli.helptext import DATABASE, EXTERNAL, LOGGING, Subcommands, help_args
from daemon.config import Settings
from daemon.passes import run_pass
from daemon.services import existing_services
from reconciler.runner import ReconcileBusy


async def reconcile_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run one pass; exit 0 clean, 2 unexpected drift open, 1 error."""
    async with existing_services(settings) as services:
        try:
            run = await run_pass(services, trigger="cli")
        except ReconcileBusy:
            print("reconcile: another pass is running")
            return EXIT_ERROR
        print(f"run {run['id']}: {run['status']} — {run['remote_campaigns']} remote, "
              f"{run['local_linked']} linked, {run['remote_unlinked'] or 0} remote unlinked, "
              f"{run['api_calls']} API calls, "
              f"{run['findings_opened']} opened, {run['findings_resolved']} resolved"
              + (f" ({run['error']})" if run["error"] else ""))
        if run["status"] != "succeeded":
            return EXIT_ERROR
        items = await findings(services, ["open", "acknowledged"])
    print(drift_table(items))
    unexpected = [f for f in items if not f["expected"] and f["state"] == "open"]
    return EXIT_DRIFT if unexpected else EXIT_OK


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "reconcile", help="run one reconcile pass and print open drift",
        description="Run one pass and print the open drift. Exit 0: no unexpected drift"
                    " open; 2: unexpected drift open; 1: error.",
        **help_args(*DATABASE, *EXTERNAL, "FULL_PAUSE_SYNC", "TOGGLE_LEASE_SECONDS",
                    "RECONCILE_MAX_SECONDS", "WEBHOOK_PUBLIC_URL", "WEBHOOK_SECRET",
                    "WEBHOOK_AUTO_RESUME", *LOGGING,
                    example="instantly-sync reconcile || echo drift or error: $?"),
    )
    parser.set_defaults(func=reconcile_command)
