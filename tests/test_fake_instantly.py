"""The fake Instantly behaves like the real API v2 (INSTANTLY.md), over real HTTP."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web

from instantly.fake import FakeInstantlyServer
from tests.factories import FAKE_KEY, wait_for

AUTH = {"Authorization": f"Bearer {FAKE_KEY}"}


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def test_bearer_auth_is_required(fake, http) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": FAKE_KEY}):
        async with http.get(f"{fake.url}/api/v2/campaigns", headers=headers) as resp:
            assert resp.status == 401
            body = await resp.json()
            assert body["statusCode"] == 401 and body["error"] == "Unauthorized"


async def test_pagination_visits_each_campaign_once(fake, http) -> None:
    made = {c["id"] for c in fake.state.add_campaigns(250, status=1)}
    seen, cursor, calls = [], None, 0
    while True:
        params = {"limit": "100"} | ({"starting_after": cursor} if cursor else {})
        async with http.get(f"{fake.url}/api/v2/campaigns", params=params, headers=AUTH) as r:
            page = await r.json()
        calls += 1
        seen += [c["id"] for c in page["items"]]
        cursor = page.get("next_starting_after")
        if not cursor or not page["items"]:
            break
    assert calls == 4  # the last page (50) still carries a cursor; the next one is empty
    assert len(seen) == len(set(seen)) == 250
    assert set(seen) == made


@pytest.mark.parametrize("limit", ["0", "101", "x", "-1"])
async def test_limit_outside_1_to_100_is_400(fake, http, limit) -> None:
    async with http.get(f"{fake.url}/api/v2/campaigns", params={"limit": limit},
                        headers=AUTH) as resp:
        assert resp.status == 400


async def test_get_activate_pause_and_404(fake, http) -> None:
    c = fake.state.add_campaign(name="x", status=0)
    base = f"{fake.url}/api/v2/campaigns"
    async with http.post(f"{base}/{c['id']}/activate", json={}, headers=AUTH) as resp:
        assert (await resp.json())["status"] == 1
    async with http.post(f"{base}/{c['id']}/pause", json={}, headers=AUTH) as resp:
        assert (await resp.json())["status"] == 2
    async with http.get(f"{base}/{c['id']}", headers=AUTH) as resp:
        assert (await resp.json())["status"] == 2
    for method, path in (("GET", ""), ("POST", "/activate"), ("POST", "/pause")):
        async with http.request(method, f"{base}/nope{path}", json={} if method == "POST"
                                else None, headers=AUTH) as resp:
            assert resp.status == 404


async def test_json_content_type_with_empty_body_is_400(fake, http) -> None:
    c = fake.state.add_campaign(name="x")
    async with http.post(f"{fake.url}/api/v2/campaigns/{c['id']}/activate", data=b"",
                         headers={**AUTH, "Content-Type": "application/json"}) as resp:
        assert resp.status == 400
    assert fake.state.campaigns[c["id"]]["status"] == 0


async def test_faults_status_delay_hold_drop_and_filters(fake, http) -> None:
    c = fake.state.add_campaign(name="x", status=2)
    url = f"{fake.url}/api/v2/campaigns/{c['id']}/activate"
    fake.state.add_fault(status=503, retry_after=7, path="/activate", count=2)
    for _ in range(2):
        async with http.post(url, json={}, headers=AUTH) as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == "7"
    assert fake.state.campaigns[c["id"]]["status"] == 2
    fake.state.add_fault(status=500, path="/pause")  # does not match activate
    fake.state.add_fault(status=500, method="GET")
    async with http.post(url, json={}, headers=AUTH) as resp:
        assert resp.status == 200
    fake.state.set_status(c["id"], 2)
    fake.state.clear_faults()
    fake.state.add_fault(hold_ms=300)
    async with http.post(url, json={}, headers=AUTH) as resp:
        assert resp.status == 200
    fake.state.set_status(c["id"], 2)
    fake.state.add_fault(drop=True)
    with pytest.raises(aiohttp.ClientError):
        async with http.post(url, json={}, headers=AUTH) as resp:
            await resp.read()
    assert fake.state.campaigns[c["id"]]["status"] == 2
    assert fake.state.calls[-1]["status"] == 0


async def test_hold_changes_state_even_if_the_client_hangs_up(fake, http) -> None:
    c = fake.state.add_campaign(name="x", status=2)
    fake.state.add_fault(hold_ms=2000)
    with pytest.raises(TimeoutError):
        async with http.post(f"{fake.url}/api/v2/campaigns/{c['id']}/activate", json={},
                             headers=AUTH, timeout=aiohttp.ClientTimeout(total=0.3)) as resp:
            await resp.read()
    assert fake.state.campaigns[c["id"]]["status"] == 1


@pytest.mark.parametrize("with_retry_after", [False, True])
async def test_workspace_rate_limit_answers_429_without_retry_after_by_default(
        http, with_retry_after) -> None:
    server = await FakeInstantlyServer(api_key=FAKE_KEY, rate_limit_per_second=5).start()
    server.state.rate_limit_retry_after = with_retry_after
    try:
        statuses, retry = [], set()
        for _ in range(10):
            async with http.get(f"{server.url}/api/v2/campaigns", headers=AUTH) as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    retry.add(resp.headers.get("Retry-After"))
        assert statuses.count(200) == 5 and statuses.count(429) == 5
        assert retry == ({"1"} if with_retry_after else {None})
    finally:
        await server.close()


async def test_call_log_records_method_path_body_and_auth(fake, http) -> None:
    c = fake.state.add_campaign(name="x")
    await http.post(f"{fake.url}/api/v2/campaigns/{c['id']}/pause", json={}, headers=AUTH)
    [call] = fake.state.calls
    assert (call["method"], call["path"], call["status"]) == (
        "POST", f"/api/v2/campaigns/{c['id']}/pause", 200)
    assert json.loads(call["body"]) == {} and call["authorized"]
    async with http.get(f"{fake.url}/_fake/calls") as resp:
        assert len((await resp.json())["items"]) == 1  # control calls are not logged
    await http.delete(f"{fake.url}/_fake/calls")
    assert fake.state.calls == []


async def test_webhooks_crud_emit_and_delivery_log(fake, http) -> None:
    received: list[tuple[dict, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get("X-Webhook-Secret")))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with http.post(f"{fake.url}/api/v2/webhooks", headers=AUTH, json={
            "target_hook_url": f"http://127.0.0.1:{port}/hook", "event_type": "all_events",
            "headers": {"X-Webhook-Secret": "abc"}}) as resp:
            created = await resp.json()
        async with http.post(f"{fake.url}/api/v2/webhooks", headers=AUTH,
                             json={"event_type": "all_events"}) as resp:
            assert resp.status == 400
        async with http.get(f"{fake.url}/api/v2/webhooks", headers=AUTH) as resp:
            assert [h["id"] for h in (await resp.json())["items"]] == [created["id"]]
        async with http.post(f"{fake.url}/_fake/webhooks/emit",
                             json={"event_type": "email_sent", "campaign_id": "c1"}) as resp:
            deliveries = (await resp.json())["deliveries"]
        assert deliveries[0]["status_code"] == 200
        await wait_for(lambda: _true(received))
        payload, secret = received[0]
        assert secret == "abc"
        assert payload["event_type"] == "email_sent" and payload["timestamp"]
        async with http.get(f"{fake.url}/api/v2/webhook-events", headers=AUTH) as resp:
            [event] = (await resp.json())["items"]
        assert event["success"] and event["payload"]["campaign_id"] == "c1"
        async with http.delete(f"{fake.url}/api/v2/webhooks/{created['id']}",
                               headers=AUTH) as resp:
            assert resp.status == 200
        assert fake.state.webhooks == {}
    finally:
        await runner.cleanup()


async def _true(items: list) -> bool:
    return bool(items)


async def test_control_endpoints_over_http(fake, http) -> None:
    async with http.post(f"{fake.url}/_fake/campaigns",
                         json={"campaigns": [{"name": "a", "status": 1}]}) as resp:
        [c] = (await resp.json())["items"]
    async with http.post(f"{fake.url}/_fake/campaigns", json={"count": 3, "status": 2}) as resp:
        assert len((await resp.json())["items"]) == 3
    async with http.put(f"{fake.url}/_fake/campaigns/{c['id']}/status",
                        json={"status": -99}) as resp:
        assert (await resp.json())["status"] == -99
    async with http.post(f"{fake.url}/_fake/faults", json={"status": 500}) as resp:
        assert resp.status == 201
    assert len(fake.state.faults) == 1
    await http.delete(f"{fake.url}/_fake/faults")
    await http.delete(f"{fake.url}/_fake/campaigns/{c['id']}")
    assert c["id"] not in fake.state.campaigns
    await http.post(f"{fake.url}/_fake/reset")
    assert fake.state.campaigns == {}


@pytest.mark.slow
async def test_a_hundred_thousand_campaigns_list_completely(http) -> None:
    fake = await FakeInstantlyServer(api_key=FAKE_KEY, rate_limit_per_second=100_000).start()
    fake.state.add_campaigns(100_000, status=1)
    total, cursor = 0, None
    while True:
        params = {"limit": "100"} | ({"starting_after": cursor} if cursor else {})
        async with http.get(f"{fake.url}/api/v2/campaigns", params=params, headers=AUTH) as r:
            page = await r.json()
        total += len(page["items"])
        cursor = page.get("next_starting_after")
        if not cursor or not page["items"]:
            break
    await fake.close()
    assert total == 100_000


async def test_several_workspaces_each_with_its_own_key_data_and_rate_limit(fake, http) -> None:
    """The real limit and data are per workspace (issue 27): a key sees its own."""
    other_key = "fake-key-of-client-b"
    other = fake.add_workspace(other_key, rate_limit_per_second=2)
    mine = fake.state.add_campaign(name="A's campaign", status=2)
    theirs = other.add_campaign(name="B's campaign", status=2)
    b_auth = {"Authorization": f"Bearer {other_key}"}

    async def names(headers: dict) -> list[str]:
        async with http.get(f"{fake.url}/api/v2/campaigns", headers=headers) as resp:
            return [c["name"] for c in (await resp.json())["items"]]

    assert await names(AUTH) == ["A's campaign"]
    assert await names(b_auth) == ["B's campaign"]
    # A campaign of one workspace does not exist for the other's key.
    async with http.post(f"{fake.url}/api/v2/campaigns/{theirs['id']}/activate", json={},
                         headers=AUTH) as resp:
        assert resp.status == 404
    async with http.post(f"{fake.url}/api/v2/campaigns/{theirs['id']}/activate", json={},
                         headers=b_auth) as resp:
        assert resp.status == 200
    assert other.campaigns[theirs["id"]]["status"] == 1
    assert fake.state.campaigns[mine["id"]]["status"] == 2
    # Each workspace counts its own calls, and its own rate limit (B: 2 per second).
    assert [c["authorized"] for c in other.calls] == [True, True]
    answers = []
    for _ in range(4):
        async with http.get(f"{fake.url}/api/v2/campaigns", headers=b_auth) as resp:
            answers.append(resp.status)
    assert 429 in answers
    async with http.get(f"{fake.url}/api/v2/campaigns", headers=AUTH) as resp:
        assert resp.status == 200  # A's budget is untouched by B's
    # Webhooks and their delivery logs are per workspace too.
    async with http.post(f"{fake.url}/api/v2/webhooks", headers=AUTH, json={
            "target_hook_url": "https://a.example.com/hook", "event_type": "all_events"}
                         ) as resp:
        assert resp.status == 200
    assert len(fake.state.webhooks) == 1 and other.webhooks == {}
    with pytest.raises(ValueError):
        fake.add_workspace(other_key)


async def test_controls_add_a_workspace_and_act_on_it(fake, http) -> None:
    """The benchmarks run the fake as a process: its controls add workspaces and seed,
    read and clear a workspace's own campaigns and calls."""
    async with http.post(f"{fake.url}/_fake/workspaces",
                         json={"api_key": "key-b", "rate_limit_per_second": 50}) as resp:
        assert resp.status == 201
    async with http.post(f"{fake.url}/_fake/workspaces", json={"api_key": "key-b"}) as resp:
        assert resp.status == 400  # one workspace per key
    async with http.post(f"{fake.url}/_fake/campaigns", params={"workspace": "key-b"},
                         json={"campaigns": [{"name": "Only in B", "status": 1}]}) as resp:
        assert resp.status == 200
    async with http.get(f"{fake.url}/api/v2/campaigns",
                        headers={"Authorization": "Bearer key-b"}) as resp:
        assert [c["name"] for c in (await resp.json())["items"]] == ["Only in B"]
    assert fake.state.campaigns == {}
    async with http.get(f"{fake.url}/_fake/calls", params={"workspace": "key-b"}) as resp:
        assert [c["path"] for c in (await resp.json())["items"]] == ["/api/v2/campaigns"]
    async with http.get(f"{fake.url}/_fake/calls", params={"workspace": "nobody"}) as resp:
        assert resp.status == 404
