"""`instantly-sync serve`: the HTTP API, webhook receiver and scheduler."""

from __future__ import annotations

import argparse

from daemon.config import Settings, require_safe_bind, variables_help
from daemon.http.server import serve


async def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    return await serve(settings)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the HTTP API, webhook receiver and scheduler",
        epilog=variables_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    # Checked with the configuration, before logging starts: exit 78 on refusal.
    parser.set_defaults(func=serve_command, check_settings=require_safe_bind)
