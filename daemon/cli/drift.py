"""`instantly-sync drift`: the findings as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import json
from typing import Any

from daemon.cli.exits import EXIT_OK
from daemon.cli.helptext import DATABASE, LOGGING, Subcommands, help_args
from daemon.config import Settings
from daemon.http.responses import dumps
from daemon.services import Services, existing_services
from reconciler.findings import STATE_FILTERS, finding_json, findings_csv
from sql import drift

_COLUMNS = ("id", "kind", "expected", "state", "campaign_name", "client_id", "local_status",
            "remote_status", "external_id")


def drift_table(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no drift"
    rows = [[("" if item[c] is None else str(item[c])) for c in _COLUMNS] for item in items]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(_COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


async def findings(services: Services, states: list[str]) -> list[dict[str, Any]]:
    rows = await drift.findings(services.db, states=states, limit=100_000)
    return [finding_json(r) for r in rows]


async def drift_command(args: argparse.Namespace, settings: Settings) -> int:
    async with existing_services(settings, read_only=True) as services:
        items = await findings(services, STATE_FILTERS[args.state])
    if args.format == "json":
        print(json.dumps(json.loads(dumps({"items": items})), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        print(findings_csv(items), end="")
    else:
        print(drift_table(items))
    return EXIT_OK


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "drift", help="list drift findings",
        description="List drift findings (open by default) as a table, JSON or CSV.",
        **help_args(*DATABASE, *LOGGING,
                    example="instantly-sync drift --state all --format csv > drift.csv"))
    parser.add_argument("--state", choices=tuple(STATE_FILTERS), default="open",
                        help="which findings: open (default), acknowledged, resolved or all")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="table for people (default), json or csv for tools")
    parser.set_defaults(func=drift_command)
