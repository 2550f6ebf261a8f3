"""The `instantly-sync` command line: one module per command.

Exit codes (README "Exit codes"): 0 success; 1 error (a failed check, an
unreachable dependency); 2 unexpected drift (`reconcile`) or a webhook that
is not active (`webhooks status`); 64 usage error; 78 invalid configuration.
Command output goes to stdout, logs and errors to stderr; an error is one
line naming what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import NoReturn

from daemon.cli.exits import EXIT_CONFIG, EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandRefused
from daemon.cli.explain import database_place
from daemon.config import ConfigError, Settings, load_settings
from daemon.embedded_db import EmbeddedNotInstalled, NoEmbeddedDatabase
from daemon.http.server import PortBusy
from daemon.logs import configure_logging
from daemon.loop import run
from sql import DatabasePermissionDenied, DatabaseRefused, DatabaseUnavailable
from sql.migrate import OtherTables, SchemaBehind

# Each command's module under daemon.cli, in the order `--help` lists them. Only the
# module of the command given is imported: `serve` does not load the demo, the
# self-test, the fake service or the other commands (less memory for the process
# that runs for months, and a faster start).
COMMANDS: dict[str, str] = {
    "serve": "serve", "migrate": "migrate", "reconcile": "reconcile", "drift": "drift",
    "check": "check", "selftest": "selftest", "fake-instantly": "fake", "demo": "demo",
    "webhooks": "webhooks", "remote": "linking", "link": "linking", "sync": "sync",
    "workspaces": "workspaces", "notify": "notify",
}


class Parser(argparse.ArgumentParser):
    """argparse with the usage-error exit code of sysexits (64, not 2: 2 means drift)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _modules_for(argv: Sequence[str] | None) -> list[str]:
    """The command modules to register: the given command's, or all (help, usage errors)."""
    args = sys.argv[1:] if argv is None else list(argv)
    given = args[0] if args else None
    if given in COMMANDS:
        return [COMMANDS[given]]
    return list(dict.fromkeys(COMMANDS.values()))


def _version() -> str:
    try:
        return metadata.version("instantly-sync")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def unknown_command(args: Sequence[str]) -> str | None:
    """The usage error for a first word that is no command, with the closest one."""
    if not args or args[0].startswith("-") or args[0] in COMMANDS:
        return None
    close = difflib.get_close_matches(args[0], list(COMMANDS), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"commands: {', '.join(COMMANDS)}"
    return f"unknown command {args[0]!r}; {hint}"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv` (None: sys.argv): with only that command's arguments
    when it names one, else with every command."""
    parser = Parser(
        prog="instantly-sync",
        description="Keep campaign statuses in step with the external campaign service.",
        epilog="Exit codes: 0 ok, 1 error, 2 unexpected drift (reconcile) or webhook not"
               " active (webhooks status), 64 usage error, 78 invalid configuration.",
    )
    parser.add_argument("--version", action="version", version=f"instantly-sync {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _modules_for(argv):
        importlib.import_module(f"daemon.cli.{module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    unknown = unknown_command(sys.argv[1:] if argv is None else list(argv))
    if unknown is not None:
        parser.error(unknown)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if getattr(args, "check_settings", None):
            args.check_settings(settings)
    except ConfigError as exc:
        print(f"instantly-sync: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(
        fmt=settings.log_format, level=settings.log_level, secrets=settings.secret_values()
    )
    try:
        return run(args.func(args, settings), choice=settings.event_loop)
    except KeyboardInterrupt:
        return EXIT_OK
    except CommandRefused as exc:
        print(f"instantly-sync: {exc}", file=sys.stderr)
        return exc.exit_code
    except EmbeddedNotInstalled as exc:
        print(f"instantly-sync: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (NoEmbeddedDatabase, DatabaseRefused, DatabaseUnavailable, PortBusy,
            SchemaBehind, OtherTables) as exc:
        line, code = _operator_line(exc, settings)
        print(f"instantly-sync: {line}", file=sys.stderr)
        return code


def _operator_line(exc: Exception, settings: Settings) -> tuple[str, int]:
    if isinstance(exc, NoEmbeddedDatabase):
        return (f"no database at {exc.pgdata}: run this command where `serve` runs (or set"
                " DATA_DIR to that .instantly-sync directory), or set DATABASE_URL",
                EXIT_ERROR)
    if isinstance(exc, DatabasePermissionDenied):
        return (f"{database_place(settings)}: {exc}; the role lacks a grant this command"
                " needs (docs/operations.md, Postgres)", EXIT_CONFIG)
    if isinstance(exc, DatabaseRefused):
        return f"{database_place(settings)} refused the connection: {exc}", EXIT_CONFIG
    if isinstance(exc, SchemaBehind):
        return (f"the database at {database_place(settings)} is behind this version ({exc});"
                " run `instantly-sync migrate` with a role that may change the schema",
                EXIT_ERROR)
    if isinstance(exc, PortBusy):
        return str(exc), EXIT_ERROR
    if isinstance(exc, OtherTables):
        return (f"the database at {database_place(settings)} holds {exc}; point DATABASE_URL"
                " at a database of its own, or run `instantly-sync migrate"
                " --alongside-other-tables` once to share this one", EXIT_CONFIG)
    return (f"database unreachable at {database_place(settings)} ({exc}); check DATABASE_URL"
            " and that Postgres is running", EXIT_ERROR)
