"""`instantly-sync check`: configuration, database and the API key, one line each.

The key check is the v2 equivalent of the seed's "test API key" step:
one `GET /api/v2/campaigns?limit=1`. Values of secrets are never printed,
only whether they are set.
"""

from __future__ import annotations

import argparse

from daemon.config import Settings
from daemon.errors import from_external
from daemon.runtime import resolve_dsn
from daemon.services import build_client, new_http_session
from instantly.errors import ExternalError
from sql import DatabaseUnavailable, connect
from sql.migrate import pending_migrations


def _line(ok: bool, name: str, detail: str) -> None:
    print(f"[{'OK' if ok else 'FAIL':>4}] {name:<14} {detail}")


async def check_command(args: argparse.Namespace, settings: Settings) -> int:
    ok = True
    _line(True, "configuration",
          f"api key {'set' if settings.instantly_api_key else 'NOT set'}, "
          f"webhook secret {'set' if settings.webhook_secrets else 'NOT set'}, "
          f"api tokens {'set' if settings.api_tokens else 'NOT set (loopback only)'}, "
          f"full pause sync {'on' if settings.full_pause_sync else 'off'}")
    try:
        db = await connect(resolve_dsn(settings), min_size=1, max_size=1)
    except (DatabaseUnavailable, OSError) as exc:
        _line(False, "database", f"unreachable ({type(exc).__name__})")
        ok = False
    else:
        try:
            pending = await pending_migrations(db)
            _line(not pending, "database",
                  "reachable, migrations applied" if not pending
                  else f"reachable, {len(pending)} migration(s) pending: run `migrate`")
            ok = ok and not pending
        finally:
            await db.close()
    async with new_http_session() as session:
        client = build_client(settings, session)
        try:
            page = await client.list_campaigns_page(limit=1)
        except ExternalError as exc:
            error = from_external(exc)
            _line(False, "external API", f"{error.code}: {error.message}")
            ok = False
        else:
            _line(True, "external API",
                  f"key accepted ({len(page.get('items') or [])} campaign(s) on the first page)")
    return 0 if ok else 1
