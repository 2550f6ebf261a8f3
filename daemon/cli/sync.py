"""`instantly-sync sync suspend|resume|status`: stop every change sent to the external
service, in one step, for every replica (daemon/suspension.py; the runbook is
docs/operations.md, "Stopping all external calls"). The audit names the operator
as "cli"; a suspension started elsewhere is resumed here just the same."""

from __future__ import annotations

import argparse

from daemon.cli.exits import EXIT_DRIFT, EXIT_OK, CommandRefused
from daemon.cli.helptext import DATABASE, LOGGING, Subcommands, help_args
from daemon.config import Settings
from daemon.services import existing_services
from daemon.suspension import (
    MAX_REASON,
    AlreadySuspended,
    InvalidReason,
    NotSuspended,
    Suspension,
)

CLI_CALLER = "cli"


def _line(s: Suspension) -> str:
    reads = "reads suspended too" if s.no_read else "reconcile passes keep reading"
    return (f"suspended by {s.suspended_by} since {s.suspended_at:%Y-%m-%d %H:%M:%S} UTC:"
            f" {s.reason} ({reads})")


async def suspend_command(args: argparse.Namespace, settings: Settings) -> int:
    async with existing_services(settings) as services:
        try:
            done = await services.sync.suspend(by=CLI_CALLER, reason=args.reason,
                                               no_read=args.no_read)
        except InvalidReason:
            raise CommandRefused(
                f"sync suspend: --reason must be 1 to {MAX_REASON} characters") from None
        except AlreadySuspended:
            current = await services.sync.current()
            raise CommandRefused("sync suspend: already "
                                 + (_line(current) if current else "suspended")) from None
    print(f"syncing {_line(done)}")
    print("toggles of linked campaigns and calls to the external service are refused;"
          " webhooks are still stored and applied. `instantly-sync sync resume` ends it.")
    return EXIT_OK


async def resume_command(args: argparse.Namespace, settings: Settings) -> int:
    async with existing_services(settings) as services:
        try:
            done = await services.sync.resume(by=CLI_CALLER)
        except NotSuspended:
            raise CommandRefused("sync resume: syncing is not suspended") from None
    took = done.resumed_at - done.suspended_at if done.resumed_at else None
    print(f"syncing resumed (it was {_line(done)}; suspended for "
          f"{str(took).split('.')[0] if took else '?'})")
    return EXIT_OK


async def status_command(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 syncing, 2 suspended (like drift: something for ops to look at)."""
    async with existing_services(settings) as services:
        current = await services.sync.current()
    print(f"syncing {_line(current)}" if current else "syncing: on")
    return EXIT_DRIFT if current else EXIT_OK


def register(subparsers: Subcommands) -> None:
    sync = subparsers.add_parser(
        "sync", help="suspend or resume every change sent to the external service",
        description="Suspend syncing for every replica at once (toggles of linked campaigns"
                    " and calls that change something are refused; webhooks and drift"
                    " detection go on), resume it, or show whether it is suspended.",
        **help_args(*DATABASE, *LOGGING, example='instantly-sync sync suspend --reason'
                                                 ' "API key leaked, rotating"'))
    sub = sync.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    suspend = sub.add_parser(
        "suspend", help="refuse every change sent to the external service, from now on",
        **help_args(*DATABASE, example='instantly-sync sync suspend --reason "key rotation"'))
    suspend.add_argument("--reason", required=True,
                         help="why (shown to everyone refused meanwhile; 1 to 500 characters)")
    suspend.add_argument("--no-read", action="store_true",
                         help="stop reads too: reconcile passes are skipped until resumed")
    suspend.set_defaults(func=suspend_command)
    resume = sub.add_parser("resume", help="send changes to the external service again",
                            **help_args(*DATABASE, example="instantly-sync sync resume"))
    resume.set_defaults(func=resume_command)
    status = sub.add_parser("status", help="whether syncing is suspended (exit 0 on, 2 off)",
                            **help_args(*DATABASE, example="instantly-sync sync status"))
    status.set_defaults(func=status_command)
