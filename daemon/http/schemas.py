"""API shapes, one source: request bodies, query parameters and the campaign object
here; the other response bodies in `daemon/http/response_models.py`.

Bodies are validated strictly (wrong types are errors, never coerced);
query parameters are text, so their models parse leniently ("50", "true").
Strings may not contain NUL (Postgres text cannot store it) and are
bounded, so bad input is a 400 naming the field, never a database error.

No `from __future__ import annotations` here: with string annotations pydantic
evaluates each one when the class is created, ~4 ms of every start-up.
"""

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints

from reconciler.findings import ACTIONS, KINDS, STATE_FILTERS
from sql.statuses import LocalStatus as LocalStatusEnum


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
Subject = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_nul)]
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
# A workspace's name (the migration's CHECK says the same).
WORKSPACE_NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"
WorkspaceName = Annotated[str, StringConstraints(pattern=WORKSPACE_NAME)]
# A key or secret: printable ASCII without spaces; never echoed (the handler wraps it
# in SecretStr at once, and validation errors do not repeat input).
SecretText = Annotated[str, StringConstraints(min_length=8, max_length=500,
                                              pattern=r"^[\x21-\x7e]+$"),
                       Field(json_schema_extra={"format": "password", "writeOnly": True})]
HttpUrlText = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]
# The words of sql.statuses.LocalStatus, as the literal strings the API reads and writes.
LocalStatus = Literal[tuple(s.value for s in LocalStatusEnum)]  # type: ignore[valid-type]
TargetStatus = Literal[LocalStatusEnum.ACTIVE.value, LocalStatusEnum.PAUSED.value]
ExternalSync = Literal["activated", "paused", "local_only", "unlinked", "noop"]
Kind = Literal[KINDS]  # type: ignore[valid-type]
# Who made a status change (the audit's `source`); the migrations' CHECK says the
# same, and tests/test_sql_rules.py holds the two together.
Source = Literal["api", "bulk", "console", "webhook", "reconciler", "resolution"]


class Schema(BaseModel):
    """Every API shape: validators are built when a shape is first used, not at start-up
    (most are used only by /openapi.json, itself built on its first request)."""

    model_config = ConfigDict(defer_build=True)


_STRICT = ConfigDict(strict=True, extra="forbid")
_QUERY = ConfigDict(extra="ignore")


# -- request bodies -----------------------------------------------------------

class CampaignCreate(Schema):
    model_config = _STRICT
    client_id: ClientId
    name: Text
    external_id: ExternalId | None = None
    email_subject: Subject | None = None
    email_body: LongText | None = None


class CampaignPatch(Schema):
    """Only given fields change; `external_id: null` unlinks."""

    model_config = _STRICT
    name: Text | None = None
    external_id: ExternalId | None = None
    email_subject: Subject | None = None
    email_body: LongText | None = None


class StatusBody(Schema):
    model_config = _STRICT
    status: TargetStatus


class BulkStatusBody(Schema):
    model_config = _STRICT
    campaign_ids: Annotated[
        list[Annotated[uuid.UUID, Strict(False)]], Field(min_length=1, max_length=500)
    ]
    status: TargetStatus


class ResolveBody(Schema):
    model_config = _STRICT
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    note: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)] | None = None


class LinkBody(Schema):
    """Link unlinked campaigns to remote ones of exactly the same name (dry run by default)."""

    model_config = _STRICT
    by: Literal["name"] = "name"
    client_id: ClientId | None = None
    apply: bool = False


class WorkspaceCreate(Schema):
    """A new workspace: its key is checked with one listing call unless `check` is false."""

    model_config = _STRICT
    name: WorkspaceName
    api_key: SecretText
    webhook_secret: SecretText | None = None
    webhook_public_url: HttpUrlText | None = None
    max_rps: Annotated[float, Field(gt=0, le=10_000)] | None = None
    max_rpm: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    check: bool = True


class WorkspaceKeyBody(Schema):
    model_config = _STRICT
    api_key: SecretText
    check: bool = True


class WorkspaceWebhookBody(Schema):
    model_config = _STRICT
    secret: SecretText | None = None
    public_url: HttpUrlText | None = None


class WorkspaceLimitsBody(Schema):
    """A workspace's own budget; a null (or absent) limit is the default again."""

    model_config = _STRICT
    max_rps: Annotated[float, Field(gt=0, le=10_000)] | None = None
    max_rpm: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class ClientAssignBody(Schema):
    model_config = _STRICT
    client_id: ClientId


class WebhookEventBody(Schema):
    """What Instantly posts (documentation only: the receiver parses bodies itself)."""

    model_config = ConfigDict(extra="allow")
    event_type: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
    campaign_id: str | None = None
    timestamp: str | None = None


class SuspendBody(Schema):
    """Suspend syncing: why (shown to everyone refused meanwhile), and whether reads stop
    too (reconcile passes are then skipped)."""

    model_config = _STRICT
    reason: Text
    no_read: bool = False


class BackfillBody(Schema):
    model_config = _STRICT
    since: Annotated[dt.datetime, Strict(False)] | None = None
    workspace: WorkspaceName | None = None  # None: the default workspace


class WorkspaceQuery(Schema):
    model_config = _QUERY
    workspace: WorkspaceName | None = None  # None: the default workspace


# -- query parameters ---------------------------------------------------------

class CampaignListQuery(Schema):
    model_config = _QUERY
    client_id: ClientId | None = None
    workspace: WorkspaceName | None = None
    status: LocalStatus | None = None
    linked: bool | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, StringConstraints(max_length=400, pattern=r"^[A-Za-z0-9_-]+$")
                      ] | None = None


class HistoryQuery(Schema):
    model_config = _QUERY
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class ReconcileQuery(Schema):
    model_config = _QUERY
    wait: bool = False


class RunListQuery(Schema):
    model_config = _QUERY
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class DriftQuery(Schema):
    model_config = _QUERY
    state: Literal[tuple(STATE_FILTERS)] = "open"  # type: ignore[valid-type]
    kind: Kind | None = None
    client_id: ClientId | None = None
    workspace: WorkspaceName | None = None
    expected: bool | None = None
    format: Literal["json", "csv"] = "json"
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000


# -- the campaign object (its fields are the keys of every campaign the API answers,
# so it is defined at start-up; the other response bodies are in response_models.py)

class Campaign(Schema):
    id: uuid.UUID
    client_id: str
    workspace: str  # its client's (docs/workspaces.md)
    name: str
    status: LocalStatus
    external_id: str | None
    email_subject: str | None
    email_body: str | None
    remote_status: int | None
    remote_checked_at: dt.datetime | None
    pending_status: LocalStatus | None
    created_at: dt.datetime
    updated_at: dt.datetime
    status_changed_at: dt.datetime
    events: dict[str, int]
