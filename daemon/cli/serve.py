"""`instantly-sync serve`: the HTTP API, webhook receiver and scheduler."""

from __future__ import annotations

import argparse

from daemon.cli.helptext import Subcommands, help_args
from daemon.config import Settings, require_safe_bind
from daemon.http.server import serve


async def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    return await serve(settings)


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the HTTP API, webhook receiver and scheduler",
        description="Run the HTTP API, the webhook receiver and the reconcile scheduler"
                    " until SIGTERM or SIGINT (graceful). Applies pending migrations first.",
        **help_args(example="API_TOKENS=$(openssl rand -hex 32) HOST=0.0.0.0"
                            " instantly-sync serve"))
    # Checked with the configuration, before logging starts: exit 78 on refusal.
    parser.set_defaults(func=serve_command, check_settings=require_safe_bind)
