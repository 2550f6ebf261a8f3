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
import re
from dataclasses import dataclass
from typing import Any

import orjson


class InvalidEvent(ValueError):
    """The body is not an event we can store; the message names the problem."""

    code = "invalid_event"


@dataclass(frozen=True)
class Event:
    dedupe_key: str
    event_type: str
    campaign_external_id: str | None
    event_at: dt.datetime | None
    canonical: str  # canonical JSON text, stored as the jsonb payload
    workspace_id: int = 1  # whose endpoint received it (docs/workspaces.md)


def secret_matches(given: str | None, secrets: tuple[str, ...]) -> bool:
    """Constant-time comparison against every accepted secret (rotation), each one
    compared so timing reveals nothing; also the API's and the console's token check."""
    return matching_secret(given, secrets) is not None


def matching_secret(given: str | None, secrets: tuple[str, ...]) -> int | None:
    """Which of `secrets` `given` is (its index), every one compared in constant time."""
    if not given:
        return None
    # surrogatepass: a header aiohttp decoded from non-UTF-8 bytes still encodes
    # (to bytes no valid secret has) instead of raising.
    candidate = given.encode("utf-8", "surrogatepass")
    found = None
    for i, secret in enumerate(secrets):
        if hmac.compare_digest(candidate, secret.encode()):
            found = i
    return found


def _timestamp(value: Any) -> dt.datetime | None:
    """The event's time; unreadable → None (stored without one). A time the database
    cannot hold (it overflows in UTC) is refused here, so it never fails a batch."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidEvent("timestamp is outside the supported range") from None


# In the canonical text a NUL (in a key or a value) appears only as the escape
# \u0000 whose backslash follows an even number of backslashes (each pair is
# one literal backslash): "\\u0000" is a backslash and the text "u0000".
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _has_nul(canonical: str) -> bool:
    """Postgres jsonb cannot store NUL; checked on the text, not by a tree walk."""
    return "\\u0000" in canonical and _ESCAPED_NUL.search(canonical) is not None


MAX_EVENT_TYPE_CHARS = 200


_BOM = b"\xef\xbb\xbf"


def _reference_canonical(raw: bytes) -> tuple[Any, str]:
    """The reference form the dedupe key has always hashed: stdlib JSON, sorted keys,
    compact, UTF-8 (ensure_ascii=False). Raises InvalidEvent naming the problem."""
    try:
        text = raw.decode("utf-8-sig")  # lenient: a leading BOM is dropped
    except UnicodeDecodeError:
        raise InvalidEvent("body is not valid UTF-8") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidEvent("body is not valid JSON") from None
    if not isinstance(data, dict):
        return data, ""
    try:
        # allow_nan=False: Python reads NaN/Infinity (and 1e999), jsonb does not.
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise InvalidEvent("payload contains NaN or an infinite number") from None
    try:
        canonical.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent("payload contains invalid Unicode escapes") from None
    return data, canonical


def _fast_canonical(raw: bytes) -> tuple[Any, str] | None:
    """The same form through orjson, or None when orjson cannot vouch for identical bytes.

    orjson writes what the reference writes for objects, arrays, strings (same
    escapes), 64-bit integers, booleans and null, and sorts keys by code point
    like Python. It differs on floats (`1e-05` vs `0.00001`; integers beyond 64
    bits it reads as floats) and refuses NaN, lone surrogates and nesting past
    its limit: any float, or anything it refuses, takes the reference path, which
    gives the exact key or the precise error. tests/test_dedupe_key.py holds both
    to the same bytes over a corpus and generated payloads.
    """
    try:
        data = orjson.loads(raw[3:] if raw.startswith(_BOM) else raw)
        if not isinstance(data, dict) or _has_float(data):
            return None
        return data, orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
        return None


def _has_float(data: dict[str, Any]) -> bool:
    """Whether a float is anywhere in `data` (a loop on exact types: this runs for
    every delivery, and a recursive isinstance walk was a fifth of the parse)."""
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        for value in node.values() if type(node) is dict else node:
            kind = type(value)
            if kind is float:
                return True
            if kind is dict or kind is list:
                stack.append(value)
    return False


def parse_event(raw: bytes) -> Event:
    """Validate a delivery body and derive its key (raises InvalidEvent)."""
    try:
        return _parse(raw)
    except RecursionError:
        # json.loads and the canonical dump recurse once per nesting level.
        raise InvalidEvent("body is nested too deeply") from None


def _parse(raw: bytes) -> Event:
    if not raw.strip():
        raise InvalidEvent("body is empty")
    data, canonical = _fast_canonical(raw) or _reference_canonical(raw)
    if not isinstance(data, dict):
        raise InvalidEvent("body must be a JSON object")
    event_type = data.get("event_type")
    if event_type is None:
        raise InvalidEvent("event_type is missing")
    if (not isinstance(event_type, str) or not event_type.strip()
            or len(event_type) > MAX_EVENT_TYPE_CHARS):
        raise InvalidEvent(
            f"event_type must be a non-empty string of at most {MAX_EVENT_TYPE_CHARS} characters")
    if _has_nul(canonical):
        raise InvalidEvent("payload contains NUL characters")
    encoded = canonical.encode("utf-8")
    campaign = data.get("campaign_id")
    return Event(
        dedupe_key=hashlib.sha256(encoded).hexdigest(),
        event_type=event_type,
        campaign_external_id=str(campaign)[:200] if campaign not in (None, "") else None,
        event_at=_timestamp(data.get("timestamp")),
        canonical=canonical,
    )
