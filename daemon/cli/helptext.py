"""The `--help` epilog of each command: the variables it reads and an example."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from daemon.config import variables


class Subcommands(Protocol):
    """What `register` uses of `ArgumentParser.add_subparsers()` (its class is private)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


DATABASE = ("DATABASE_URL", "DATA_DIR")
EXTERNAL = ("INSTANTLY_API_KEY", "INSTANTLY_BASE_URL", "INSTANTLY_TIMEOUT_SECONDS",
            "INSTANTLY_MAX_RETRIES", "INSTANTLY_MAX_RPS", "INSTANTLY_MAX_RPM")
LOGGING = ("LOG_FORMAT", "LOG_LEVEL")


def help_args(*names: str, example: str) -> dict[str, Any]:
    """Keyword arguments for `add_parser`: an epilog listing `names` (all when none)."""
    chosen = [v for v in variables() if not names or v.name in names]
    width = max(len(v.name) for v in chosen)
    lines = ["environment variables read:"]
    lines += [f"  {v.name:<{width}}  {v.description} (default: {v.default})" for v in chosen]
    lines += ["", "example:", f"  {example}"]
    return {"epilog": "\n".join(lines),
            "formatter_class": argparse.RawDescriptionHelpFormatter}
