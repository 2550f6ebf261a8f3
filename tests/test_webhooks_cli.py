"""CLI `webhooks register|list`, and the whole path: register, the fake emits, we store."""

from __future__ import annotations

import argparse

import aiohttp
import pytest

from daemon.cli.webhooks import list_webhooks, register_webhook
from tests.factories import event, linked_campaign, make_settings, wait_for
from tests.processes import free_port
from tests.test_webhooks import OLD_SECRET, SECRET, count


@pytest.fixture
async def hooks(make_api):
    """The daemon accepting both rotation secrets (as in test_webhooks.py)."""
    return await make_api(WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}")


def register_args(url: str, *, event_type: str = "all_events",
                  campaign: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(url=url, event_type=event_type, campaign=campaign, workspace=None)


async def test_end_to_end_register_then_fake_emits_into_the_daemon(hooks, fake, db) -> None:
    campaign, ext = await linked_campaign(hooks, fake)
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    url = str(hooks.make_url("/webhooks/instantly"))
    assert await register_webhook(register_args(url), settings) == 0
    [registered] = fake.state.webhooks.values()
    assert registered["headers"] == {"X-Webhook-Secret": SECRET}
    assert (registered["target_hook_url"], registered["event_type"]) == (url, "all_events")
    fake.state.set_status(ext, 3)  # completed remotely: the check will confirm it
    deliveries = await fake.emit_event(event("campaign_completed", ext))
    assert [d["status_code"] for d in deliveries] == [200]
    async with aiohttp.ClientSession() as session:  # the fake's control endpoint
        resp = await session.post(f"{fake.url}/_fake/webhooks/emit",
                                  json=event("email_sent", ext))
        assert [d["success"] for d in (await resp.json())["deliveries"]] == [True]

    async def completed() -> bool:
        row = await db.fetchrow("campaign_get", campaign["id"])
        return row["status"] == "completed"

    await wait_for(completed)
    assert await count(db) == 2
    row = await db.fetchrow("campaign_get", campaign["id"])
    assert row["events"] == {"campaign_completed": 1, "email_sent": 1}


async def test_a_redelivered_event_is_stored_once(hooks, fake, db) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    assert await register_webhook(
        register_args(str(hooks.make_url("/webhooks/instantly"))), settings) == 0
    body = event("reply_received")
    for _ in range(3):  # the fake delivers the same payload each time, like a retry
        assert [d["success"] for d in await fake.emit_event(body)] == [True]
    assert await count(db) == 1


async def test_a_webhook_registered_with_an_old_secret_is_refused(make_api, fake, db) -> None:
    client = await make_api(WEBHOOK_SECRET="rotated-new")
    settings = make_settings(fake.url, WEBHOOK_SECRET="retired-old")
    assert await register_webhook(
        register_args(str(client.make_url("/webhooks/instantly"))), settings) == 0
    assert [d["status_code"] for d in await fake.emit_event(event())] == [401]
    assert await count(db) == 0


async def test_register_with_a_campaign_filter_and_one_event_type(fake) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=f"{SECRET},older")
    remote = "0199a3f0-0000-7000-8000-0000000000c1"
    args = register_args("https://sync.example.com/webhooks/instantly",
                         event_type="reply_received", campaign=remote)
    assert await register_webhook(args, settings) == 0
    [hook] = fake.state.webhooks.values()
    assert hook["event_type"] == "reply_received"
    assert hook["campaign"] == remote
    assert hook["headers"] == {"X-Webhook-Secret": SECRET}  # the first of the two


@pytest.mark.parametrize("as_objects", [True, False])
async def test_event_types_are_read_as_objects_or_as_names(fake, capsys, as_objects) -> None:
    """The event-types answer's shape is unpublished: objects {id, label, type} (the
    fake's default) or names; an unknown type is refused either way."""
    fake.state.event_types_as_objects = as_objects
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    url = "https://sync.example.com/webhooks/instantly"
    assert await register_webhook(register_args(url, event_type="lead_interested"),
                                  settings) == 0
    assert await register_webhook(register_args(url, event_type="lead"), settings) == 64
    assert "--event-type 'lead' is not one of all_events, email_sent" in capsys.readouterr().err


async def test_a_webhook_without_a_status_is_not_taken_for_active(make_api, fake) -> None:
    """A webhook whose answer lacks `status` (unpublished whether it can): not active."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/instantly"
    api = await make_api(WEBHOOK_SECRET=SECRET, WEBHOOK_PUBLIC_URL=url, port=port)
    assert await register_webhook(register_args(url), make_settings(
        fake.url, WEBHOOK_SECRET=SECRET)) == 0
    del next(iter(fake.state.webhooks.values()))["status"]
    state = await (await api.get("/webhooks/subscription")).json()
    assert state["state"] == "disabled"


async def test_list_prints_a_table_without_the_secret(fake, capsys) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    url = "https://sync.example.com/webhooks/instantly"
    assert await register_webhook(register_args(url), settings) == 0
    capsys.readouterr()
    assert await list_webhooks(argparse.Namespace(), settings) == 0
    out = capsys.readouterr().out
    [hook] = fake.state.webhooks.values()
    header, line, total = out.splitlines()
    assert header.split() == ["ID", "EVENT", "TYPE", "STATUS", "TARGET"]
    assert line.split() == [hook["id"], "all_events", "active", url]
    assert total == "1 webhook(s)"
    assert SECRET not in out


async def test_register_refuses_without_a_secret(fake, capsys) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET="")
    args = register_args("http://127.0.0.1:1/webhooks/instantly")
    assert await register_webhook(args, settings) == 78
    assert "WEBHOOK_SECRET is not set" in capsys.readouterr().err
    assert fake.state.webhooks == {}


async def test_register_refuses_a_url_that_is_not_absolute_http(fake, capsys) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    for url in ("sync.example.com/webhooks/instantly", "ftp://x/webhooks", "/webhooks"):
        assert await register_webhook(register_args(url), settings) == 64
    assert "--url must be an absolute http(s) URL" in capsys.readouterr().err
    assert fake.state.webhooks == {}


async def test_register_with_a_rejected_key_exits_1_naming_the_setting(fake, capsys
                                                                            ) -> None:
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET, INSTANTLY_API_KEY="wrong-key")
    args = register_args("https://sync.example.com/webhooks/instantly")
    assert await register_webhook(args, settings) == 1
    err = capsys.readouterr().err
    assert "webhooks register: INSTANTLY_API_KEY was refused by" in err and "(401)" in err
    assert "wrong-key" not in err
    # The variable's name is the only place the vendor's name appears.
    assert "instantly" not in err.replace("INSTANTLY_API_KEY", "").lower()
    assert await list_webhooks(argparse.Namespace(), settings) == 1
