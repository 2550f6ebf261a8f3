"""docs/behaviour.md §3: the toggle path's atomic rule, flag, error table and races."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from sql import Database
from tests.factories import FAKE_KEY, create_campaign, linked_campaign, wait_for


async def set_local_status(db: Database, campaign_id: str, status: str) -> None:
    # Arranging state directly: the API only moves campaigns through toggles.
    await db.pool.execute("UPDATE campaigns SET status = $2 WHERE id = $1", campaign_id, status)


async def audit(db: Database, campaign_id: str) -> list[dict]:
    return [dict(r) for r in await db.fetch("status_changes_for", campaign_id)]


async def test_activating_a_linked_campaign_calls_first_then_commits(api, fake, db) -> None:
    campaign, ext = await linked_campaign(api, fake, remote_status=2)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["previous_status"] == "draft"
    assert body["new_status"] == "active"
    assert body["external_sync"] == "activated"
    assert body["campaign_name"] == campaign["name"]
    assert "instantly" not in body["message"].lower()
    calls = fake.state.calls_to(method="POST", path_contains="/activate")
    assert len(calls) == 1
    assert calls[0]["path"] == f"/api/v2/campaigns/{ext}/activate"
    assert json.loads(calls[0]["body"]) == {}
    assert calls[0]["content_type"] == "application/json"
    assert calls[0]["authorized"]
    assert fake.state.campaigns[ext]["status"] == 1
    local = await (await api.get(f"/campaigns/{campaign['id']}")).json()
    assert local["status"] == "active"
    assert local["remote_status"] == 1
    assert local["pending_status"] is None
    rows = await audit(db, campaign["id"])
    assert [(r["from_status"], r["to_status"], r["external_action"], r["outcome"], r["source"])
            for r in rows] == [("draft", "active", "activate", "applied", "api")]
    assert rows[0]["request_id"] == resp.headers["X-Request-ID"]


async def test_pause_is_local_only_when_full_pause_sync_is_off(api, fake, db) -> None:
    campaign, ext = await linked_campaign(api, fake)
    await api.post(f"/campaigns/{campaign['id']}/toggle")
    fake.state.calls.clear()
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    body = await resp.json()
    assert (body["new_status"], body["external_sync"]) == ("paused", "local_only")
    assert fake.state.calls == []
    assert fake.state.campaigns[ext]["status"] == 1  # still sending remotely
    rows = await audit(db, campaign["id"])
    assert (rows[-1]["to_status"], rows[-1]["external_action"]) == ("paused", None)


async def test_pause_is_synced_when_full_pause_sync_is_on(make_api, fake) -> None:
    api = await make_api(FULL_PAUSE_SYNC="true")
    campaign, ext = await linked_campaign(api, fake, remote_status=1)
    await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "active"})
    resp = await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "paused"})
    body = await resp.json()
    assert (body["new_status"], body["external_sync"]) == ("paused", "paused")
    assert len(fake.state.calls_to(method="POST", path_contains="/pause")) == 1
    assert fake.state.campaigns[ext]["status"] == 2


async def test_unlinked_campaigns_change_locally(api, fake) -> None:
    campaign = await create_campaign(api)
    body = await (await api.post(f"/campaigns/{campaign['id']}/toggle")).json()
    assert (body["new_status"], body["external_sync"]) == ("active", "unlinked")
    body = await (await api.post(f"/campaigns/{campaign['id']}/toggle")).json()
    assert (body["new_status"], body["external_sync"]) == ("paused", "unlinked")
    body = await (await api.post(f"/campaigns/{campaign['id']}/toggle")).json()
    assert (body["previous_status"], body["new_status"]) == ("paused", "active")
    assert fake.state.calls == []


async def test_set_status_to_the_current_status_is_a_noop(api, fake, db) -> None:
    campaign, _ = await linked_campaign(api, fake)
    await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "active"})
    fake.state.calls.clear()
    resp = await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "active"})
    body = await resp.json()
    assert resp.status == 200
    assert body["external_sync"] == "noop"
    assert fake.state.calls == []
    assert len(await audit(db, campaign["id"])) == 1


@pytest.mark.parametrize("body", [{"status": "draft"}, {"status": "completed"}, {"status": 1},
                                  {}, {"status": "active", "extra": 1}])
async def test_set_status_rejects_bad_bodies(api, body) -> None:
    campaign = await create_campaign(api)
    resp = await api.put(f"/campaigns/{campaign['id']}/status", json=body)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_body"


async def test_completed_campaigns_cannot_be_toggled(api, fake, db) -> None:
    campaign, _ = await linked_campaign(api, fake)
    await set_local_status(db, campaign["id"], "completed")
    for method, path, body in (("POST", "toggle", None), ("PUT", "status", {"status": "active"})):
        resp = await api.request(method, f"/campaigns/{campaign['id']}/{path}", json=body)
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "campaign_completed"
    assert fake.state.calls == []


ERROR_TABLE = [
    ({"status": 401}, 502, "external_auth_failed",
     "External service authentication failed. Please contact administrator."),
    ({"status": 403}, 502, "external_permission_missing",
     "External service permission missing: the key needs the campaigns:update permission."
     " Please contact administrator."),
    ({"status": 404}, 422, "external_not_found",
     "Campaign not found in external service. Please verify the campaign exists."),
    ({"status": 429, "count": 10, "retry_after": 0}, 429, "external_rate_limited",
     "External service rate limit exceeded. Please try again in a few minutes."),
    ({"status": 500, "count": 10}, 502, "external_error",
     "External service request failed (500). Please try again or contact support."),
    ({"status": 503, "count": 10}, 502, "external_error",
     "External service request failed (503). Please try again or contact support."),
    ({"drop": True, "count": 10}, 504, "external_unreachable",
     "Unable to connect to external service. Check your internet connection and try again."),
    ({"delay_ms": 3000, "count": 10}, 504, "external_unreachable",
     "Unable to connect to external service. Check your internet connection and try again."),
]


@pytest.mark.parametrize(("fault", "status", "code", "message"), ERROR_TABLE)
async def test_failed_external_call_leaves_local_status_unchanged(
    make_api, fake, db, fault, status, code, message
) -> None:
    api = await make_api(INSTANTLY_TIMEOUT_SECONDS="1", INSTANTLY_MAX_RETRIES="2")
    campaign, _ext = await linked_campaign(api, fake, remote_status=2)
    fake.state.add_fault(path="/activate", **fault)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == status
    assert await resp.json() == {"error": {"code": code, "message": message}}
    if status == 429:
        assert "Retry-After" in resp.headers
    local = await (await api.get(f"/campaigns/{campaign['id']}")).json()
    assert (local["status"], local["pending_status"]) == ("draft", None)
    rows = await audit(db, campaign["id"])
    assert [(r["outcome"], r["error_code"], r["external_action"]) for r in rows] == [
        ("external_failed", code, "activate")
    ]


async def test_client_errors_are_not_retried(make_api, fake) -> None:
    api = await make_api(INSTANTLY_MAX_RETRIES="3")
    campaign, _ = await linked_campaign(api, fake)
    for status in (400, 401, 403, 404):
        fake.state.calls.clear()
        fake.state.add_fault(path="/activate", status=status)
        await api.post(f"/campaigns/{campaign['id']}/toggle")
        assert len(fake.state.calls_to(path_contains="/activate")) == 1, status


async def test_transient_errors_are_retried_then_succeed(make_api, fake) -> None:
    api = await make_api(INSTANTLY_MAX_RETRIES="3")
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", status=500)
    fake.state.add_fault(path="/activate", status=429, retry_after=0)
    fake.state.add_fault(path="/activate", drop=True)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 200
    assert (await resp.json())["external_sync"] == "activated"
    statuses = [c["status"] for c in fake.state.calls_to(path_contains="/activate")]
    assert statuses == [500, 429, 0, 200]


async def test_missing_api_key_is_503_config_missing(make_api, fake, db) -> None:
    api = await make_api(INSTANTLY_API_KEY="")
    campaign, _ = await linked_campaign(api, fake)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 503
    assert await resp.json() == {"error": {
        "code": "external_config_missing",
        "message": "External service configuration missing. Contact administrator."}}
    assert fake.state.calls == []
    assert (await (await api.get(f"/campaigns/{campaign['id']}")).json())["status"] == "draft"
    # A local-only change still works without a key.
    unlinked = await create_campaign(api, name="local")
    assert (await api.post(f"/campaigns/{unlinked['id']}/toggle")).status == 200


async def test_wrong_api_key_maps_to_auth_failed(make_api, fake) -> None:
    api = await make_api(INSTANTLY_API_KEY="wrong-key")
    campaign, _ = await linked_campaign(api, fake)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 502
    assert (await resp.json())["error"]["code"] == "external_auth_failed"


@pytest.mark.slow
async def test_no_transaction_is_open_during_the_call_and_the_lease_is_visible(
    api, fake, db
) -> None:
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", delay_ms=1500)
    task = asyncio.ensure_future(api.post(f"/campaigns/{campaign['id']}/toggle"))

    async def lease_visible() -> bool:
        row = await db.fetchrow("campaign_get", campaign["id"])
        return row["pending_status"] == "active"

    await wait_for(lease_visible)
    # While the call is held, the lease row is committed and nothing of ours
    # sits idle in a transaction.
    idle = await db.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND state LIKE 'idle in transaction%'"
    )
    assert idle == 0
    second = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert second.status == 409
    assert (await second.json())["error"]["code"] == "toggle_in_progress"
    resp = await task
    assert resp.status == 200
    row = await db.fetchrow("campaign_get", campaign["id"])
    assert (row["status"], row["pending_status"]) == ("active", None)


async def test_concurrent_toggles_one_wins_and_calls_match(api, fake, db) -> None:
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", delay_ms=300)
    responses = await asyncio.gather(
        *(api.post(f"/campaigns/{campaign['id']}/toggle") for _ in range(10))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) == 1
    assert all(s == 409 for s in statuses if s != 200)
    codes = {(await r.json())["error"]["code"] for r in responses if r.status == 409}
    assert codes <= {"toggle_in_progress", "status_conflict"}
    assert len(fake.state.calls_to(path_contains="/activate")) == 1
    rows = await audit(db, campaign["id"])
    assert len([r for r in rows if r["outcome"] == "applied"]) == 1


async def test_many_concurrent_set_status_calls_never_lose_an_update(api, fake, db) -> None:
    campaigns = [await linked_campaign(api, fake, name=f"c{i}") for i in range(5)]
    results = await asyncio.gather(*(
        api.put(f"/campaigns/{c['id']}/status", json={"status": s})
        for c, _ in campaigns for s in ("active", "paused", "active", "paused")
    ))
    assert all(r.status in (200, 409) for r in results)
    bodies = [await r.json() for r in results]
    activated = sum(1 for b in bodies if b.get("external_sync") == "activated")
    assert activated == len(fake.state.calls_to(path_contains="/activate"))
    for c, _ in campaigns:
        rows = await audit(db, c["id"])
        applied = [r for r in rows if r["outcome"] == "applied"]
        # The audit trail chains: each applied change starts where the last ended.
        for prev, cur in itertools.pairwise(applied):
            assert cur["from_status"] == prev["to_status"]
        local = await db.fetchrow("campaign_get", c["id"])
        assert local["status"] == (applied[-1]["to_status"] if applied else "draft")


async def test_toggle_logs_events_with_request_id_and_no_key(api, fake, capsys) -> None:
    from daemon.logs import configure_logging

    configure_logging(fmt="json", level="info", secrets=(FAKE_KEY,))
    try:
        campaign, _ = await linked_campaign(api, fake)
        capsys.readouterr()
        resp = await api.post(f"/campaigns/{campaign['id']}/toggle",
                              headers={"X-Request-ID": "trace-42"})
        assert resp.status == 200
        out = capsys.readouterr().err  # logs go to stderr
    finally:
        configure_logging(fmt="json", level="warning", secrets=(FAKE_KEY,))
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    for name in ("toggle.start", "external.call", "external.ok", "toggle.done"):
        assert name in names
    assert all(e.get("request_id") == "trace-42" for e in events if e["event"] in names)
    start = next(e for e in events if e["event"] == "toggle.start")
    assert (start["from"], start["to"], start["name"]) == ("draft", "active", campaign["name"])
    assert FAKE_KEY not in out
