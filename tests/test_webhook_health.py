"""Our webhook at the external service: noticed when it stops, resumed, gap backfilled."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from daemon.cli.webhooks import backfill_command, register_webhook, status_command
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
        assert "instantly_sync_webhook_subscription_up 0.0" in metrics
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
        assert hook["status"] == 1
        assert run["webhook"]["backfill"]["stored"] == len(failed) == 3
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
    args = argparse.Namespace(url=public_url(port), event_type="all_events", campaign=None)
    assert await register_webhook(args, settings) == 0
    assert await register_webhook(args, settings) == 0
    assert len(fake.state.webhooks) == 1
    assert [c["method"] for c in fake.state.calls_to(path_contains="/api/v2/webhooks/")
            if c["method"] == "PATCH"] == ["PATCH"]


async def test_register_refuses_an_unknown_event_type(fake, port, capsys) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    args = argparse.Namespace(url=public_url(port), event_type="email_teleported",
                              campaign=None)
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
    args = argparse.Namespace(url=public_url(port), event_type="all_events", campaign=None)
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
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    fake.state.webhook_events.append({
        "id": "log-1", "timestamp_created": now, "payload": {"campaign_id": "no-type"},
        "success": False, "retry_count": 0, "will_retry": False,
        "webhook_url": public_url(port), "status_code": 503})
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
