"""Several external workspaces from one deployment (docs/workspaces.md), over real HTTP
against a fake that serves two or more workspaces, each with its own key."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest
from cryptography.fernet import Fernet

from daemon.cli.check import check_command
from daemon.cli.exits import CommandRefused
from daemon.cli.webhooks import register_webhook
from instantly.fake import deliver
from instantly.workspaces import WorkspaceDisabled
from tests.factories import (
    FAKE_KEY,
    create_campaign,
    event,
    iso_at,
    linked_campaign,
    make_settings,
    new_uuid,
    services_of,
    wait_for,
)
from tests.processes import daemon_env, run_cli

ENCRYPTION_KEY = Fernet.generate_key().decode()
KEY_B = "key-of-workspace-beta"
KEY_C = "key-of-workspace-gamma"


async def _add(api, name: str, key: str, **extra) -> dict:
    answer = await api.post("/workspaces", json={"name": name, "api_key": key, **extra})
    assert answer.status == 201, await answer.text()
    return await answer.json()


async def _assign(api, name: str, client_id: str) -> dict:
    answer = await api.post(f"/workspaces/{name}/clients", json={"client_id": client_id})
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def _beta_activations(api) -> float:
    """instantly_sync_external_calls_total for workspace beta's successful activations."""
    text = await (await api.get("/metrics")).text()
    series = ('instantly_sync_external_calls_total{action="activate",outcome="ok",'
              'workspace="beta"} ')
    return next((float(line.split()[-1]) for line in text.splitlines()
                 if line.startswith(series)), 0.0)


def _calls_to(state, external_id: str) -> list[dict]:
    return [c for c in state.calls if external_id in c["path"]]


async def test_a_campaign_is_called_only_with_its_own_workspace_key(make_api, fake, db) -> None:
    beta = fake.add_workspace(KEY_B)
    api = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)
    added = await _add(api, "beta", KEY_B)
    assert (added["name"], added["has_key"], added["enabled"]) == ("beta", True, True)
    assert KEY_B not in str(added)
    # The key was checked with one listing call in beta, and is stored encrypted.
    assert [c["path"] for c in beta.calls] == ["/api/v2/campaigns"]
    stored = await db.fetchval("workspace_key_raw", "beta")
    assert stored and KEY_B.encode() not in stored
    assert Fernet(ENCRYPTION_KEY).decrypt(stored).decode() == KEY_B

    moved = await _assign(api, "beta", "bravo-corp")
    assert (moved["previous_workspace"], moved["moved"]) == ("default", True)
    theirs = beta.add_campaign(name="Bravo launch", status=2)
    local = await create_campaign(api, name="Bravo launch", client_id="bravo-corp",
                                  external_id=theirs["id"])
    mine, my_remote = await linked_campaign(api, fake, name="Alpha launch")

    before = await _beta_activations(api)
    for campaign in (local, mine):
        answer = await api.post(f"/campaigns/{campaign['id']}/toggle")
        assert answer.status == 200, await answer.text()
        assert (await answer.json())["external_sync"] == "activated"
    assert beta.campaigns[theirs["id"]]["status"] == 1
    assert fake.state.campaigns[my_remote]["status"] == 1
    # Each campaign was called in its own workspace, with that workspace's key, only.
    assert _calls_to(beta, theirs["id"]) and all(c["authorized"]
                                                 for c in _calls_to(beta, theirs["id"]))
    assert _calls_to(fake.state, theirs["id"]) == []
    assert _calls_to(beta, my_remote) == []
    # Metrics count each workspace's calls under its name (the registry is the test
    # process's: other tests' workspaces named beta count there too, so the step is read).
    assert await _beta_activations(api) == before + 1


