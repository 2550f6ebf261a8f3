"""The OpenAPI 3.1 document served at /openapi.json, generated from the route table.

Parameters come from each route's query model, bodies and responses from
its pydantic models (`model_json_schema`); nothing is copied by hand. The
test suite validates every response it receives against this document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from daemon.http.response_models import ErrorBody
from daemon.http.route import Route
from daemon.http.schemas import WORKSPACE_NAME

_REF = "#/components/schemas/{model}"


class _Components:
    """Collects the schemas that models refer to."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, Any]:
        if model.__name__ not in self.schemas:
            schema = model.model_json_schema(ref_template=_REF)
            self.schemas.update(schema.pop("$defs", {}))
            self.schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    if route.path_id == "uuid":
        params.append({"name": "id", "in": "path", "required": True,
                       "schema": {"type": "string", "format": "uuid"}})
    elif route.path_id == "name":
        params.append({"name": "name", "in": "path", "required": True,
                       "schema": {"type": "string", "pattern": WORKSPACE_NAME}})
    elif route.path_id == "int":
        params.append({"name": "id", "in": "path", "required": True, "schema": {
            "type": "integer", "minimum": 1, "maximum": 999_999_999_999_999_999}})
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=_REF)
        for name, prop in schema["properties"].items():
            prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
            params.append({"name": name, "in": "query", "required": False, "schema": prop})
    if route.idempotency_key:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
    for header in route.headers:
        params.append({"name": header, "in": "header", "required": True,
                       "schema": {"type": "string"}})
    return params


def _operation(route: Route, components: _Components) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in route.ok.items():
        content: dict[str, Any] = {}
        if model is not None:
            content["application/json"] = {"schema": components.ref(model)}
        for media in route.media:
            text = not media.endswith("json")
            content.setdefault(media, {"schema": {"type": "string" if text else "object"}})
        responses[str(status)] = {"description": route.summary, "content": content}
    error = {"application/json": {"schema": components.ref(ErrorBody)}}
    statuses = [*route.errors, *((415,) if route.body is not None and not route.public else ())]
    for status in statuses:
        responses[str(status)] = {"description": "error", "content": error}
    op: dict[str, Any] = {"summary": route.summary, "parameters": _parameters(route),
                          "responses": responses}
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": components.ref(route.body)}}}
    if route.public:
        op["security"] = []
    return op


def build_document(routes: list[Route]) -> dict[str, Any]:
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "instantly-sync", "version": "0.1.0"},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components.schemas,
        },
    }
