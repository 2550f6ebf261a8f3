"""Contract: the fake's responses validate against the official API v2 models.

The models come from the `instantlyai` package, generated from Instantly's
own OpenAPI document (dev dependency only).
"""

from __future__ import annotations

import aiohttp
import pytest
from instantlyai.models import Campaign, Webhook, WebhookEvent

from tests.factories import FAKE_KEY

AUTH = {"Authorization": f"Bearer {FAKE_KEY}"}


@pytest.mark.parametrize("status", [0, 1, 2, 3, 4, -1, -2, -99])
async def test_campaign_objects_match_the_official_model(fake, status) -> None:
    c = fake.state.add_campaign(name="contract", status=status)
    fake.state.already_in_state_status = None  # "already active" answered with the campaign
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.get(f"{fake.url}/api/v2/campaigns/{c['id']}") as resp:
            model = Campaign.model_validate(await resp.json())
        assert model.status.value == status
        assert model.campaign_schedule.schedules  # a real schedule, as campaigns have
        # What activate then pause leave each status at (configurable: the docs are silent).
        expected = fake.state.pause_outcomes[fake.state.activate_outcomes[status]]
        for action in ("activate", "pause"):
            async with http.post(f"{fake.url}/api/v2/campaigns/{c['id']}/{action}",
                                 json={}) as resp:
                Campaign.model_validate(await resp.json())
        assert fake.state.campaigns[c["id"]]["status"] == expected


async def test_listing_items_match_the_official_model(fake) -> None:
    fake.state.add_campaigns(30, status=2)
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.get(f"{fake.url}/api/v2/campaigns", params={"limit": "100"}) as resp:
            page = await resp.json()
    assert len(page["items"]) == 30
    for item in page["items"]:
        Campaign.model_validate(item)


async def test_webhooks_and_delivery_log_match_the_official_models(fake) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(f"{fake.url}/api/v2/webhooks", json={
            "target_hook_url": "http://127.0.0.1:9/nowhere", "event_type": "all_events",
            "headers": {"X-Webhook-Secret": "s"}}) as resp:
            Webhook.model_validate(await resp.json())
        async with http.get(f"{fake.url}/api/v2/webhooks") as resp:
            for item in (await resp.json())["items"]:
                Webhook.model_validate(item)
        await fake.emit_event({"event_type": "email_sent", "campaign_id": "x"})
        async with http.get(f"{fake.url}/api/v2/webhook-events") as resp:
            events = (await resp.json())["items"]
    # A failed delivery is tried three times, each attempt in the log.
    assert [e["retry_count"] for e in events] == [0, 1, 2]
    assert [e["will_retry"] for e in events] == [True, True, False]
    for event in events:
        model = WebhookEvent.model_validate(event)
        assert model.success is False  # nothing listens on port 9