async def test_keys_never_leave_and_a_rotated_key_is_used_by_every_replica(
        make_api, fake, capsys) -> None:
    beta = fake.add_workspace(KEY_B)
    one = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)
    other = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)
    await _add(one, "beta", KEY_B, webhook_secret="beta-hook-secret-1",
               webhook_public_url="https://sync.example/webhooks/instantly/beta")
    await _assign(one, "beta", "bravo-corp")
    theirs = beta.add_campaign(name="Bravo", status=2)
    local = await create_campaign(one, name="Bravo", client_id="bravo-corp",
                                  external_id=theirs["id"])
    assert (await other.put(f"/campaigns/{local['id']}/status",
                            json={"status": "active"})).status == 200

    # The key changes at the external service: the old one is refused from now on.
    new_key = "key-of-workspace-beta-rotated"
    fake.workspaces[new_key] = fake.workspaces.pop(KEY_B)
    assert (await other.put(f"/campaigns/{local['id']}/status",
                            json={"status": "paused"})).status == 200  # local-only pause
    refused = await other.put(f"/campaigns/{local['id']}/status", json={"status": "active"})
    assert refused.status == 502
    assert (await refused.json())["error"]["code"] == "external_auth_failed"
    rotated = await one.post("/workspaces/beta/key", json={"api_key": new_key})
    assert rotated.status == 200 and (await rotated.json())["key_rotated_at"]
    # The other replica uses the new key at its next call, with no restart.
    answer = await other.put(f"/campaigns/{local['id']}/status", json={"status": "active"})
    assert answer.status == 200, await answer.text()

    listing = await (await one.get("/workspaces")).text()
    for secret in (KEY_B, new_key, "beta-hook-secret-1", ENCRYPTION_KEY):
        assert secret not in listing
        assert secret not in capsys.readouterr().err
    assert '"has_webhook_secret":true' in listing


async def test_workspace_admin_rules(make_api, fake) -> None:
    fake.add_workspace(KEY_B)
    env = {"WORKSPACE_KEYS": ENCRYPTION_KEY, "API_TOKENS": "ops:ops-token,viewer:view-token",
           "ADMIN_TOKENS": "ops"}
    api = await make_api(**env)
    viewer = {"Authorization": "Bearer view-token"}
    ops = {"Authorization": "Bearer ops-token"}
    # Only admin tokens see or change workspaces.
    assert (await api.get("/workspaces", headers=viewer)).status == 403
    assert (await api.post("/workspaces", headers=viewer,
                           json={"name": "beta", "api_key": KEY_B})).status == 403
    # A key the external service refuses is not stored.
    bad = await api.post("/workspaces", headers=ops,
                         json={"name": "beta", "api_key": "not-a-known-key"})
    assert bad.status == 502 and "not-a-known-key" not in await bad.text()
    for body, field in (({"name": "Beta!", "api_key": KEY_B}, "name"),
                        ({"name": "beta", "api_key": "short"}, "api_key"),
                        ({"name": "beta", "api_key": KEY_B, "max_rps": 0}, "max_rps")):
        answer = await api.post("/workspaces", headers=ops, json=body)
        assert answer.status == 400, body
        assert field in (await answer.json())["error"]["message"]
    assert (await api.post("/workspaces", headers=ops,
                           json={"name": "beta", "api_key": KEY_B})).status == 201
    again = await api.post("/workspaces", headers=ops, json={"name": "beta", "api_key": KEY_B})
    assert (again.status, (await again.json())["error"]["code"]) == (409, "workspace_exists")
    # Its own budget, and back to the defaults; the default workspace's is the environment's.
    answer = await api.post("/workspaces/beta/limits", headers=ops, json={"max_rps": 3})
    assert (answer.status, (await answer.json())["max_rps"]) == (200, 3.0)
    answer = await api.post("/workspaces/beta/limits", headers=ops)
    assert (await answer.json())["max_rps"] == 1000.0  # INSTANTLY_MAX_RPS of the tests
    for name, status, code in (("default", 409, "default_workspace_env"),
                               ("nope", 404, "workspace_not_found")):
        answer = await api.post(f"/workspaces/{name}/limits", headers=ops, json={"max_rpm": 60})
        assert (answer.status, (await answer.json())["error"]["code"]) == (status, code)
    assert (await api.post("/workspaces/beta/limits", headers=ops,
                           json={"max_rps": -1})).status == 400

    # Removing is refused while a campaign is linked in it, and always for the default.
    answer = await api.post("/workspaces/beta/clients", headers=ops,
                            json={"client_id": "bravo-corp"})
    assert answer.status == 200
    remote = fake.workspaces[KEY_B].state.add_campaign(name="Bravo", status=2)
    created = await api.post("/campaigns", headers=ops, json={
        "client_id": "bravo-corp", "name": "Bravo", "external_id": remote["id"]})
    assert created.status == 201
    for name in ("beta", "default"):
        answer = await api.delete(f"/workspaces/{name}", headers=ops)
        assert (answer.status, (await answer.json())["error"]["code"]) == (
            409, "workspace_in_use"), name
    # A client with a linked campaign cannot move to another workspace.
    moved = await api.post("/workspaces/default/clients", headers=ops,
                           json={"client_id": "bravo-corp"})
    assert (moved.status, (await moved.json())["error"]["code"]) == (
        409, "client_linked_elsewhere")
    # Disabled: a linked campaign's change is refused before anything is written.
    assert (await api.post("/workspaces/beta/disable", headers=ops)).status == 200
    cid = (await created.json())["id"]
    refused = await api.post(f"/campaigns/{cid}/toggle", headers=ops)
    body = await refused.json()
    assert (refused.status, body["error"]["code"]) == (409, "workspace_disabled")
    assert "beta" in body["error"]["message"]
    assert (await (await api.get(f"/campaigns/{cid}", headers=ops)).json())["status"] == "draft"
    assert (await api.post("/workspaces/beta/enable", headers=ops)).status == 200
    assert (await api.post(f"/campaigns/{cid}/toggle", headers=ops)).status == 200
    # Unlinked, the client's workspace can go.
    assert (await api.patch(f"/campaigns/{cid}", headers=ops,
                            json={"external_id": None})).status == 200
    assert (await api.delete("/workspaces/beta", headers=ops)).status == 204
    assert (await api.delete("/workspaces/nope", headers=ops)).status == 404


