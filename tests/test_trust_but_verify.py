"""Believe only what the external service confirms (the fake set up to be unhelpful).

Answers are validated, success is confirmed by the status the service reports,
only transient failures are retried, listings end, and every replica shares
one rate budget. Webhook completions are in test_webhooks_apply.py.
"""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import pytest

from sql import Database
from tests.factories import FAKE_KEY, linked_campaign, new_uuid
from tests.processes import daemon_env, free_port, start_daemon, wait_ready


async def audit(db: Database, campaign_id: str) -> list[tuple]:
    rows = await db.fetch("status_changes_for", campaign_id)
    return [(r["outcome"], r["error_code"], r["external_action"]) for r in rows]


async def local(api, campaign: dict) -> tuple[str, str | None]:
    body = await (await api.get(f"/campaigns/{campaign['id']}")).json()
    return body["status"], body["pending_status"]


UNUSABLE = [
    pytest.param({"body": ""}, id="empty"),
    pytest.param({"body": "[]"}, id="list"),
    pytest.param({"body": "null"}, id="null"),
    pytest.param({"body": '"active"'}, id="string"),
    pytest.param({"body": '{"id": "x"}'}, id="no-status"),
    pytest.param({"body": '{"status": "1"}'}, id="string-status"),
    pytest.param({"body": '{"status": true}'}, id="boolean-status"),
    pytest.param({"body": "<html>maintenance</html>"}, id="html"),
    pytest.param({"body": '{"status": 1, "pad": "' + "x" * (3 * 1024 * 1024) + '"}'},
                 id="three-megabytes"),
    pytest.param({"location": "https://elsewhere.example/activate"}, id="redirect-302"),
    pytest.param({"location": "https://elsewhere.example/activate", "status": 307},
                 id="redirect-307"),
]


@pytest.mark.parametrize("fault", UNUSABLE)
async def test_an_unusable_answer_is_502_and_changes_nothing(api, fake, db, fault) -> None:
    campaign, _ext = await linked_campaign(api, fake, remote_status=2)
    fake.state.add_fault(path="/activate", **fault)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 502
    body = await resp.json()
    assert body["error"]["code"] == "external_error"
    assert "unusable answer" in body["error"]["message"]
    assert await local(api, campaign) == ("draft", None)
    assert await audit(db, campaign["id"]) == [("answer_unusable", "external_error", "activate")]
    assert len(fake.state.calls_to(path_contains="/activate")) == 1  # never retried
    assert not fake.state.calls_to(path_contains="elsewhere")


@pytest.mark.parametrize(("remote", "words"), [
    (-99, "blocked because the account is suspended"),
    (-1, "blocked because its sending accounts are unhealthy"),
    (-2, "held by bounce protection"),
    (3, "completed"),
])
async def test_an_activation_the_service_does_not_apply_is_refused(
        api, fake, db, remote, words) -> None:
    campaign, ext = await linked_campaign(api, fake, remote_status=remote)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 409
    body = await resp.json()
    assert body["error"] == {"code": "external_refused", "message":
                             f"Campaign was not activated: the external service reports it as"
                             f" {words}."}
    assert await local(api, campaign) == ("draft", None)
    assert await audit(db, campaign["id"]) == [("refused", "external_refused", "activate")]
    paths = [c["path"].removeprefix(f"/api/v2/campaigns/{ext}") for c in fake.state.calls]
    assert paths == ["/activate", ""]  # the answer, then one confirming read


async def test_an_activation_answered_with_a_paused_status_is_read_again(api, fake, db) -> None:
    campaign, _ext = await linked_campaign(api, fake, remote_status=2)
    fake.state.stale_answers = True  # the answer shows the campaign before the change
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 200
    assert (await resp.json())["external_sync"] == "activated"
    assert await local(api, campaign) == ("active", None)
    assert [c["method"] for c in fake.state.calls] == ["POST", "GET"]


async def test_already_active_answered_400_is_confirmed_by_a_read(api, fake, db) -> None:
    """What activating an active campaign answers is unpublished; the fake answers 400
    "Campaign is already active" (what integrations expect). Believe the campaign."""
    campaign, _ = await linked_campaign(api, fake, remote_status=1)  # local draft
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 200
    assert (await resp.json())["external_sync"] == "activated"
    assert await local(api, campaign) == ("active", None)
    assert await audit(db, campaign["id"]) == [("confirmed_by_read", None, "activate")]
    assert [(c["method"], c["status"]) for c in fake.state.calls] == [("POST", 400),
                                                                      ("GET", 200)]


