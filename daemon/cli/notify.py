"""`instantly-sync notify test`: a test message to every NOTIFY_URLS target, now, each
one's result in one line (the URL with its secrets masked). Needs no database."""

from __future__ import annotations

import argparse

from daemon.cli.exits import EXIT_CONFIG, EXIT_ERROR, EXIT_OK, CommandRefused
from daemon.cli.helptext import Subcommands, help_args
from daemon.config import Settings
from daemon.notify import send_test


async def test_command(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.notify_urls:
        raise CommandRefused("notify test: NOTIFY_URLS is not set (docs/notifications.md)")
    results = await send_test(settings)
    for target, error in results:
        print(f"[{'  OK' if error is None else 'FAIL'}] {target.shown}"
              + ("" if error is None else f"  {error}"))
    if any(error == "not a notification URL apprise knows" for _, error in results):
        return EXIT_CONFIG
    return EXIT_ERROR if any(error for _, error in results) else EXIT_OK


def register(subparsers: Subcommands) -> None:
    notify = subparsers.add_parser(
        "notify", help="notifications to chat, e-mail and push services",
        **help_args("NOTIFY_URLS", "NOTIFY_LANGUAGE", "NOTIFY_TIMEOUT_SECONDS",
                    "CONSOLE_PUBLIC_URL", example="instantly-sync notify test"))
    sub = notify.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    test = sub.add_parser(
        "test", help="send a test message to every NOTIFY_URLS target; one line each",
        **help_args("NOTIFY_URLS", "NOTIFY_LANGUAGE", "NOTIFY_TIMEOUT_SECONDS",
                    example="instantly-sync notify test"))
    test.set_defaults(func=test_command)
