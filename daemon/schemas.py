"""Request bodies, validated strictly (wrong types are errors, never coerced).

Strings may not contain NUL (Postgres text cannot store it) and are bounded,
so bad input is a 400 naming the field, never a database error.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints
from pydantic import ValidationError as ValidationError  # re-exported for handlers


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _external_id(value: str) -> str:
    # Instantly campaign ids are UUIDs; anything else could smuggle a path.
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


Text = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_nul)]
LongText = Annotated[str, StringConstraints(max_length=100_000), AfterValidator(_no_nul)]
ClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul)
]
ExternalId = Annotated[
    str,
    StringConstraints(max_length=64, pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                      r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"),
    AfterValidator(_external_id),
]
Status = Literal["active", "paused"]

_STRICT = ConfigDict(strict=True, extra="forbid")


class CampaignCreate(BaseModel):
    model_config = _STRICT
    client_id: ClientId
    name: Text
    external_id: ExternalId | None = None
    email_subject: Annotated[str, StringConstraints(max_length=1000),
                             AfterValidator(_no_nul)] | None = None
    email_body: LongText | None = None


class CampaignPatch(BaseModel):
    """Only given fields change; `external_id: null` unlinks."""

    model_config = _STRICT
    name: Text | None = None
    external_id: ExternalId | None = None
    email_subject: Annotated[str, StringConstraints(max_length=1000),
                             AfterValidator(_no_nul)] | None = None
    email_body: LongText | None = None


class StatusBody(BaseModel):
    model_config = _STRICT
    status: Status


class BulkStatusBody(BaseModel):
    model_config = _STRICT
    campaign_ids: Annotated[
        list[Annotated[uuid.UUID, Strict(False)]], Field(min_length=1, max_length=500)
    ]
    status: Status


class ResolveBody(BaseModel):
    model_config = _STRICT
    action: Literal["adopt_remote", "push_local", "acknowledge"]
    note: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)] | None = None


def describe(exc: ValidationError) -> str:
    """The first problem, as `field: reason` (no input values echoed)."""
    err: dict[str, Any] = exc.errors(include_url=False, include_input=False)[0]
    loc = ".".join(str(part) for part in err["loc"]) or "body"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return f"{loc}: {msg}"
