"""What a remote status means locally (docs/behaviour.md §2).

Running subsequences counts as active; the health problems (negative codes)
and unknown codes mean no local status. The SQL function `remote_as_local`
(sql/migrations/0002) says the same; tests/test_sql_rules.py holds them together.
"""

from __future__ import annotations

from instantly.statuses import RemoteStatus
from sql.statuses import LocalStatus

REMOTE_TO_LOCAL: dict[RemoteStatus, LocalStatus] = {
    RemoteStatus.DRAFT: LocalStatus.DRAFT,
    RemoteStatus.ACTIVE: LocalStatus.ACTIVE,
    RemoteStatus.PAUSED: LocalStatus.PAUSED,
    RemoteStatus.COMPLETED: LocalStatus.COMPLETED,
    RemoteStatus.RUNNING_SUBSEQUENCES: LocalStatus.ACTIVE,
}
# The external action that brings a remote campaign to a local status.
LOCAL_TO_ACTION: dict[LocalStatus, str] = {LocalStatus.ACTIVE: "activate",
                                           LocalStatus.PAUSED: "pause"}


def remote_as_local(code: int | None) -> LocalStatus | None:
    """The local status a remote code means, or None (a health problem or unknown)."""
    member = RemoteStatus.known(code)
    return REMOTE_TO_LOCAL.get(member) if member is not None else None


def is_unhealthy(code: int | None) -> bool:
    """A negative code: a health problem, published or not (the drift rule's reading)."""
    return code is not None and code < 0