async def test_without_workspace_keys_only_the_default_workspace_exists(make_api, fake) -> None:
    fake.add_workspace(KEY_B)
    api = await make_api()  # an install as it was: INSTANTLY_API_KEY alone
    listing = await (await api.get("/workspaces")).json()
    assert [(w["name"], w["has_key"]) for w in listing["workspaces"]] == [("default", True)]
    refused = await api.post("/workspaces", json={"name": "beta", "api_key": KEY_B})
    assert (refused.status, (await refused.json())["error"]["code"]) == (
        503, "workspace_keys_missing")
    campaign, remote = await linked_campaign(api, fake)
    assert (await api.post(f"/campaigns/{campaign['id']}/toggle")).status == 200
    assert all(c["authorized"] for c in _calls_to(fake.state, remote))


async def test_cli_adds_lists_and_reencrypts_with_a_new_encryption_key(dsn, fake) -> None:
    fake.add_workspace(KEY_B)
    fake.add_workspace(KEY_C)
    env = daemon_env(DATABASE_URL=dsn, INSTANTLY_BASE_URL=fake.url, INSTANTLY_API_KEY=FAKE_KEY,
                     WORKSPACE_KEYS=ENCRYPTION_KEY)
    code, out, err = await run_cli("workspaces", "add", "beta", "--max-rpm", "600", env=env,
                                   stdin=f"{KEY_B}\n")
    assert code == 0, err
    assert "beta" in out and "600/min" in out and KEY_B not in out + err
    code, out, err = await run_cli("workspaces", "add", "gamma", "--webhook-secret", env=env,
                                   stdin=f"{KEY_C}\ngamma-hook-secret\n")
    assert code == 0, err
    code, out, err = await run_cli("workspaces", "limits", "gamma", "--max-rps", "2.5",
                                   env=env)
    assert code == 0 and "2.5/s" in out, err
    code, _, err = await run_cli("workspaces", "limits", "gamma", "--max-rps", "0", env=env)
    assert code == 64 and "must be above 0" in err
    code, out, err = await run_cli("workspaces", "assign", "gamma", "--client", "golf",
                                   env=env)
    assert (code, out.strip()) == (0, "client golf is in workspace gamma (was default)"), err
    code, out, _ = await run_cli("workspaces", "list", env=env)
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["default", "beta", "gamma"]
    assert "clients 1" in lines[2]

    # The encryption key is rotated: a new one in front, reencrypt, the old one dropped.
    code, newer, _ = await run_cli("workspaces", "new-key", env=env)
    newer = newer.strip()
    both = {**env, "WORKSPACE_KEYS": f"{newer},{ENCRYPTION_KEY}"}
    code, out, err = await run_cli("workspaces", "reencrypt", env=both)
    assert (code, out.split()[0]) == (0, "2"), err
    only_new = {**env, "WORKSPACE_KEYS": newer}
    code, out, err = await run_cli("workspaces", "rotate-key", "gamma", env=only_new,
                                   stdin=f"{KEY_C}\n")
    assert code == 0, err
    # Without the key they were encrypted with, stored keys cannot be read: said, not shown.
    stranger = {**env, "WORKSPACE_KEYS": Fernet.generate_key().decode()}
    code, out, err = await run_cli("workspaces", "reencrypt", env=stranger)
    assert code == 1 and "cannot be decrypted with WORKSPACE_KEYS" in err, err
    assert KEY_B not in out + err and KEY_C not in out + err
    code, out, err = await run_cli("workspaces", "rotate-key", "beta", env=only_new,
                                   stdin="x\n")
    assert code == 1 and "8 to 500 printable characters" in err
    code, _, err = await run_cli("workspaces", "add", "delta", env={
        **env, "WORKSPACE_KEYS": ""}, stdin=f"{KEY_B}\n")
    assert code == 1 and "WORKSPACE_KEYS is not set" in err, err


