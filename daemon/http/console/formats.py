"""How the console writes values people scan: dates, ages, long identifiers."""

from __future__ import annotations

import datetime as dt
from html import escape

from markupsafe import Markup

SHORT_ID = 8  # enough to tell ids apart in a table; the rest is on hover and in a copy


def date(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else ""


def short_id(value: object) -> Markup:
    """An id shown by its first characters; hovering shows it whole and copying the
    cell copies it whole (the rest is in the text, clipped by CSS, not removed)."""
    if value is None or value == "":
        return Markup("—")
    text = str(value)  # cut before escaping, never inside an entity
    if len(text) <= SHORT_ID + 1:
        return Markup(f'<code class="id">{escape(text)}</code>')
    return Markup(f'<code class="id" title="{escape(text)}">{escape(text[:SHORT_ID])}'
                  f'<span class="id-rest">{escape(text[SHORT_ID:])}</span></code>')


def age(since: object, *, now: dt.datetime | None = None, hour: str = "h") -> str:
    """How long ago, in the two largest units (3 d 4 h, 2 h 5 min, 40 s)."""
    if not isinstance(since, dt.datetime):
        return ""
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - since).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} {hour}"
    if hours:
        return f"{hours} {hour} {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"
