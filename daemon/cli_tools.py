"""CLI commands for operators' tooling: check, selftest, fake-instantly, demo."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the tool commands (filled in by the tooling work)."""