async def test_the_services_find_a_workspace_client_by_version(make_api, fake) -> None:
    """The toggle path reuses a workspace's client while its row's version is unchanged."""
    fake.add_workspace(KEY_B)
    api = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)
    await _add(api, "beta", KEY_B)
    workspaces = services_of(api).workspaces
    first = await workspaces.by_name("beta")
    again = await workspaces.get(first.id, version=2 - 1)
    assert again is first
    await api.post("/workspaces/beta/disable")
    with pytest.raises(WorkspaceDisabled):
        await workspaces.get(first.id, version=2)
    assert (await workspaces.by_name("beta")) is not first


async def _two_workspaces(make_api, fake, **env):
    """The default workspace and beta, each with one campaign in step and one drifted."""
    beta = fake.add_workspace(KEY_B)
    api = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY, INSTANTLY_MAX_RETRIES="0", **env)
    await _add(api, "beta", KEY_B)
    await _assign(api, "beta", "bravo-corp")
    made = {}
    for name, state, client in (("alpha", fake.state, "acme"), ("bravo", beta, "bravo-corp")):
        for suffix, remote_status in (("in step", 2), ("drifted", 1)):
            remote = state.add_campaign(name=f"{name} {suffix}", status=remote_status)
            made[f"{name} {suffix}"] = (await create_campaign(
                api, name=f"{name} {suffix}", client_id=client, external_id=remote["id"]),
                remote["id"])
    for campaign, _ in made.values():  # local paused everywhere: "drifted" is active remotely
        await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "paused"})
    return api, beta, made


async def _reconcile(api) -> dict:
    answer = await api.post("/reconcile?wait=true")
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def _open(api, workspace: str) -> list[str]:
    found = await (await api.get(f"/drift?workspace={workspace}")).json()
    return sorted(f["campaign_name"] for f in found["items"])


async def test_a_pass_lists_each_workspace_with_its_own_key(make_api, fake) -> None:
    api, beta, _ = await _two_workspaces(make_api, fake)
    fake.state.calls.clear()
    beta.calls.clear()
    run = await _reconcile(api)
    assert run["status"] == "succeeded", run
    assert [(w["workspace"], w["status"], w["remote_campaigns"]) for w in run["workspaces"]] == [
        ("default", "succeeded", 2), ("beta", "succeeded", 2)]
    # Each workspace was listed with its own key, its calls counted as its own.
    for state, part in ((fake.state, run["workspaces"][0]), (beta, run["workspaces"][1])):
        assert {(c["path"], c["authorized"]) for c in state.calls} == {
            ("/api/v2/campaigns", True)}
        assert part["api_calls"] == len(state.calls)
    assert run["api_calls"] == len(fake.state.calls) + len(beta.calls)
    # local_pause_only in each workspace, each finding naming its workspace; a campaign
    # is never judged against another workspace's listing.
    assert await _open(api, "default") == ["alpha drifted"]
    assert await _open(api, "beta") == ["bravo drifted"]
    csv = await (await api.get("/drift?format=csv")).text()
    assert csv.splitlines()[0].split(",")[4] == "workspace"
    assert sum(",beta," in line for line in csv.splitlines()) == 1


