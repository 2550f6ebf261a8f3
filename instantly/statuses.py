"""The external service's campaign status codes: one enum, with each code's words.

Published codes (docs/behaviour.md §2): 0 draft, 1 active, 2 paused, 3 completed,
4 running subsequences (counts as active), and three health problems the service
sets by itself. A code outside this list is data, not an error: it is kept as a
number, shown as "unknown (N)", and means no local status.
"""

from __future__ import annotations

from enum import IntEnum


class RemoteStatus(IntEnum):
    DRAFT = 0
    ACTIVE = 1
    PAUSED = 2
    COMPLETED = 3
    RUNNING_SUBSEQUENCES = 4
    ACCOUNTS_UNHEALTHY = -1
    BOUNCE_PROTECTION = -2
    ACCOUNT_SUSPENDED = -99

    @property
    def words(self) -> str:
        """Short English words for tables and logs ("bounce protection")."""
        return self.name.lower().replace("_", " ")

    @classmethod
    def known(cls, code: int | None) -> RemoteStatus | None:
        """The member for `code`, or None for no code or an unknown one."""
        try:
            return cls(code) if code is not None else None
        except ValueError:
            return None


def status_words(code: int | None) -> str:
    """Words for any code: a member's, "unknown (N)", or "-" for none."""
    if code is None:
        return "-"
    member = RemoteStatus.known(code)
    return member.words if member is not None else f"unknown ({code})"


# The statuses that confirm each external action (running subsequences is active).
CONFIRMS = {"activate": frozenset({RemoteStatus.ACTIVE, RemoteStatus.RUNNING_SUBSEQUENCES}),
            "pause": frozenset({RemoteStatus.PAUSED})}
