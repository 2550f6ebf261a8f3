"""`instantly-sync webhooks register|list|status|resume|backfill`: our webhook that feeds us.

`register` is idempotent: a webhook already posting to the URL is updated in
place (PATCH of its headers and event type) instead of a second one being
created; with WEBHOOK_SECRET="new,old" it installs the first secret (the
rotation step). `status` exits 0 when our webhook is active, 2 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from daemon.cli.exits import (
    EXIT_CONFIG,
    EXIT_DRIFT,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CommandRefused,
)
from daemon.cli.explain import external_problem
from daemon.cli.helptext import DATABASE, Subcommands, help_args
from daemon.config import Settings
from daemon.passes import pass_after_resume
from daemon.services import client_context, existing_services
from instantly.client import InstantlyClient
from instantly.errors import ExternalConfigMissing, ExternalError, ExternalPermissionMissing
from webhooks.health import SECRET_HEADER, ours

# The documented subscription names, for when the service does not list them.
DOCUMENTED_EVENT_TYPES = (
    "all_events", "email_sent", "email_opened", "email_link_clicked", "reply_received",
    "email_bounced", "lead_unsubscribed", "campaign_completed", "account_error",
    "lead_neutral", "lead_interested", "lead_not_interested", "lead_meeting_booked",
    "lead_meeting_completed", "lead_closed", "lead_out_of_office", "lead_wrong_person",
    "lead_no_show", "supersearch_enrichment_completed",
)


def _failed(command: str, exc: ExternalError, settings: Settings) -> int:
    """One line naming what to fix (the setting, the URL); exit 78 when a setting can
    fix it (no key, a missing scope), else 1."""
    print(f"webhooks {command}: {external_problem(exc, settings)}", file=sys.stderr)
    fixable = isinstance(exc, ExternalConfigMissing | ExternalPermissionMissing)
    return EXIT_CONFIG if fixable else EXIT_ERROR


@asynccontextmanager
async def _client_and_secrets(settings: Settings, workspace: str | None
                              ) -> AsyncIterator[tuple[InstantlyClient, tuple[str, ...]]]:
    """The default workspace's client and WEBHOOK_SECRET (no database needed), or another
    workspace's client and stored secret (docs/workspaces.md)."""
    if workspace in (None, "default"):
        async with client_context(settings) as client:
            yield client, tuple(s.get_secret_value() for s in settings.webhook_secrets)
        return
    async with existing_services(settings) as services:
        found = await services.workspaces.receiver(workspace)
        if found is None:
            raise CommandRefused(f"webhooks: no workspace is named {workspace!r}"
                                 " (instantly-sync workspaces list)")
        yield (await services.workspaces.by_name(workspace)).client, found[1]


async def register_webhook(args: argparse.Namespace, settings: Settings) -> int:
    """Create our webhook, or update the one already posting to the URL."""
    url = urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        print(f"webhooks register: --url must be an absolute http(s) URL, got {args.url!r}",
              file=sys.stderr)
        return EXIT_USAGE
    async with _client_and_secrets(settings, args.workspace) as (client, secrets):
        if not secrets:
            missing = ("WEBHOOK_SECRET is not set" if args.workspace in (None, "default")
                       else f"workspace {args.workspace} has no webhook secret (instantly-sync"
                       f" workspaces webhook {args.workspace} --secret)")
            print(f"webhooks register: {missing}; the receiver would reject every delivery",
                  file=sys.stderr)
            return EXIT_CONFIG
        headers = {SECRET_HEADER: secrets[0]}
        try:
            known = await client.webhook_event_types() or list(DOCUMENTED_EVENT_TYPES)
            if args.event_type not in known:
                print(f"webhooks register: --event-type {args.event_type!r} is not one of"
                      f" {', '.join(known)}", file=sys.stderr)
                return EXIT_USAGE
            existing = ours(await client.list_webhooks(), args.url)
            if existing is not None:
                hook = await client.update_webhook(
                    str(existing["id"]), headers=headers, event_type=args.event_type)
                verb = "updated"
            else:
                hook = await client.create_webhook(
                    target_hook_url=args.url, event_type=args.event_type,
                    campaign=args.campaign, headers=headers, name="instantly-sync")
                verb = "registered"
        except ExternalError as exc:
            return _failed("register", exc, settings)
    print(f"{verb} webhook {hook.get('id')} ({hook.get('event_type')}) -> "
          f"{hook.get('target_hook_url')}")
    return EXIT_OK


async def list_webhooks(args: argparse.Namespace, settings: Settings) -> int:
    """Print the workspace's webhooks (never their header values: they hold secrets)."""
    async with client_context(settings) as client:
        try:
            hooks = await client.list_webhooks()
        except ExternalError as exc:
            return _failed("list", exc, settings)
    print(f"{'ID':<38} {'EVENT TYPE':<20} {'STATUS':<8} TARGET")
    for hook in hooks:
        status = {1: "active", -1: "disabled"}.get(hook.get("status"), str(hook.get("status")))
        print(f"{hook.get('id', ''):<38} {hook.get('event_type') or '':<20} {status:<8} "
              f"{hook.get('target_hook_url', '')}")
    print(f"{len(hooks)} webhook(s)")
    return EXIT_OK


