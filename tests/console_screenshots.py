"""`make screenshots`: every console page in English and Dutch, for docs/console.md.

Runs the daemon's app and the fake external service in-process on loopback,
fills a scratch database with a small agency (campaigns, events, a toggle
that failed, drift), and photographs each page with Debian's Chromium.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

from daemon.http.app import build_app
from instantly.fake import FakeInstantlyServer
from sql.scratch import create_database, drop_database
from tests.factories import API_TOKEN, FAKE_KEY, make_settings

OUT = Path(__file__).resolve().parent.parent / "docs" / "console"
DB = "isync_screenshots"
SECRET = "screenshot-secret"


async def seed(http: aiohttp.ClientSession, base: str, fake: FakeInstantlyServer) -> str:
    """A small agency; returns the id of one campaign to show in detail."""
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    shown = ""
    plan = [("acme", "Spring outreach", 1), ("acme", "Partner follow-up", 2),
            ("globex", "Q1 enterprise", 2), ("globex", "Webinar invites", 3),
            ("initech", "Reactivation", 1), ("initech", "Holiday promo", -1)]
    for client, name, remote_status in plan:
        remote = fake.state.add_campaign(name=name, status=remote_status)
        async with http.post(f"{base}/campaigns", headers=auth, json={
                "client_id": client, "name": name, "external_id": remote["id"]}) as resp:
            made = await resp.json()
        shown = shown or made["id"]
        for i in range(3 + len(name) % 5):
            event = {"timestamp": dt.datetime.now(dt.UTC).isoformat(),
                     "event_type": ("email_sent", "email_opened", "reply_received")[i % 3],
                     "campaign_id": remote["id"], "lead_email": f"lead{i}@example.com",
                     "email_id": str(uuid.uuid4())}
            await http.post(f"{base}/webhooks/instantly", data=json.dumps(event),
                            headers={"X-Webhook-Secret": SECRET,
                                     "Content-Type": "application/json"})
    async with http.post(f"{base}/campaigns", headers=auth, json={
            "client_id": "acme", "name": "Not linked yet"}) as resp:
        await resp.read()
    await http.post(f"{base}/campaigns/{shown}/toggle", headers=auth)  # draft → active
    await http.post(f"{base}/campaigns/{shown}/toggle", headers=auth)  # pause: local only
    await http.post(f"{base}/reconcile?wait=true", headers=auth)  # finds the drift
    return shown


async def main() -> None:
    server_dsn = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        sys.exit("Chromium is not installed (apt-get install chromium)")
    dsn = await create_database(server_dsn, DB)
    fake = await FakeInstantlyServer(api_key=FAKE_KEY).start()
    settings = make_settings(fake.url, WEBHOOK_SECRET=SECRET)
    server = TestServer(build_app(settings, dsn=dsn))
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        async with aiohttp.ClientSession() as http:
            shown = await seed(http, base, fake)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(f"{base}/ui/signin")
            await page.screenshot(path=str(OUT / "signin-en.png"))
            await page.fill("#token", API_TOKEN)
            await page.click("form.card button[type=submit]")
            await page.wait_for_url(f"{base}/ui/campaigns")
            pages = [("campaigns", "/ui/campaigns"), ("campaign", f"/ui/campaigns/{shown}"),
                     ("drift", "/ui/drift"), ("runs", "/ui/runs"), ("health", "/ui/health")]
            for lang in ("en", "nl"):
                for name, path in pages:
                    await page.goto(f"{base}{path}?lang={lang}")
                    await page.screenshot(path=str(OUT / f"{name}-{lang}.png"), full_page=True)
            # A switch operated: its toast, as people see it.
            await page.goto(f"{base}/ui/campaigns?lang=en")
            await page.locator("button.switch[aria-checked=false]:not([disabled])").first.click()
            await page.locator(".toast").wait_for()
            await page.screenshot(path=str(OUT / "toast-en.png"))
            await browser.close()
    finally:
        await server.close()
        await fake.close()
        await drop_database(server_dsn, DB)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
