"""Rules written once in SQL and once in Python agree (reconciler/statuses.py, audit sources)."""

from __future__ import annotations

from typing import get_args

from daemon.http.schemas import Source
from reconciler.statuses import REMOTE_TO_LOCAL, remote_as_local

CODES = [*range(-100, 11), 99, 2**31 - 1]


async def test_remote_codes_mean_the_same_in_python_and_in_sql(db) -> None:
    rows = await db.fetch("remote_as_local_of", CODES)
    in_sql = {r["code"]: r["local"] for r in rows}
    in_python = {code: remote_as_local(code) for code in CODES}
    assert in_sql == in_python
    assert set(REMOTE_TO_LOCAL) == {c for c, local in in_sql.items() if local is not None}


async def test_audit_sources_are_the_same_in_the_api_and_in_the_database(db) -> None:
    rows = await db.fetch("audit_sources_allowed")
    assert sorted(r["source"] for r in rows) == sorted(get_args(Source))
