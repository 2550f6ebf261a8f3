"""`instantly-sync remote list` and `instantly-sync link --by-name`: bulk linking.

`remote list` shows the external service's campaigns and which local campaign
links each; `link --by-name` matches unlinked local campaigns to unlinked
remote ones of exactly the same name, printing matched / ambiguous /
unmatched, and links the matched ones only with `--apply`.
"""

from __future__ import annotations

import argparse
import sys

from daemon.cli.exits import EXIT_ERROR, EXIT_OK
from daemon.cli.explain import external_problem
from daemon.cli.helptext import DATABASE, EXTERNAL, Subcommands, help_args
from daemon.config import Settings
from daemon.services import existing_services
from daemon.workspaces import WorkspaceNotFound
from instantly.errors import ExternalError
from instantly.statuses import status_words


async def remote_list_command(args: argparse.Namespace, settings: Settings) -> int:
    async with existing_services(settings) as services:
        try:
            workspace = await services.workspaces.by_name(args.workspace)
            campaigns = await services.linker.remote(search=args.search, workspace=workspace)
        except WorkspaceNotFound:
            print(f"remote list: no workspace is named {args.workspace!r}"
                  " (instantly-sync workspaces list)", file=sys.stderr)
            return EXIT_ERROR
        except ExternalError as exc:
            print(f"remote list: {external_problem(exc, settings)}", file=sys.stderr)
            return EXIT_ERROR
    if args.unlinked:
        campaigns = [c for c in campaigns if c.linked_to is None]
    print(f"{'EXTERNAL ID':<38} {'STATUS':<21} {'LINKED TO':<38} NAME")
    for c in campaigns:
        status = status_words(c.status)
        print(f"{c.id:<38} {status:<21} {c.linked_to or '-':<38} {c.name}")
    unlinked = sum(1 for c in campaigns if c.linked_to is None)
    print(f"{len(campaigns)} remote campaign(s), {unlinked} not linked")
    return EXIT_OK


async def link_command(args: argparse.Namespace, settings: Settings) -> int:
    async with existing_services(settings) as services:
        try:
            plan = await services.linker.by_name(client_id=args.client_id, apply=args.apply)
        except ExternalError as exc:
            print(f"link: {external_problem(exc, settings)}", file=sys.stderr)
            return EXIT_ERROR
    for m in plan.matched:
        mark = ("linked" if m.get("linked") else "NOT linked (changed meanwhile)") \
            if plan.applied else "would link"
        print(f"matched    {m['campaign_name']} ({m['client_id']}) -> {m['external_id']}"
              f"  [{mark}]")
    for a in plan.ambiguous:
        print(f"ambiguous  {a['campaign_name']} ({a['client_id']}): "
              f"{len(a['candidates'])} remote campaigns or several local ones share the name")
    for u in plan.unmatched:
        print(f"unmatched  {u['campaign_name']} ({u['client_id']})")
    verb = f"{plan.linked} linked" if plan.applied else "dry run: rerun with --apply to link"
    print(f"{len(plan.matched)} matched, {len(plan.ambiguous)} ambiguous,"
          f" {len(plan.unmatched)} unmatched; {verb}")
    return EXIT_OK


def register(subparsers: Subcommands) -> None:
    remote = subparsers.add_parser(
        "remote", help="the external service's campaigns",
        **help_args(*DATABASE, *EXTERNAL, example="instantly-sync remote list --unlinked"))
    sub = remote.add_subparsers(dest="remote_command", required=True, metavar="ACTION")
    lst = sub.add_parser(
        "list", help="list remote campaigns and which local campaign links each",
        **help_args(*DATABASE, *EXTERNAL,
                    example='instantly-sync remote list --search "Spring" --unlinked'))
    lst.add_argument("--search", default=None, help="only names containing this text")
    lst.add_argument("--unlinked", action="store_true", help="only those nothing links to")
    lst.add_argument("--workspace", default="default",
                     help="the workspace whose campaigns to list (default: default)")
    lst.set_defaults(func=remote_list_command)
    link = subparsers.add_parser(
        "link", help="link unlinked campaigns to remote ones of the same name (dry run)",
        description="Match unlinked local campaigns to unlinked remote campaigns of exactly"
                    " the same name. Prints matched / ambiguous / unmatched; links the"
                    " matched ones only with --apply.",
        **help_args(*DATABASE, *EXTERNAL,
                    example="instantly-sync link --by-name --client-id acme --apply"))
    link.add_argument("--by-name", action="store_true", required=True,
                      help="match by exact campaign name (the only way there is)")
    link.add_argument("--client-id", default=None, help="only this client's campaigns")
    link.add_argument("--apply", action="store_true", help="link the matched campaigns")
    link.set_defaults(func=link_command)