async def test_one_workspace_failing_never_stops_the_others(make_api, fake) -> None:
    api, beta, made = await _two_workspaces(make_api, fake)
    assert (await _reconcile(api))["status"] == "succeeded"
    # Both drifted campaigns come back in step remotely: a complete pass would clear both.
    for name, state in (("alpha drifted", fake.state), ("bravo drifted", beta)):
        state.set_status(made[name][1], 2)

    def revoke():
        fake.workspaces.pop(KEY_B)  # the key is revoked: 401

    def restore():
        fake.workspaces[KEY_B] = workspace

    workspace = fake.workspaces[KEY_B]
    failures = (
        ("revoked key", revoke, restore, "ExternalAuthFailed"),
        ("unpaid", lambda: setattr(beta, "unpaid", True),
         lambda: setattr(beta, "unpaid", False), "402"),
        ("missing scope", lambda: setattr(beta, "key_scopes", {"webhooks:all"}),
         lambda: setattr(beta, "key_scopes", None), "ExternalPermissionMissing"),
        ("outage", lambda: beta.add_fault(path="/api/v2/campaigns", status=503, count=50),
         lambda: beta.faults.clear(), "503"),
    )
    for what, fail, recover, named in failures:
        fail()
        run = await _reconcile(api)
        assert run["status"] == "failed", what
        assert run["error"].startswith("workspace beta: listing failed"), what
        assert named in run["error"], (what, run["error"])
        parts = {w["workspace"]: w["status"] for w in run["workspaces"]}
        assert parts == {"default": "succeeded", "beta": "failed"}, what
        # The default workspace was judged (its finding cleared on the first round);
        # beta's finding is exactly as it was.
        assert await _open(api, "default") == [], what
        assert await _open(api, "beta") == ["bravo drifted"], what
        text = await (await api.get("/metrics")).text()
        assert 'instantly_sync_reconcile_workspace_listed{workspace="beta"} 0.0' in text
        assert 'instantly_sync_reconcile_workspace_listed{workspace="default"} 1.0' in text
        recover()
    run = await _reconcile(api)
    assert run["status"] == "succeeded" and run["error"] is None
    assert await _open(api, "beta") == []


async def test_a_disabled_workspace_is_skipped_by_passes_and_linking(make_api, fake) -> None:
    api, beta, _ = await _two_workspaces(make_api, fake)
    assert (await api.post("/workspaces/beta/disable")).status == 200
    beta.calls.clear()
    run = await _reconcile(api)
    assert run["status"] == "succeeded"
    assert [w["workspace"] for w in run["workspaces"]] == ["default"]
    assert beta.calls == []
    # A resolution of a disabled workspace's finding is refused, nothing called.
    await api.post("/workspaces/beta/enable")
    await _reconcile(api)
    [finding] = (await (await api.get("/drift?workspace=beta")).json())["items"]
    await api.post("/workspaces/beta/disable")
    answer = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "push_local"})
    assert (answer.status, (await answer.json())["error"]["code"]) == (
        409, "workspace_disabled")


async def test_link_by_name_matches_within_each_workspace(make_api, fake) -> None:
    beta = fake.add_workspace(KEY_B)
    api = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)
    await _add(api, "beta", KEY_B)
    await _assign(api, "beta", "bravo-corp")
    # The same name in both workspaces: each local campaign gets its own workspace's.
    ours = fake.state.add_campaign(name="Winter sale", status=0)
    theirs = beta.add_campaign(name="Winter sale", status=0)
    only_beta = beta.add_campaign(name="Only in beta", status=0)
    a = await create_campaign(api, name="Winter sale", client_id="acme")
    b = await create_campaign(api, name="Winter sale", client_id="bravo-corp")
    c = await create_campaign(api, name="Only in beta", client_id="acme")  # default's client
    plan = await (await api.post("/campaigns/link", json={"apply": True})).json()
    matched = {(m["campaign_id"], m["external_id"], m["workspace"]) for m in plan["matched"]}
    assert matched == {(a["id"], ours["id"], "default"), (b["id"], theirs["id"], "beta")}
    assert [u["campaign_id"] for u in plan["unmatched"]] == [c["id"]]
    assert only_beta["id"] not in str(plan["matched"])
    # One by one too: a link to a campaign of another workspace is refused, checked with
    # the campaign's own workspace's key (a default client, a beta campaign).
    beta.calls.clear()
    answer = await api.patch(f"/campaigns/{c['id']}", json={"external_id": only_beta["id"]})
    assert (answer.status, (await answer.json())["error"]["code"]) == (
        422, "external_not_found")
    assert [call["path"] for call in fake.state.calls][-1] == (
        f"/api/v2/campaigns/{only_beta['id']}")
    assert beta.calls == []
    d = await create_campaign(api, name="Only in beta", client_id="bravo-corp")
    answer = await api.patch(f"/campaigns/{d['id']}", json={"external_id": only_beta["id"]})
    assert answer.status == 200 and (await answer.json())["workspace"] == "beta"


