"""Notifications (docs/notifications.md) over real HTTP: apprise's json:// posting to a
receiver on loopback started by each test, the daemon against the fake."""

from __future__ import annotations

import argparse
import json

import aiohttp
import pytest
from aiohttp import web

from daemon.cli import notify as notify_cli
from daemon.messages import KIND_WORDS, NOTIFY_TEXT
from daemon.notify import Kind, render
from tests.factories import linked_campaign, make_settings, services_of, subscribe, wait_for
from tests.test_console import sign_in_over_http

SECRET = "hook-secret-xyz"


class Receiver:
    """A notification endpoint on loopback: records every post; answers `fail_first`
    of them with 500 first."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.fail_first = 0
        self.refused = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> Receiver:
        async def hook(request: web.Request) -> web.Response:
            body = json.loads(await request.text())
            if self.refused < self.fail_first:
                self.refused += 1
                return web.Response(status=500)
            self.posts.append(body)
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/{tail:.*}", hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    def url(self, path: str = "hook") -> str:
        return f"json://notifier:topsecretpass@127.0.0.1:{self.port}/{path}"

    def titles(self) -> list[str]:
        return [p["title"] for p in self.posts]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver():
    found = await Receiver().start()
    yield found
    await found.close()


async def _reconcile(api) -> dict:
    answer = await api.post("/reconcile?wait=true")
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def _outbox(db) -> list:
    return await db.pool.fetch("SELECT kind, sent_at FROM notifications ORDER BY id")


async def test_one_message_per_pass_with_new_drift_none_while_nothing_changes(
        make_api, fake, db, receiver) -> None:
    api = await make_api(NOTIFY_URLS=receiver.url(),
                         CONSOLE_PUBLIC_URL="https://sync.example.com")
    await linked_campaign(api, fake, name="Spring drift", remote_status=1)  # local draft
    await linked_campaign(api, fake, name="Autumn drift", remote_status=1)
    await _reconcile(api)

    async def arrived() -> bool:
        return len(receiver.posts) == 1

    await wait_for(arrived)
    [message] = receiver.posts
    assert message["title"] == "New drift: 2 campaign(s)"
    assert "Status differs 2" in message["message"]
    assert "Autumn drift, Spring drift" in message["message"]
    assert "https://sync.example.com/ui/drift?kind=status_mismatch" in message["message"]
    assert "nstantly" not in json.dumps(message)
    # The same drift seen again: no message is even written.
    await _reconcile(api)
    assert [r["kind"] for r in await _outbox(db)] == ["drift_new"]
    # Nothing new is found in a pass whose drift is all expected or known.


async def test_an_old_finding_is_reported_once(make_api, fake, db, receiver) -> None:
    api = await make_api(NOTIFY_URLS=receiver.url(), DRIFT_AGE_ALERT_HOURS="24")
    await linked_campaign(api, fake, name="Old drift", remote_status=1)
    await _reconcile(api)
    await db.pool.execute(
        "UPDATE drift_findings SET first_seen_at = now() - interval '25 hours'")
    notifier = services_of(api).notifier
    await notifier.check_health()
    await notifier.check_health()  # still open, already reported

    async def arrived() -> bool:
        return "Drift open for over 24 h: 1 finding(s)" in receiver.titles()

    await wait_for(arrived)
    assert [r["kind"] for r in await _outbox(db)] == ["drift_new", "drift_old"]


async def test_webhook_disabled_then_resumed_one_message_each(make_api, fake, db, receiver
                                                              ) -> None:
    api = await make_api(NOTIFY_URLS=receiver.url(), WEBHOOK_SECRET=SECRET,
                         WEBHOOK_PUBLIC_URL="http://127.0.0.1:9/webhooks/instantly")
    hook = subscribe(fake, api, SECRET)
    hook["target_hook_url"] = "http://127.0.0.1:9/webhooks/instantly"
    await _reconcile(api)  # active: nothing to say
    hook["status"], hook["timestamp_error"] = -1, "2026-12-06T00:00:00Z"
    await _reconcile(api)
    await _reconcile(api)  # still disabled: nothing new
    hook["status"] = 1
    await _reconcile(api)

    async def arrived() -> bool:
        return len(receiver.posts) == 2

    await wait_for(arrived)
    assert receiver.titles() == ["Webhook not delivering (default)",
                                 "Webhook delivering again (default)"]
    assert "disabled" in receiver.posts[0]["message"]
    assert [r["kind"] for r in await _outbox(db)] == ["webhook_down", "webhook_resumed"]


async def test_a_receiver_down_then_back_gets_the_message_once_and_never_delays_a_pass(
        make_api, fake, db, receiver) -> None:
    receiver.fail_first = 2
    api = await make_api(NOTIFY_URLS=receiver.url())
    services_of(api).notifier.retry_base = 0.2
    await linked_campaign(api, fake, name="Drift while down", remote_status=1)
    run = await _reconcile(api)
    assert run["status"] == "succeeded"  # answered while the receiver refuses
    metrics = await (await api.get("/metrics")).text()
    assert 'instantly_sync_notifications_pending{measure="count"} 1.0' in metrics

    async def delivered() -> bool:  # received, and recorded as sent
        return len(receiver.posts) == 1 and await db.pool.fetchval(
            "SELECT bool_and(sent_at IS NOT NULL) FROM notifications")

    await wait_for(delivered, within=15)
    assert receiver.refused == 2 and receiver.titles() == ["New drift: 1 campaign(s)"]
    metrics = await (await api.get("/metrics")).text()
    assert 'instantly_sync_notifications_pending{measure="count"} 0.0' in metrics
    [row] = await db.pool.fetch("SELECT attempts, sent_at FROM notifications")
    assert row["attempts"] == 3 and row["sent_at"] is not None
    deliveries = await services_of(api).notifier.last_deliveries()
    assert [(d["ok"], d["shown"]) for d in deliveries] == [
        (True, deliveries[0]["shown"])]
    assert "topsecretpass" not in deliveries[0]["shown"]


async def test_two_replicas_send_each_message_once(make_api, fake, db, receiver) -> None:
    one = await make_api(NOTIFY_URLS=receiver.url())
    other = await make_api(NOTIFY_URLS=receiver.url())
    await linked_campaign(one, fake, name="Seen by two", remote_status=1)
    await _reconcile(one)
    for api in (one, other):  # both replicas write the day's digest: it exists once
        await services_of(api).notifier.digest("2026-12-06")

    async def arrived() -> bool:
        return len(receiver.posts) >= 2 and not await db.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE sent_at IS NULL")

    await wait_for(arrived)
    assert sorted(receiver.titles()) == ["Daily digest 2026-12-06", "New drift: 1 campaign(s)"]
    digest = next(p for p in receiver.posts if p["title"].startswith("Daily"))
    assert "Open drift: Status differs 1" in digest["message"]


async def test_messages_in_dutch(make_api, fake, receiver) -> None:
    api = await make_api(NOTIFY_URLS=receiver.url(), NOTIFY_LANGUAGE="nl")
    await linked_campaign(api, fake, name="Voorjaar", remote_status=1)
    await _reconcile(api)

    async def arrived() -> bool:
        return len(receiver.posts) == 1

    await wait_for(arrived)
    assert receiver.titles() == ["Nieuwe afwijkingen: 1 campagne(s)"]
    assert "Status wijkt af 1" in receiver.posts[0]["message"]


async def test_no_secret_of_a_url_is_logged_or_shown(make_api, fake, receiver, capsys) -> None:
    receiver.fail_first = 1
    api = await make_api(NOTIFY_URLS=receiver.url(), LOG_LEVEL="info")
    services_of(api).notifier.retry_base = 0.1
    await linked_campaign(api, fake, name="Logged", remote_status=1)
    await _reconcile(api)

    async def arrived() -> bool:  # received, and recorded as sent
        return len(receiver.posts) == 1 and await services_of(api).db.fetchval(
            "notify_pending_sent")

    await wait_for(arrived)
    logs = capsys.readouterr().err
    assert "notify.missed" in logs and "topsecretpass" not in logs
    base = str(api.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in_over_http(http, base)
        async with http.get(f"{base}/ui/health") as resp:
            page = await resp.text()
    assert "json://notifier:****@127.0.0.1" in page and "topsecretpass" not in page
    assert "delivered" in page.split('id="notify-targets"')[1]


async def test_notify_test_reports_each_target_in_one_line(receiver, capsys) -> None:
    settings = make_settings(None, NOTIFY_URLS=f"{receiver.url()},json://127.0.0.1:9/nobody",
                             NOTIFY_TIMEOUT_SECONDS="5")
    assert await notify_cli.test_command(argparse.Namespace(), settings) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[  OK] json://notifier:****@127.0.0.1:")
    assert lines[1].startswith("[FAIL] json://127.0.0.1:9/nobody")
    assert receiver.titles() == ["Test message"]
    assert "topsecretpass" not in "\n".join(lines)


def test_every_message_renders_in_both_languages_without_naming_the_vendor() -> None:
    facts = {"total": 4, "kinds": {"status_mismatch": 3, "remote_missing": 1},
             "names": ["A", "B", "C", "D"], "hours": 24, "workspace": "acme",
             "state": "disabled", "stored": 3, "duplicates": 1, "error": "boom", "count": 3,
             "rate": 80.0, "ok": 8, "calls": 10, "threshold": 95.0, "day": "2026-12-06",
             "drift": {"status_mismatch": {"open": 3, "oldest_hours": 30}},
             "passes": {"succeeded": 12}, "events": {"email_sent": 40}}
    for kind in Kind:
        for lang in ("en", "nl"):
            title, body = render(kind, facts, lang=lang, console_url="https://x.example")
            assert title and body and "{" not in title + body
            assert "nstantly" not in (title + body).lower()
    assert "A, B, C and more" in render(Kind.DRIFT_NEW, facts, lang="en", console_url=None)[1]
    assert "Controles in 24 u: geslaagd 12." in render(Kind.DIGEST, facts, lang="nl",
                                                        console_url=None)[1]
    for english, dutch in (*NOTIFY_TEXT.values(), *KIND_WORDS.values()):
        assert "instantly" not in (english + dutch).lower()


async def test_failing_passes_reported_once_after_n_in_a_row_and_the_recovery(
        make_api, fake, db, receiver) -> None:
    api = await make_api(NOTIFY_URLS=receiver.url(), NOTIFY_FAILED_PASSES="2",
                         INSTANTLY_MAX_RETRIES="0")
    fake.state.add_fault(path="/api/v2/campaigns", method="GET", status=500, count=3)
    for _ in range(3):  # two in a row are reported; the third changes nothing
        assert (await _reconcile(api))["status"] == "failed"
    assert (await _reconcile(api))["status"] == "succeeded"

    async def arrived() -> bool:
        return len(receiver.posts) == 2

    await wait_for(arrived)
    assert receiver.titles() == ["Reconcile failing: 2 passes in a row",
                                 "Reconcile passes succeed again"]
    assert "listing failed" in receiver.posts[0]["message"]


async def test_a_low_call_success_rate_is_reported_and_its_recovery(make_api, db, receiver
                                                                   ) -> None:
    api = await make_api(NOTIFY_URLS=receiver.url(), NOTIFY_SUCCESS_RATE_BELOW="95")
    notifier = services_of(api).notifier

    async def calls(outcome: str, n: int) -> None:
        await db.pool.execute(
            "INSERT INTO external_calls (at, action, outcome, duration_ms, waited_ms)"
            " SELECT now(), 'activate', $1, 5, 0 FROM generate_series(1, $2)", outcome, n)

    await calls("ok", 9)
    await calls("500", 1)  # 90 %
    await notifier.check_health()
    await notifier.check_health()  # still low: nothing new
    await calls("ok", 90)  # 99 of 100
    await notifier.check_health()

    async def arrived() -> bool:
        return len(receiver.posts) == 2

    await wait_for(arrived)
    assert receiver.titles() == ["External calls failing: 90.0 % succeeded",
                                 "External calls succeed again: 99.0 %"]
