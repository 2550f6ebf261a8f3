"""The errors the Instantly client raises: one small documented tree.

The client translates every HTTP status, transport failure and unusable
answer into one of these (in `instantly.client`); `daemon.errors` maps each
`code` to the HTTP status and sentence users see. Nothing here is shown to
users verbatim. Only `transient` errors are retried.
"""

from __future__ import annotations


class ExternalError(Exception):
    """Base: the external campaign service call did not succeed."""

    code = "external_error"
    transient = False
    outcome = "external_failed"  # how an audit row records the attempt


class ExternalConfigMissing(ExternalError):
    """No API key configured, so no call can be made."""

    code = "external_config_missing"


class ExternalAuthFailed(ExternalError):
    """The key was rejected (401); `ExternalPermissionMissing` is the 403."""

    code = "external_auth_failed"

    def __init__(self, status: int) -> None:
        super().__init__(f"authentication failed ({status})")
        self.status = status


class ExternalPermissionMissing(ExternalAuthFailed):
    """The key was accepted but lacks the scope this call needs (403): a configuration
    error, on this endpoint only."""

    code = "external_permission_missing"

    def __init__(self, scope: str | None) -> None:
        ExternalError.__init__(self, f"permission missing ({scope or 'unknown scope'})")
        self.status = 403
        self.scope = scope


class ExternalNotFound(ExternalError):
    """The campaign (or webhook) does not exist remotely (404)."""

    code = "external_not_found"


class ExternalRateLimited(ExternalError):
    """429 persisted through every retry (or the budget had no room before the deadline)."""

    code = "external_rate_limited"
    transient = True

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


class ExternalStatusError(ExternalError):
    """Any other non-2xx status: 5xx is transient (retried); 3xx and other 4xx
    (400, 402 no paid plan, 409, 413, 422) are definitive, never retried."""

    code = "external_error"

    def __init__(self, status: int) -> None:
        super().__init__(f"unexpected status {status}")
        self.status = status
        self.transient = status >= 500


class ExternalBadAnswer(ExternalError):
    """A 2xx whose body is unusable: not JSON, the wrong shape, too large, or a
    listing that does not end. Not retried: the call may have had its effect."""

    code = "external_error"
    outcome = "answer_unusable"
    status = "unusable answer"  # shown where other errors show their HTTP status


class ExternalRefused(ExternalError):
    """Activate or pause answered, but the campaign's status (read again once) is
    not the one asked for: the service kept it paused, draft, completed or unhealthy."""

    code = "external_refused"
    outcome = "refused"

    def __init__(self, action: str, remote_status: int) -> None:
        super().__init__(f"{action} not applied: remote status {remote_status}")
        self.action = action
        self.remote_status = remote_status


class ExternalUnreachable(ExternalError):
    """Timeout or connection failure after retries."""

    code = "external_unreachable"
    transient = True


class SyncSuspended(ExternalError):
    """Syncing is suspended (an operator's decision kept in the database): no call was
    made. Never retried; `by`, `since` and `reason` say whose decision and why."""

    code = "sync_suspended"
    outcome = "suspended"

    def __init__(self, *, by: str, since: str, reason: str) -> None:
        super().__init__(f"syncing suspended by {by} since {since}")
        self.by = by
        self.since = since
        self.reason = reason
