"""One sentence per validation problem, for settings, query parameters and bodies.

pydantic's own messages ("Input should be a valid integer, unable to parse
string as an integer") read as a library's; ours read "must be an integer",
the same whether an environment variable, a query parameter or a body field is
wrong. The caller puts the name in front. Input values are never echoed here
(a setting may be a secret).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


def first_problem(exc: ValidationError, model: type[BaseModel]) -> tuple[tuple[Any, ...], str]:
    """Where the first problem is (pydantic's `loc`) and what it is, as a sentence part."""
    err = exc.errors(include_url=False, include_input=False)[0]
    field = model.model_fields.get(str(err["loc"][0])) if err["loc"] else None
    if field is None and err["loc"]:  # settings name their fields by alias
        field = next((f for f in model.model_fields.values() if f.alias == err["loc"][0]),
                     None)
    return tuple(err["loc"]), reason(err, _bounds(field) if field is not None else {})


def reason(err: ErrorDetails, bounds: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = bounds.get("ge", bounds.get("gt")), bounds.get("le", bounds.get("lt"))
        if low is not None and high is not None:
            return f"must be between {low} and {high}"
        limit = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        return f"must be {'at least' if kind.startswith('greater') else 'at most'} {limit}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be an integer"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("string_too_short", "string_too_long"):
        return f"must be {bounds.get('min_length') or 1} to {bounds.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return "is not in the expected form"
    if kind == "too_long":
        return f"accepts at most {ctx.get('max_length')} values"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"is invalid: {err['msg']}"


def _bounds(field: Any) -> dict[str, Any]:
    """ge, gt, le, lt, min_length and max_length of a field, also inside `X | None`."""
    found: dict[str, Any] = {}
    stack: list[Any] = [*field.metadata, field.annotation]
    while stack:
        item = stack.pop()
        for attr in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(item, attr, None) is not None:
                found.setdefault(attr, getattr(item, attr))
        stack.extend(getattr(item, "__metadata__", ()))
        stack.extend(a for a in getattr(item, "__args__", ()) if a is not type(None))
    return found
