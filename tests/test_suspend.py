"""Suspending syncing (docs/operations.md, "Stopping all external calls"), over real HTTP
against the fake: two replicas on one database obey one switch."""

from __future__ import annotations

from tests.factories import create_campaign, event, linked_campaign

REASON = "API key leaked, rotating it"


async def _metric(api, name: str) -> float:
    text = await (await api.get("/metrics")).text()
    return float(next(line.split()[-1] for line in text.splitlines()
                      if line.startswith(name + " ")))


async def test_suspend_on_one_replica_refuses_toggles_on_another_until_resumed(
        make_api, fake, db) -> None:
    one, other = await make_api(), await make_api()
    campaign, external_id = await linked_campaign(one, fake, name="Linked while suspended")
    unlinked = await create_campaign(one, name="Never linked")

    answer = await one.post("/sync/suspend", json={"reason": REASON})
    assert answer.status == 200
    suspension = await answer.json()
    assert (suspension["suspended_by"], suspension["reason"], suspension["no_read"]) == (
        "token-1", REASON, False)

    # The other replica refuses a linked campaign's change: no call, nothing committed.
    for method, path, body in (("POST", "toggle", None), ("PUT", "status", {"status": "active"})):
        refused = await other.request(method, f"/campaigns/{campaign['id']}/{path}", json=body)
        assert refused.status == 409
        error = (await refused.json())["error"]
        assert error["code"] == "sync_suspended"
        assert "token-1" in error["message"] and REASON in error["message"]
    bulk = await other.post("/campaigns/status", json={"campaign_ids": [campaign["id"]],
                                                       "status": "active"})
    assert (await bulk.json())["results"][0]["error"]["code"] == "sync_suspended"
    assert fake.state.calls_to(method="POST", path_contains=external_id) == []
    assert (await (await other.get(f"/campaigns/{campaign['id']}")).json())["status"] == "draft"
    assert await db.pool.fetchval(
        "SELECT count(*) FROM status_changes WHERE campaign_id = $1", campaign["id"]) == 0
    # An unlinked campaign toggles as usual; both replicas show the switch.
    toggled = await other.post(f"/campaigns/{unlinked['id']}/toggle")
    assert (await toggled.json())["new_status"] == "active"
    assert await _metric(other, "instantly_sync_suspended") == 1
    assert (await other.get("/readyz")).status == 200  # suspended is not unready
    state = await (await other.get("/sync")).json()
    assert state["suspended"] and state["current"]["reason"] == REASON

    # Resumed on the second replica: the first sends the change.
    resumed = await other.post("/sync/resume")
    assert (await resumed.json())["resumed_by"] == "token-1"
    answer = await one.post(f"/campaigns/{campaign['id']}/toggle")
    assert (answer.status, (await answer.json())["external_sync"]) == (200, "activated")
    assert len(fake.state.calls_to(method="POST", path_contains=f"{external_id}/activate")) == 1
    assert await _metric(one, "instantly_sync_suspended") == 0
    assert [(s["suspended_by"], s["resumed_by"]) for s in
            (await (await one.get("/sync")).json())["history"]] == [("token-1", "token-1")]


async def test_while_suspended_push_local_is_refused_and_the_rest_keeps_working(
        make_api, fake, db) -> None:
    api = await make_api(WEBHOOK_SECRET="hook-secret")
    drifted, external_id = await linked_campaign(api, fake, name="Drifted")
    await api.put(f"/campaigns/{drifted['id']}/status", json={"status": "active"})
    fake.state.set_status(external_id, 2)  # paused in the dashboard
    await api.post("/reconcile?wait=true")  # status mismatch: local active, remote paused
    [finding] = (await (await api.get("/drift")).json())["items"]
    await api.post("/sync/suspend", json={"reason": REASON})
    fake.state.calls.clear()

    pushed = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "push_local"})
    assert (pushed.status, (await pushed.json())["error"]["code"]) == (409, "sync_suspended")
    assert fake.state.calls_to(method="POST") == []
    # Reads go on: a pass still lists and keeps the finding; webhooks are stored.
    run = await (await api.post("/reconcile?wait=true")).json()
    assert run["status"] == "succeeded" and run["api_calls"] >= 1
    delivered = await api.post("/webhooks/instantly", json=event("reply_received", external_id),
                               headers={"X-Webhook-Secret": "hook-secret"})
    assert delivered.status == 200
    assert await db.pool.fetchval(
        "SELECT count(*) FROM webhook_events WHERE campaign_external_id = $1", external_id) == 1
    # acknowledge and adopt_remote change only our side: allowed.
    ack = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "acknowledge"})
    assert ack.status == 200
    await api.post(f"/drift/{finding['id']}/resolve", json={"action": "reopen"})
    adopted = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "adopt_remote"})
    assert adopted.status == 200
    assert (await (await api.get(f"/campaigns/{drifted['id']}")).json())["status"] == "paused"
    assert fake.state.calls_to(method="POST") == []


async def test_no_read_skips_passes_and_a_suspension_survives_a_restart(make_api, fake) -> None:
    first = await make_api()
    await linked_campaign(first, fake)
    answer = await first.post("/sync/suspend", json={"reason": REASON, "no_read": True})
    assert (await answer.json())["no_read"] is True
    await first.close()  # the replica goes away; the suspension is in the database

    restarted = await make_api()
    assert (await (await restarted.get("/sync")).json())["suspended"] is True
    fake.state.calls.clear()
    run = await (await restarted.post("/reconcile?wait=true")).json()
    assert run["status"] == "skipped" and REASON in run["error"]
    assert fake.state.calls == []
    again = await restarted.post("/sync/suspend", json={"reason": "twice"})
    assert (await again.json())["error"]["code"] == "sync_already_suspended"
    await restarted.post("/sync/resume")
    assert (await (await restarted.post("/sync/resume")).json())["error"]["code"] == (
        "sync_not_suspended")
    run = await (await restarted.post("/reconcile?wait=true")).json()
    assert run["status"] == "succeeded"


async def test_only_admin_tokens_suspend_and_the_audit_names_the_token(make_api) -> None:
    api = await make_api(API_TOKENS="ops:ops-secret-1,viewer:viewer-secret-2",
                         ADMIN_TOKENS="ops")
    as_viewer = {"Authorization": "Bearer viewer-secret-2"}
    as_ops = {"Authorization": "Bearer ops-secret-1"}
    refused = await api.post("/sync/suspend", json={"reason": REASON}, headers=as_viewer)
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "admin_only")
    assert (await (await api.get("/sync", headers=as_viewer)).json())["suspended"] is False
    for body in ({"reason": ""}, {"reason": "x" * 501}, {}, {"reason": REASON, "extra": 1}):
        bad = await api.post("/sync/suspend", json=body, headers=as_ops)
        assert bad.status == 400, body
    done = await api.post("/sync/suspend", json={"reason": REASON}, headers=as_ops)
    assert (await done.json())["suspended_by"] == "ops"
    text = await (await api.get("/sync", headers=as_ops)).text()
    assert "ops-secret-1" not in text and "viewer-secret-2" not in text
