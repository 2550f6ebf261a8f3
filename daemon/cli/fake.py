"""`instantly-sync fake-instantly`: the fake external API as a server of its own."""

from __future__ import annotations

import argparse
import os

from daemon.cli.exits import EXIT_OK
from daemon.cli.helptext import Subcommands, help_args
from daemon.config import Settings
from instantly.fake import run_forever


async def fake_command(args: argparse.Namespace, settings: Settings) -> int:
    await run_forever(host=args.host, port=args.port, campaigns=args.campaigns,
                      api_key=os.environ.get("INSTANTLY_API_KEY") or "fake-key",
                      rate_limit_per_second=args.rate_limit)
    return EXIT_OK


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "fake-instantly", help="run the fake Instantly API server",
        description="Run the fake external API (for trying and testing) until Ctrl-C.",
        **help_args("INSTANTLY_API_KEY",
                    example="instantly-sync fake-instantly --port 8081 --campaigns 100"))
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=8081,
                        help="port to listen on (default: 8081)")
    parser.add_argument("--campaigns", type=int, default=0, help="seed N paused campaigns")
    parser.add_argument("--rate-limit", type=int, default=100, help="requests per second")
    parser.set_defaults(func=fake_command)
