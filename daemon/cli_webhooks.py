"""CLI `webhooks register|list`: manage the Instantly webhook that feeds us."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from daemon.config import Settings
from daemon.errors import from_external
from daemon.services import build_client, new_http_session
from instantly.errors import ExternalError


async def register_webhook(args: argparse.Namespace, settings: Settings) -> int:
    """Create an all-events webhook that sends our secret in X-Webhook-Secret."""
    if not settings.webhook_secrets:
        print("webhooks register: WEBHOOK_SECRET is not set; the receiver would reject"
              " every delivery", file=sys.stderr)
        return 2
    url = urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        print(f"webhooks register: --url must be an absolute http(s) URL, got {args.url!r}",
              file=sys.stderr)
        return 2
    async with new_http_session() as session:
        client = build_client(settings, session)
        try:
            hook = await client.create_webhook(
                target_hook_url=args.url, event_type=args.event_type, campaign=args.campaign,
                headers={"X-Webhook-Secret": settings.webhook_secrets[0].get()},
                name="instantly-sync",
            )
        except ExternalError as exc:
            error = from_external(exc)
            print(f"webhooks register: {error.code}: {error.message}", file=sys.stderr)
            return 1
    print(f"registered webhook {hook.get('id')} ({hook.get('event_type')}) -> "
          f"{hook.get('target_hook_url')}")
    return 0


async def list_webhooks(args: argparse.Namespace, settings: Settings) -> int:
    """Print the workspace's webhooks (never their header values: they hold secrets)."""
    async with new_http_session() as session:
        client = build_client(settings, session)
        try:
            hooks = await client.list_webhooks()
        except ExternalError as exc:
            error = from_external(exc)
            print(f"webhooks list: {error.code}: {error.message}", file=sys.stderr)
            return 1
    print(f"{'ID':<38} {'EVENT TYPE':<20} {'STATUS':<8} TARGET")
    for hook in hooks:
        status = {1: "active", -1: "disabled"}.get(hook.get("status"), str(hook.get("status")))
        print(f"{hook.get('id', ''):<38} {hook.get('event_type') or '':<20} {status:<8} "
              f"{hook.get('target_hook_url', '')}")
    print(f"{len(hooks)} webhook(s)")
    return 0


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
