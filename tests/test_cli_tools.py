"""CLI check and selftest, run in-process against the fake and a real database."""

from __future__ import annotations

import argparse

import pytest

from daemon.cli.check import check_command
from daemon.cli.selftest import run_fake_selftest
from tests.factories import FAKE_KEY, make_settings


async def test_check_passes_with_a_good_key(dsn, fake, capsys) -> None:
    code = await check_command(argparse.Namespace(), make_settings(fake.url, DATABASE_URL=dsn))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[  OK] external API" in out
    assert "[  OK] database" in out
    assert fake.state.calls[0]["query"] == {"limit": "1"}


async def test_check_fails_with_a_bad_key_without_printing_it(dsn, fake, capsys) -> None:
    settings = make_settings(fake.url, DATABASE_URL=dsn, INSTANTLY_API_KEY="bad-key-xyz")
    assert await check_command(argparse.Namespace(), settings) == 1
    out = capsys.readouterr().out
    assert "INSTANTLY_API_KEY was refused" in out
    assert "bad-key-xyz" not in out and FAKE_KEY not in out


async def test_check_fails_without_a_key(dsn, fake, capsys) -> None:
    settings = make_settings(fake.url, DATABASE_URL=dsn, INSTANTLY_API_KEY="")
    assert await check_command(argparse.Namespace(), settings) == 1
    assert "[FAIL] external API   INSTANTLY_API_KEY is not set" in capsys.readouterr().out


async def test_check_reports_an_unreachable_database(fake, capsys) -> None:
    settings = make_settings(fake.url, DATABASE_URL="postgresql://postgres@127.0.0.1:9/nope")
    assert await check_command(argparse.Namespace(), settings) == 1
    out = capsys.readouterr().out
    assert "[FAIL] database       unreachable at 127.0.0.1:9, database 'nope'" in out


async def test_check_probes_each_scope_and_names_a_missing_one(dsn, fake, capsys) -> None:
    settings = make_settings(fake.url, DATABASE_URL=dsn,
                             WEBHOOK_PUBLIC_URL="https://sync.example/webhooks/instantly")
    assert await check_command(argparse.Namespace(), settings) == 0
    out = capsys.readouterr().out
    for scope in ("campaigns:read", "webhooks:read", "webhook_events:read"):
        assert f"[  OK] scope          {scope}" in out
    assert "campaigns:update, webhooks:update: not probed" in out
    fake.state.key_scopes = {"campaigns:all", "webhooks:read"}  # no webhook_events:read
    assert await check_command(argparse.Namespace(), settings) == 78
    out = capsys.readouterr().out
    assert "[FAIL] scope          webhook_events:read missing" in out
    assert "[  OK] scope          webhooks:read" in out
    assert FAKE_KEY not in out and "Instantly" not in out.replace("INSTANTLY_", "")


@pytest.mark.slow
async def test_selftest_runs_every_scenario(server_dsn, capsys) -> None:
    settings = make_settings(None, DATABASE_URL=server_dsn, LOG_LEVEL="critical")
    code = await run_fake_selftest(settings)
    out = capsys.readouterr().out
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert len(lines) == 21
    assert all(line.startswith("PASS") for line in lines)
    assert "external_rate_limited" in out and "external_unreachable" in out
    for scenario in ("stale answer is read again", "activation refused (account suspended)",
                     "no paid plan (402) is final", "429 without Retry-After is retried",
                     "completion event not confirmed", "missing scope (403 campaigns:update)",
                     "already active (400) confirmed by a read",
                     "backfill across midnight UTC"):
        assert f"PASS  {scenario}" in out
    assert "reports it as blocked because the account is suspended" in out
    assert "(402)" in out
    assert "the key needs the campaigns:update permission" in out
    assert "stored 2, then 0 stored and 2 duplicates" in out


async def test_check_names_an_unreachable_base_url(dsn, capsys) -> None:
    settings = make_settings("http://127.0.0.1:9", DATABASE_URL=dsn, INSTANTLY_TIMEOUT_SECONDS="1")
    assert await check_command(argparse.Namespace(), settings) == 1
    assert "cannot reach INSTANTLY_BASE_URL http://127.0.0.1:9" in capsys.readouterr().out
