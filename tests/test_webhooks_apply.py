"""SPEC section 7, applying events: counts, completions, unknowns, retention."""

from __future__ import annotations

import asyncio

import pytest

from daemon.http.keys import SCHEDULER
from tests.factories import event, iso_at, linked_campaign, new_uuid, wait_for
from tests.test_webhooks import OLD_SECRET, SECRET, count, post


@pytest.fixture
async def hooks(make_api):
    """The daemon accepting both rotation secrets (as in test_webhooks.py)."""
    return await make_api(WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}")


async def audit(db, campaign_id: str) -> list[tuple[str, str, str]]:
    rows = await db.fetch("status_changes_for", campaign_id)
    return [(r["from_status"], r["to_status"], r["source"]) for r in rows]


async def stored(db, resp) -> dict:
    return dict(await db.fetchrow("webhook_event_get", (await resp.json())["event_id"]))


async def test_counts_show_on_the_campaign_and_account_errors_are_visible(hooks, fake) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    for i in range(3):
        await post(hooks, event("email_opened", ext, lead_email=f"{i}@x"))
    account_error = event("account_error", ext, email_account="a@x")
    await post(hooks, account_error)
    await post(hooks, account_error)  # a redelivery
    body = await (await hooks.get(f"/campaigns/{campaign['id']}")).json()
    assert body["events"] == {"email_opened": 3, "account_error": 1}


