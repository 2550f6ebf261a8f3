"""`instantly-sync check`: configuration, database, the API key and its scopes, a line each.

The key check is the v2 equivalent of the seed's "test API key" step: one
`GET /api/v2/campaigns?limit=1`, which also probes `campaigns:read`. Each other
scope the configured features need is probed with a harmless read: the
webhook list (`webhooks:read`) and one row of the delivery log
(`webhook_events:read`) when WEBHOOK_PUBLIC_URL is set. `campaigns:update` and
`webhooks:update` have no harmless call: they are listed as not probed. A
missing scope is a configuration error (exit 78). Every other enabled workspace
(docs/workspaces.md) is probed the same way with its own key, a line each. Values
of secrets are never printed, only whether they are set.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from daemon.cli.exits import EXIT_CONFIG, EXIT_ERROR, EXIT_OK
from daemon.cli.explain import database_place, external_problem
from daemon.cli.helptext import DATABASE, EXTERNAL, Subcommands, help_args
from daemon.config import Settings
from daemon.embedded_db import NoEmbeddedDatabase
from daemon.services import client_context, services_context
from instantly.client import InstantlyClient
from instantly.errors import ExternalAuthFailed, ExternalError, ExternalPermissionMissing
from instantly.workspaces import DEFAULT_WORKSPACE_ID
from sql import DatabasePermissionDenied, DatabaseRefused, DatabaseUnavailable
from sql.migrate import pending_migrations


def _line(ok: bool | None, name: str, detail: str) -> None:
    """One check: OK, FAIL, or -- for one that was not made."""
    mark = "--" if ok is None else "OK" if ok else "FAIL"
    print(f"[{mark:>4}] {name:<14} {detail}")


async def _database_ok(settings: Settings) -> bool:
    place = database_place(settings)
    try:
        async with services_context(settings, run_migrations=False,
                                    create_database=False) as services:
            pending = await pending_migrations(services.db)
    except NoEmbeddedDatabase as exc:
        _line(False, "database", f"none at {exc.pgdata} (set DATA_DIR or DATABASE_URL)")
        return False
    except DatabasePermissionDenied as exc:
        _line(False, "database", f"{place}: {exc} (the role lacks a grant)")
        return False
    except DatabaseRefused as exc:
        _line(False, "database", f"{place} refused the connection: {exc}")
        return False
    except (DatabaseUnavailable, OSError) as exc:
        _line(False, "database", f"unreachable at {place} ({type(exc).__name__}: {exc})")
        return False
    _line(not pending, "database",
          "reachable, migrations applied" if not pending
          else f"reachable, {len(pending)} migration(s) pending: run `migrate`")
    return not pending


Probe = Callable[[InstantlyClient], Awaitable[str]]


async def _campaigns(client: InstantlyClient) -> str:
    page = await client.list_campaigns_page(limit=1)
    return f"{len(page.get('items') or [])} campaign(s) on the first page"


async def _webhooks(client: InstantlyClient) -> str:
    return f"{len(await client.list_webhooks())} webhook(s)"


async def _delivery_log(client: InstantlyClient) -> str:
    page = await client.webhook_events_page(limit=1)
    return f"{len(page.get('items') or [])} row(s) read"


def _probes(settings: Settings) -> list[tuple[str, Probe]]:
    probes: list[tuple[str, Probe]] = [("campaigns:read", _campaigns)]
    if settings.webhook_public_url:
        probes += [("webhooks:read", _webhooks), ("webhook_events:read", _delivery_log)]
    return probes


async def _external(settings: Settings) -> int:
    """EXIT_OK, EXIT_CONFIG when a scope is missing, EXIT_ERROR when the key or the
    service fails."""
    missing = False
    async with client_context(settings) as client:
        for i, (scope, probe) in enumerate(_probes(settings)):
            try:
                detail = await probe(client)
            except ExternalPermissionMissing:
                _line(False, "scope", f"{scope} missing: give the key in INSTANTLY_API_KEY"
                                      " this scope")
                missing = True
                continue
            except ExternalError as exc:
                _line(False, "external API", external_problem(exc, settings))
                return EXIT_ERROR
            if i == 0:
                _line(True, "external API", f"key accepted by {settings.instantly_base_url}")
            _line(True, "scope", f"{scope} ({detail})")
    not_probed = ["campaigns:update"] + (["webhooks:update"] if settings.webhook_public_url
                                         else [])
    _line(None, "scope", f"{', '.join(not_probed)}: not probed (no harmless call; a missing"
                         " one is named by the first change that needs it)")
    return EXIT_CONFIG if missing else EXIT_OK


async def _other_workspaces(settings: Settings) -> int:
    """Each enabled workspace besides the default, probed with its own key: EXIT_OK,
    EXIT_CONFIG when a scope is missing or its key cannot be read, else EXIT_ERROR."""
    worst = EXIT_OK
    async with services_context(settings, run_migrations=False,
                                create_database=False) as services:
        for target in await services.workspaces.webhook_targets():
            workspace = target.workspace
            if workspace.id == DEFAULT_WORKSPACE_ID:
                continue
            name = f"workspace {workspace.name}"
            if not workspace.client.configured:
                _line(False, name, "its stored key cannot be read: is the key it was"
                                   " encrypted with in WORKSPACE_KEYS?")
                worst = max(worst, EXIT_CONFIG)
                continue
            probes = [("campaigns:read", _campaigns)]
            if target.public_url:
                probes += [("webhooks:read", _webhooks), ("webhook_events:read", _delivery_log)]
            found = []
            for scope, probe in probes:
                try:
                    found.append(f"{scope} ({await probe(workspace.client)})")
                except ExternalPermissionMissing:
                    found.append(f"{scope} MISSING")
                    worst = max(worst, EXIT_CONFIG)
                except ExternalAuthFailed:
                    _line(False, name, "key refused: instantly-sync workspaces rotate-key"
                                       f" {workspace.name}")
                    worst = EXIT_ERROR
                    break
                except ExternalError as exc:
                    _line(False, name, f"{type(exc).__name__}: {exc}")
                    worst = EXIT_ERROR
                    break
            else:
                ok = not any(f.endswith("MISSING") for f in found)
                _line(ok, name, "key accepted; " + ", ".join(found))
    return worst


async def check_command(args: argparse.Namespace, settings: Settings) -> int:
    _line(True, "configuration",
          f"INSTANTLY_API_KEY {'set' if settings.instantly_api_key else 'NOT set'}, "
          f"WEBHOOK_SECRET {'set' if settings.webhook_secrets else 'NOT set'}, "
          f"API_TOKENS {'set' if settings.api_tokens else 'NOT set (loopback only)'}, "
          f"FULL_PAUSE_SYNC {'on' if settings.full_pause_sync else 'off'}, "
          f"INSTANTLY_BASE_URL {settings.instantly_base_url}")
    database_ok = await _database_ok(settings)
    external = await _external(settings)
    if database_ok:  # the other workspaces are rows of the database
        others = await _other_workspaces(settings)
        external = external if external != EXIT_OK else others
    if external != EXIT_OK:
        return external
    return EXIT_OK if database_ok else EXIT_ERROR


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "check", help="check configuration, database and the API key (one list call)",
        description="Check the configuration, the database (reachable, migrated) and the"
                    " API key (one GET /api/v2/campaigns?limit=1); exit 0 when all pass.",
        **help_args(*DATABASE, *EXTERNAL, "WEBHOOK_SECRET", "API_TOKENS", "FULL_PAUSE_SYNC",
                    example="INSTANTLY_API_KEY=... instantly-sync check"))
    parser.set_defaults(func=check_command)
