"""The `instantly-sync` command line: one module per command.

Exit codes: 0 success; 1 error (a failed check, an unreachable dependency);
2 `reconcile` found unexpected drift (or argparse rejected the arguments);
78 invalid configuration (one line on stderr naming the variable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from daemon.cli import check, demo, drift, fake, migrate, reconcile, selftest, serve, webhooks
from daemon.cli.exits import EXIT_CONFIG, EXIT_ERROR, EXIT_OK
from daemon.config import ConfigError, load_settings
from daemon.logs import configure_logging
from sql import DatabaseUnavailable

COMMANDS = (serve, migrate, reconcile, drift, check, selftest, fake, demo, webhooks)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="instantly-sync",
        description="Keep campaign statuses in step with the external campaign service.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        if getattr(args, "check_settings", None):
            args.check_settings(settings)
    except ConfigError as exc:
        print(f"instantly-sync: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(
        fmt=settings.log_format, level=settings.log_level, secrets=settings.secret_values()
    )
    try:
        return asyncio.run(args.func(args, settings))
    except DatabaseUnavailable:
        print("instantly-sync: database unavailable", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK
