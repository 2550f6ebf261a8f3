"""docs/behaviour.md §4, applying events: counts, completions, unknowns, retention."""

from __future__ import annotations

import asyncio

import pytest

from daemon.http.keys import SCHEDULER
from tests.factories import (
    event,
    iso_at,
    linked_campaign,
    new_uuid,
    services_of,
    subscribe,
    wait_for,
)
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


async def settled(db, resp) -> dict:
    """The stored event once its campaign check has run (outcome no longer pending)."""
    event_id = (await resp.json())["event_id"]

    async def done() -> bool:
        row = await db.fetchrow("webhook_event_get", event_id)
        return row["outcome"] != "check_pending"

    await wait_for(done)
    return dict(await db.fetchrow("webhook_event_get", event_id))


def gets_of(fake, ext: str) -> list[dict]:
    return [c for c in fake.state.calls_to(method="GET", path_contains=ext)]


async def test_completion_confirmed_by_the_campaign_completes_it(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake, remote_status=3)
    resp = await post(hooks, event("campaign_completed", ext))
    assert (await resp.json())["status"] == "accepted"
    row = await settled(db, resp)
    assert (row["outcome"], str(row["campaign_id"])) == ("applied", campaign["id"])
    local = await (await hooks.get(f"/campaigns/{campaign['id']}")).json()
    assert (local["status"], local["remote_status"]) == ("completed", 3)
    assert local["status_changed_at"] > campaign["status_changed_at"]
    assert local["events"] == {"campaign_completed": 1}
    assert await audit(db, campaign["id"]) == [("draft", "completed", "webhook")]
    assert len(gets_of(fake, ext)) == 1
    # A completed campaign cannot be toggled any more.
    assert (await hooks.post(f"/campaigns/{campaign['id']}/toggle")).status == 409


async def test_completion_not_confirmed_changes_nothing(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake, remote_status=2)
    resp = await post(hooks, event("campaign_completed", ext))
    assert (await settled(db, resp))["outcome"] == "not_confirmed"
    local = await db.fetchrow("campaign_get", campaign["id"])
    assert (local["status"], local["remote_status"]) == ("draft", 2)
    assert local["events"] == {"campaign_completed": 1}  # counted all the same
    assert await audit(db, campaign["id"]) == []


async def test_per_lead_completions_never_complete_a_running_campaign(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    assert (await hooks.post(f"/campaigns/{campaign['id']}/toggle")).status == 200  # active
    subscribe(fake, hooks, SECRET)
    deliveries = await fake.complete_leads(ext, ["a@x.com", "b@x.com", "c@x.com"])
    assert [d["status_code"] for d in deliveries] == [200, 200, 200]
    await services_of(hooks).campaign_checks.idle()
    outcomes = [r["outcome"] for r in await db.fetch("webhook_events_of", ext)]
    assert outcomes == ["not_confirmed"] * 3
    assert (await db.fetchrow("campaign_get", campaign["id"]))["status"] == "active"
    # The last lead finishes and the campaign with it: now it is confirmed.
    await fake.complete_leads(ext, ["d@x.com"], campaign_done=True)
    await services_of(hooks).campaign_checks.idle()
    assert (await db.fetchrow("campaign_get", campaign["id"]))["status"] == "completed"
    outcomes = [r["outcome"] for r in await db.fetch("webhook_events_of", ext)]
    assert outcomes == ["not_confirmed"] * 3 + ["applied"]


async def test_a_completion_after_the_campaign_completed_changes_nothing(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake, remote_status=3)
    await settled(db, await post(hooks, event("campaign_completed", ext, lead_email="1@x")))
    again = await post(hooks, event("campaign_completed", ext, lead_email="2@x"))
    assert (await settled(db, again))["outcome"] == "already_completed"
    assert await audit(db, campaign["id"]) == [("draft", "completed", "webhook")]


@pytest.mark.parametrize(("remote", "outcome", "status"), [
    (3, "applied", "completed"), (1, "not_confirmed", "active")])
async def test_the_event_time_never_decides_only_the_remote_status(
        hooks, fake, db, remote, outcome, status) -> None:
    """A completion stamped now and one stamped before the campaign's last change are
    judged alike: by the status the external service reports (times come from the clock)."""
    campaign, ext = await linked_campaign(hooks, fake)
    assert (await hooks.post(f"/campaigns/{campaign['id']}/toggle")).status == 200
    changed_at = (await db.fetchrow("campaign_get", campaign["id"]))["status_changed_at"]
    fake.state.set_status(ext, remote)
    stamped_now = event("campaign_completed", ext, lead_email="now@x")
    stamped_before = event("campaign_completed", ext, lead_email="before@x",
                           timestamp=iso_at(changed_at, days=-1))
    for body in (stamped_now, stamped_before):
        assert (await settled(db, await post(hooks, body)))["outcome"] in (
            outcome, "already_completed")
    assert (await db.fetchrow("campaign_get", campaign["id"]))["status"] == status


@pytest.mark.slow
async def test_the_answer_never_waits_for_the_check(hooks, fake, db) -> None:
    _campaign, ext = await linked_campaign(hooks, fake, remote_status=3)
    fake.state.add_fault(method="GET", path=ext, delay_ms=3000)  # the check is slow
    resp = await post(hooks, event("campaign_completed", ext))
    assert resp.status == 200
    # Answered while the check still waits for its GET:
    assert (await stored(db, resp))["outcome"] == "check_pending"
    assert (await settled(db, resp))["outcome"] == "applied"


async def test_checks_of_one_campaign_are_coalesced(hooks, fake, db) -> None:
    _campaign, ext = await linked_campaign(hooks, fake, remote_status=1)
    fake.state.add_fault(method="GET", path=ext, delay_ms=500)  # first check in flight
    answers = await asyncio.gather(*(
        post(hooks, event("campaign_completed", ext, lead_email=f"{i}@x")) for i in range(20)))
    assert {r.status for r in answers} == {200}
    await services_of(hooks).campaign_checks.idle()
    assert 1 <= len(gets_of(fake, ext)) <= 2  # one in flight, at most one more after it
    outcomes = {r["outcome"] for r in await db.fetch("webhook_events_of", ext)}
    assert outcomes == {"not_confirmed"}


async def test_account_error_schedules_the_same_check(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake, remote_status=-1)
    resp = await post(hooks, event("account_error", ext, email_account="a@x.com"))
    assert (await settled(db, resp))["outcome"] == "checked"
    local = await db.fetchrow("campaign_get", campaign["id"])
    assert (local["status"], local["remote_status"]) == ("draft", -1)
    assert len(gets_of(fake, ext)) == 1


@pytest.mark.slow
async def test_a_failed_check_leaves_the_campaign_for_the_reconciler(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake, remote_status=3)
    fake.state.add_fault(method="GET", path=ext, status=500, count=20)
    resp = await post(hooks, event("campaign_completed", ext))
    assert (await settled(db, resp))["outcome"] == "check_failed"
    assert (await db.fetchrow("campaign_get", campaign["id"]))["status"] == "draft"
    run = await (await hooks.post("/reconcile?wait=true")).json()  # the backstop
    assert run["status"] == "succeeded"
    kinds = [f["kind"] for f in (await (await hooks.get("/drift")).json())["items"]]
    assert kinds == ["remote_completed"]


@pytest.mark.slow
async def test_completion_during_a_toggle_clears_its_lease(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    fake.state.add_fault(path="/activate", hold_ms=1000)  # the activation answers late
    toggle = asyncio.ensure_future(hooks.post(f"/campaigns/{campaign['id']}/toggle"))

    async def leased() -> bool:
        return (await db.fetchrow("campaign_get", campaign["id"]))["pending_status"] == "active"

    await wait_for(leased)
    fake.state.set_status(ext, 3)  # completed in the dashboard meanwhile
    resp = await post(hooks, event("campaign_completed", ext))
    assert (await settled(db, resp))["outcome"] == "applied"
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


@pytest.mark.slow
async def test_a_campaign_is_read_at_most_once_per_interval(make_api, fake, db) -> None:
    """Per-lead completions arriving one after another (each after the last check
    finished) share reads: the next read waits for the interval, it is not one per event."""
    hooks = await make_api(WEBHOOK_SECRET=SECRET, WEBHOOK_CHECK_SPACING_SECONDS="1.5")
    _campaign, ext = await linked_campaign(hooks, fake, remote_status=1)
    first = await post(hooks, event("campaign_completed", ext, lead_email="1@x"))
    await settled(db, first)
    later = [await post(hooks, event("campaign_completed", ext, lead_email=f"{i}@x"))
             for i in range(2, 6)]
    for resp in later:
        assert (await settled(db, resp))["outcome"] == "not_confirmed"
    reads = gets_of(fake, ext)
    assert len(reads) == 2  # four events after the first read: one more read for all
    assert reads[1]["at"] - reads[0]["at"] >= 1.5 * 0.9  # clock granularity margin
