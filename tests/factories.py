"""Builders for test data. Times are computed from the clock, never written as dates.

A literal date is a test that breaks when the calendar passes it (a webhook
stamped with yesterday's date once turned main red overnight): a test that
needs "an old event" asks for `iso_at(days=-1)`, or for a time relative to the
row it must be older or newer than.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from daemon.config import Settings, load_settings
from daemon.http.keys import SERVICES
from daemon.services import Services
from instantly.fake import FakeInstantlyServer

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE_ID = "0199a3f0-0000-7000-8000-00000000feed"
FAKE_KEY = "fake-key"
API_TOKEN = "test-token"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_at(base: dt.datetime | None = None, **delta: float) -> str:
    """ISO-8601 UTC time `delta` (timedelta keywords) away from `base` (default now)."""
    return ((base or utc_now()) + dt.timedelta(**delta)).isoformat()


def event(event_type: str = "email_sent", campaign_id: str | None = None,
          **extra: Any) -> dict[str, Any]:
    """A webhook body shaped like Instantly's, stamped now unless `timestamp` is given."""
    body: dict[str, Any] = {
        "event_type": event_type, "timestamp": iso_at(),
        "workspace": WORKSPACE_ID, "campaign_id": campaign_id or new_uuid(),
        "campaign_name": "C", "lead_email": "lead@example.com",
    }
    body.update(extra)
    return body


def make_settings(fake_url: str | None, **overrides: str) -> Settings:
    env = {
        "INSTANTLY_BASE_URL": fake_url or "http://127.0.0.1:9",
        "INSTANTLY_API_KEY": FAKE_KEY,
        "API_TOKENS": API_TOKEN,
        "RECONCILE_INTERVAL_SECONDS": "0",
        "INSTANTLY_TIMEOUT_SECONDS": "5",
        "INSTANTLY_MAX_RPS": "1000",
        "INSTANTLY_MAX_RPM": "1000000",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "warning",
        "WEBHOOK_CHECK_SPACING_SECONDS": "0.05",  # tests read back to back
    }
    env.update(overrides)
    return load_settings({k: v for k, v in env.items() if v is not None})


def services_of(client: TestClient) -> Services:
    return client.server.app[SERVICES]


async def create_campaign(
    client: TestClient, *, name: str = "Spring promo", client_id: str = "acme",
    external_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": client_id, "name": name}
    if external_id is not None:
        body["external_id"] = external_id
    resp = await client.post("/campaigns", json=body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def linked_campaign(
    client: TestClient, fake: FakeInstantlyServer, *, remote_status: int = 2,
    name: str = "Linked campaign",
) -> tuple[dict[str, Any], str]:
    """A local campaign linked to a new remote one; returns (campaign, external_id).
    The read that checked the link at the fake is not left in its calls: tests count
    the calls of what they do next."""
    remote = fake.state.add_campaign(name=name, status=remote_status)
    mark = len(fake.state.calls)
    campaign = await create_campaign(client, name=name, external_id=remote["id"])
    del fake.state.calls[mark:]
    return campaign, remote["id"]


async def wait_for(predicate: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    """Poll a condition (never a bare sleep-and-assert)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def new_uuid() -> str:
    return str(uuid.uuid4())


def subscribe(fake: FakeInstantlyServer, client: TestClient, secret: str) -> dict[str, Any]:
    """Point a webhook of the fake at the daemon under test (as `webhooks register` would)."""
    hook_id = new_uuid()
    hook = {"id": hook_id, "organization": WORKSPACE_ID, "campaign": None, "name": "test",
            "target_hook_url": str(client.make_url("/webhooks/instantly")),
            "event_type": "all_events", "custom_interest_value": None,
            "headers": {"X-Webhook-Secret": secret}, "timestamp_created": iso_at(),
            "status": 1, "timestamp_error": None}
    fake.state.webhooks[hook_id] = hook
    return hook
