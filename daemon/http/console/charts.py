"""Server-side SVG bar charts: no script, no library, readable without JS."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 640, 160, 24


def bar_chart(values: Sequence[float], labels: Sequence[str], *, title: str,
              unit: str = "") -> Markup:
    """One bar per value, its label under every few bars; a <title> per bar for hover."""
    peak = max(values, default=0) or 1
    n = max(len(values), 1)
    slot = (WIDTH - 2 * PAD) / n
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="{PAD}" y="14" class="chart-peak">{peak:g}{escape(unit)}</text>']
    every = max(1, n // 8)
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = (HEIGHT - PAD) * value / peak
        x = PAD + i * slot
        parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - h:.1f}" width="{max(slot - 2, 1):.1f}" '
                     f'height="{h:.1f}"><title>{escape(label)}: {value:g}{escape(unit)}'
                     '</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT + 16}" class="chart-label">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
