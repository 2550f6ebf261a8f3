"""CLI commands for operators' tooling: check, selftest, fake-instantly, demo."""

from __future__ import annotations

import argparse
import os

from daemon.config import Settings


async def _check(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.check import check_command

    return await check_command(args, settings)


async def _selftest(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.selftest import selftest_command

    return await selftest_command(args, settings)


async def _fake(args: argparse.Namespace, settings: Settings) -> int:
    from instantly.fake import run_forever

    await run_forever(host=args.host, port=args.port, campaigns=args.campaigns,
                      api_key=os.environ.get("INSTANTLY_API_KEY") or "fake-key",
                      rate_limit_per_second=args.rate_limit)
    return 0


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.demo import run_demo

    return await run_demo()


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check", help="check configuration, database and the API key (one list call)")
    check.set_defaults(func=_check)
    selftest = subparsers.add_parser(
        "selftest", help="run the toggle and error scenarios against a fake (or --real)")
    selftest.add_argument("--real", action="store_true",
                          help="use the configured INSTANTLY_API_KEY against the real API")
    selftest.add_argument("--campaign", help="external campaign id to activate with --real")
    selftest.set_defaults(func=_selftest)
    fake = subparsers.add_parser("fake-instantly", help="run the fake Instantly API server")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8081)
    fake.add_argument("--campaigns", type=int, default=0, help="seed N paused campaigns")
    fake.add_argument("--rate-limit", type=int, default=100, help="requests per second")
    fake.set_defaults(func=_fake)
    demo = subparsers.add_parser(
        "demo", help="embedded Postgres + fake + daemon with seeded campaigns")
    demo.set_defaults(func=_demo)
