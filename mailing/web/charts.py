"""The response curve as inline SVG, drawn on the server (no JavaScript, no chart library).

Responses per day since the first drop as bars, their running total as a line, both on one time axis;
the left axis is the running total, the bars are scaled to their own maximum (labelled in the legend).
Only numbers and dates reach the markup, so nothing needs escaping but the title.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from html import escape

WIDTH, HEIGHT = 640, 260  # viewBox units; the SVG scales to the page width
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 40  # margins for the axes' labels


def _de(d: date) -> str:
    return d.strftime("%d.%m.")


def response_curve(per_day: Mapping[date, int], start: date | None, end: date,
                   title: str = "Antworten seit dem Versand") -> str:
    """SVG of the responses `per_day` from `start` (the first drop; else the first response) to `end`."""
    days = sorted(d for d, n in per_day.items() if n)
    first = min([start, *days[:1]]) if start else (days[0] if days else end)
    last = max([end, *days[-1:]]) if days else max(end, first)
    span = max((last - first).days, 1)
    total = sum(per_day.values())
    peak = max(per_day.values(), default=0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(d: date) -> float:
        return LEFT + plot_w * (d - first).days / span

    def y_total(n: float) -> float:
        return TOP + plot_h * (1 - n / max(total, 1))

    bar_w = max(plot_w / (span + 1) * 0.7, 1.0)
    parts = [f'<svg class="curve" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#888"/>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#888"/>']
    for frac in (0.5, 1.0):  # gridlines at half and full total
        gy = y_total(total * frac)
        parts.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}" stroke="#e4e4e4"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{gy + 4:.1f}" font-size="11" text-anchor="end" fill="#555">'
                     f'{round(total * frac)}</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{TOP + plot_h + 4}" font-size="11" text-anchor="end" fill="#555">0</text>')
    for d in days:  # daily bars, scaled to the busiest day
        h = plot_h * 0.6 * per_day[d] / max(peak, 1)
        parts.append(f'<rect x="{x(d) - bar_w / 2:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="#9cc3e8"><title>{_de(d)}: {per_day[d]}</title></rect>')
    running, points = 0, [f"{x(first):.1f},{y_total(0):.1f}"]
    day = first
    while day <= last:
        running += per_day.get(day, 0)
        points.append(f"{x(day):.1f},{y_total(running):.1f}")
        day += timedelta(days=1)
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#0b57a4" stroke-width="2"/>')
    ticks = 6
    for i in range(ticks + 1):
        d = first + timedelta(days=round(span * i / ticks))
        parts.append(f'<text x="{x(d):.1f}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle" '
                     f'fill="#555">{_de(d)}</text>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 6}" font-size="11" fill="#0b57a4">— Antworten insgesamt ({total})'
                 f'</text><text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" font-size="11" text-anchor="end" '
                 f'fill="#5b8fc0">▮ je Tag (höchstens {peak})</text>')
    parts.append("</svg>")
    return "".join(parts)
