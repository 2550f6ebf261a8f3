"""Builders for test data. Times are computed from the clock, never written as dates.

A literal date is a test that breaks when the calendar passes it (a webhook
stamped with yesterday's date once turned main red overnight): a test that
needs "an old event" asks for `iso_at(days=-1)`, or for a time relative to the
row it must be older or newer than.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

WORKSPACE_ID = "0199a3f0-0000-7000-8000-00000000feed"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_at(base: dt.datetime | None = None, **delta: float) -> str:
    """ISO-8601 UTC time `delta` (timedelta keywords) away from `base` (default now)."""
    return ((base or utc_now()) + dt.timedelta(**delta)).isoformat()


def new_uuid() -> str:
    return str(uuid.uuid4())


def event(event_type: str = "email_sent", campaign_id: str | None = None,
          **extra: Any) -> dict[str, Any]:
    """A webhook body shaped like Instantly's, stamped now unless `timestamp` is given."""
    body: dict[str, Any] = {
        "event_type": event_type, "timestamp": iso_at(),
        "workspace": WORKSPACE_ID, "campaign_id": campaign_id or new_uuid(),
        "campaign_name": "C", "lead_email": "lead@example.com",
    }
    body.update(extra)
    return body