async def test_an_install_with_one_key_upgrades_with_no_action(server_dsn, make_api, fake,
                                                               tmp_path) -> None:
    """A database of the version before workspaces, with a linked campaign, an open
    finding, a used budget and recorded calls: after the upgrade INSTANTLY_API_KEY alone
    is the default workspace and everything goes on."""
    from sql import connect
    from sql.migrate import MIGRATIONS_DIR, migrate
    from sql.scratch import create_database, drop_database

    older = tmp_path / "migrations"
    older.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0014":
            (older / path.name).write_text(path.read_text())
    name = f"isync_upgrade_{id(tmp_path) % 100_000}"
    dsn = await create_database(server_dsn, name)
    db = await connect(dsn, min_size=1, max_size=2)
    try:
        await migrate(db, directory=older)
        remote = fake.state.add_campaign(name="Before the upgrade", status=1)
        campaign_id = await db.pool.fetchval(
            "INSERT INTO campaigns (client_id, name, status, external_id)"
            " VALUES ('acme', 'Before the upgrade', 'active', $1) RETURNING id", remote["id"])
        await db.pool.execute("SELECT budget_take(10, 600, 0.25, 1)")
        await db.pool.execute(
            "INSERT INTO external_calls (at, action, outcome, duration_ms, waited_ms)"
            " VALUES (now(), 'list', 'ok', 5, 0)")
        await db.pool.execute(
            "INSERT INTO drift_findings (campaign_id, external_id, kind, local_status,"
            " remote_status) VALUES ($1, $2, 'status_mismatch', 'active', 2)",  # seen then
            campaign_id, remote["id"])
        api = await make_api(dsn_override=dsn)  # no WORKSPACE_KEYS, as before
        listing = await (await api.get("/workspaces")).json()
        assert [(w["name"], w["has_key"], w["clients"]) for w in listing["workspaces"]] == [
            ("default", True, 0)]
        [finding] = (await (await api.get("/drift")).json())["items"]
        assert finding["workspace"] == "default"
        run = await _reconcile(api)
        assert run["status"] == "succeeded", run
        assert run["workspaces"][0]["workspace"] == "default"
        assert (await (await api.get("/drift")).json())["items"] == []  # cleared: in step
        answer = await api.put(f"/campaigns/{campaign_id}/status", json={"status": "paused"})
        assert answer.status == 200  # local-only pause: no call
        answer = await api.put(f"/campaigns/{campaign_id}/status", json={"status": "active"})
        assert (answer.status, (await answer.json())["external_sync"]) == (200, "activated")
        await services_of(api).calls.flush()
        assert await db.pool.fetchval(
            "SELECT count(*) FROM external_calls WHERE workspace_id = 1") >= 3
        assert await db.pool.fetchval("SELECT count(*) FROM external_call_pace") == 1
        await api.close()
    finally:
        await db.close()
        await drop_database(server_dsn, name)


HOOK_SECRET_B = "beta-hook-secret-1"


async def _beta_with_webhook(make_api, fake, port=None, **env):
    beta = fake.add_workspace(KEY_B)
    api = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY, WEBHOOK_SECRET="default-hook-secret",
                         **({"port": port} if port else {}), **env)
    url = str(api.make_url("/webhooks/instantly/beta"))
    await _add(api, "beta", KEY_B, webhook_secret=HOOK_SECRET_B, webhook_public_url=url)
    await _assign(api, "beta", "bravo-corp")
    return api, beta, url


async def _post_event(api, path: str, body: dict, secret: str):
    return await api.post(path, data=json.dumps(body).encode(),
                          headers={"X-Webhook-Secret": secret})


