"""`instantly-sync migrate`: apply pending migrations and exit."""

from __future__ import annotations

import argparse

from daemon.cli.exits import EXIT_OK
from daemon.cli.helptext import DATABASE, LOGGING, Subcommands, help_args
from daemon.config import Settings
from daemon.services import services_context


async def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    async with services_context(settings,
                                alongside_other_tables=args.alongside_other_tables):
        pass  # opening the services applies pending migrations under the advisory lock
    print("migrations applied")
    return EXIT_OK


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "migrate", help="apply database migrations and exit",
        description="Apply pending migrations (creating the embedded database if"
                    " DATABASE_URL is unset) and exit.",
        **help_args(*DATABASE, *LOGGING, example="DATABASE_URL=postgresql://u@db/sync"
                                                 " instantly-sync migrate"))
    parser.add_argument(
        "--alongside-other-tables", action="store_true",
        help="install into a database whose schema already holds other applications'"
             " tables (refused without it: a mistyped DATABASE_URL must not fill a shared"
             " database)")
    parser.set_defaults(func=migrate_command)
