"""`Idempotency-Key` for toggle, set-status and bulk (docs/behaviour.md §3).

The same key with the same request replays the stored response and changes
nothing; with another request it is 422; while the first still runs, 409.
Only definitive answers are stored (2xx and 4xx other than 409/429): after a
transient failure (5xx, 429, a lost race) the key is released so a retry with
it runs again. Keys live 24 hours; a key left `running` by a crashed process
is taken over after `abandon_after` seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from daemon.errors import ApiError, api_error
from daemon.http.requests import read_body
from daemon.http.responses import json_response
from sql import Database

HEADER = "Idempotency-Key"
# What a handler produces: HTTP status and a JSON-native body (no datetimes, UUIDs).
Answer = tuple[int, Any]


def fingerprint(request: web.Request, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):  # the handler answers 400 for such a body
        canonical = body.decode("utf-8", "replace")
    h = hashlib.sha256()
    for part in (request.method, request.path, canonical):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _storable(status: int) -> bool:
    return 200 <= status < 300 or (400 <= status < 500 and status not in (409, 429))


async def idempotent(
    request: web.Request,
    db: Database,
    run: Callable[[], Awaitable[Answer]],
    *,
    abandon_after: int,
) -> web.Response:
    """Run `run` at most once per key (no key: just run it) and answer what it returned."""
    key = request.headers.get(HEADER)
    if key is None:
        status, body = await run()
        return json_response(body, status=status)
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise ApiError("invalid_idempotency_key")
    fp = fingerprint(request, await read_body(request))
    claimed = await db.fetchval("idempotency_claim", key, fp)
    if claimed is None:
        claimed = await db.fetchval("idempotency_takeover", key, fp, abandon_after)
    if claimed is None:
        return _replay_or_refuse(await db.fetchrow("idempotency_get", key, abandon_after), fp)
    try:
        status, body = await run()
    except Exception as exc:
        error = api_error(exc)
        if error is not None and _storable(error.status):
            await db.execute("idempotency_finish", key, error.status, error.body())
        else:
            await db.execute("idempotency_forget", key)
        raise
    except BaseException:
        await db.execute("idempotency_forget", key)
        raise
    if _storable(status):
        await db.execute("idempotency_finish", key, status, body)
    else:
        await db.execute("idempotency_forget", key)
    return json_response(body, status=status)


def _replay_or_refuse(row: Any, fp: str) -> web.Response:
    if row is None:  # vanished between claim and read: a concurrent forget
        raise ApiError("idempotency_key_in_progress")
    if row["fingerprint"] != fp:
        raise ApiError("idempotency_key_reused")
    if row["state"] != "done":
        raise ApiError("idempotency_key_in_progress")
    return json_response(
        row["response_body"], status=row["response_status"],
        headers={"Idempotent-Replayed": "true"},
    )