async def test_campaign_completed_completes_a_linked_campaign(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    resp = await post(hooks, event("campaign_completed", ext, timestamp=iso_at()))
    assert (await resp.json())["status"] == "accepted"
    local = await (await hooks.get(f"/campaigns/{campaign['id']}")).json()
    assert local["status"] == "completed"
    assert local["status_changed_at"] > campaign["status_changed_at"]
    assert local["events"] == {"campaign_completed": 1}
    assert await audit(db, campaign["id"]) == [("draft", "completed", "webhook")]
    row = await stored(db, resp)
    assert row["outcome"] == "applied"
    assert str(row["campaign_id"]) == campaign["id"]
    # A completed campaign cannot be toggled any more.
    assert (await hooks.post(f"/campaigns/{campaign['id']}/toggle")).status == 409


async def test_a_second_completion_is_stored_but_changes_nothing(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    await post(hooks, event("campaign_completed", ext, timestamp=iso_at()))
    again = await post(hooks, event("campaign_completed", ext, timestamp=iso_at(), step=2))
    assert (await again.json())["status"] == "accepted"
    assert (await stored(db, again))["outcome"] == "already_completed"
    assert await audit(db, campaign["id"]) == [("draft", "completed", "webhook")]


async def test_completion_stamped_by_the_clock_is_applied(hooks, fake, db) -> None:
    """The default event is stamped now: newer than any change the campaign had."""
    campaign, ext = await linked_campaign(hooks, fake)
    await hooks.post(f"/campaigns/{campaign['id']}/toggle")
    resp = await post(hooks, event("campaign_completed", ext))
    assert (await stored(db, resp))["outcome"] == "applied"
    assert (await db.fetchrow("campaign_get", campaign["id"]))["status"] == "completed"


async def test_stale_completion_is_stored_but_not_applied(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    await hooks.post(f"/campaigns/{campaign['id']}/toggle")  # status changed just now
    changed_at = (await db.fetchrow("campaign_get", campaign["id"]))["status_changed_at"]
    before_the_change = iso_at(changed_at, seconds=-1)
    resp = await post(hooks, event("campaign_completed", ext, timestamp=before_the_change))
    assert resp.status == 200
    local = await (await hooks.get(f"/campaigns/{campaign['id']}")).json()
    assert local["status"] == "active"
    assert local["events"] == {"campaign_completed": 1}  # counted all the same
    assert (await stored(db, resp))["outcome"] == "stale"
    assert [a[2] for a in await audit(db, campaign["id"])] == ["api"]


async def test_completion_without_a_timestamp_is_applied(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    body = event("campaign_completed", ext)
    del body["timestamp"]
    resp = await post(hooks, body)
    assert (await stored(db, resp))["outcome"] == "applied"
    assert (await db.fetchrow("campaign_get", campaign["id"]))["status"] == "completed"


async def test_completion_during_a_toggle_clears_its_lease(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    fake.state.add_fault(path="/activate", hold_ms=1000)  # the activation answers late
    toggle = asyncio.ensure_future(hooks.post(f"/campaigns/{campaign['id']}/toggle"))

    async def leased() -> bool:
        return (await db.fetchrow("campaign_get", campaign["id"]))["pending_status"] == "active"

    await wait_for(leased)
    resp = await post(hooks, event("campaign_completed", ext, timestamp=iso_at()))
    assert (await stored(db, resp))["outcome"] == "applied"
    row = await db.fetchrow("campaign_get", campaign["id"])
    assert (row["status"], row["pending_status"], row["pending_token"]) == (
        "completed", None, None)
    toggled = await toggle
    assert toggled.status == 409  # its commit lost to the completion
    assert (await db.fetchrow("campaign_get", campaign["id"]))["status"] == "completed"


async def test_unknown_campaign_and_unknown_type_are_stored_and_counted(hooks, db) -> None:
    ext = new_uuid()
    resp = await post(hooks, event("brand_new_custom_label", ext))
    assert resp.status == 200
    row = await stored(db, resp)
    assert (row["campaign_id"], row["outcome"]) == (None, "unknown_campaign")
    assert row["payload"]["event_type"] == "brand_new_custom_label"
    counts = await db.fetch("event_counts_for", ext)
    assert [(r["event_type"], r["count"]) for r in counts] == [("brand_new_custom_label", 1)]


async def test_counts_of_a_campaign_linked_later_are_already_there(hooks, fake) -> None:
    remote = fake.state.add_campaign(name="Later", status=1)
    await post(hooks, event("email_sent", remote["id"]))
    created = await (await hooks.post("/campaigns", json={
        "client_id": "acme", "name": "Later", "external_id": remote["id"]})).json()
    got = await (await hooks.get(f"/campaigns/{created['id']}")).json()
    assert got["events"] == {"email_sent": 1}


async def test_completion_for_an_unknown_campaign_completes_nothing(hooks, db) -> None:
    resp = await post(hooks, event("campaign_completed", new_uuid(), timestamp=iso_at()))
    assert (await stored(db, resp))["outcome"] == "unknown_campaign"


async def test_retention_prunes_old_events_but_keeps_counts(hooks, db) -> None:
    from webhooks.retention import prune_events

    ext = new_uuid()
    await post(hooks, event("email_sent", ext))
    await post(hooks, event("email_opened", ext))
    await post(hooks, event("email_opened", ext, lead_email="other@x"))
    await db.pool.execute("UPDATE webhook_events SET received_at = now() - interval '40 days'"
                          " WHERE event_type = 'email_opened'")
    assert await prune_events(db, retention_days=30, slice_rows=1) == 2
    assert await count(db) == 1
    counts = {r["event_type"]: r["count"] for r in await db.fetch("event_counts_for", ext)}
    assert counts == {"email_sent": 1, "email_opened": 2}


async def test_retention_runs_as_a_daily_job_with_the_configured_days(make_api, db) -> None:
    client = await make_api(WEBHOOK_SECRET="s1,s2", WEBHOOK_RETENTION_DAYS="7")
    job = client.server.app[SCHEDULER].get_job("webhook_retention")
    assert job.trigger.interval.total_seconds() == 86400
    await post(client, event(lead_email="old@x"), secret="s2")
    await post(client, event(lead_email="new@x"), secret="s1")
    await db.pool.execute("UPDATE webhook_events SET received_at = now() - interval '8 days'"
                          " WHERE payload->>'lead_email' = 'old@x'")
    await job.func()
    assert await count(db) == 1
