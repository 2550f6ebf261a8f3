"""One vocabulary: each status and source is defined once in Python and every other
place that names them (SQL CHECKs and functions, sentences, console labels) agrees."""

from __future__ import annotations

from typing import get_args

from daemon.errors import REMOTE_STATE_WORDS
from daemon.http.console.i18n import TEXT
from daemon.http.schemas import LocalStatus as LocalStatusWords
from daemon.http.schemas import Source
from instantly.statuses import RemoteStatus, status_words
from reconciler.statuses import REMOTE_TO_LOCAL, remote_as_local
from sql.statuses import LocalStatus

CODES = [*range(-100, 11), 99, 2**31 - 1]


async def test_remote_codes_mean_the_same_in_python_and_in_sql(db) -> None:
    rows = await db.fetch("remote_as_local_of", CODES)
    in_sql = {r["code"]: r["local"] for r in rows}
    in_python = {code: remote_as_local(code) for code in CODES}
    assert in_sql == in_python
    assert set(REMOTE_TO_LOCAL) == {c for c, local in in_sql.items() if local is not None}


async def test_local_statuses_are_the_same_in_python_and_in_the_database(db) -> None:
    rows = await db.fetch("campaign_statuses_allowed")
    assert sorted(r["status"] for r in rows) == sorted(LocalStatus)
    assert sorted(get_args(LocalStatusWords)) == sorted(LocalStatus)


async def test_audit_sources_are_the_same_in_the_api_and_in_the_database(db) -> None:
    rows = await db.fetch("audit_sources_allowed")
    assert sorted(r["source"] for r in rows) == sorted(get_args(Source))


def test_every_status_has_its_words_wherever_people_read_it() -> None:
    assert set(REMOTE_STATE_WORDS) == set(RemoteStatus)
    assert {k for k in TEXT if k.startswith("remote.")} == {f"remote.{s.value}"
                                                            for s in RemoteStatus}
    assert {k for k in TEXT if k.startswith("status.")} == {f"status.{s}" for s in LocalStatus}
    assert status_words(-2) == "bounce protection"
    assert status_words(7) == "unknown (7)" and status_words(None) == "-"
