"""docs/behaviour.md §3: campaign CRUD, listing, bad input, auth and request ids."""

from __future__ import annotations

import io
import uuid

import aiohttp
import pytest

from sql import Database
from tests.factories import create_campaign, new_uuid


async def fingerprint(db: Database) -> dict:
    return dict(await db.fetchrow("state_fingerprint"))


async def test_create_returns_a_draft_campaign(api, fake) -> None:
    ext = fake.state.add_campaign(name="Launch", status=0)["id"]
    resp = await api.post("/campaigns", json={
        "client_id": "acme", "name": "Launch", "external_id": ext,
        "email_subject": "Hi", "email_body": "Hello there",
    })
    assert resp.status == 201
    body = await resp.json()
    assert body["status"] == "draft"
    assert body["external_id"] == ext
    assert body["events"] == {}
    assert body["workspace"] == "default"
    assert set(body) == {
        "id", "client_id", "workspace", "name", "status", "external_id", "email_subject",
        "email_body",
        "remote_status", "remote_checked_at", "pending_status", "created_at", "updated_at",
        "status_changed_at", "events",
    }
    got = await api.get(f"/campaigns/{body['id']}")
    assert (await got.json()) == body


async def test_list_filters_and_pages_with_a_cursor(api, fake) -> None:
    ids = []
    for i in range(7):
        remote = fake.state.add_campaign(name=f"c{i}", status=0)["id"] if i < 3 else None
        c = await create_campaign(api, name=f"c{i}", client_id="a" if i % 2 else "b",
                                  external_id=remote)
        ids.append(c["id"])
    seen, cursor = [], None
    while True:
        url = "/campaigns?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await (await api.get(url)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    only_a = await (await api.get("/campaigns?client_id=a")).json()
    assert {c["name"] for c in only_a["items"]} == {"c1", "c3", "c5"}
    linked = await (await api.get("/campaigns?linked=true")).json()
    assert {c["name"] for c in linked["items"]} == {"c0", "c1", "c2"}
    drafts = await (await api.get("/campaigns?status=draft&linked=false")).json()
    assert len(drafts["items"]) == 4


async def test_patch_links_and_unlinks(api, fake, db) -> None:
    c = await create_campaign(api)
    # A campaign the external service does not have is not linked (nor created linked).
    before = await fingerprint(db)
    for answer in (await api.patch(f"/campaigns/{c['id']}", json={"external_id": new_uuid()}),
                   await api.post("/campaigns", json={"client_id": "acme", "name": "Ghost",
                                                      "external_id": new_uuid()})):
        assert answer.status == 422
        assert (await answer.json())["error"]["code"] == "external_not_found"
    assert await fingerprint(db) == before
    ext = fake.state.add_campaign(name="New", status=0)["id"]
    resp = await api.patch(f"/campaigns/{c['id']}", json={"external_id": ext, "name": "New"})
    assert resp.status == 200
    body = await resp.json()
    assert (body["external_id"], body["name"]) == (ext, "New")
    resp = await api.patch(f"/campaigns/{c['id']}", json={"external_id": None})
    assert (await resp.json())["external_id"] is None


async def test_external_id_in_use_is_409_and_changes_nothing(api, fake, db) -> None:
    ext = fake.state.add_campaign(name="Taken", status=0)["id"]
    await create_campaign(api, external_id=ext)
    other = await create_campaign(api, name="other")
    before = await fingerprint(db)
    resp = await api.post("/campaigns", json={"client_id": "x", "name": "y", "external_id": ext})
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "external_id_in_use"
    resp = await api.patch(f"/campaigns/{other['id']}", json={"external_id": ext})
    assert resp.status == 409
    assert await fingerprint(db) == before


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (b"{not json", "invalid_json", ""),
        (b"[1, 2]", "invalid_body", "JSON object"),
        (b"", "invalid_body", "JSON object"),
        (b'"text"', "invalid_body", "JSON object"),
        (b'{"client_id": 5, "name": "x"}', "invalid_body", "client_id"),
        (b'{"client_id": "a"}', "invalid_body", "name"),
        (b'{"client_id": "a", "name": "x", "colour": "red"}', "invalid_body", "colour"),
        (b'{"client_id": "a", "name": ""}', "invalid_body", "name"),
        (b'{"client_id": "a", "name": "x", "external_id": "../../etc"}', "invalid_body",
         "external_id"),
        (b'{"client_id": "a", "name": "x\\u0000y"}', "invalid_body", "NUL"),
        (b'{"client_id": "a", "name": true}', "invalid_body", "name"),
    ],
)
async def test_bad_create_bodies_are_400_and_store_nothing(api, db, body, code, fragment) -> None:
    before = await fingerprint(db)
    resp = await api.post("/campaigns", data=body,
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert fragment in error["message"]
    assert await fingerprint(db) == before


async def test_oversize_body_is_413(api, db) -> None:
    before = await fingerprint(db)
    big = b'{"client_id": "a", "name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = await api.post("/campaigns", data=io.BytesIO(big),
                          headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "body_too_large"
    assert await fingerprint(db) == before


async def test_bad_uuid_and_unknown_campaign(api) -> None:
    resp = await api.get("/campaigns/not-a-uuid")
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_id"
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/toggle"), ("GET", "/history")):
        resp = await api.request(method, f"/campaigns/{uuid.uuid4()}{path}",
                                 json={} if method == "PATCH" else None)
        assert resp.status == 404, (method, path)
        assert (await resp.json())["error"]["code"] == "campaign_not_found"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=abc", "status=running",
                                   "linked=perhaps", "cursor=%%%"])
async def test_bad_query_parameters_are_400(api, query) -> None:
    resp = await api.get(f"/campaigns?{query}")
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_parameter"


async def test_missing_or_wrong_token_is_401(api) -> None:
    base = api.make_url("/campaigns")
    async with aiohttp.ClientSession() as anonymous:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                        {"Authorization": "Bearer test-token-but-longer"}):
            async with anonymous.get(base, headers=headers) as resp:
                assert resp.status == 401
                assert (await resp.json())["error"]["code"] == "unauthorized"
        async with anonymous.get(api.make_url("/healthz")) as resp:
            assert resp.status == 200


async def test_unknown_route_and_method_get_error_bodies(api) -> None:
    resp = await api.get("/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await api.delete("/campaigns")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_request_id_is_echoed_or_generated(api) -> None:
    resp = await api.get("/healthz", headers={"X-Request-ID": "req-123"})
    assert resp.headers["X-Request-ID"] == "req-123"
    resp = await api.get("/healthz")
    assert len(resp.headers["X-Request-ID"]) == 32
    resp = await api.get("/campaigns/x", headers={"X-Request-ID": "bad id with spaces"})
    assert resp.headers["X-Request-ID"] != "bad id with spaces"


async def test_loopback_without_tokens_needs_no_auth(make_api) -> None:
    client = await make_api(API_TOKENS="")
    async with client.session.get(client.make_url("/campaigns")) as resp:
        assert resp.status == 200
