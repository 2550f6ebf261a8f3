"""The OpenAPI 3 document served at /openapi.json.

Request bodies come from the pydantic models that validate them, so the
document cannot drift from what the handlers accept; a test checks that
every route is documented and every documented route exists.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from daemon.bodies import json_response
from daemon.schemas import BulkStatusBody, CampaignCreate, CampaignPatch, ResolveBody, StatusBody

ERROR = {"$ref": "#/components/schemas/Error"}
UUID_PARAM = {"name": "id", "in": "path", "required": True,
              "schema": {"type": "string", "format": "uuid"}}
INT_ID_PARAM = {"name": "id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999_999}}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "schema": {"type": "string", "minLength": 1, "maxLength": 200}}


def _q(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json("error", ERROR) for s in statuses}


def _op(summary: str, *, ok: str = "200", params: list | None = None,
        body: type[BaseModel] | None = None, errors: tuple[int, ...] = (400, 401, 503),
        ok_schema: dict[str, Any] | None = None, security: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": params or [],
                          "responses": {ok: _json(summary, ok_schema), **_errors(*errors)}}
    if body is not None:
        op["requestBody"] = _body(body)
    if not security:
        op["security"] = []
    return op


CAMPAIGN = {"$ref": "#/components/schemas/Campaign"}
TOGGLE_RESULT = {"$ref": "#/components/schemas/ToggleResult"}
LIST_PARAMS = [
    _q("client_id", {"type": "string", "minLength": 1, "maxLength": 200}),
    _q("status", {"type": "string", "enum": ["draft", "active", "paused", "completed"]}),
    _q("linked", {"type": "boolean"}),
    _q("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
    _q("cursor", {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}),
]
EXTERNAL_ERRORS = (400, 401, 404, 409, 422, 429, 502, 503, 504)


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {
        "/campaigns": {
            "post": _op("Create a campaign", ok="201", body=CampaignCreate,
                        errors=(400, 401, 409, 413, 503), ok_schema=CAMPAIGN),
            "get": _op("List campaigns", params=LIST_PARAMS),
        },
        "/campaigns/status": {
            "post": _op("Set the status of many campaigns", body=BulkStatusBody,
                        params=[IDEMPOTENCY], errors=(400, 401, 409, 413, 422, 503)),
        },
        "/campaigns/{id}": {
            "get": _op("Get a campaign", params=[UUID_PARAM], errors=(400, 401, 404, 503),
                       ok_schema=CAMPAIGN),
            "patch": _op("Update a campaign", params=[UUID_PARAM], body=CampaignPatch,
                         errors=(400, 401, 404, 409, 413, 503), ok_schema=CAMPAIGN),
        },
        "/campaigns/{id}/history": {
            "get": _op("Status change history", params=[
                UUID_PARAM, _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
                errors=(400, 401, 404, 503)),
        },
        "/campaigns/{id}/toggle": {
            "post": _op("Toggle a campaign", params=[UUID_PARAM, IDEMPOTENCY],
                        errors=EXTERNAL_ERRORS, ok_schema=TOGGLE_RESULT),
        },
        "/campaigns/{id}/status": {
            "put": _op("Set a campaign's status", params=[UUID_PARAM, IDEMPOTENCY],
                       body=StatusBody, errors=EXTERNAL_ERRORS, ok_schema=TOGGLE_RESULT),
        },
        "/webhooks/instantly": {
            "post": {
                "summary": "Receive an event from the external campaign service",
                "security": [],
                "parameters": [{"name": "X-Webhook-Secret", "in": "header", "required": True,
                                "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["event_type"], "properties": {
                        "event_type": {"type": "string", "minLength": 1, "maxLength": 200,
                                       "pattern": "\\S"},
                        "campaign_id": {"type": "string"},
                        "timestamp": {"type": "string"}}, "additionalProperties": True}}}},
                "responses": {"200": _json("stored", {"type": "object", "properties": {
                    "status": {"type": "string", "enum": ["accepted", "duplicate"]},
                    "event_id": {"type": "integer"}}}), **_errors(400, 401, 413, 503)},
            },
        },
        "/reconcile": {
            "post": {**_op("Start a reconcile pass", ok="202", params=[
                _q("wait", {"type": "boolean"})], errors=(400, 401, 409, 503)),
                "responses": {"202": _json("pass started (run_id)"),
                              "200": _json("with wait=true: the finished run"),
                              **_errors(400, 401, 409, 503)}},
        },
        "/reconcile/runs": {
            "get": _op("Reconcile run history", params=[
                _q("limit", {"type": "integer", "minimum": 1, "maximum": 500})]),
        },
        "/reconcile/runs/{id}": {
            "get": _op("One reconcile run", params=[INT_ID_PARAM], errors=(400, 401, 404, 503)),
        },
        "/drift": {
            "get": _op("Drift findings", params=[
                _q("state", {"type": "string",
                             "enum": ["open", "acknowledged", "resolved", "all"]}),
                _q("kind", {"type": "string", "enum": [
                    "status_mismatch", "local_pause_only", "remote_completed",
                    "remote_unhealthy", "remote_missing", "toggle_incomplete"]}),
                _q("client_id", {"type": "string", "minLength": 1, "maxLength": 200}),
                _q("expected", {"type": "boolean"}),
                _q("format", {"type": "string", "enum": ["json", "csv"]}),
                _q("limit", {"type": "integer", "minimum": 1, "maximum": 10000})]),
        },
        "/drift/{id}/resolve": {
            "post": _op("Resolve a drift finding", params=[INT_ID_PARAM], body=ResolveBody,
                        errors=(400, 401, 404, 409, 422, 429, 502, 503, 504)),
        },
        "/healthz": {"get": _op("Liveness", errors=(), security=False)},
        "/readyz": {"get": _op("Readiness", errors=(503,), security=False)},
        "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {
            "200": {"description": "text format", "content": {"text/plain": {
                "schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": _op("This document", errors=(401,))},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "instantly-sync", "version": "0.1.0"},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Campaign": {"type": "object", "properties": {
                    name: {} for name in (
                        "id", "client_id", "name", "status", "external_id", "email_subject",
                        "email_body", "remote_status", "remote_checked_at", "pending_status",
                        "created_at", "updated_at", "status_changed_at", "events")}},
                "ToggleResult": {"type": "object", "properties": {
                    "campaign_id": {"type": "string"}, "campaign_name": {"type": "string"},
                    "previous_status": {"type": "string"}, "new_status": {"type": "string"},
                    "external_sync": {"type": "string", "enum": [
                        "activated", "paused", "local_only", "unlinked", "noop"]},
                    "message": {"type": "string"}}},
            },
        },
    }


def add_openapi_route(app: web.Application) -> None:
    document = build_document()

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/openapi.json", openapi, allow_head=False)
