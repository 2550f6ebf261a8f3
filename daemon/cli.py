"""The `instantly-sync` command line.

Exit codes: 0 success; 1 error (a failed check, an unreachable dependency);
2 `reconcile` found unexpected drift (or argparse rejected the arguments);
78 invalid configuration (one line on stderr naming the variable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import structlog

from daemon import cli_reconcile, cli_tools, cli_webhooks
from daemon.config import ConfigError, Settings, load_settings, require_safe_bind
from daemon.logs import configure_logging
from sql import DatabaseUnavailable

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 78

log = structlog.get_logger("daemon")


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.runtime import open_runtime

    async with open_runtime(settings):
        pass  # open_runtime applies pending migrations under the advisory lock
    print("migrations applied")
    return EXIT_OK


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.server import serve

    require_safe_bind(settings)
    return await serve(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="instantly-sync",
        description="Keep campaign statuses in step with the external campaign service.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the HTTP API, webhook receiver and scheduler")
    serve.set_defaults(func=_serve)
    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    migrate.set_defaults(func=_migrate)
    cli_reconcile.register(sub)
    cli_webhooks.register(sub)
    cli_tools.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            require_safe_bind(settings)
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
