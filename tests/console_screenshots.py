"""`make screenshots`: every console page in English and Dutch, for docs/console.md.

The same agency as `make demo` (its campaigns, drift and day of history, seeded by
daemon/cli/demo.py's own functions), served in-process on loopback with the fake
external service, photographed by Debian's Chromium. The overview comes first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

from daemon.cli.demo import (
    FAKE_KEY,
    TOKEN,
    demo_settings,
    echo_receiver,
    register_webhook,
    seed,
    seed_history,
)
from daemon.http.app import build_app
from daemon.http.keys import SERVICES
from instantly.fake import FakeInstantlyServer
from sql.scratch import create_database, drop_database

OUT = Path(__file__).resolve().parent.parent / "docs" / "console"
DB = "isync_screenshots"
VIEWPORT = {"width": 1280, "height": 860}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _acknowledge_one(base: str) -> tuple[int, int]:
    """Acknowledge the remote-unhealthy finding (for the Acknowledged tab); returns it
    and an open status mismatch (for the confirmation page)."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base, headers=auth) as http:
        findings = (await (await http.get("/drift")).json())["items"]
        unhealthy = next(f for f in findings if f["kind"] == "remote_unhealthy")
        mismatch = next(f for f in findings if f["kind"] == "status_mismatch")
        await http.post(f"/drift/{unhealthy['id']}/resolve", json={
            "action": "acknowledge", "note": "Client is fixing the sending account"})
    return unhealthy["id"], mismatch["id"]


async def main() -> None:
    server_dsn = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        sys.exit("Chromium is not installed (apt-get install chromium)")
    dsn = await create_database(server_dsn, DB)
    port, fake_port = _free_port(), _free_port()
    fake = await FakeInstantlyServer(api_key=FAKE_KEY, port=fake_port).start()
    echo = echo_receiver()  # the health page lists a notification target that answers
    notify_url = await echo.__aenter__()
    settings = demo_settings(port, fake_port, notify_url=notify_url)
    app = build_app(settings, dsn=dsn)
    server = TestServer(app, port=port)
    await server.start_server()
    base = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        ids = await seed(base, fake)
        await seed_history(base, fake, ids, dsn, app[SERVICES].calls.flush)
        await register_webhook(fake, base)
        _, mismatch = await _acknowledge_one(base)
        shown = ids["Acme — re-engagement"]
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page(viewport=VIEWPORT)
            for lang in ("en", "nl"):
                await page.goto(f"{base}/ui/signin?lang={lang}")
                await page.screenshot(path=str(OUT / f"signin-{lang}.png"))
            await page.fill("#token", TOKEN)
            await page.click("form.card button[type=submit]")
            await page.wait_for_url(f"{base}/ui/")
            pages = [("overview", "/ui/"), ("campaigns", "/ui/campaigns"),
                     ("campaign", f"/ui/campaigns/{shown}"), ("drift", "/ui/drift"),
                     ("acknowledged", "/ui/drift?state=acknowledged"),
                     ("confirm", f"/ui/drift/{mismatch}/confirm?action=push_local"),
                     ("runs", "/ui/runs"), ("health", "/ui/health"),
                     ("health-7d", "/ui/health?range=7d"), ("workspaces", "/ui/workspaces"),
                     ("not-found", "/ui/no-such-page")]
            for lang in ("en", "nl"):
                for name, path in pages:
                    joiner = "&" if "?" in path else "?"
                    await page.goto(f"{base}{path}{joiner}lang={lang}")
                    await page.screenshot(path=str(OUT / f"{name}-{lang}.png"), full_page=True)
            # Syncing suspended: the banner on every page and the overview's control.
            async with aiohttp.ClientSession(
                    base, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                await http.post("/sync/suspend", json={
                    "reason": "Rotating the API key after a leak"})
            for lang in ("en", "nl"):
                await page.goto(f"{base}/ui/?lang={lang}")
                await page.screenshot(path=str(OUT / f"suspended-{lang}.png"), full_page=True)
            async with aiohttp.ClientSession(
                    base, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                await http.post("/sync/resume")
            # A switch operated, and a chart's hover value, as people see them.
            await page.goto(f"{base}/ui/campaigns?lang=en")
            await page.locator("button.switch[aria-checked=false]:not([disabled])").first.click()
            await page.locator(".toast").wait_for()
            await page.screenshot(path=str(OUT / "toast-en.png"))
            await browser.close()
    finally:
        await server.close()
        await echo.__aexit__(None, None, None)
        await fake.close()
        await drop_database(server_dsn, DB)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