async def test_already_paused_answered_422_is_confirmed_by_a_read(make_api, fake, db) -> None:
    api = await make_api(FULL_PAUSE_SYNC="true")
    campaign, _ext = await linked_campaign(api, fake, remote_status=1)
    assert (await api.put(f"/campaigns/{campaign['id']}/status",
                          json={"status": "active"})).status == 200
    fake.state.already_in_state_status = 422
    next(iter(fake.state.campaigns.values()))["status"] = 2  # paused in the dashboard
    resp = await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "paused"})
    assert (resp.status, (await resp.json())["external_sync"]) == (200, "paused")
    assert (await audit(db, campaign["id"]))[-1] == ("confirmed_by_read", None, "pause")


@pytest.mark.parametrize("status", [400, 409, 422])
async def test_a_refusal_the_read_does_not_confirm_is_the_original_error(
        api, fake, db, status) -> None:
    campaign, _ext = await linked_campaign(api, fake, remote_status=2)
    fake.state.add_fault(path="/activate", status=status)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 502
    assert f"({status})" in (await resp.json())["error"]["message"]
    assert await local(api, campaign) == ("draft", None)
    assert [c["method"] for c in fake.state.calls] == ["POST", "GET"]


@pytest.mark.parametrize("status", [401, 402, 403, 429])
async def test_refusals_about_key_plan_or_rate_are_not_read_again(api, fake, status) -> None:
    campaign, _ext = await linked_campaign(api, fake, remote_status=1)
    fake.state.add_fault(path="/activate", status=status, count=10)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status in (429, 502)
    assert await local(api, campaign) == ("draft", None)
    assert not fake.state.calls_to(method="GET")


async def test_a_stale_answer_not_confirmed_by_the_read_is_refused(api, fake, db) -> None:
    campaign, _ext = await linked_campaign(api, fake, remote_status=2)
    fake.state.activate_outcomes[2] = 2  # the service answers but leaves it paused
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 409
    assert (await resp.json())["error"]["message"].endswith("reports it as paused.")
    assert await local(api, campaign) == ("draft", None)


async def test_a_pause_is_confirmed_only_by_status_2(make_api, fake, db) -> None:
    api = await make_api(FULL_PAUSE_SYNC="true")
    campaign, _ext = await linked_campaign(api, fake, remote_status=2)
    assert (await api.post(f"/campaigns/{campaign['id']}/toggle")).status == 200
    fake.state.pause_outcomes[1] = -1  # accounts went unhealthy; pause leaves it so
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 409
    assert "was not paused" in (await resp.json())["error"]["message"]
    assert await local(api, campaign) == ("active", None)


@pytest.mark.parametrize("status", [400, 402, 403, 404, 409, 413, 422])
async def test_definitive_statuses_are_answered_after_one_call(make_api, fake, status) -> None:
    api = await make_api(INSTANTLY_MAX_RETRIES="5")
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", status=status, count=10)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert len(fake.state.calls_to(path_contains="/activate")) == 1
    body = await resp.json()
    if status in (400, 402, 409, 413, 422):
        assert resp.status == 502
        assert f"({status})" in body["error"]["message"]


async def test_a_429_without_retry_after_backs_off_by_itself(make_api, fake) -> None:
    api = await make_api(INSTANTLY_MAX_RETRIES="4")
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", status=429, count=2)  # no Retry-After header
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 200
    calls = fake.state.calls_to(path_contains="/activate")
    assert [c["status"] for c in calls] == [429, 429, 200]


async def test_a_429_that_persists_without_retry_after_is_429(make_api, fake) -> None:
    api = await make_api(INSTANTLY_MAX_RETRIES="2", INSTANTLY_TIMEOUT_SECONDS="3")
    campaign, _ = await linked_campaign(api, fake)
    fake.state.add_fault(path="/activate", status=429, count=10)
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "external_rate_limited"
    assert "Retry-After" in resp.headers


async def test_the_per_minute_budget_spaces_calls(make_api, fake) -> None:
    api = await make_api(INSTANTLY_MAX_RPS="1000", INSTANTLY_MAX_RPM="240")
    campaigns = [await linked_campaign(api, fake, name=f"c{i}") for i in range(4)]
    fake.state.calls.clear()
    for campaign, _ in campaigns:
        assert (await api.post(f"/campaigns/{campaign['id']}/toggle")).status == 200
    at = [c["at"] for c in fake.state.calls]
    # 240 a minute: slots at least 60/240 s apart, whatever the per-second budget.
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(at)), at


async def reconcile(api) -> dict:
    return await (await api.post("/reconcile?wait=true")).json()


async def test_a_repeated_cursor_fails_the_pass_and_changes_no_finding(api, fake, db) -> None:
    missing, _ = await linked_campaign(api, fake, name="will go missing")
    assert (await reconcile(api))["status"] == "succeeded"
    fake.state.delete_campaign(missing["external_id"])
    fake.state.calls.clear()
    before = await db.fetchrow("state_fingerprint")
    page = f'{{"items": [{{"id": "{new_uuid()}", "status": 1}}], "next_starting_after": "same"}}'
    fake.state.add_fault(path="/api/v2/campaigns", method="GET", body=page, count=10)
    run = await reconcile(api)
    assert run["status"] == "failed"
    assert "cursor repeated" in run["error"]
    assert (await db.fetchrow("state_fingerprint"))["drift_findings"] == \
        before["drift_findings"]
    assert len(fake.state.calls_to(path_contains="/api/v2/campaigns")) == 2


