"""Workspaces over the API (daemon/workspaces.py; docs/workspaces.md): listing,
adding, rotating a key, the webhook, enabling, removing, and which client belongs
where. Every route needs an admin token (ADMIN_TOKENS). Keys and secrets go in,
never out: answers say only whether one is stored."""

from __future__ import annotations

from aiohttp import web
from pydantic import SecretStr

from daemon.http.keys import SERVICES
from daemon.http.response_models import ClientAssignment, Workspace, WorkspaceList
from daemon.http.responses import json_response
from daemon.http.route import Route
from daemon.http.schemas import (
    ClientAssignBody,
    WorkspaceCreate,
    WorkspaceKeyBody,
    WorkspaceLimitsBody,
    WorkspaceWebhookBody,
)
from daemon.http.sync import admin_caller
from daemon.workspaces import Workspaces


def _workspaces(request: web.Request) -> Workspaces:
    admin_caller(request)
    return request.app[SERVICES].workspaces


def _secret(value: str | None) -> SecretStr | None:
    return SecretStr(value) if value is not None else None


async def list_workspaces(request: web.Request) -> web.Response:
    found = await _workspaces(request).list()
    return json_response({"workspaces": [w.as_dict() for w in found]})


async def add_workspace(request: web.Request, *, body: WorkspaceCreate) -> web.Response:
    added = await _workspaces(request).add(
        name=body.name, api_key=SecretStr(body.api_key),
        webhook_secret=_secret(body.webhook_secret),
        webhook_public_url=body.webhook_public_url, max_rps=body.max_rps,
        max_rpm=body.max_rpm, check=body.check)
    return json_response(added.as_dict(), status=201)


async def rotate_key(request: web.Request, *, body: WorkspaceKeyBody) -> web.Response:
    done = await _workspaces(request).rotate_key(
        request.match_info["name"], SecretStr(body.api_key), check=body.check)
    return json_response(done.as_dict())


async def set_webhook(request: web.Request, *, body: WorkspaceWebhookBody) -> web.Response:
    done = await _workspaces(request).set_webhook(
        request.match_info["name"], secret=_secret(body.secret), public_url=body.public_url)
    return json_response(done.as_dict())


async def set_limits(request: web.Request, *, body: WorkspaceLimitsBody) -> web.Response:
    done = await _workspaces(request).set_limits(
        request.match_info["name"], max_rps=body.max_rps, max_rpm=body.max_rpm)
    return json_response(done.as_dict())


async def enable(request: web.Request) -> web.Response:
    done = await _workspaces(request).set_enabled(request.match_info["name"], True)
    return json_response(done.as_dict())


async def disable(request: web.Request) -> web.Response:
    done = await _workspaces(request).set_enabled(request.match_info["name"], False)
    return json_response(done.as_dict())


async def remove(request: web.Request) -> web.Response:
    await _workspaces(request).remove(request.match_info["name"])
    return web.Response(status=204)


async def assign_client(request: web.Request, *, body: ClientAssignBody) -> web.Response:
    name = request.match_info["name"]
    was, moved = await _workspaces(request).assign(body.client_id, name)
    return json_response({"client_id": body.client_id, "workspace": name,
                          "previous_workspace": was, "moved": moved})


_ADMIN = (400, 401, 403, 404, 409, 503)
_CALLS = (*_ADMIN, 413, 429, 502, 504)
ROUTES = [
    Route("GET", "/workspaces", list_workspaces, "Every workspace (never a key or secret)",
          {200: WorkspaceList}, errors=(401, 403, 503)),
    Route("POST", "/workspaces", add_workspace, "Add a workspace (its key is checked first)",
          {201: Workspace}, errors=_CALLS, body=WorkspaceCreate),
    Route("POST", "/workspaces/{name}/key", rotate_key, "Replace a workspace's API key",
          {200: Workspace}, errors=_CALLS, body=WorkspaceKeyBody, path_id="name"),
    Route("POST", "/workspaces/{name}/webhook", set_webhook,
          "Set a workspace's webhook secret or public URL", {200: Workspace},
          errors=(*_ADMIN, 413), body=WorkspaceWebhookBody, path_id="name"),
    Route("POST", "/workspaces/{name}/limits", set_limits,
          "Set a workspace's own call budget (null: the defaults)", {200: Workspace},
          errors=(*_ADMIN, 413), body=WorkspaceLimitsBody, body_read="optional",
          path_id="name"),
    Route("POST", "/workspaces/{name}/enable", enable, "Enable a workspace", {200: Workspace},
          errors=_ADMIN, path_id="name"),
    Route("POST", "/workspaces/{name}/disable", disable,
          "Disable a workspace: nothing is sent to it, passes skip it", {200: Workspace},
          errors=_ADMIN, path_id="name"),
    Route("DELETE", "/workspaces/{name}", remove,
          "Remove a workspace (refused while campaigns are linked in it)", {204: None},
          errors=_ADMIN, path_id="name"),
    Route("POST", "/workspaces/{name}/clients", assign_client,
          "Put a client (and so its campaigns) in a workspace", {200: ClientAssignment},
          errors=(*_ADMIN, 413), body=ClientAssignBody, path_id="name"),
]