def _needs_url(command: str, settings: Settings) -> bool:
    if settings.webhook_public_url:
        return False
    print(f"webhooks {command}: WEBHOOK_PUBLIC_URL is not set (the URL the external service"
          " posts to)", file=sys.stderr)
    return True


async def status_command(args: argparse.Namespace, settings: Settings) -> int:
    """Our webhook's state; exit 0 when active, 2 otherwise."""
    if _needs_url("status", settings):
        return EXIT_CONFIG
    async with existing_services(settings) as services:
        try:
            sub = await services.webhook_health.check()
        except ExternalError as exc:
            return _failed("status", exc, settings)
    detail = f" since {sub.timestamp_error}" if sub.timestamp_error else ""
    print(f"{sub.state}{detail}: {sub.url}" + (f" (webhook {sub.webhook_id})"
                                               if sub.webhook_id else ""))
    return EXIT_OK if sub.state == "active" else EXIT_DRIFT


async def resume_command(args: argparse.Namespace, settings: Settings) -> int:
    """Resume our webhook if it is disabled, backfill the gap, then run a reconcile pass
    (the delivery log may hold nothing of the disabled period; the comparison finds it)."""
    if _needs_url("resume", settings):
        return EXIT_CONFIG
    async with existing_services(settings) as services:
        try:
            sub, summary = await services.webhook_health.resume(trigger="cli")
        except ExternalError as exc:
            return _failed("resume", exc, settings)
        run = await pass_after_resume(services) if summary is not None else None
    print(f"webhook {sub.state}: {sub.url}")
    if summary is not None:
        print(_summary_line(summary.as_dict()))
    if run is not None:
        print(f"reconcile pass {run['id']} {run['status']}: {run['findings_opened']} finding(s)"
              f" opened, {run['findings_resolved']} resolved")
    return EXIT_OK if sub.state == "active" else EXIT_ERROR


async def backfill_command(args: argparse.Namespace, settings: Settings) -> int:
    """Store the failed deliveries of the delivery log since --since or the high-water mark."""
    if _needs_url("backfill", settings):
        return EXIT_CONFIG
    async with existing_services(settings) as services:
        summary = await services.webhook_health.backfill(trigger="cli", since=args.since)
    print(_summary_line(summary.as_dict()))
    return EXIT_OK if summary.status == "succeeded" else EXIT_ERROR


def _summary_line(s: dict[str, object]) -> str:
    line = (f"backfill {s['id']}: {s['status']} — {s['read']} read, {s['stored']} stored,"
            f" {s['duplicates']} duplicates, {s['rejected']} rejected"
            f" ({s['window_from']} to {s['window_to']})")
    return line + (f": {s['error']}" if s.get("error") else "")


def _since(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {json.dumps(raw)}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def register(subparsers: Subcommands) -> None:
    hook_vars = ("INSTANTLY_API_KEY", "INSTANTLY_BASE_URL", "WEBHOOK_SECRET", "WEBHOOK_PUBLIC_URL")
    webhooks = subparsers.add_parser(
        "webhooks", help="manage the external service's webhook",
        description="Register, list, check, resume and backfill our webhook at the external"
                    " service (docs/webhooks.md).",
        **help_args(*hook_vars, example="instantly-sync webhooks status"))
    sub = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    reg = sub.add_parser(
        "register", help="create (or update in place) the webhook that delivers events to us",
        **help_args(*hook_vars, example='instantly-sync webhooks register --url'
                                        ' "$WEBHOOK_PUBLIC_URL"'))
    reg.add_argument("--url", required=True, help="public URL of POST /webhooks/instantly")
    reg.add_argument("--event-type", default="all_events",
                     help="the one event type to receive (default: all_events); checked"
                          " against the service's list")
    reg.add_argument("--campaign", default=None, help="only events of this external campaign")
    reg.add_argument("--workspace", default=None,
                     help="another workspace than the default: its key and stored secret"
                          " (its URL is …/webhooks/instantly/NAME)")
    reg.set_defaults(func=register_webhook)
    lst = sub.add_parser("list", help="list the workspace's webhooks",
                         **help_args(*hook_vars[:2], example="instantly-sync webhooks list"))
    lst.set_defaults(func=list_webhooks)
    status = sub.add_parser(
        "status", help="our webhook's state (exit 0 active, 2 otherwise)",
        **help_args(*hook_vars, *DATABASE, example="instantly-sync webhooks status"))
    status.set_defaults(func=status_command)
    resume = sub.add_parser(
        "resume", help="resume our webhook if disabled, then backfill",
        **help_args(*hook_vars, *DATABASE, example="instantly-sync webhooks resume"))
    resume.set_defaults(func=resume_command)
    backfill = sub.add_parser(
        "backfill", help="store failed deliveries from the delivery log",
        **help_args(*hook_vars, *DATABASE,
                    example="instantly-sync webhooks backfill --since 2026-01-31T00:00:00Z"))
    backfill.add_argument("--since", type=_since, default=None,
                          help="ISO 8601 time to read from (default: where the last ended)")
    backfill.set_defaults(func=backfill_command)
