"""Instantly status codes and their local equivalents.

`4` (running subsequences) counts as active; negative codes are health
problems Instantly sets by itself (accounts unhealthy, bounce protect,
suspended), with no local equivalent. Unknown codes are data, not errors.
"""

from __future__ import annotations

REMOTE_TO_LOCAL: dict[int, str] = {0: "draft", 1: "active", 2: "paused", 3: "completed",
                                   4: "active"}
LOCAL_TO_ACTION: dict[str, str] = {"active": "activate", "paused": "pause"}


def remote_as_local(code: int | None) -> str | None:
    """The local status a remote code means, or None (negative or unknown)."""
    return REMOTE_TO_LOCAL.get(code) if code is not None else None


def is_unhealthy(code: int | None) -> bool:
    return code is not None and code < 0
