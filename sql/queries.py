"""Parse `sql/queries/*.sql` once into a dict of named statements."""

from __future__ import annotations

import re
from pathlib import Path

_HEADER = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
QUERIES_DIR = Path(__file__).parent / "queries"
DEV_QUERIES_DIR = Path(__file__).parent / "dev"


def load_queries(directory: Path = QUERIES_DIR) -> dict[str, str]:
    """Read every `.sql` file; a duplicate name anywhere is a programming error."""
    queries: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text()
        parts = _HEADER.split(text)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in queries:
                raise RuntimeError(f"query {name!r} defined twice ({path.name})")
            queries[name] = body.strip().rstrip(";")
    return queries


QUERIES: dict[str, str] = load_queries()


def add_dev_queries() -> None:
    """Make the tests' and benchmarks' queries (`sql/dev/`, not shipped) callable by name."""
    for name, body in load_queries(DEV_QUERIES_DIR).items():
        if QUERIES.setdefault(name, body) != body:
            raise RuntimeError(f"dev query {name!r} shadows a product query")
