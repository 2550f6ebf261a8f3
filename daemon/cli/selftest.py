"""`instantly-sync selftest`: the toggle and error-handling scenarios, end to end.

By default it starts its own fake Instantly and a scratch database, then
drives the real toggle service through each scenario and checks both sides:
the answer, the local status, and the calls the fake saw. `--real` checks
the configured key against the real API and, with `--campaign`, activates
that campaign and puts it back as it was.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.cli.helptext import DATABASE, Subcommands, help_args
from daemon.config import Settings, load_settings
from daemon.embedded_db import start_embedded
from daemon.errors import user_error
from daemon.logs import configure_logging
from daemon.services import Services, client_context, resolve_dsn, services_context
from daemon.toggle import ToggleError
from instantly.errors import ExternalError
from instantly.fake import FakeInstantlyServer
from sql import campaigns
from sql.scratch import create_database, drop_database
from webhooks.events import parse_event

FAKE_KEY = "selftest-key"


@dataclass
class Outcome:
    ok: bool
    detail: str


class _Sandbox:
    """A fake, a scratch database, and services built per scenario."""

    def __init__(self, fake: FakeInstantlyServer, dsn: str) -> None:
        self.fake = fake
        self.dsn = dsn

    @asynccontextmanager
    async def services(self, **env: str) -> AsyncIterator[Services]:
        """Services configured for one scenario; faults are cleared afterwards."""
        base = {"INSTANTLY_BASE_URL": self.fake.url, "INSTANTLY_API_KEY": FAKE_KEY,
                "INSTANTLY_TIMEOUT_SECONDS": "2", "INSTANTLY_MAX_RETRIES": "2",
                "INSTANTLY_MAX_RPS": "1000", "INSTANTLY_MAX_RPM": "1000000",
                "LOG_LEVEL": "error"}
        base.update(env)
        try:
            async with services_context(load_settings(base), dsn=self.dsn) as services:
                yield services
        finally:
            self.fake.state.clear_faults()
            self.fake.state.stale_answers = False
            self.fake.state.key_scopes = None

    async def campaign(self, services: Services, *, remote_status: int | None = 2,
                       local_status: str | None = None) -> tuple[uuid.UUID, str | None]:
        ext = None
        if remote_status is not None:
            ext = self.fake.state.add_campaign(name="selftest", status=remote_status)["id"]
        row = await campaigns.create(services.db, client_id="selftest",
                                     name="Selftest campaign", external_id=ext)
        if local_status:
            await services.toggles.set_status(row["id"], local_status, source="api")
        self.fake.state.calls.clear()
        return row["id"], ext


async def _status(services: Services, campaign_id: uuid.UUID) -> str:
    return (await campaigns.get(services.db, campaign_id))["status"]


def _expect_error(code: str, http_status: int, *, fault: dict[str, Any] | None = None,
                  env: dict[str, str] | None = None, remote_status: int = 2,
                  attempts: int | None = None, scopes: set[str] | None = None,
                  ) -> Callable[[_Sandbox], Awaitable[Outcome]]:
    """The toggle fails with `code` and `http_status`, the local status is unchanged,
    and (when given) the fake saw exactly `attempts` activate calls. `scopes`: the
    fake's key holds only these."""

    async def scenario(box: _Sandbox) -> Outcome:
        async with box.services(**(env or {})) as services:
            campaign_id, _ = await box.campaign(services, remote_status=remote_status)
            if fault:
                box.fake.state.add_fault(path="/activate", **fault)
            box.fake.state.key_scopes = scopes
            try:
                await services.toggles.toggle(campaign_id)
            except (ToggleError, ExternalError) as exc:
                error = user_error(exc)
                unchanged = await _status(services, campaign_id) == "draft"
                made = len(box.fake.state.calls_to(path_contains="/activate"))
                ok = (error.code == code and error.status == http_status and unchanged
                      and (attempts is None or made == attempts))
                return Outcome(ok, f"{error.status} {error.code}: {error.message}"
                               + (f" ({made} call)" if attempts is not None else "")
                               + ("" if unchanged else " (LOCAL STATUS CHANGED)"))
            return Outcome(False, "toggle succeeded but should have failed")

    return scenario


