"""What an operator reads when a command fails: one line naming what to fix.

The API's sentences speak to end users ("Contact administrator"); the CLI
speaks to the administrator, so it names the variable, the URL or the place
it looked, never a secret.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from daemon.config import Settings
from instantly.errors import (
    ExternalAuthFailed,
    ExternalConfigMissing,
    ExternalError,
    ExternalPermissionMissing,
    ExternalRateLimited,
    ExternalUnreachable,
)


def database_place(settings: Settings) -> str:
    """Where the database is, without its password."""
    if settings.database_url is None:
        return f"the embedded Postgres under {(settings.data_dir / 'pgdata').resolve()}"
    parts = urlsplit(settings.database_url.get_secret_value())
    host = parts.hostname or "localhost (socket)"
    port = parts.port or 5432
    database = parts.path.lstrip("/") or (parts.username or "postgres")
    role = parts.username or "the current user"
    return f"{host}:{port}, database {database!r}, role {role!r} (DATABASE_URL)"


def external_problem(exc: ExternalError, settings: Settings) -> str:
    base = settings.instantly_base_url
    if isinstance(exc, ExternalConfigMissing):
        return "INSTANTLY_API_KEY is not set"
    if isinstance(exc, ExternalPermissionMissing):
        return (f"INSTANTLY_API_KEY lacks the scope {exc.scope or '(unknown)'} at {base}"
                " (403): add it to the key, or use a key that has it")
    if isinstance(exc, ExternalAuthFailed):
        return f"INSTANTLY_API_KEY was refused by {base} ({exc.status})"
    if isinstance(exc, ExternalUnreachable):
        return f"cannot reach INSTANTLY_BASE_URL {base} ({exc})"
    if isinstance(exc, ExternalRateLimited):
        return f"{base} keeps answering 429 (rate limited): try again later"
    return f"{base} answered with an error: {exc}"