@pytest.mark.slow
async def test_an_endless_listing_ends_at_its_page_bound(api, fake, db) -> None:
    await linked_campaign(api, fake)
    fake.state.endless_listing = True  # every page full, every cursor new
    fake.state.rate_limit_retry_after = True  # 102 pages pass the fake's 100/s quickly
    run = await reconcile(api)
    assert run["status"] == "failed"
    assert "did not end within 102 pages" in run["error"]  # 2 x 1 expected + 100
    listed = fake.state.calls_to(path_contains="/api/v2/campaigns")
    assert len([c for c in listed if c["status"] == 200]) == 102
    assert (run["findings_opened"], run["findings_resolved"]) == (0, 0)
    # The lock is released: the next pass runs.
    fake.state.endless_listing = False
    assert (await reconcile(api))["status"] == "succeeded"


@pytest.mark.slow
async def test_a_listing_past_reconcile_max_seconds_fails(make_api, fake, db) -> None:
    api = await make_api(RECONCILE_MAX_SECONDS="1")
    await linked_campaign(api, fake)
    fake.state.add_fault(path="/api/v2/campaigns", method="GET", delay_ms=4000)
    run = await reconcile(api)
    assert run["status"] == "failed"
    assert "RECONCILE_MAX_SECONDS" in run["error"]
    assert await db.fetchval("findings_count") == 0


def windows_over(times: list[float], limit: int) -> list[list[float]]:
    """Every run of calls that falls inside one second and holds more than `limit` calls."""
    times = sorted(times)
    return [times[i:i + limit + 1] for i in range(len(times) - limit)
            if times[i + limit] - times[i] < 1.0]


@pytest.mark.process
async def test_replicas_share_one_budget(dsn, fake) -> None:
    """Three `serve` processes on one database never exceed the per-second budget."""
    ports = [free_port() for _ in range(3)]
    env = {"DATABASE_URL": dsn, "INSTANTLY_BASE_URL": fake.url, "INSTANTLY_API_KEY": FAKE_KEY,
           "INSTANTLY_MAX_RPS": "4", "INSTANTLY_MAX_RPM": "100000",
           "INSTANTLY_TIMEOUT_SECONDS": "20", "LOG_LEVEL": "warning"}
    procs = [await start_daemon(daemon_env(PORT=str(p), **env)) for p in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            await wait_ready(port, proc)
        async with aiohttp.ClientSession() as http:
            ids = []
            for i in range(18):
                remote = fake.state.add_campaign(name=f"r{i}", status=2)
                resp = await http.post(f"http://127.0.0.1:{ports[0]}/campaigns", json={
                    "client_id": "c", "name": f"r{i}", "external_id": remote["id"]})
                ids.append((await resp.json())["id"])
            fake.state.calls.clear()
            toggles = [http.post(f"http://127.0.0.1:{ports[i % 3]}/campaigns/{cid}/toggle")
                       for i, cid in enumerate(ids)]
            passes = [http.post(f"http://127.0.0.1:{p}/reconcile?wait=true") for p in ports]
            answers = await asyncio.gather(*toggles, *passes)
            assert [r.status for r in answers[:18]] == [200] * 18
        times = [c["at"] for c in fake.state.calls]
        assert len(times) >= 19  # every toggle's call and at least one listing
        assert windows_over(times, 4) == []
    finally:
        for proc in procs:
            proc.terminate()
        await asyncio.gather(*(proc.wait() for proc in procs))


async def test_an_unpaid_workspace_is_a_final_402(api, fake, db) -> None:
    campaign, _ = await linked_campaign(api, fake, remote_status=2)
    fake.state.unpaid = True  # every call of the workspace: 402
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    assert resp.status == 502
    assert "(402)" in (await resp.json())["error"]["message"]
    assert await local(api, campaign) == ("draft", None)
    assert [c["status"] for c in fake.state.calls] == [402]  # not retried, not read again


async def test_a_missing_scope_names_it_and_changes_nothing(api, fake, db) -> None:
    campaign, _ = await linked_campaign(api, fake, remote_status=2)
    fake.state.key_scopes = {"campaigns:read", "all:read"}
    resp = await api.post(f"/campaigns/{campaign['id']}/toggle")
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (502, "external_permission_missing")
    assert "campaigns:update" in body["error"]["message"]
    assert "Instantly" not in body["error"]["message"]
    assert await local(api, campaign) == ("draft", None)
    # The reconcile pass reads with campaigns:read, which the key has.
    run = await (await api.post("/reconcile?wait=true")).json()
    assert run["status"] == "succeeded"
