"""`instantly-sync webhooks register|list`: the external service's webhook that feeds us."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from daemon.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from daemon.config import Settings
from daemon.errors import api_error
from daemon.services import client_context
from instantly.errors import ExternalError


def _failed(command: str, exc: ExternalError) -> int:
    error = api_error(exc)
    assert error is not None
    print(f"webhooks {command}: {error.code}: {error.message}", file=sys.stderr)
    return EXIT_ERROR


async def register_webhook(args: argparse.Namespace, settings: Settings) -> int:
    """Create an all-events webhook that sends our secret in X-Webhook-Secret."""
    if not settings.webhook_secrets:
        print("webhooks register: WEBHOOK_SECRET is not set; the receiver would reject"
              " every delivery", file=sys.stderr)
        return EXIT_USAGE
    url = urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        print(f"webhooks register: --url must be an absolute http(s) URL, got {args.url!r}",
              file=sys.stderr)
        return EXIT_USAGE
    async with client_context(settings) as client:
        try:
            hook = await client.create_webhook(
                target_hook_url=args.url, event_type=args.event_type, campaign=args.campaign,
                headers={"X-Webhook-Secret": settings.webhook_secrets[0].get_secret_value()},
                name="instantly-sync",
            )
        except ExternalError as exc:
            return _failed("register", exc)
    print(f"registered webhook {hook.get('id')} ({hook.get('event_type')}) -> "
          f"{hook.get('target_hook_url')}")
    return EXIT_OK


async def list_webhooks(args: argparse.Namespace, settings: Settings) -> int:
    """Print the workspace's webhooks (never their header values: they hold secrets)."""
    async with client_context(settings) as client:
        try:
            hooks = await client.list_webhooks()
        except ExternalError as exc:
            return _failed("list", exc)
    print(f"{'ID':<38} {'EVENT TYPE':<20} {'STATUS':<8} TARGET")
    for hook in hooks:
        status = {1: "active", -1: "disabled"}.get(hook.get("status"), str(hook.get("status")))
        print(f"{hook.get('id', ''):<38} {hook.get('event_type') or '':<20} {status:<8} "
              f"{hook.get('target_hook_url', '')}")
    print(f"{len(hooks)} webhook(s)")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    webhooks = subparsers.add_parser("webhooks", help="manage the external service's webhook")
    sub = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    reg = sub.add_parser("register", help="create the webhook that delivers events to us")
    reg.add_argument("--url", required=True, help="public URL of POST /webhooks/instantly")
    reg.add_argument("--event-type", default="all_events")
    reg.add_argument("--campaign", default=None, help="only events of this external campaign")
    reg.set_defaults(func=register_webhook)
    lst = sub.add_parser("list", help="list the workspace's webhooks")
    lst.set_defaults(func=list_webhooks)
