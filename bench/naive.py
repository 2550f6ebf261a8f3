"""The naive baselines, as a separate server process.

`POST /toggle/{id}`: the original mutation — read the campaign, call the fake,
UPDATE the status (no lease, no audit, no idempotency).
`POST /webhook`: one INSERT per request into a plain table (no dedupe, no
counts, no batching).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

import aiohttp
import asyncpg
from aiohttp import web

from sql import QUERIES


async def main(port: int, dsn: str, fake_url: str, api_key: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    await pool.execute(QUERIES["bench_naive_events_create"])
    session = aiohttp.ClientSession()
    auth = {"Authorization": f"Bearer {api_key}"}

    async def toggle(request: web.Request) -> web.Response:
        row = await pool.fetchrow(QUERIES["bench_naive_get"], uuid.UUID(request.match_info["id"]))
        new = "paused" if row["status"] == "active" else "active"
        action = "activate" if new == "active" else "pause"
        url = f"{fake_url}/api/v2/campaigns/{row['external_id']}/{action}"
        async with session.post(url, json={}, headers=auth) as resp:
            await resp.read()
            if resp.status != 200:
                return web.json_response({"error": resp.status}, status=502)
        await pool.execute(QUERIES["bench_naive_set_status"], row["id"], new)
        return web.json_response({"new_status": new})

    async def webhook(request: web.Request) -> web.Response:
        await pool.execute(QUERIES["bench_naive_event_insert"], (await request.read()).decode())
        return web.json_response({"status": "accepted"})

    app = web.Application()
    app.router.add_post("/toggle/{id}", toggle)
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("naive ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await session.close()
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--fake", required=True)
    parser.add_argument("--key", default="fake-key")
    a = parser.parse_args()
    asyncio.run(main(a.port, a.dsn, a.fake, a.key))
