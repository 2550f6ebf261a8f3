"""Our webhook at the external service: noticed when it stops, resumed, gap backfilled."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from daemon.cli.webhooks import (
    backfill_command,
    register_webhook,
    resume_command,
    status_command,
)
from tests.factories import event, linked_campaign, make_settings, subscribe, wait_for
from tests.processes import free_port
from tests.tcp_proxy import TcpProxy, dsn_via_proxy, proxy_target
from tests.test_webhooks import SECRET, count, post

NEW, OLD = "rotated-secret-new", SECRET


@pytest.fixture
def port() -> int:
    return free_port()


def public_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/webhooks/instantly"


def failed_payloads(fake, url: str) -> set[str]:
    """Distinct events the fake failed to deliver to `url` (its delivery log)."""
    return {e["payload"]["lead_email"] for e in fake.state.webhook_events
            if e["webhook_url"] == url and not e["success"]}


async def outage(make_api, fake, dsn, port, **settings):
    """The daemon behind a database proxy; deliveries fail while the database is cut
    until the fake disables the webhook. Returns (api, proxy, hook, the failed leads)."""
    proxy = await TcpProxy(*proxy_target(dsn)).start()
    api = await make_api(dsn_override=dsn_via_proxy(dsn, proxy.port), port=port,
                         WEBHOOK_SECRET=SECRET, WEBHOOK_PUBLIC_URL=public_url(port), **settings)
    _campaign, ext = await linked_campaign(api, fake)
    hook = subscribe(fake, api, SECRET)
    await proxy.cut()
    for i in range(5):  # 3 fail (each tried 3 times), then the webhook is disabled
        await fake.emit_event(event("email_opened", ext, lead_email=f"lead{i}@x.com"))
    assert hook["status"] == -1 and hook["timestamp_error"]
    await proxy.restore()

    async def ready() -> bool:
        return (await api.get("/readyz")).status == 200

    await wait_for(ready)
    return api, proxy, hook, failed_payloads(fake, public_url(port))


async def test_an_outage_disables_the_webhook_and_the_next_pass_reports_it(
        make_api, fake, dsn, db, port) -> None:
    api, proxy, hook, failed = await outage(make_api, fake, dsn, port)
    try:
        assert len(failed) == 3
        run = await (await api.post("/reconcile?wait=true")).json()
        sub = run["webhook"]["subscription"]
        assert (sub["state"], sub["webhook_id"]) == ("disabled", hook["id"])
        assert sub["timestamp_error"] == hook["timestamp_error"]
        assert hook["status"] == -1  # not resumed: WEBHOOK_AUTO_RESUME is off
        backfill = run["webhook"]["backfill"]
        assert (backfill["read"], backfill["stored"], backfill["duplicates"]) == (9, 3, 6)
        assert await count(db) == 3
        metrics = await (await api.get("/metrics")).text()
        assert 'instantly_sync_webhook_subscription_up{workspace="default"} 0.0' in metrics
        assert "instantly_sync_webhook_last_event_timestamp_seconds" in metrics
        state = await (await api.get("/webhooks/subscription")).json()
        assert state["state"] == "disabled"
    finally:
        await proxy.close()


async def test_auto_resume_reactivates_and_every_failed_event_is_stored_once(
        make_api, fake, dsn, db, port) -> None:
    api, proxy, hook, failed = await outage(make_api, fake, dsn, port,
                                            WEBHOOK_AUTO_RESUME="true")
    try:
        run = await (await api.post("/reconcile?wait=true")).json()
        assert run["webhook"]["subscription"]["state"] == "active"
        assert run["webhook"]["resumed"] is True
        assert hook["status"] == 1
        assert run["webhook"]["backfill"]["stored"] == len(failed) == 3
        # The resume was followed at once by another pass (which resumed nothing).
        runs = (await (await api.get("/reconcile/runs")).json())["items"]
        assert [r["id"] for r in runs] == [run["id"] + 1, run["id"]]
        assert runs[0]["status"] == "succeeded" and runs[0]["webhook"]["resumed"] is False
        stored = {r["payload"]["lead_email"] for r in await db.fetch("webhook_events_all")}
        assert stored == failed  # every failed delivery, each once
        # A second pass reads the same window again (overlap): nothing new, nothing twice.
        again = await (await api.post("/reconcile?wait=true")).json()
        assert again["webhook"]["backfill"]["stored"] == 0
        assert await count(db) == 3
        # Deliveries flow again.
        campaign_ext = next(iter(fake.state.campaigns))
        [delivery] = await fake.emit_event(event("email_sent", campaign_ext))
        assert delivery["status_code"] == 200
        assert await count(db) == 4
    finally:
        await proxy.close()


async def test_status_and_backfill_from_the_command_line(make_api, fake, dsn, port, capsys
                                                          ) -> None:
    _api, proxy, _hook, _failed = await outage(make_api, fake, dsn, port)
    await proxy.close()
    settings = make_settings(fake.url, DATABASE_URL=dsn, WEBHOOK_SECRET=SECRET,
                             WEBHOOK_PUBLIC_URL=public_url(port))
    assert await status_command(argparse.Namespace(), settings) == 2
    assert "\ndisabled since " in "\n" + capsys.readouterr().out
    assert await backfill_command(argparse.Namespace(since=None), settings) == 0
    out = capsys.readouterr().out
    assert "9 read, 3 stored, 6 duplicates, 0 rejected" in out


async def test_register_twice_keeps_one_webhook(fake, port) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    args = argparse.Namespace(url=public_url(port), event_type="all_events", campaign=None,
                              workspace=None)
    assert await register_webhook(args, settings) == 0
    assert await register_webhook(args, settings) == 0
    assert len(fake.state.webhooks) == 1
    assert [c["method"] for c in fake.state.calls_to(path_contains="/api/v2/webhooks/")
            if c["method"] == "PATCH"] == ["PATCH"]


async def test_register_refuses_an_unknown_event_type(fake, port, capsys) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    args = argparse.Namespace(url=public_url(port), event_type="email_teleported",
                              campaign=None, workspace=None)
    assert await register_webhook(args, settings) == 64
    assert "email_teleported" in capsys.readouterr().err
    assert fake.state.webhooks == {}


async def test_rotation_old_and_new_work_during_the_change_only_new_after(
        make_api, fake, port) -> None:
    during = await make_api(WEBHOOK_SECRET=f"{NEW},{OLD}", port=port)
    subscribe(fake, during, OLD)  # the webhook still sends the old secret
    _, ext = await linked_campaign(during, fake)
    assert [d["status_code"] for d in await fake.emit_event(event("email_sent", ext))] == [200]
    # Step 2: install the new secret at the external service (PATCH, same webhook).
    args = argparse.Namespace(url=public_url(port), event_type="all_events", campaign=None,
                              workspace=None)
    assert await register_webhook(args, make_settings(
        fake.url, WEBHOOK_SECRET=f"{NEW},{OLD}")) == 0
    [hook] = fake.state.webhooks.values()
    assert hook["headers"] == {"X-Webhook-Secret": NEW}
    assert [d["status_code"] for d in await fake.emit_event(event("email_sent", ext))] == [200]
    assert (await post(during, event(), secret=OLD)).status == 200  # a late old delivery
    # Step 3: only the new secret is configured.
    after = await make_api(WEBHOOK_SECRET=NEW)
    assert (await post(after, event(), secret=NEW)).status == 200
    assert (await post(after, event(), secret=OLD)).status == 401


async def test_a_rejected_payload_is_counted_once_across_backfills(make_api, fake, db, port
                                                                   ) -> None:
    api = await make_api(WEBHOOK_SECRET=SECRET, WEBHOOK_PUBLIC_URL=public_url(port), port=port)
    fake.state.log_delivery({"campaign_id": "no-type"}, public_url(port))
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    first = await (await api.post("/webhooks/backfill", json={"since": since})).json()
    second = await (await api.post("/webhooks/backfill", json={"since": since})).json()
    assert (first["read"], first["rejected"]) == (1, 1)
    assert (second["read"], second["rejected"]) == (1, 0)
    assert await db.fetchval("webhook_rejects_count") == 1
    assert await count(db) == 0


async def test_backfill_needs_the_public_url(api) -> None:
    resp = await api.post("/webhooks/backfill")
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "webhook_url_not_configured"
    assert (await (await api.get("/webhooks/subscription")).json())["state"] == "unconfigured"


async def test_the_fake_maps_subscription_names_to_delivered_names(make_api, fake, db, port
                                                                   ) -> None:
    api = await make_api(WEBHOOK_SECRET=SECRET, port=port)
    hook = subscribe(fake, api, SECRET)
    hook["event_type"] = "email_link_clicked"
    _, ext = await linked_campaign(api, fake)
    assert len(await fake.emit_event(event("link_clicked", ext))) == 1
    assert len(await fake.emit_event(event("email_sent", ext))) == 0


def last_midnight() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def test_a_gap_across_midnight_utc_is_recovered_once_by_date_and_url(
        make_api, fake, db, port) -> None:
    """The delivery log takes whole days (`from`/`to` as YYYY-MM-DD; the fake refuses a
    timestamp with 400, as the service does) and filters by `search`=our URL."""
    api = await make_api(WEBHOOK_SECRET=SECRET, WEBHOOK_PUBLIC_URL=public_url(port), port=port)
    _, ext = await linked_campaign(api, fake)
    midnight, now = last_midnight(), dt.datetime.now(dt.UTC)
    before, after = midnight - dt.timedelta(minutes=2), midnight + (now - midnight) / 2
    for lead, at in (("before@x.com", before), ("after@x.com", after)):
        fake.state.log_delivery(event("email_opened", ext, lead_email=lead), public_url(port),
                                at=at)
    for i in range(150):  # another webhook of the workspace failing all day: not ours
        fake.state.log_delivery(event("email_sent", ext, lead_email=f"other{i}@x.com"),
                                "https://elsewhere.example/hook", at=after)
    since = (midnight - dt.timedelta(minutes=5)).isoformat()
    first = await (await api.post("/webhooks/backfill", json={"since": since})).json()
    second = await (await api.post("/webhooks/backfill", json={"since": since})).json()
    assert (first["status"], first["read"], first["stored"]) == ("succeeded", 2, 2)
    assert (second["read"], second["stored"], second["duplicates"]) == (2, 0, 2)
    stored = {r["payload"]["lead_email"] for r in await db.fetch("webhook_events_all")}
    assert stored == {"before@x.com", "after@x.com"}
    [query, *_] = [c["query"] for c in fake.state.calls_to(path_contains="/webhook-events")]
    assert dt.date.fromisoformat(query["from"]) < before.date() <= after.date() \
        <= dt.date.fromisoformat(query["to"])
    assert query["search"] == public_url(port)


async def test_the_fake_delivery_log_takes_dates_only(fake) -> None:
    import aiohttp

    async with aiohttp.ClientSession(headers={"Authorization": "Bearer fake-key"}) as http:
        for bad in ("2026-01-01T00:00:00Z", "yesterday", "2026-1-1"):
            async with http.get(f"{fake.url}/api/v2/webhook-events", params={"from": bad}) as r:
                assert r.status == 400
                assert "date" in (await r.json())["message"]
        async with http.get(f"{fake.url}/api/v2/webhook-events",
                            params={"from": dt.date.today().isoformat()}) as r:
            assert r.status == 200


async def test_a_resume_by_hand_is_followed_by_a_reconcile_pass(make_api, fake, dsn, db, port,
                                                                capsys) -> None:
    _, proxy, hook, failed = await outage(make_api, fake, dsn, port)
    try:
        settings = make_settings(fake.url, DATABASE_URL=dsn, WEBHOOK_SECRET=SECRET,
                                 WEBHOOK_PUBLIC_URL=public_url(port))
        assert await resume_command(argparse.Namespace(), settings) == 0
        out = capsys.readouterr().out
        assert hook["status"] == 1
        assert "webhook active" in out and "reconcile pass" in out and "succeeded" in out
        assert await count(db) == len(failed) == 3
    finally:
        await proxy.close()
