"""The product uses its dependencies' public APIs only (docs/architecture.md).

A private attribute (`x._name` of aiohttp, asyncpg or any package) is a promise
nobody made: it breaks on a patch release and no test notices until production.
This reads the source as text, the way a reviewer greps for it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("daemon", "webhooks", "reconciler", "sql", "instantly")

# `obj._name` where obj is not self/cls (our own objects have public names for what
# other objects read), a class swapped under an object, or an import of a private
# module or name from a package other than ours.
PRIVATE_ATTRIBUTE = re.compile(r"(?<![\w.])(?!self\b|cls\b)[A-Za-z_]\w*\._[A-Za-z]\w*")
CLASS_SWAP = re.compile(r"__class__\s*=")
OURS = "|".join(PRODUCT)
PRIVATE_IMPORT = re.compile(rf"^\s*(?:from|import)\s+(?!(?:{OURS})\b)[\w.]*\._"
                            rf"|^\s*from\s+(?!(?:{OURS})\b)[\w.]+\s+import\s+.*\b_[a-z]")
ISSUE_PATTERN = re.compile(r"(?<!self)(?<!cls)\._(make_server|connections|waiter|"
                           r"request_in_progress|transport|lock)\b|__class__ =")


def _code_lines() -> list[tuple[str, int, str]]:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                code = re.sub(r"(['\"]).*?\1", "''", code)  # string contents are not code
                found.append((f"{path.relative_to(ROOT)}:{number}", number, code))
    return found


def test_no_private_attribute_of_another_object_is_read() -> None:
    hits = [f"{where}: {code.strip()}" for where, _, code in _code_lines()
            if PRIVATE_ATTRIBUTE.search(code) or CLASS_SWAP.search(code)
            or PRIVATE_IMPORT.search(code)]
    assert not hits, "private attributes used:\n" + "\n".join(hits)


def test_the_rule_catches_what_it_is_for() -> None:
    caught = ["server._connections", "handler._waiter.done()", "conn._transport",
              "PostgresServer._lock", "obj.__class__ = Other",
              "from aiohttp._helpers import x", "from aiohttp.web import _private"]
    allowed = ["self._connections", "cls._registry", "value.strip()", "a_b._"]
    assert all(PRIVATE_ATTRIBUTE.search(c) or CLASS_SWAP.search(c) or PRIVATE_IMPORT.search(c)
               for c in caught)
    assert not any(PRIVATE_ATTRIBUTE.search(c) or CLASS_SWAP.search(c)
                   or PRIVATE_IMPORT.search(c) for c in allowed)


def test_the_reviewers_grep_finds_nothing() -> None:
    hits = [where for where, _, code in _code_lines() if ISSUE_PATTERN.search(code)]
    assert not hits