async def test_each_workspace_has_its_own_webhook_endpoint_and_secret(make_api, fake, db
                                                                      ) -> None:
    api, beta, _ = await _beta_with_webhook(make_api, fake)
    theirs = beta.add_campaign(name="Bravo", status=1)
    bravo = await create_campaign(api, name="Bravo", client_id="bravo-corp",
                                  external_id=theirs["id"])
    mine, my_remote = await linked_campaign(api, fake, name="Alpha", remote_status=1)
    # Beta's endpoint takes beta's secret only; the default endpoint the default's only.
    wrong = await _post_event(api, "/webhooks/instantly/beta", event("email_sent", theirs["id"]),
                              "default-hook-secret")
    assert wrong.status == 401
    wrong = await _post_event(api, "/webhooks/instantly", event("email_sent", theirs["id"]),
                              HOOK_SECRET_B)
    assert wrong.status == 401
    assert (await _post_event(api, "/webhooks/instantly/nobody", event(), HOOK_SECRET_B)
            ).status == 404
    assert (await _post_event(api, "/webhooks/instantly/beta",
                              event("email_sent", theirs["id"]), HOOK_SECRET_B)).status == 200
    # A campaign of another workspace is not applied from beta's endpoint.
    assert (await _post_event(api, "/webhooks/instantly/beta",
                              event("email_sent", my_remote), HOOK_SECRET_B)).status == 200
    # A completion is confirmed by reading the campaign in its own workspace.
    beta.set_status(theirs["id"], 3)
    beta.calls.clear()
    assert (await _post_event(api, "/webhooks/instantly/beta",
                              event("campaign_completed", theirs["id"]), HOOK_SECRET_B)
            ).status == 200

    async def completed() -> bool:
        got = await (await api.get(f"/campaigns/{bravo['id']}")).json()
        return got["status"] == "completed"

    await wait_for(completed)
    assert [c["path"] for c in beta.calls] == [f"/api/v2/campaigns/{theirs['id']}"]
    assert _calls_to(fake.state, theirs["id"]) == []
    stored = [(r["workspace_id"], r["event_type"], r["outcome"], str(r["campaign_id"]))
              for r in await db.fetch("webhook_events_all")]
    beta_id = (await (await api.get("/workspaces")).json())["workspaces"][1]["id"]
    assert stored == [(beta_id, "email_sent", "stored", bravo["id"]),
                      (beta_id, "email_sent", "unknown_campaign", "None"),
                      (beta_id, "campaign_completed", "applied", bravo["id"])]
    assert mine["status"] == "draft"


async def test_a_workspace_webhook_is_watched_resumed_and_backfilled_on_its_own(
        make_api, fake, db) -> None:
    api, beta, url = await _beta_with_webhook(make_api, fake, WEBHOOK_AUTO_RESUME="true")
    theirs = beta.add_campaign(name="Bravo", status=1)
    await create_campaign(api, name="Bravo", client_id="bravo-corp", external_id=theirs["id"])
    # Beta's subscription at the service carries a stale secret: deliveries are refused
    # until the service disables it.
    hook = {"id": new_uuid(), "organization": "beta-org", "campaign": None, "name": "ours",
            "target_hook_url": url, "event_type": "all_events",
            "custom_interest_value": None, "headers": {"X-Webhook-Secret": "stale-secret"},
            "timestamp_created": iso_at(), "status": 1, "timestamp_error": None}
    beta.webhooks[hook["id"]] = hook
    for i in range(3):
        await deliver(beta, event("email_opened", theirs["id"], lead_email=f"b{i}@x.com"))
    assert hook["status"] == -1
    hook["headers"] = {"X-Webhook-Secret": HOOK_SECRET_B}  # put right at the service
    sub = await (await api.get("/webhooks/subscription?workspace=beta")).json()
    assert sub["state"] == "disabled"
    assert (await (await api.get("/webhooks/subscription")).json())["state"] == "unconfigured"

    run = await _reconcile(api)
    part = next(w for w in run["workspaces"] if w["workspace"] == "beta")
    assert part["webhook"]["resumed"] is True
    assert part["webhook"]["subscription"]["state"] == "active"
    assert part["webhook"]["backfill"]["stored"] == 3
    assert hook["status"] == 1
    assert run["webhook"] is None  # the default workspace has no webhook URL here
    stored = await db.fetch("webhook_events_all")
    assert sorted(r["payload"]["lead_email"] for r in stored) == ["b0@x.com", "b1@x.com",
                                                                   "b2@x.com"]
    assert {r["workspace_id"] for r in stored} == {2}
    text = await (await api.get("/metrics")).text()
    assert 'instantly_sync_webhook_subscription_up{workspace="beta"} 1.0' in text
    # Its own high-water mark: a backfill of beta reads from where beta's ended.
    again = await api.post("/webhooks/backfill", json={"workspace": "beta"})
    assert (await again.json())["stored"] == 0
    assert (await api.post("/webhooks/backfill", json={})).status == 409  # default: no URL