async def _activate_linked(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, ext = await box.campaign(services)
        result = await services.toggles.toggle(campaign_id)
        calls = box.fake.state.calls_to(path_contains="/activate")
        ok = (result.external_sync == "activated" and len(calls) == 1
              and await _status(services, campaign_id) == "active"
              and box.fake.state.campaigns[ext]["status"] == 1)
        return Outcome(ok, f"{result.external_sync}; {len(calls)} activate call; {result.message}")


async def _pause_local_only(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, ext = await box.campaign(services, local_status="active")
        result = await services.toggles.toggle(campaign_id)
        ok = (result.external_sync == "local_only" and not box.fake.state.calls
              and box.fake.state.campaigns[ext]["status"] == 1)
        return Outcome(ok, f"{result.external_sync}; no external call; remote still active")


async def _pause_synced(box: _Sandbox) -> Outcome:
    async with box.services(FULL_PAUSE_SYNC="true") as services:
        campaign_id, ext = await box.campaign(services, local_status="active")
        result = await services.toggles.toggle(campaign_id)
        calls = box.fake.state.calls_to(path_contains="/pause")
        ok = result.external_sync == "paused" and len(calls) == 1 \
            and box.fake.state.campaigns[ext]["status"] == 2
        return Outcome(ok, f"{result.external_sync}; {len(calls)} pause call")


async def _unlinked(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, _ = await box.campaign(services, remote_status=None)
        result = await services.toggles.toggle(campaign_id)
        ok = result.external_sync == "unlinked" and not box.fake.state.calls
        return Outcome(ok, f"{result.external_sync}; {result.message}")


async def _noop(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, _ = await box.campaign(services, local_status="active")
        result = await services.toggles.set_status(campaign_id, "active")
        ok = result.external_sync == "noop" and not box.fake.state.calls
        return Outcome(ok, f"{result.external_sync}; {result.message}")


async def _retry_then_success(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, _ = await box.campaign(services)
        box.fake.state.add_fault(path="/activate", status=500)
        result = await services.toggles.toggle(campaign_id)
        statuses = [c["status"] for c in box.fake.state.calls_to(path_contains="/activate")]
        return Outcome(result.external_sync == "activated" and statuses == [500, 200],
                       f"attempts answered {statuses}; {result.external_sync}")


async def _stale_answer(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, _ = await box.campaign(services)
        box.fake.state.stale_answers = True  # activate answers with the campaign before
        result = await services.toggles.toggle(campaign_id)
        calls = [c["path"].rsplit("/", 1)[-1] for c in box.fake.state.calls]
        ok = result.external_sync == "activated" and len(calls) == 2 \
            and await _status(services, campaign_id) == "active"
        return Outcome(ok, f"answer said paused, a second read said active: {result.external_sync}"
                           f" ({len(calls)} calls)")


async def _already_active(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, _ = await box.campaign(services, remote_status=1)  # active remotely
        result = await services.toggles.toggle(campaign_id)
        answers = [(c["method"], c["status"]) for c in box.fake.state.calls]
        audit = await campaigns.history(services.db, campaign_id, limit=1)
        ok = (result.external_sync == "activated" and answers == [("POST", 400), ("GET", 200)]
              and audit[0]["outcome"] == "confirmed_by_read")
        return Outcome(ok, f"activate answered 400 'already active', a read said active:"
                           f" {result.external_sync}, audited {audit[0]['outcome']}")


async def _backfill_across_midnight(box: _Sandbox) -> Outcome:
    url = "https://selftest.invalid/webhooks/instantly"
    async with box.services(WEBHOOK_PUBLIC_URL=url, WEBHOOK_SECRET="selftest-secret"
                            ) as services:
        _, ext = await box.campaign(services, remote_status=1)
        now = dt.datetime.now(dt.UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for lead, at in (("before-midnight@example.com", midnight - dt.timedelta(minutes=2)),
                         ("after-midnight@example.com", midnight + (now - midnight) / 2)):
            box.fake.state.log_delivery({"event_type": "email_opened", "campaign_id": ext,
                                         "lead_email": lead, "timestamp": at.isoformat()},
                                        url, at=at)
        since = midnight - dt.timedelta(minutes=5)
        store = services.webhook_store
        store.start()
        try:
            first = await services.webhook_health.backfill(trigger="cli", since=since)
            second = await services.webhook_health.backfill(trigger="cli", since=since)
        finally:
            await store.close()
        query = box.fake.state.calls_to(path_contains="/webhook-events")[0]["query"]
        ok = (first.stored, second.stored, second.duplicates) == (2, 0, 2)
        return Outcome(ok, f"from={query['from']} to={query['to']}: stored {first.stored},"
                           f" then {second.stored} stored and {second.duplicates} duplicates")


async def _rate_limited_without_retry_after(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, _ = await box.campaign(services)
        box.fake.state.add_fault(path="/activate", status=429)  # no Retry-After header
        result = await services.toggles.toggle(campaign_id)
        statuses = [c["status"] for c in box.fake.state.calls_to(path_contains="/activate")]
        return Outcome(result.external_sync == "activated" and statuses == [429, 200],
                       f"attempts answered {statuses} (own back-off); {result.external_sync}")


async def _completion_not_confirmed(box: _Sandbox) -> Outcome:
    async with box.services() as services:
        campaign_id, ext = await box.campaign(services, remote_status=2, local_status="active")
        assert ext is not None
        store = services.webhook_store
        store.start()
        try:
            receipt = await store.submit(parse_event(json.dumps({
                "event_type": "campaign_completed", "campaign_id": ext,
                "lead_email": "first-lead@example.com"}).encode()))
            await services.campaign_checks.idle()
        finally:
            await store.close()
        event = await services.db.fetchrow("webhook_event_outcome", receipt.event_id)
        status = await _status(services, campaign_id)
        ok = status == "active" and event["outcome"] == "not_confirmed"
        return Outcome(ok, f"remote says active: campaign stays {status}, event"
                           f" {event['outcome']}")


SCENARIOS: list[tuple[str, Callable[[_Sandbox], Awaitable[Outcome]]]] = [
    ("activate a linked campaign", _activate_linked),
    ("pause is local-only (FULL_PAUSE_SYNC off)", _pause_local_only),
    ("pause is synced (FULL_PAUSE_SYNC on)", _pause_synced),
    ("toggle an unlinked campaign", _unlinked),
    ("set the status it already has", _noop),
    ("transient 500 is retried", _retry_then_success),
    ("invalid API key", _expect_error("external_auth_failed", 502, env={
        "INSTANTLY_API_KEY": "not-the-key"})),
    ("missing scope (403 campaigns:update)", _expect_error(
        "external_permission_missing", 502, scopes={"campaigns:read", "webhooks:all"},
        attempts=1)),
    ("campaign missing remotely (404)", _expect_error("external_not_found", 422,
                                                     fault={"status": 404})),
    ("rate limit persists (429)", _expect_error("external_rate_limited", 429,
                                               fault={"status": 429, "count": 10,
                                                      "retry_after": 0})),
    ("server error persists (500)", _expect_error("external_error", 502,
                                                 fault={"status": 500, "count": 10})),
    ("timeout", _expect_error("external_unreachable", 504,
                              fault={"delay_ms": 1500, "count": 10},
                              env={"INSTANTLY_TIMEOUT_SECONDS": "1"})),
    ("dropped connection", _expect_error("external_unreachable", 504,
                                         fault={"drop": True, "count": 10})),
    ("no API key configured", _expect_error("external_config_missing", 503,
                                           env={"INSTANTLY_API_KEY": ""})),
    ("stale answer is read again", _stale_answer),
    ("already active (400) confirmed by a read", _already_active),
    ("backfill across midnight UTC", _backfill_across_midnight),
    ("activation refused (account suspended)", _expect_error(
        "external_refused", 409, remote_status=-99, attempts=1)),
    ("no paid plan (402) is final", _expect_error(
        "external_error", 502, fault={"status": 402, "count": 10}, attempts=1)),
    ("429 without Retry-After is retried", _rate_limited_without_retry_after),
    ("completion event not confirmed", _completion_not_confirmed),
]


def _server_for_selftest(settings: Settings) -> str:
    """DATABASE_URL's server, or an embedded one in a temporary directory that is removed
    when the process exits (the self-test leaves no database behind in the current one)."""
    if settings.database_url is not None:
        return resolve_dsn(settings)
    data_dir = Path(tempfile.mkdtemp(prefix="instantly-sync-selftest-"))
    # Registered first, so it runs last: after the embedded server stopped and deleted.
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    return start_embedded(data_dir, throwaway=True)


async def run_fake_selftest(settings: Settings) -> int:
    server_dsn = _server_for_selftest(settings)
    name = f"instantly_sync_selftest_{os.getpid()}"
    dsn = await create_database(server_dsn, name)
    fake = await FakeInstantlyServer(api_key=FAKE_KEY, rate_limit_per_second=1000).start()
    failed = 0
    try:
        box = _Sandbox(fake, dsn)
        for title, scenario in SCENARIOS:
            try:
                outcome = await scenario(box)
            except Exception as exc:  # a crash is a failed scenario, reported as such
                outcome = Outcome(False, f"crashed: {type(exc).__name__}: {exc}")
            failed += not outcome.ok
            print(f"{'PASS' if outcome.ok else 'FAIL'}  {title:<44} {outcome.detail}")
    finally:
        await fake.close()
        await drop_database(server_dsn, name)
    print(f"{len(SCENARIOS) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


async def run_real_selftest(settings: Settings, campaign: str | None) -> int:
    if not campaign:
        print("selftest --real needs --campaign EXTERNAL_ID (it activates that campaign)")
        return 2
    async with client_context(settings) as client:
        try:
            page = await client.list_campaigns_page(limit=1)
            print(f"PASS  key accepted ({len(page.get('items') or [])} campaign listed)")
            before = await client.get_campaign(campaign)
            print(f"PASS  campaign found: {before.get('name')!r}, status {before.get('status')}")
            after = await client.activate(campaign)
            print(f"PASS  activate: status {after.get('status')}")
            if before.get("status") == 2:
                restored = await client.pause(campaign)
                print(f"PASS  restored: paused again (status {restored.get('status')})")
        except ExternalError as exc:
            error = user_error(exc)
            print(f"FAIL  {error.code}: {error.message}")
            return 1
    return 0


async def selftest_command(args: argparse.Namespace, settings: Settings) -> int:
    if "LOG_LEVEL" not in os.environ:  # the report is the output; logs only on request
        configure_logging(fmt=settings.log_format, level="critical",
                          secrets=settings.secret_values())
    if args.real:
        return await run_real_selftest(settings, args.campaign)
    return await run_fake_selftest(settings)


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "selftest", help="run the toggle and error scenarios against a fake (or --real)",
        description="Run every toggle and error-handling scenario against a fake external"
                    " API it starts and a scratch database (created and dropped on the"
                    " configured server); --real checks the key against the real API.",
        **help_args(*DATABASE, "INSTANTLY_API_KEY", "INSTANTLY_BASE_URL",
                    example="instantly-sync selftest"))
    parser.add_argument("--real", action="store_true",
                        help="use the configured INSTANTLY_API_KEY against the real API")
    parser.add_argument("--campaign", help="external campaign id to activate with --real")
    parser.set_defaults(func=selftest_command)
