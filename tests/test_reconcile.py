"""docs/behaviour.md §5: the reconcile pass, drift findings, resolution and the lock."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math

import pytest

from daemon.cli.drift import drift_command
from daemon.cli.reconcile import reconcile_command
from daemon.http.keys import SCHEDULER
from sql import Database
from tests.factories import create_campaign, linked_campaign, make_settings, wait_for


async def reconcile(api) -> dict:
    resp = await api.post("/reconcile?wait=true")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def drift(api, query: str = "") -> list[dict]:
    resp = await api.get(f"/drift{query}")
    assert resp.status == 200
    return (await resp.json())["items"]


async def set_local(db: Database, campaign_id: str, status: str) -> None:
    await db.pool.execute("UPDATE campaigns SET status = $2 WHERE id = $1", campaign_id, status)


async def fingerprint(db: Database) -> dict:
    return dict(await db.fetchrow("state_fingerprint"))


@pytest.fixture
async def world(api, fake, db):
    """One linked campaign per drift kind, plus one in step."""
    made = {}
    for key, local, remote in (
        ("in_step", "active", 1),
        ("mismatch", "active", 2),
        ("pause_only", "paused", 1),
        ("completed", "active", 3),
        ("unhealthy", "active", -2),
        ("subsequences", "active", 4),
    ):
        campaign, ext = await linked_campaign(api, fake, remote_status=remote, name=key)
        await set_local(db, campaign["id"], local)
        made[key] = (campaign, ext)
    missing, gone = await linked_campaign(api, fake, name="missing")
    fake.state.delete_campaign(gone)  # deleted remotely after it was linked
    await set_local(db, missing["id"], "active")
    made["missing"] = (missing, missing["external_id"])
    await create_campaign(api, name="unlinked")
    return made


async def test_each_drift_kind_is_found_with_its_expected_flag(api, fake, world) -> None:
    run = await reconcile(api)
    assert run["status"] == "succeeded"
    assert run["local_linked"] == 7
    assert run["remote_campaigns"] == 6
    assert run["api_calls"] == 2  # one page, and the empty one its cursor points to
    assert run["findings_opened"] == 5
    found = {f["campaign_name"]: (f["kind"], f["expected"], f["state"])
             for f in await drift(api)}
    assert found == {
        "mismatch": ("status_mismatch", False, "open"),
        "pause_only": ("local_pause_only", True, "open"),
        "completed": ("remote_completed", False, "open"),
        "unhealthy": ("remote_unhealthy", False, "open"),
        "missing": ("remote_missing", False, "open"),
    }
    finding = next(f for f in await drift(api) if f["campaign_name"] == "unhealthy")
    assert (finding["local_status"], finding["remote_status"]) == ("active", -2)
    assert set(finding) == {
        "id", "campaign_id", "campaign_name", "client_id", "workspace", "external_id", "kind",
        "local_status", "remote_status", "expected", "state", "first_seen_at", "last_seen_at",
        "resolved_at", "resolution", "note", "acknowledged_at", "acknowledged_by"}
    in_step = await (await api.get(f"/campaigns/{world['in_step'][0]['id']}")).json()
    assert in_step["remote_status"] == 1 and in_step["remote_checked_at"]


async def test_full_pause_sync_turns_local_pause_only_into_a_mismatch(make_api, fake, db) -> None:
    api = await make_api(FULL_PAUSE_SYNC="true")
    campaign, _ = await linked_campaign(api, fake, remote_status=1)
    await set_local(db, campaign["id"], "paused")
    await reconcile(api)
    assert [(f["kind"], f["expected"]) for f in await drift(api)] == [("status_mismatch", False)]


async def test_findings_are_upserted_then_cleared(api, fake, world) -> None:
    await reconcile(api)
    before = {f["id"]: f for f in await drift(api)}
    second = await reconcile(api)
    assert (second["findings_opened"], second["findings_resolved"]) == (0, 0)
    after = {f["id"]: f for f in await drift(api)}
    assert after.keys() == before.keys()
    for fid, f in after.items():
        assert f["first_seen_at"] == before[fid]["first_seen_at"]
        assert f["last_seen_at"] > before[fid]["last_seen_at"]
    fake.state.set_status(world["mismatch"][1], 1)  # fixed in the dashboard
    third = await reconcile(api)
    assert third["findings_resolved"] == 1
    resolved = await drift(api, "?state=resolved")
    assert [(f["campaign_name"], f["resolution"]) for f in resolved] == [("mismatch", "cleared")]


async def test_acknowledged_stays_acknowledged_while_drift_persists(api, world) -> None:
    await reconcile(api)
    finding = next(f for f in await drift(api) if f["kind"] == "remote_unhealthy")
    resp = await api.post(f"/drift/{finding['id']}/resolve",
                          json={"action": "acknowledge", "note": "bounce protect, known"})
    assert resp.status == 200
    assert (await resp.json())["state"] == "acknowledged"
    await reconcile(api)
    acked = await drift(api, "?state=acknowledged")
    assert [(f["id"], f["note"]) for f in acked] == [(finding["id"], "bounce protect, known")]
    assert finding["id"] not in {f["id"] for f in await drift(api)}


async def test_failed_page_two_changes_no_finding(make_api, fake, db) -> None:
    api = await make_api(INSTANTLY_MAX_RETRIES="1")
    fake.state.add_campaigns(250, status=1)
    campaign, gone = await linked_campaign(api, fake, name="linked-but-late")
    fake.state.delete_campaign(gone)  # gone remotely: remote_missing once listed whole
    await set_local(db, campaign["id"], "active")
    existing, ext = await linked_campaign(api, fake, remote_status=2)
    await set_local(db, existing["id"], "active")
    first = await reconcile(api)
    assert first["status"] == "succeeded"
    fake.state.set_status(ext, 1)  # would clear the mismatch if the pass completed
    before = await fingerprint(db)
    # Page 1 answers; every attempt at page 2 fails (more attempts than retries).
    fake.state.calls.clear()
    fake.state.add_fault(path="/api/v2/campaigns", method="GET", status=500, skip=1, count=5)
    run = await reconcile(api)
    assert [c["status"] for c in fake.state.calls] == [200, 500, 500]
    assert run["status"] == "failed"
    assert "listing failed" in run["error"]
    assert (run["findings_opened"], run["findings_resolved"]) == (0, 0)
    after = await fingerprint(db)
    assert after["drift_findings"] == before["drift_findings"]
    kinds = {f["kind"] for f in await drift(api, "?state=all")}
    assert kinds == {"remote_missing", "status_mismatch"}


@pytest.mark.slow
async def test_rate_limited_page_waits_and_succeeds(api, fake) -> None:
    fake.state.add_campaigns(150, status=1)
    fake.state.add_fault(path="/api/v2/campaigns", method="GET", status=429, retry_after=1)
    run = await reconcile(api)
    assert run["status"] == "succeeded"
    assert run["remote_campaigns"] == 150
    statuses = [c["status"] for c in fake.state.calls_to(path_contains="/api/v2/campaigns")]
    assert statuses[0] == 429 and statuses[1:] == [200, 200, 200]  # the last is empty


async def test_unknown_remote_status_is_kept_and_reported(api, fake, db) -> None:
    campaign, _ = await linked_campaign(api, fake, remote_status=42)
    run = await reconcile(api)
    assert run["status"] == "succeeded"
    [finding] = await drift(api)
    assert (finding["kind"], finding["remote_status"]) == ("status_mismatch", 42)
    local = await (await api.get(f"/campaigns/{campaign['id']}")).json()
    assert local["remote_status"] == 42


async def test_campaign_listed_twice_across_pages_counts_once(api, fake, db) -> None:
    remote = fake.state.add_campaigns(150, status=2)
    for c in remote[:3]:
        await create_campaign(api, name=c["name"], external_id=c["id"])
    fake.state.repeat_on_next_page = {sorted(fake.state.campaigns)[0]}
    run = await reconcile(api)
    assert run["status"] == "succeeded"
    assert run["remote_campaigns"] == 150
    assert run["api_calls"] == 3  # two pages, and the empty one the last cursor points to


async def test_list_calls_are_pages_not_campaigns(api, fake, db) -> None:
    remote = fake.state.add_campaigns(1234, status=1)
    await db.pool.executemany(
        "INSERT INTO campaigns (client_id, name, status, external_id)"
        " VALUES ('c', $1, 'active', $2)",
        [(c["name"], c["id"]) for c in remote],
    )
    run = await reconcile(api)
    assert run["status"] == "succeeded"
    # ceil(n/100) pages, and the empty one the last page's cursor points to (the
    # fake's default, as the service may do); never a call per campaign
    assert run["api_calls"] == math.ceil(1234 / 100) + 1
    assert run["findings_opened"] == 0
    assert len(fake.state.calls_to(path_contains="/activate")) == 0


async def test_without_api_key_a_pass_is_skipped(make_api, fake, db, world) -> None:
    api = await make_api(INSTANTLY_API_KEY="")
    fake.state.calls.clear()  # the world's links were each checked with one read
    before = await fingerprint(db)
    run = await reconcile(api)
    assert (run["status"], run["error"]) == ("skipped", "no API key configured")
    assert fake.state.calls == []
    after = await fingerprint(db)
    assert after["drift_findings"] == before["drift_findings"]
    assert after["campaigns"] == before["campaigns"]


async def test_two_passes_at_once_on_one_daemon(api, fake) -> None:
    fake.state.add_campaigns(50, status=1)
    fake.state.add_fault(path="/api/v2/campaigns", method="GET", delay_ms=500)
    first, second = await asyncio.gather(api.post("/reconcile?wait=true"),
                                         api.post("/reconcile?wait=true"))
    assert sorted([first.status, second.status]) == [200, 409]
    busy = first if first.status == 409 else second
    assert (await busy.json())["error"]["code"] == "reconcile_in_progress"


async def test_two_daemons_on_one_database_run_one_pass(make_api, fake) -> None:
    one, two = await make_api(), await make_api()
    fake.state.add_fault(path="/api/v2/campaigns", method="GET", delay_ms=500)
    started = await one.post("/reconcile")
    assert started.status == 202
    run_id = (await started.json())["run_id"]
    busy = await two.post("/reconcile?wait=true")
    assert busy.status == 409

    async def finished() -> bool:
        run = await (await two.get(f"/reconcile/runs/{run_id}")).json()
        return run["status"] != "running"

    await wait_for(finished)
    assert (await two.post("/reconcile?wait=true")).status == 200
    runs = (await (await one.get("/reconcile/runs")).json())["items"]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]


async def test_runs_endpoints(api) -> None:
    run = await reconcile(api)
    got = await (await api.get(f"/reconcile/runs/{run['id']}")).json()
    assert got == run
    assert (await api.get("/reconcile/runs/999999")).status == 404
    assert (await api.get("/reconcile/runs/abc")).status == 400
    assert set(run) == {"id", "status", "started_at", "finished_at", "remote_campaigns",
                        "local_linked", "api_calls", "findings_opened", "findings_resolved",
                        "error", "remote_unlinked", "webhook", "workspaces"}
    assert run["workspaces"] == [{"workspace": "default", "status": "succeeded",
                                  "remote_campaigns": run["remote_campaigns"],
                                  "api_calls": run["api_calls"], "error": None,
                                  "webhook": None}]


async def test_drift_filters_and_csv(api, world) -> None:
    await reconcile(api)
    assert [f["kind"] for f in await drift(api, "?expected=true")] == ["local_pause_only"]
    assert [f["campaign_name"] for f in await drift(api, "?kind=remote_missing")] == ["missing"]
    assert len(await drift(api, "?client_id=acme")) == 5
    assert await drift(api, "?client_id=other") == []
    assert (await api.get("/drift?kind=bogus")).status == 400
    assert (await api.get("/drift?state=closed")).status == 400
    resp = await api.get("/drift?format=csv")
    assert resp.headers["Content-Type"].startswith("text/csv")
    lines = (await resp.text()).strip().splitlines()
    assert lines[0].startswith("id,campaign_id,campaign_name")
    assert len(lines) == 6


async def test_adopt_remote_sets_local_status_and_audits(api, fake, db, world) -> None:
    await reconcile(api)
    finding = next(f for f in await drift(api) if f["kind"] == "status_mismatch")
    resp = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "adopt_remote"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["state"], body["resolution"]) == ("resolved", "adopt_remote")
    local = await (await api.get(f"/campaigns/{finding['campaign_id']}")).json()
    assert local["status"] == "paused"
    rows = await db.fetch("status_changes_for", finding["campaign_id"])
    assert (rows[-1]["source"], rows[-1]["to_status"]) == ("resolution", "paused")
    again = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "adopt_remote"})
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "finding_already_resolved"


async def test_push_local_may_pause_even_without_full_pause_sync(api, fake, world) -> None:
    await reconcile(api)
    finding = next(f for f in await drift(api) if f["kind"] == "local_pause_only")
    resp = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "push_local"})
    assert resp.status == 200, await resp.text()
    assert fake.state.campaigns[world["pause_only"][1]]["status"] == 2
    assert len(fake.state.calls_to(path_contains="/pause")) == 1


async def test_resolution_refuses_when_drift_changed(api, fake, world) -> None:
    await reconcile(api)
    finding = next(f for f in await drift(api) if f["kind"] == "status_mismatch")
    fake.state.set_status(world["mismatch"][1], 0)
    for action in ("adopt_remote", "push_local"):
        resp = await api.post(f"/drift/{finding['id']}/resolve", json={"action": action})
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "drift_changed"
    assert fake.state.calls_to(path_contains="/activate") == []


async def test_push_local_on_unhealthy_remote_is_not_fixable(api, fake, world) -> None:
    await reconcile(api)
    finding = next(f for f in await drift(api) if f["kind"] == "remote_unhealthy")
    resp = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "push_local"})
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "not_fixable_remotely"
    assert "instantly" not in error["message"].lower()
    assert fake.state.calls_to(path_contains="/activate") == []


async def test_resolve_bad_requests(api, world) -> None:
    await reconcile(api)
    finding = (await drift(api))[0]
    resp = await api.post("/drift/999999/resolve", json={"action": "acknowledge"})
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "finding_not_found"
    for body in ({"action": "delete"}, {}, {"action": "acknowledge", "note": 5}):
        resp = await api.post(f"/drift/{finding['id']}/resolve", json=body)
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_body"
    assert (await api.post("/drift/x/resolve", json={"action": "acknowledge"})).status == 400


async def test_expired_lease_whose_call_landed_is_committed(make_api, fake, db) -> None:
    api = await make_api(TOGGLE_LEASE_SECONDS="1")
    campaign, ext = await linked_campaign(api, fake, remote_status=2)
    # A toggle that crashed after the remote call: remote active, lease left behind.
    fake.state.set_status(ext, 1)
    await db.pool.execute(
        "UPDATE campaigns SET pending_status = 'active', pending_token = gen_random_uuid(),"
        " pending_since = now() - interval '5 seconds' WHERE id = $1", campaign["id"])
    run = await reconcile(api)
    assert run["status"] == "succeeded"
    local = await (await api.get(f"/campaigns/{campaign['id']}")).json()
    assert (local["status"], local["pending_status"]) == ("active", None)
    [finding] = await drift(api, "?state=resolved")
    assert finding["kind"] == "toggle_incomplete"
    assert finding["resolution"] == "settled"
    assert "local commit completed" in finding["note"]
    rows = await db.fetch("status_changes_for", campaign["id"])
    assert (rows[-1]["source"], rows[-1]["outcome"]) == ("reconciler", "settled_applied")
    assert await drift(api) == []


async def test_expired_lease_whose_call_did_not_land_is_cleared(make_api, fake, db) -> None:
    api = await make_api(TOGGLE_LEASE_SECONDS="1")
    campaign, _ = await linked_campaign(api, fake, remote_status=2)
    await db.pool.execute(
        "UPDATE campaigns SET pending_status = 'active', pending_token = gen_random_uuid(),"
        " pending_since = now() - interval '5 seconds' WHERE id = $1", campaign["id"])
    await reconcile(api)
    local = await (await api.get(f"/campaigns/{campaign['id']}")).json()
    assert (local["status"], local["pending_status"]) == ("draft", None)
    [finding] = await drift(api, "?state=resolved")
    assert "lease cleared" in finding["note"]
    # draft locally, paused remotely: that disagreement is itself drift
    assert [f["kind"] for f in await drift(api)] == ["status_mismatch"]


async def test_live_lease_is_not_judged(api, fake, db) -> None:
    campaign, _ = await linked_campaign(api, fake, remote_status=1)
    await db.pool.execute(
        "UPDATE campaigns SET pending_status = 'active', pending_token = gen_random_uuid(),"
        " pending_since = now() WHERE id = $1", campaign["id"])
    await reconcile(api)
    assert await drift(api, "?state=all") == []


async def test_cli_exit_codes_and_output(dsn, fake, api, world, capsys) -> None:
    settings = make_settings(fake.url, DATABASE_URL=dsn)
    assert await reconcile_command(argparse.Namespace(), settings) == 2
    out = capsys.readouterr().out
    assert "remote_unhealthy" in out and "succeeded" in out
    assert await drift_command(argparse.Namespace(state="open", format="csv"), settings) == 0
    assert capsys.readouterr().out.startswith("id,campaign_id")
    assert await drift_command(argparse.Namespace(state="all", format="json"), settings) == 0
    assert '"items"' in capsys.readouterr().out
    # Acknowledge the unexpected ones: only expected or acknowledged drift is left.
    for f in await drift(api):
        if not f["expected"]:
            await api.post(f"/drift/{f['id']}/resolve", json={"action": "acknowledge"})
    assert await reconcile_command(argparse.Namespace(), settings) == 0
    broken = make_settings("http://127.0.0.1:9", DATABASE_URL=dsn,
                           INSTANTLY_MAX_RETRIES="0", INSTANTLY_TIMEOUT_SECONDS="1")
    assert await reconcile_command(argparse.Namespace(), broken) == 1


async def test_metrics_and_readyz_show_the_reconciler(api, world) -> None:
    await reconcile(api)
    text = await (await api.get("/metrics")).text()
    assert ('instantly_sync_drift_findings{expected="false",kind="remote_missing",state="open",'
            'workspace="default"} 1.0') in text
    assert "instantly_sync_reconcile_last_success_timestamp_seconds" in text
    assert "instantly_sync_reconcile_pass_seconds_bucket" in text
    ready = await (await api.get("/readyz")).json()
    assert ready["checks"]["last_successful_reconcile"]


async def test_scheduled_pass_runs_after_start(make_api, fake) -> None:
    api = await make_api(RECONCILE_INTERVAL_SECONDS="3600")
    scheduler = api.server.app[SCHEDULER]
    job = scheduler.get_job("reconcile")
    assert (job.max_instances, job.coalesce) == (1, True)
    job.modify(next_run_time=dt.datetime.now(dt.UTC))  # do not wait for the first tick

    async def ran() -> bool:
        runs = (await (await api.get("/reconcile/runs")).json())["items"]
        return bool(runs) and runs[0]["status"] == "succeeded"

    await wait_for(ran)
