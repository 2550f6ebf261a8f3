"""Every response the test suite receives is checked against /openapi.json.

The app under test records each JSON answer (route, method, status, body);
at the end of the test each one must be documented for its route and
status and match the schema there. So the document cannot promise a shape
the handlers do not give, nor a handler answer with an undocumented one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator

from daemon.http.app import ROUTES, with_openapi
from daemon.http.openapi import build_document


@dataclass(frozen=True)
class Answer:
    method: str
    path: str  # the route's canonical path, as in the document
    status: int
    content_type: str
    body: bytes


@cache
def document() -> dict[str, Any]:
    return build_document(with_openapi(ROUTES))


def recorder(app: web.Application, answers: list[Answer]) -> None:
    """Record every answer `app` gives into `answers`."""

    async def record(request: web.Request, response: web.StreamResponse) -> None:
        resource = request.match_info.route.resource
        if resource is None or not isinstance(response, web.Response):
            return  # no route matched (404/405 of the router): nothing documented
        if request.path == "/ui" or request.path.startswith("/ui/"):
            return  # the console's HTML pages are not part of the JSON API
        answers.append(Answer(request.method, resource.canonical, response.status,
                              response.content_type, bytes(response.body or b"")))

    app.on_response_prepare.append(record)


def problems(answers: list[Answer]) -> list[str]:
    """What in `answers` the document does not allow (empty: all conform)."""
    doc = document()
    found = []
    for a in answers:
        where = f"{a.method} {a.path} → {a.status}"
        op = doc["paths"].get(a.path, {}).get(a.method.lower())
        if op is None:
            found.append(f"{where}: route not documented")
            continue
        response = op["responses"].get(str(a.status))
        if response is None:
            found.append(f"{where}: status not documented")
            continue
        if not a.body and not response.get("content"):
            continue  # documented without a body (204), answered without one
        media = response.get("content", {}).get(a.content_type)
        if media is None:
            found.append(f"{where}: content type {a.content_type} not documented")
            continue
        if a.content_type != "application/json":
            continue
        schema = {**media["schema"], "components": doc["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(json.loads(a.body)))
        found += [f"{where}: {e.json_path}: {e.message[:300]}" for e in errors[:3]]
    return found
