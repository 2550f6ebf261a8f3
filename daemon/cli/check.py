"""`instantly-sync check`: configuration, database and the API key, one line each.

The key check is the v2 equivalent of the seed's "test API key" step:
one `GET /api/v2/campaigns?limit=1`. Values of secrets are never printed,
only whether they are set.
"""

from __future__ import annotations

import argparse

from daemon.cli.exits import EXIT_ERROR, EXIT_OK
from daemon.config import Settings
from daemon.errors import api_error
from daemon.services import client_context, services_context
from instantly.errors import ExternalError
from sql import DatabaseUnavailable
from sql.migrate import pending_migrations


def _line(ok: bool, name: str, detail: str) -> None:
    print(f"[{'OK' if ok else 'FAIL':>4}] {name:<14} {detail}")


async def _database_ok(settings: Settings) -> bool:
    try:
        async with services_context(settings, run_migrations=False, wait_seconds=0) as services:
            pending = await pending_migrations(services.db)
    except (DatabaseUnavailable, OSError) as exc:
        _line(False, "database", f"unreachable ({type(exc).__name__})")
        return False
    _line(not pending, "database",
          "reachable, migrations applied" if not pending
          else f"reachable, {len(pending)} migration(s) pending: run `migrate`")
    return not pending


async def _external_ok(settings: Settings) -> bool:
    async with client_context(settings) as client:
        try:
            page = await client.list_campaigns_page(limit=1)
        except ExternalError as exc:
            error = api_error(exc)
            assert error is not None
            _line(False, "external API", f"{error.code}: {error.message}")
            return False
    _line(True, "external API",
          f"key accepted ({len(page.get('items') or [])} campaign(s) on the first page)")
    return True


async def check_command(args: argparse.Namespace, settings: Settings) -> int:
    _line(True, "configuration",
          f"api key {'set' if settings.instantly_api_key else 'NOT set'}, "
          f"webhook secret {'set' if settings.webhook_secrets else 'NOT set'}, "
          f"api tokens {'set' if settings.api_tokens else 'NOT set (loopback only)'}, "
          f"full pause sync {'on' if settings.full_pause_sync else 'off'}")
    database_ok = await _database_ok(settings)
    external_ok = await _external_ok(settings)
    return EXIT_OK if database_ok and external_ok else EXIT_ERROR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="check configuration, database and the API key (one list call)")
    parser.set_defaults(func=check_command)
