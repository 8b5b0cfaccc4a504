"""Server-rendered SVG charts: horizontal bars, one per (label, value), escaped like any text.

No script and no style attribute (the CSP forbids inline styles): geometry and colour are SVG
presentation attributes, the rest comes from style.css.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

BAR_HEIGHT = 22
LABEL_WIDTH = 190
BAR_WIDTH = 320


def bar_chart(items: list[tuple[str, float]], *, title: str = "") -> Markup:
    """A bar per item, longest = the largest value; values written at the end of each bar."""
    if not items:
        return Markup('<p class="muted">Nothing in this period.</p>')
    top = max(value for _, value in items) or 1
    height = BAR_HEIGHT * len(items) + 4
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' aria-label="{escape(title or "bar chart")}">'
    ]
    for row, (label, value) in enumerate(items):
        y = row * BAR_HEIGHT + 2
        length = max(1.0, BAR_WIDTH * value / top) if value else 0.0
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" class="label">{escape(str(label))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}" fill="#3b6fd8" rx="2"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}" class="value">{escape(_number(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
