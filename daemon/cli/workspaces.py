"""`instantly-sync workspaces …`: the workspaces one deployment syncs (daemon/workspaces.py;
docs/workspaces.md). Keys and webhook secrets are read from standard input (a line;
a prompt without echo on a terminal), never from the command line, where `ps` and
shell history would keep them; nothing prints them."""

from __future__ import annotations

import argparse
import getpass
import sys

from pydantic import SecretStr

from daemon.cli.exits import EXIT_OK, CommandRefused
from daemon.cli.helptext import DATABASE, EXTERNAL, Subcommands, help_args
from daemon.config import Settings
from daemon.errors import api_error
from daemon.services import existing_services
from daemon.workspaces import Keyring, Workspace, WorkspaceError
from instantly.errors import ExternalError

KEYS = ("WORKSPACE_KEYS",)


def _positive(kind: type) -> object:
    """An argparse type: a number above zero (the budget's bounds)."""

    def parse(text: str) -> float | int:
        value = kind(text)
        if not 0 < value <= 1_000_000:
            raise argparse.ArgumentTypeError(f"must be above 0 and at most 1000000, got {text}")
        return value

    return parse


def _read_secret(what: str) -> SecretStr:
    if sys.stdin.isatty():
        value = getpass.getpass(f"{what}: ")
    else:
        value = sys.stdin.readline().strip()
    if not 8 <= len(value) <= 500 or not value.isascii() or not value.isprintable() \
            or " " in value:
        raise CommandRefused(f"workspaces: the {what} read from standard input must be 8 to"
                             " 500 printable characters without spaces")
    return SecretStr(value)


def _line(w: Workspace) -> str:
    state = "enabled" if w.enabled else "DISABLED"
    key = "key stored" if w.has_key else "NO KEY"
    hook = w.webhook_public_url or "no webhook URL"
    return (f"{w.name:<16} {state:<8} {key:<10} {w.max_rps:g}/s {w.max_rpm}/min"
            f"  clients {w.clients}  linked {w.linked}  webhook {hook}")


def _refused(command: str, exc: Exception) -> CommandRefused:
    error = api_error(exc)
    return CommandRefused(f"workspaces {command}: {error.message if error else exc}")


async def _run(command: str, settings: Settings, action):  # type: ignore[no-untyped-def]
    async with existing_services(settings) as services:
        try:
            return await action(services.workspaces)
        except (WorkspaceError, ExternalError) as exc:
            raise _refused(command, exc) from None


async def new_key_command(args: argparse.Namespace, settings: Settings) -> int:
    print(Keyring.new_key())
    return EXIT_OK


async def list_command(args: argparse.Namespace, settings: Settings) -> int:
    for w in await _run("list", settings, lambda ws: ws.list()):
        print(_line(w))
    return EXIT_OK


async def add_command(args: argparse.Namespace, settings: Settings) -> int:
    key = _read_secret("API key")
    secret = _read_secret("webhook secret") if args.webhook_secret else None
    added = await _run("add", settings, lambda ws: ws.add(
        name=args.name, api_key=key, webhook_secret=secret, webhook_public_url=args.webhook_url,
        max_rps=args.max_rps, max_rpm=args.max_rpm, check=not args.no_check))
    print(f"added {_line(added)}")
    return EXIT_OK


async def rotate_key_command(args: argparse.Namespace, settings: Settings) -> int:
    key = _read_secret("new API key")
    done = await _run("rotate-key", settings,
                      lambda ws: ws.rotate_key(args.name, key, check=not args.no_check))
    print(f"key replaced; every replica uses it from its next call: {_line(done)}")
    return EXIT_OK


async def webhook_command(args: argparse.Namespace, settings: Settings) -> int:
    secret = _read_secret("webhook secret") if args.secret else None
    if secret is None and args.url is None:
        raise CommandRefused("workspaces webhook: give --secret, --url or both")
    done = await _run("webhook", settings,
                      lambda ws: ws.set_webhook(args.name, secret=secret, public_url=args.url))
    print(f"webhook set: {_line(done)}")
    return EXIT_OK


async def limits_command(args: argparse.Namespace, settings: Settings) -> int:
    done = await _run("limits", settings, lambda ws: ws.set_limits(
        args.name, max_rps=args.max_rps, max_rpm=args.max_rpm))
    print(f"budget set; every replica paces by it from its next call: {_line(done)}")
    return EXIT_OK


async def enable_command(args: argparse.Namespace, settings: Settings) -> int:
    done = await _run("enable", settings, lambda ws: ws.set_enabled(args.name, True))
    print(_line(done))
    return EXIT_OK


async def disable_command(args: argparse.Namespace, settings: Settings) -> int:
    done = await _run("disable", settings, lambda ws: ws.set_enabled(args.name, False))
    print(_line(done))
    print("nothing is sent to this workspace and passes skip it until it is enabled again")
    return EXIT_OK


