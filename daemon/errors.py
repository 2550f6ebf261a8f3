"""Every error a user can see: code, HTTP status and sentence, in one table,
and the one function that turns any domain error into that answer.

Lower layers raise their own errors, each carrying a `code` (the toggle
service, the resolver, the reconciler, the webhook parser, the external
client, the database); handlers raise `ApiError(code)` for request-shape
problems. `api_error` maps any of them, and the middleware and the bulk
endpoint both use it. No sentence here may contain the word "Instantly":
users see "external service".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from daemon.suspension import SuspendError
from daemon.toggle import ToggleError
from daemon.workspaces import WorkspaceError
from instantly.errors import ExternalError, ExternalRateLimited, ExternalRefused
from instantly.statuses import RemoteStatus
from instantly.workspaces import WorkspaceDisabled
from reconciler.resolution import ResolutionError
from reconciler.runner import ReconcileBusy
from sql import DatabaseUnavailable
from webhooks.events import InvalidEvent

T = TypeVar("T")

# code -> (HTTP status, message). Messages with {placeholders} are formatted
# with the keyword arguments given to ApiError.
ERRORS: dict[str, tuple[int, str]] = {
    # request shape and auth
    "unauthorized": (401, "A valid bearer token is required."),
    "not_found": (404, "No such endpoint."),
    "method_not_allowed": (405, "Method not allowed on this endpoint."),
    "invalid_json": (400, "Request body is not valid JSON."),
    "invalid_body": (400, "Invalid request body: {detail}."),
    "invalid_parameter": (400, "Invalid query parameter {name}: {detail}."),
    "invalid_id": (400, "The id in the path is not a valid UUID."),
    "body_too_large": (413, "Request body is larger than {limit} bytes."),
    "invalid_encoding": (400, "Request body does not match its Content-Encoding."),
    "request_incomplete": (400, "The connection closed before the request body was complete."),
    "unsupported_media_type": (415, "Request body must be JSON (Content-Type: application/json)."),
    # campaigns and toggles
    "campaign_not_found": (404, "Campaign not found."),
    "external_id_in_use": (409, "That external campaign is already linked to another campaign."),
    "campaign_completed": (409, "Campaign is completed and cannot be toggled."),
    "status_conflict": (409, "Campaign status changed while this request ran. Please retry."),
    "toggle_in_progress": (409, "Another status change for this campaign is in progress."),
    "invalid_status": (400, "Status must be \"active\" or \"paused\"."),
    "idempotency_key_reused": (
        422, "This Idempotency-Key was already used for a different request.",
    ),
    "idempotency_key_in_progress": (
        409, "A request with this Idempotency-Key is still in progress.",
    ),
    "invalid_idempotency_key": (400, "Idempotency-Key must be 1 to 200 printable characters."),
    # external service (docs/behaviour.md §6, exact sentences)
    "external_config_missing": (
        503, "External service configuration missing. Contact administrator.",
    ),
    "external_auth_failed": (
        502, "External service authentication failed. Please contact administrator.",
    ),
    "external_permission_missing": (
        502, "External service permission missing: the key needs the {scope} permission."
             " Please contact administrator.",
    ),
    "external_not_found": (
        422, "Campaign not found in external service. Please verify the campaign exists.",
    ),
    "external_rate_limited": (
        429, "External service rate limit exceeded. Please try again in a few minutes.",
    ),
    "external_error": (
        502, "External service request failed ({status}). Please try again or contact support.",
    ),
    "external_refused": (
        409, "Campaign was not {action}: the external service reports it as {state}.",
    ),
    "external_unreachable": (
        504, "Unable to connect to external service. Check your internet connection and try again.",
    ),
    "database_unavailable": (503, "Service temporarily unavailable. Please try again shortly."),
    "internal_error": (500, "Internal error. Please try again or contact support."),
    # webhooks
    "webhooks_not_configured": (503, "Webhook receiver is not configured."),
    "invalid_webhook_secret": (401, "Missing or invalid webhook secret."),
    "invalid_event": (400, "Invalid event: {detail}."),
    "webhook_url_not_configured": (
        409, "The public webhook URL is not configured; the delivery log cannot be read for it.",
    ),
    # reconciler and drift
    "reconcile_in_progress": (409, "A reconcile pass is already running."),
    "run_not_found": (404, "Reconcile run not found."),
    "finding_not_found": (404, "Drift finding not found."),
    "finding_already_resolved": (409, "Drift finding is already resolved."),
    "finding_not_acknowledged": (409, "Drift finding is not acknowledged, so it cannot be"
                                      " reopened."),
    "invalid_action": (
        400, "Action must be \"adopt_remote\", \"push_local\", \"acknowledge\" or \"reopen\"."
    ),
    "drift_changed": (
        409, "The external campaign changed since this finding was recorded. Review it again.",
    ),
    "not_fixable_remotely": (
        409,
        "The external campaign is unhealthy or suspended; fix it in the external service"
        " dashboard.",
    ),
    "campaign_unlinked": (409, "Campaign is not linked to an external campaign."),
    "action_not_applicable": (409, "This action cannot resolve this kind of drift."),
    # suspending syncing
    "sync_suspended": (
        409, "Syncing with the external service is suspended (by {by} since {since}: {reason})."
             " Nothing was changed."),
    "sync_already_suspended": (409, "Syncing is already suspended; resume it first."),
    "sync_not_suspended": (409, "Syncing is not suspended."),
    "admin_only": (403, "This needs an admin token (ADMIN_TOKENS)."),
    "invalid_reason": (400, "A reason of 1 to 500 characters is required."),
    # workspaces
    "workspace_disabled": (
        409, "The campaign's workspace ({workspace}) is disabled: nothing is sent to the"
             " external service for it. Nothing was changed."),
    "workspace_not_found": (404, "No workspace has that name."),
    "workspace_exists": (409, "A workspace with that name already exists."),
    "workspace_in_use": (
        409, "The workspace cannot be removed: it is the default workspace or campaigns are"
             " linked in it. Unlink them first."),
    "client_linked_elsewhere": (
        409, "The client has campaigns linked in its current workspace; unlink them before"
             " moving it."),
    "default_workspace_env": (
        409, "The default workspace is configured by the environment (its API key, webhook"
             " secret and webhook URL); change it there."),
    "workspace_keys_missing": (
        503, "Workspace keys cannot be stored or read: WORKSPACE_KEYS is not set."
             " Contact administrator."),
    "workspace_key_unknown": (
        503, "A stored workspace key cannot be decrypted with WORKSPACE_KEYS."
             " Contact administrator."),
}


class ApiError(Exception):
    """An error response: `code` must be a key of ERRORS."""

    def __init__(self, code: str, *, retry_after: float | None = None, **fields: Any) -> None:
        status, template = ERRORS[code]
        super().__init__(code)
        self.code = code
        self.status = status
        self.message = template.format(**fields) if fields else template
        self.fields = fields  # what the sentence names, for translations of it
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


# What a remote status code means, in the words of the sentence above.
REMOTE_STATE_WORDS = {
    RemoteStatus.DRAFT: "a draft", RemoteStatus.ACTIVE: "active",
    RemoteStatus.PAUSED: "paused", RemoteStatus.COMPLETED: "completed",
    RemoteStatus.RUNNING_SUBSEQUENCES: "active",
    RemoteStatus.ACCOUNTS_UNHEALTHY: "blocked because its sending accounts are unhealthy",
    RemoteStatus.BOUNCE_PROTECTION: "held by bounce protection",
    RemoteStatus.ACCOUNT_SUSPENDED: "blocked because the account is suspended",
}
_DONE = {"activate": "activated", "pause": "paused"}


def _refused(exc: ExternalRefused) -> dict[str, str]:
    state = REMOTE_STATE_WORDS.get(exc.remote_status, f"in an unknown state ({exc.remote_status})")
    return {"action": _DONE.get(exc.action, exc.action), "state": state}


# Codes whose sentence names a detail of the error, and how to get it.
_FIELDS = {
    "external_error": lambda exc: {"status": getattr(exc, "status", None) or "unknown"},
    "external_refused": _refused,
    "external_permission_missing": lambda exc: {"scope": getattr(exc, "scope", None)
                                                or "required"},
    "invalid_event": lambda exc: {"detail": str(exc)},
    "sync_suspended": lambda exc: {"by": exc.by, "since": exc.since, "reason": exc.reason},
    "workspace_disabled": lambda exc: {"workspace": exc.workspace},
}
DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    ToggleError, ResolutionError, ReconcileBusy, ExternalError, DatabaseUnavailable,
    InvalidEvent, SuspendError, WorkspaceError, WorkspaceDisabled,
)


def api_error(exc: BaseException) -> ApiError | None:
    """The answer for `exc`, or None when it is not an error users may see (a bug)."""
    if isinstance(exc, ApiError):
        return exc
    if not isinstance(exc, DOMAIN_ERRORS):
        return None
    code: str = exc.code  # type: ignore[attr-defined]
    fields = _FIELDS[code](exc) if code in _FIELDS else {}
    retry_after = None
    if isinstance(exc, ExternalRateLimited):
        retry_after = exc.retry_after or 60
    elif isinstance(exc, DatabaseUnavailable):
        retry_after = 5
    return ApiError(code, retry_after=retry_after, **fields)


def user_error(exc: BaseException) -> ApiError:
    """The answer for `exc`; an exception users may not see (a bug) is raised again."""
    error = api_error(exc)
    if error is None:
        raise exc
    return error


def per_item(outcomes: Sequence[T | Exception]) -> list[T | ApiError]:
    """Each outcome of a bulk change as it is, or its error as users see it; an exception
    users may not see (a bug) is raised, as it would be from a single change."""
    answers: list[T | ApiError] = []
    for outcome in outcomes:
        answers.append(user_error(outcome) if isinstance(outcome, Exception) else outcome)
    return answers