async def test_one_workspace_at_its_limit_never_slows_another(make_api, fake) -> None:
    """Budgets are per workspace: beta at 2 calls a second queues its own calls only."""
    beta = fake.add_workspace(KEY_B)
    one = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)
    other = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)  # a second replica, same budgets
    await _add(one, "beta", KEY_B, max_rps=2, max_rpm=120, check=False)
    await _assign(one, "beta", "bravo-corp")
    slow = []
    for i in range(5):
        remote = beta.add_campaign(name=f"Bravo {i}", status=2)
        slow.append(await create_campaign(one, name=f"Bravo {i}", client_id="bravo-corp",
                                          external_id=remote["id"]))
    fast = [(await linked_campaign(one, fake, name=f"Alpha {i}"))[0] for i in range(10)]
    queued = [asyncio.create_task((one if i % 2 else other).post(
        f"/campaigns/{c['id']}/toggle")) for i, c in enumerate(slow)]
    # Every default-workspace toggle completes while beta's are still waiting for budget.
    for i, campaign in enumerate(fast):
        answer = await (other if i % 2 else one).post(f"/campaigns/{campaign['id']}/toggle")
        assert answer.status == 200
    assert not all(task.done() for task in queued)
    answers = await asyncio.gather(*queued)
    assert [a.status for a in answers] == [200] * 5
    # Beta's calls, as the fake saw them, never exceeded 2 in any second.
    times = sorted(c["at"] for c in beta.calls)
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[2:], strict=False))
    text = await (await one.get("/metrics")).text()
    assert 'instantly_sync_budget_limit{window="second",workspace="beta"} 2.0' in text
    assert 'instantly_sync_budget_limit{window="minute",workspace="default"} 1e+06' in text


async def test_register_a_workspace_webhook_with_its_own_key_and_secret(make_api, fake, dsn,
                                                                       capsys) -> None:
    api, beta, url = await _beta_with_webhook(make_api, fake)
    settings = make_settings(fake.url, DATABASE_URL=dsn, WORKSPACE_KEYS=ENCRYPTION_KEY)
    args = argparse.Namespace(url=url, event_type="all_events", campaign=None,
                              workspace="beta")
    assert await register_webhook(args, settings) == 0, capsys.readouterr().err
    [hook] = beta.webhooks.values()
    assert (hook["target_hook_url"], hook["headers"]) == (
        url, {"X-Webhook-Secret": HOOK_SECRET_B})
    assert fake.state.webhooks == {}  # nothing registered with the default key
    assert all(c["authorized"] for c in beta.calls)
    sub = await (await api.get("/webhooks/subscription?workspace=beta")).json()
    assert sub["state"] == "active"
    args.workspace = "nobody"
    with pytest.raises(CommandRefused, match="no workspace is named 'nobody'"):
        await register_webhook(args, settings)


async def test_a_workspace_without_a_key_is_skipped_not_failed(make_api, fake) -> None:
    """No INSTANTLY_API_KEY (the default workspace has no key) but beta has one: beta is
    listed and judged, the default's part of the run says why it was not."""
    beta = fake.add_workspace(KEY_B)
    api = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY, INSTANTLY_API_KEY="")
    await _add(api, "beta", KEY_B)
    await _assign(api, "beta", "bravo-corp")
    remote = beta.add_campaign(name="Bravo", status=1)
    await create_campaign(api, name="Bravo", client_id="bravo-corp", external_id=remote["id"])
    run = await _reconcile(api)
    assert run["status"] == "succeeded", run
    assert [(w["workspace"], w["status"], w["error"]) for w in run["workspaces"]] == [
        ("default", "skipped", "no API key configured"), ("beta", "succeeded", None)]
    assert await _open(api, "beta") == ["Bravo"]  # local draft, remote active


async def test_check_probes_every_workspace_with_its_own_key(make_api, fake, dsn, capsys
                                                             ) -> None:
    beta = fake.add_workspace(KEY_B)
    fake.add_workspace(KEY_C)
    api = await make_api(WORKSPACE_KEYS=ENCRYPTION_KEY)
    await _add(api, "beta", KEY_B)
    await _add(api, "gamma", KEY_C)
    settings = make_settings(fake.url, DATABASE_URL=dsn, WORKSPACE_KEYS=ENCRYPTION_KEY)
    capsys.readouterr()
    assert await check_command(argparse.Namespace(), settings) == 0
    out = capsys.readouterr().out
    assert "[  OK] workspace beta" in out and "[  OK] workspace gamma" in out
    beta.key_scopes = {"webhooks:read"}  # no campaigns:read
    fake.workspaces.pop(KEY_C)  # gamma's key revoked
    assert await check_command(argparse.Namespace(), settings) == 1
    out = capsys.readouterr().out
    assert "[FAIL] workspace beta key accepted; campaigns:read MISSING" in out
    assert "[FAIL] workspace gamma key refused: instantly-sync workspaces rotate-key gamma" in out
    assert KEY_B not in out and KEY_C not in out