async def remove_command(args: argparse.Namespace, settings: Settings) -> int:
    await _run("remove", settings, lambda ws: ws.remove(args.name))
    print(f"removed workspace {args.name}; its clients are in the default workspace again")
    return EXIT_OK


async def assign_command(args: argparse.Namespace, settings: Settings) -> int:
    was, moved = await _run("assign", settings, lambda ws: ws.assign(args.client, args.name))
    print(f"client {args.client} is in workspace {args.name}"
          + (f" (was {was})" if moved else " (already)"))
    return EXIT_OK


async def reencrypt_command(args: argparse.Namespace, settings: Settings) -> int:
    done = await _run("reencrypt", settings, lambda ws: ws.reencrypt())
    print(f"{done} workspace(s) re-encrypted with the first key of WORKSPACE_KEYS;"
          " the other keys may now be removed")
    return EXIT_OK


def register(subparsers: Subcommands) -> None:
    top = subparsers.add_parser(
        "workspaces", help="the external workspaces this deployment syncs",
        description="Add, list and change the workspaces (each with its own API key, budget,"
                    " webhook and campaigns); keys are read from standard input.",
        **help_args(*DATABASE, *KEYS, example="instantly-sync workspaces list"))
    sub = top.add_subparsers(dest="workspaces_command", required=True, metavar="ACTION")

    def action(name: str, help: str, func, example: str,  # type: ignore[no-untyped-def]
               *names: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help,
                                **help_args(*DATABASE, *KEYS, *names, example=example))
        parser.set_defaults(func=func)
        return parser

    action("new-key", "print a new encryption key for WORKSPACE_KEYS", new_key_command,
           "instantly-sync workspaces new-key")
    action("list", "every workspace, without keys", list_command,
           "instantly-sync workspaces list")
    add = action("add", "add a workspace; its API key is read from standard input",
                 add_command, 'printf "%s\\n" "$KEY" | instantly-sync workspaces add acme',
                 *EXTERNAL)
    add.add_argument("name", help="1 to 40 lowercase letters, digits or dashes")
    add.add_argument("--webhook-url", default=None,
                     help="the public URL its events arrive at (…/webhooks/instantly/NAME)")
    add.add_argument("--webhook-secret", action="store_true",
                     help="read its webhook secret from standard input too (after the key)")
    add.add_argument("--max-rps", type=_positive(float), default=None,
                     help="its calls per second (default INSTANTLY_MAX_RPS)")
    add.add_argument("--max-rpm", type=_positive(int), default=None,
                     help="its calls per minute (default INSTANTLY_MAX_RPM)")
    add.add_argument("--no-check", action="store_true",
                     help="store the key without one listing call to check it")
    rotate = action("rotate-key", "replace a workspace's API key (read from standard input)",
                    rotate_key_command,
                    'printf "%s\\n" "$NEW_KEY" | instantly-sync workspaces rotate-key acme',
                    *EXTERNAL)
    rotate.add_argument("name")
    rotate.add_argument("--no-check", action="store_true",
                        help="store the key without one listing call to check it")
    hook = action("webhook", "set a workspace's webhook secret (standard input) or URL",
                  webhook_command, "instantly-sync workspaces webhook acme --url URL")
    hook.add_argument("name")
    hook.add_argument("--secret", action="store_true", help="read a new secret from stdin")
    hook.add_argument("--url", default=None, help="the public URL its events arrive at")
    limits = action("limits", "set a workspace's own call budget (none given: the defaults)",
                    limits_command, "instantly-sync workspaces limits acme --max-rps 20")
    limits.add_argument("name")
    limits.add_argument("--max-rps", type=_positive(float), default=None,
                        help="its calls per second (absent: INSTANTLY_MAX_RPS)")
    limits.add_argument("--max-rpm", type=_positive(int), default=None,
                        help="its calls per minute (absent: INSTANTLY_MAX_RPM)")
    for name, func, text in (("enable", enable_command, "sync a disabled workspace again"),
                             ("disable", disable_command,
                              "stop every call to a workspace and skip it in passes"),
                             ("remove", remove_command,
                              "remove a workspace without linked campaigns")):
        action(name, text, func, f"instantly-sync workspaces {name} acme").add_argument("name")
    assign = action("assign", "put a client (and its campaigns) in a workspace",
                    assign_command, "instantly-sync workspaces assign acme --client acme-corp")
    assign.add_argument("name", help="the workspace")
    assign.add_argument("--client", required=True, help="the client id")
    action("reencrypt", "re-encrypt every stored key with the first key of WORKSPACE_KEYS",
           reencrypt_command, "instantly-sync workspaces reencrypt")
