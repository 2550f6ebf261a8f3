"""The console's SVG charts: round y ticks, time bins that hold "now", empty states."""

from __future__ import annotations

import datetime as dt
import itertools

from daemon.http.console.charts import Point, Span, bar_chart, ticks
from daemon.http.console.i18n import Translator

EN = Translator("en")


def test_ticks_are_round_and_cover_the_peak() -> None:
    assert ticks(7, integer=True) == [0, 2, 4, 6, 8]
    assert ticks(100, integer=False) == [0, 25, 50, 75, 100]
    assert ticks(0.3, integer=False)[-1] >= 0.3
    assert ticks(1, integer=True) == [0, 1]
    assert ticks(0, integer=True) == [0, 1]  # nothing measured still has a scale
    for peak in (3, 17, 99, 1234, 98765):
        scale = ticks(peak, integer=True)
        assert scale[0] == 0 and scale[-1] >= peak and len(scale) <= 6


def test_span_bins_end_at_now_and_are_aligned() -> None:
    now = dt.datetime.now(dt.UTC)
    for span in Span:
        starts = span.starts(now)
        assert len(starts) == span.bins
        assert starts[-1] <= now < starts[-1] + span.bin
        assert all(b - a == span.bin for a, b in itertools.pairwise(starts))
    assert Span.parse("7d") is Span.WEEK and Span.parse("1y") is Span.DAY


def test_a_chart_has_axes_gridlines_and_hover_values() -> None:
    points = [Point(f"{h:02d}:00", f"hour {h}", float(h % 5)) for h in range(24)]
    svg = str(bar_chart(points, EN, title="Events", axis="events per hour", unit="",
                        empty="none"))
    assert svg.count('class="bar"') == sum(1 for p in points if p.value)
    assert svg.count('class="hit"') == 24  # every hour answers hover, zero or not
    assert '<title>hour 4: 4</title>' in svg and '<title>hour 5: 0</title>' in svg
    assert svg.count('class="grid"') == len(ticks(4, integer=True))
    assert "events per hour" in svg and 'role="img"' in svg
    assert "highest 4 (hour 4)" in svg  # the summary a screen reader hears


def test_empty_charts_say_so_and_a_zero_rate_is_not_empty() -> None:
    nothing = [Point("a", "a", 0.0), Point("b", "b", None)]
    assert str(bar_chart(nothing, EN, title="t", axis="a", unit="", empty="No events yet.")) == (
        '<p class="chart-empty">No events yet.</p>')
    failed = [Point("a", "a", 0.0), Point("b", "b", None)]
    svg = str(bar_chart(failed, EN, title="t", axis="%", unit=" %", empty="x",
                        zero_is_empty=False, top=100))
    assert svg.startswith("<svg") and ">100<" in svg
