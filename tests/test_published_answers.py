"""Our client against answers shaped as Instantly's API reference publishes them.

The fake is ours; these answers are not (tests/published/README.md says which
page each comes from). A small aiohttp server on loopback serves them, so the
client parses them exactly as it would the service's: validation, listing,
the confirmed activation, the delivery log, our webhook, the error shape.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from daemon.services import client_context
from instantly.client import InstantlyClient
from instantly.errors import ExternalAuthFailed
from tests.factories import make_settings
from webhooks.events import parse_event
from webhooks.health import ours

PUBLISHED = Path(__file__).parent / "published"
KEY = "published-key"


def answer(name: str) -> dict:
    return json.loads((PUBLISHED / name).read_text())


@pytest.fixture
async def served(aiohttp_server) -> str:
    """The base URL of a loopback server answering with the published shapes."""
    def serving(name: str):
        async def handler(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer {KEY}":
                return web.json_response(answer("error_401.json"), status=401)
            if request.query.get("starting_after"):
                return web.json_response({"items": []})  # the page after the last one
            return web.json_response(answer(name))
        return handler

    app = web.Application()
    for method, path, name in [
        ("GET", "/api/v2/campaigns", "list_campaigns.json"),
        ("GET", "/api/v2/campaigns/{id}", "campaign.json"),
        ("POST", "/api/v2/campaigns/{id}/activate", "campaign.json"),
        ("GET", "/api/v2/webhooks", "list_webhooks.json"),
        ("GET", "/api/v2/webhook-events", "list_webhook_events.json"),
    ]:
        app.router.add_route(method, path, serving(name))
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def client(served: str) -> AsyncIterator[InstantlyClient]:
    async with client_context(make_settings(served, INSTANTLY_API_KEY=KEY)) as built:
        yield built


async def test_the_published_listing_is_read_whole(client) -> None:
    pages = [page async for page in client.iter_campaign_pages()]
    assert [[c["name"] for c in page] for page in pages] == [
        ["Spring outreach", "Webinar follow-up"]]
    assert [c["status"] for c in pages[0]] == [1, 2]


async def test_a_published_campaign_confirms_an_activation(client) -> None:
    confirmed = await client.change_status("activate", answer("campaign.json")["id"])
    assert (confirmed.status, confirmed.by_read) == (1, False)


async def test_the_published_webhook_list_finds_ours(client) -> None:
    hook = ours(await client.list_webhooks(), "https://sync.agency.example/webhooks/instantly")
    assert hook is not None and hook["status"] == 1
    assert hook["headers"] == {"X-Webhook-Secret": "published-shape-secret"}


async def test_a_published_delivery_log_row_is_stored_as_a_delivery(client) -> None:
    page = await client.webhook_events_page(limit=1, success=False)
    [row] = page["items"]
    event = parse_event(json.dumps(row["payload"]).encode())
    assert (event.event_type, event.campaign_external_id) == (
        "email_opened", answer("campaign.json")["id"])
    assert row["webhook_url"] == "https://sync.agency.example/webhooks/instantly"


async def test_the_published_error_shape_is_an_auth_failure(served) -> None:
    settings = make_settings(served, INSTANTLY_API_KEY="not-the-key")
    async with client_context(settings) as wrong:
        with pytest.raises(ExternalAuthFailed):
            await wrong.list_campaigns_page(limit=1)


def test_the_files_match_the_models_generated_from_the_reference() -> None:
    """The shapes are the reference's: the instantlyai package's models (generated from
    Instantly's OpenAPI document) accept every file."""
    from instantlyai.models import Campaign, Webhook, WebhookEvent

    Campaign.model_validate(answer("campaign.json"))
    for item in answer("list_campaigns.json")["items"]:
        Campaign.model_validate(item)
    for item in answer("list_webhooks.json")["items"]:
        Webhook.model_validate(item)
    for item in answer("list_webhook_events.json")["items"]:
        WebhookEvent.model_validate(item)
