"""Response bodies as pydantic models: the shapes `/openapi.json` documents.

They are not applied on the hot path: the test suite validates every response
it receives against the document. Routes reference them as classes (`Route.ok`),
so a wrong name fails at import, not when the document is first built; their
validators and schemas are built on first use (`Schema`'s `defer_build`).
`Campaign` is defined in schemas.py (its fields key every campaign answer) and
imported here, so routes name it like the others.

No `from __future__ import annotations` here: with string annotations pydantic
evaluates each one when the class is created.
"""

import datetime as dt
import uuid
from typing import Literal

from daemon.http.schemas import Campaign, ExternalSync, Kind, LocalStatus, Schema, Source


class ErrorDetail(Schema):
    code: str
    message: str


class ErrorBody(Schema):
    error: ErrorDetail


class CampaignPage(Schema):
    items: list[Campaign]
    next_cursor: str | None


class StatusChange(Schema):
    id: int
    campaign_id: uuid.UUID
    from_status: str | None
    to_status: str | None
    source: Source
    external_action: Literal["activate", "pause"] | None
    outcome: str
    error_code: str | None
    request_id: str | None
    at: dt.datetime
    duration_ms: int | None  # of the external call, when there was one


class StatusChangeList(Schema):
    items: list[StatusChange]


class ToggleResult(Schema):
    campaign_id: uuid.UUID
    campaign_name: str
    previous_status: LocalStatus
    new_status: LocalStatus
    external_sync: ExternalSync
    message: str


class BulkItemOk(ToggleResult):
    ok: Literal[True]


class BulkItemFailed(Schema):
    campaign_id: uuid.UUID
    ok: Literal[False]
    error: ErrorDetail


class LinkEntry(Schema):
    campaign_id: uuid.UUID
    campaign_name: str
    client_id: str
    workspace: str
    external_id: str | None = None
    candidates: list[str] | None = None
    linked: bool | None = None


class LinkPlan(Schema):
    matched: list[LinkEntry]
    ambiguous: list[LinkEntry]
    unmatched: list[LinkEntry]
    applied: bool
    linked: int


class BulkResult(Schema):
    results: list[BulkItemOk | BulkItemFailed]
    succeeded: int
    failed: int


class Subscription(Schema):
    state: Literal["active", "disabled", "missing", "secret_mismatch", "unconfigured"]
    url: str | None
    webhook_id: str | None
    event_type: str | None
    timestamp_error: str | None


class BackfillSummary(Schema):
    id: int
    status: Literal["succeeded", "failed"]
    window_from: str
    window_to: str
    read: int
    stored: int
    duplicates: int
    rejected: int
    error: str | None


class WebhookPassResult(Schema):
    """What a reconcile pass found about our webhook (null: not checked)."""

    subscription: Subscription | None
    backfill: BackfillSummary | None
    resumed: bool = False  # then another pass (trigger after_resume) ran at once
    error: str | None = None


class RunWorkspace(Schema):
    """One workspace's part of a pass: its listing's outcome."""

    workspace: str
    status: Literal["succeeded", "failed", "skipped"]
    remote_campaigns: int
    api_calls: int
    error: str | None
    webhook: WebhookPassResult | None


class Run(Schema):
    id: int
    status: Literal["running", "succeeded", "failed", "skipped"]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    remote_campaigns: int | None
    local_linked: int | None
    api_calls: int | None
    findings_opened: int | None
    findings_resolved: int | None
    error: str | None
    remote_unlinked: int | None
    webhook: WebhookPassResult | None
    workspaces: list[RunWorkspace]


class RunList(Schema):
    items: list[Run]


class Suspension(Schema):
    id: int
    suspended_at: dt.datetime
    suspended_by: str
    reason: str
    no_read: bool
    resumed_at: dt.datetime | None
    resumed_by: str | None


class SyncState(Schema):
    """Whether syncing is suspended now (`current`), and the last suspensions."""

    suspended: bool
    current: Suspension | None
    history: list[Suspension]


class ReconcileStarted(Schema):
    run_id: int


class Finding(Schema):
    id: int
    campaign_id: uuid.UUID | None
    campaign_name: str | None
    client_id: str | None
    workspace: str
    external_id: str | None
    kind: Kind
    local_status: str | None
    remote_status: int | None
    expected: bool
    state: Literal["open", "acknowledged", "resolved"]
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None
    note: str | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None  # api or console


class FindingList(Schema):
    items: list[Finding]


class WebhookReceipt(Schema):
    status: Literal["accepted", "duplicate"]
    event_id: int


class Health(Schema):
    status: Literal["ok"]


class Readiness(Schema):
    status: Literal["ready", "not_ready"]
    checks: dict[str, bool | str | None]


class OverviewDrift(Schema):
    kind: Kind
    open: int
    oldest_first_seen_at: dt.datetime


class OverviewWebhook(Schema):
    state: Literal["active", "disabled", "missing", "secret_mismatch", "unconfigured"]
    checked_at: dt.datetime | None  # when the last pass found it so


class OverviewCalls(Schema):
    window_hours: int
    calls: int
    succeeded: int
    success_rate: float | None  # null without calls
    p95_ms: float | None


class OverviewWorkspace(Schema):
    """One workspace's figures: its campaigns, open drift, last listing, webhook, calls."""

    name: str
    enabled: bool
    campaigns: int
    linked: int
    open_drift: int
    listing: Literal["succeeded", "failed", "skipped"] | None  # null: never listed
    listing_error: str | None
    listed_at: dt.datetime | None
    webhook: Literal["active", "disabled", "missing", "secret_mismatch", "unconfigured"] | None
    calls: int  # attempts in the window, every kind
    success_rate: float | None  # answered ok; null without calls


class Overview(Schema):
    """The console's home as JSON: each figure links to a filtered page there. The
    figures are the roll-up of every workspace; `workspaces` has them per workspace."""

    drift: list[OverviewDrift]
    webhook: OverviewWebhook | None  # null until a pass checked it
    calls: OverviewCalls
    last_run: Run | None
    next_run_at: dt.datetime | None  # null: no schedule
    campaigns: dict[LocalStatus, int]
    workspaces: list[OverviewWorkspace]


class Workspace(Schema):
    """A workspace as the API shows it: never its key or webhook secret."""

    id: int
    name: str
    enabled: bool
    has_key: bool
    has_webhook_secret: bool
    webhook_public_url: str | None
    max_rps: float
    max_rpm: int
    clients: int
    linked_campaigns: int
    created_at: dt.datetime
    key_rotated_at: dt.datetime | None


class WorkspaceList(Schema):
    workspaces: list[Workspace]


class ClientAssignment(Schema):
    client_id: str
    workspace: str
    previous_workspace: str
    moved: bool
