"""Idempotency-Key semantics and bulk status changes (docs/behaviour.md §3)."""

from __future__ import annotations

import asyncio
import uuid

from tests.factories import create_campaign, linked_campaign, wait_for


async def test_same_key_same_request_replays_without_a_second_call(api, fake) -> None:
    campaign, _ = await linked_campaign(api, fake)
    headers = {"Idempotency-Key": "k-1"}
    first = await api.post(f"/campaigns/{campaign['id']}/toggle", headers=headers)
    second = await api.post(f"/campaigns/{campaign['id']}/toggle", headers=headers)
    assert first.status == second.status == 200
    assert await first.json() == await second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(fake.state.calls_to(path_contains="/activate")) == 1
    local = await (await api.get(f"/campaigns/{campaign['id']}")).json()
    assert local["status"] == "active"  # not toggled back by the replay


async def test_same_key_other_request_is_422(api) -> None:
    campaign = await create_campaign(api)
    headers = {"Idempotency-Key": "k-2"}
    await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "active"},
                  headers=headers)
    resp = await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "paused"},
                         headers=headers)
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "idempotency_key_reused"


async def test_key_in_progress_is_409(api, fake) -> None:
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", delay_ms=800)
    headers = {"Idempotency-Key": "k-3"}
    first = asyncio.ensure_future(api.post(f"/campaigns/{campaign['id']}/toggle",
                                           headers=headers))

    # The fake logs a call once it answers, so wait on the lease instead.
    async def leased() -> bool:
        body = await (await api.get(f"/campaigns/{campaign['id']}")).json()
        return body["pending_status"] == "active"

    await wait_for(leased)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle", headers=headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "idempotency_key_in_progress"
    assert (await first).status == 200


async def test_transient_failure_releases_the_key_for_a_retry(make_api, fake) -> None:
    api = await make_api(INSTANTLY_MAX_RETRIES="0")
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", status=500)
    headers = {"Idempotency-Key": "k-4"}
    first = await api.post(f"/campaigns/{campaign['id']}/toggle", headers=headers)
    assert first.status == 502
    second = await api.post(f"/campaigns/{campaign['id']}/toggle", headers=headers)
    assert second.status == 200
    assert "Idempotent-Replayed" not in second.headers


async def test_definitive_client_errors_are_replayed(api) -> None:
    headers = {"Idempotency-Key": "k-5"}
    missing = uuid.uuid4()
    first = await api.post(f"/campaigns/{missing}/toggle", headers=headers)
    second = await api.post(f"/campaigns/{missing}/toggle", headers=headers)
    assert first.status == second.status == 404
    assert second.headers.get("Idempotent-Replayed") == "true"


async def test_bulk_reports_each_item_in_request_order(api, fake, db) -> None:
    linked, _ = await linked_campaign(api, fake, name="linked")
    unlinked = await create_campaign(api, name="unlinked")
    done, _ = await linked_campaign(api, fake, name="done")
    await db.pool.execute("UPDATE campaigns SET status = 'completed' WHERE id = $1", done["id"])
    failing, ext = await linked_campaign(api, fake, name="failing")
    fake.state.add_fault(path=f"/{ext}/activate", status=404)
    missing = str(uuid.uuid4())
    ids = [linked["id"], missing, unlinked["id"], done["id"], failing["id"]]
    resp = await api.post("/campaigns/status", json={"campaign_ids": ids, "status": "active"})
    assert resp.status == 200
    body = await resp.json()
    assert [r["campaign_id"] for r in body["results"]] == ids
    assert (body["succeeded"], body["failed"]) == (2, 3)
    by_id = {r["campaign_id"]: r for r in body["results"]}
    assert by_id[linked["id"]]["ok"] and by_id[linked["id"]]["external_sync"] == "activated"
    assert by_id[unlinked["id"]]["external_sync"] == "unlinked"
    assert by_id[missing]["error"]["code"] == "campaign_not_found"
    assert by_id[done["id"]]["error"]["code"] == "campaign_completed"
    assert by_id[failing["id"]]["error"]["code"] == "external_not_found"
    rows = await db.fetch("status_changes_for", linked["id"])
    assert rows[-1]["source"] == "bulk"


async def test_bulk_validates_its_body(api) -> None:
    one = str(uuid.uuid4())
    for body in (
        {"campaign_ids": [], "status": "active"},
        {"campaign_ids": [str(uuid.uuid4()) for _ in range(501)], "status": "active"},
        {"campaign_ids": [one, one], "status": "active"},
        {"campaign_ids": ["nope"], "status": "active"},
        {"campaign_ids": [one], "status": "stopped"},
        {"campaign_ids": one, "status": "active"},
    ):
        resp = await api.post("/campaigns/status", json=body)
        assert resp.status == 400, body
        assert (await resp.json())["error"]["code"] == "invalid_body"


async def test_bulk_of_many_linked_campaigns_calls_each_once(api, fake) -> None:
    campaigns = [await linked_campaign(api, fake, name=f"b{i}") for i in range(40)]
    resp = await api.post("/campaigns/status", json={
        "campaign_ids": [c["id"] for c, _ in campaigns], "status": "active"})
    body = await resp.json()
    assert body["succeeded"] == 40
    assert len(fake.state.calls_to(path_contains="/activate")) == 40
