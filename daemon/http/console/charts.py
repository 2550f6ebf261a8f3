"""Server-side SVG charts people can read, without JavaScript and without a library.

Each chart has a y axis with round-numbered ticks and its unit, gridlines, an x axis
labelled every few bars, a hover value on every bar (an SVG <title>, shown by every
browser natively) and a one-sentence summary for screen readers. A chart with
nothing to show is a sentence ("no events yet"), never a blank axis.

Drawn here rather than by a vendored chart library because the pages must read the
same with scripts off, and the few shapes needed (bars, a limit line) are short.
The time windows (24 h / 7 d / 30 d) and their bins live here too: one home for
"which buckets does a chart of the last week have".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape

from markupsafe import Markup

from daemon.http.console.i18n import Translator

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 40  # room for tick labels and the axis title
MAX_X_LABELS = 8


class Span(StrEnum):
    """The time ranges a chart can show (the `range` query parameter)."""

    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"

    @property
    def bin(self) -> dt.timedelta:
        return {Span.DAY: dt.timedelta(hours=1), Span.WEEK: dt.timedelta(hours=6),
                Span.MONTH: dt.timedelta(days=1)}[self]

    @property
    def bins(self) -> int:
        return {Span.DAY: 24, Span.WEEK: 28, Span.MONTH: 30}[self]

    @classmethod
    def parse(cls, raw: str | None) -> Span:
        """The range asked for; anything else is the default (a filter, not a command)."""
        try:
            return cls(raw or cls.DAY)
        except ValueError:
            return cls.DAY

    def starts(self, now: dt.datetime) -> list[dt.datetime]:
        """The start of every bin, oldest first; the last bin holds `now`."""
        width = self.bin.total_seconds()
        last = dt.datetime.fromtimestamp(math.floor(now.timestamp() / width) * width, dt.UTC)
        return [last - self.bin * (self.bins - 1 - i) for i in range(self.bins)]

    def label(self, start: dt.datetime) -> str:
        """A bin's short x-axis label (UTC)."""
        return start.strftime("%H:%M" if self is Span.DAY else "%m-%d %H:%M"
                              if self is Span.WEEK else "%m-%d")

    def hover(self, start: dt.datetime) -> str:
        """A bin's full period for its hover value."""
        end = start + self.bin
        if self is Span.MONTH:
            return start.strftime("%Y-%m-%d UTC")
        return f"{start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC"


@dataclass(frozen=True)
class Point:
    label: str  # under the x axis
    hover: str  # the bar's period or name, in its hover value
    value: float | None  # None: nothing measured (drawn as a gap, not as zero)


def ticks(peak: float, *, integer: bool, count: int = 4) -> list[float]:
    """Round-numbered y ticks from 0 to at least `peak`: steps of 1, 2, 2.5 or 5 times a
    power of ten."""
    peak = peak if peak > 0 else 1.0
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    top = math.ceil(peak / step - 1e-9) * step
    return [i * step for i in range(round(top / step) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(points: Sequence[Point], t: Translator, *, title: str, axis: str, unit: str,
              empty: str,
              integer: bool = True, zero_is_empty: bool = True, top: float | None = None,
              limit: tuple[float, str] | None = None) -> Markup:
    """A bar per point with axes, gridlines and hover values; `empty` when nothing shows.

    `axis` names the y axis with its unit ("events per hour"); `unit` follows each
    hover value (" ms"). `top` fixes the scale (100 for a percentage); `limit` draws a
    dashed line at a value with its name (a budget). A chart of counts with only zeros
    is empty; one of rates is not (0 % is a finding), so it passes `zero_is_empty=False`.
    """
    measured = [p.value for p in points if p.value is not None]
    if not measured or (zero_is_empty and not any(measured)):
        return Markup(f'<p class="chart-empty">{escape(empty)}</p>')
    peak = max([*measured, top or 0, limit[0] if limit else 0])
    scale = ticks(peak, integer=integer)
    y_max = scale[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / y_max)

    busiest = max((p for p in points if p.value is not None), key=lambda p: p.value or 0)
    summary = t("chart.summary", title=title, measured=len(measured), total=len(points),
                peak=f"{_number(busiest.value or 0)}{unit}", at=busiest.hover)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(summary)}">']
    for tick in scale:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/><text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{_number(tick)}</text>')
    parts.append(f'<text class="axis-title" transform="translate(14 {TOP + plot_h / 2:.1f}) '
                 f'rotate(-90)" text-anchor="middle">{escape(axis)}</text>')
    slot = plot_w / max(len(points), 1)
    every = max(1, math.ceil(len(points) / MAX_X_LABELS))
    for i, point in enumerate(points):
        x = LEFT + i * slot
        if point.value is not None:  # the whole column answers hover, however low the bar
            height = plot_h * point.value / y_max
            bar = (f'<rect class="bar" x="{x + 1:.1f}" y="{TOP + plot_h - height:.1f}" '
                   f'width="{max(slot - 2, 1):.1f}" height="{height:.1f}"/>' if height else "")
            parts.append(f'<g><title>{escape(point.hover)}: {_number(point.value)}'
                         f'{escape(unit)}</title><rect class="hit" x="{x:.1f}" y="{TOP}" '
                         f'width="{slot:.1f}" height="{plot_h}"/>{bar}</g>')
        if i % every == 0:
            parts.append(f'<line class="axis" x1="{x + slot / 2:.1f}" x2="{x + slot / 2:.1f}" '
                         f'y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}"/>'
                         f'<text class="tick" x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                         f'text-anchor="middle">{escape(point.label)}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
                 f'y2="{TOP + plot_h}"/>')
    if limit is not None:
        value, name = limit
        parts.append(f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}"/><text class="limit-label" x="{WIDTH - RIGHT}" '
                     f'y="{y(value) - 4:.1f}" text-anchor="end">{escape(name)} '
                     f'{_number(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
