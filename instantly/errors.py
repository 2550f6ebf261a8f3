"""The errors the Instantly client raises: one small documented tree.

The client translates every HTTP status and transport failure into one of
these (in `instantly.client`); `daemon.errors` maps each to the HTTP status,
code and sentence users see. Nothing here is shown to users verbatim.
"""

from __future__ import annotations


class ExternalError(Exception):
    """Base: the external campaign service call did not succeed."""

    code = "external_error"


class ExternalConfigMissing(ExternalError):
    """No API key configured, so no call can be made."""

    code = "external_config_missing"


class ExternalAuthFailed(ExternalError):
    """The key was rejected (401) or lacks the scope (403)."""

    code = "external_auth_failed"

    def __init__(self, status: int) -> None:
        super().__init__(f"authentication failed ({status})")
        self.status = status


class ExternalNotFound(ExternalError):
    """The campaign (or webhook) does not exist remotely (404)."""

    code = "external_not_found"


class ExternalBadRequest(ExternalError):
    """The service rejected the request as malformed (400/422): our bug, not retried."""

    code = "external_error"

    def __init__(self, status: int) -> None:
        super().__init__(f"request rejected ({status})")
        self.status = status


class ExternalRateLimited(ExternalError):
    """429 persisted through every retry."""

    code = "external_rate_limited"

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


class ExternalStatusError(ExternalError):
    """Any other non-2xx status after retries (5xx mostly)."""

    code = "external_error"

    def __init__(self, status: int) -> None:
        super().__init__(f"unexpected status {status}")
        self.status = status


class ExternalUnreachable(ExternalError):
    """Timeout or connection failure after retries."""

    code = "external_unreachable"
