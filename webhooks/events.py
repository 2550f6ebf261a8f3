"""Parsing one delivery into an `Event`, and its de-duplication key.

Instantly sends no event id, so the key is the sha256 of the canonical JSON
(sorted keys, no whitespace): the same event re-sent with other formatting
is recognised as a duplicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any


class InvalidEvent(ValueError):
    """The body is not an event we can store; the message names the problem."""


@dataclass(frozen=True)
class Event:
    dedupe_key: str
    event_type: str
    campaign_external_id: str | None
    event_at: dt.datetime | None
    canonical: str  # canonical JSON text, stored as the jsonb payload


def secret_matches(given: str | None, secrets: tuple[str, ...]) -> bool:
    """Constant-time comparison against every accepted secret (rotation)."""
    if not given:
        return False
    candidate = given.encode()
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(candidate, secret.encode())
    return ok


def _timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _reject_nul(value: Any) -> None:
    # Postgres jsonb cannot store \u0000, in keys or values.
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidEvent("payload contains NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)


def parse_event(raw: bytes) -> Event:
    """Validate a delivery body and derive its key (raises InvalidEvent)."""
    if not raw.strip():
        raise InvalidEvent("body is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEvent("body is not valid UTF-8") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidEvent("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidEvent("body must be a JSON object")
    event_type = data.get("event_type")
    if event_type is None:
        raise InvalidEvent("event_type is missing")
    if not isinstance(event_type, str) or not event_type.strip() or len(event_type) > 200:
        raise InvalidEvent("event_type must be a non-empty string")
    _reject_nul(data)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        encoded = canonical.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent("payload contains invalid Unicode escapes") from None
    campaign = data.get("campaign_id")
    return Event(
        dedupe_key=hashlib.sha256(encoded).hexdigest(),
        event_type=event_type,
        campaign_external_id=str(campaign)[:200] if campaign not in (None, "") else None,
        event_at=_timestamp(data.get("timestamp")),
        canonical=canonical,
    )
