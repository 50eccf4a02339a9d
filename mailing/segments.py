"""Response by segment: the campaign's `[import] segments` columns → one row per value or band.

`segment_rows(groups, campaign_rate, bands)` turns `figures.segment_groups` (sent letters and responses
per column and value as imported) into plain rows for the report's "Segmente" sheet: the response rate,
its 95 % Wilson interval and the lift (the segment's rate divided by the campaign's rate: 1.0 = as the
campaign, 1.5 = half as many responses again).

Bands (where the issue leaves room): a column whose every non-empty value is a number (`1234`, `1.234,56`,
`1234.5`) or a date (`YYYY-MM-DD`, `DD.MM.YYYY`) is grouped into quantile bands: the distinct values in
order, cut so that each band holds about 1/`bands` of the sent letters (`[import] segment_bands`, default
4: quartiles); one value is never split across two bands, so a band may hold more or fewer. A column with
no more distinct values than bands keeps its values (a revenue class 1-3 stays 1, 2, 3). Any other column
is grouped by its value as written. Empty cells form their own row "(leer)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mailing.figures import Group
from reports.stats import wilson_interval

EMPTY_LABEL = "(leer)"
_NUMBER_DE = re.compile(r"[+-]?\d{1,3}(\.\d{3})*(,\d+)?|[+-]?\d+(,\d+)?")
_NUMBER_EN = re.compile(r"[+-]?\d+(\.\d+)?")


@dataclass(frozen=True)
class SegmentRow:
    key: str  # the column as named in the campaign file
    label: str  # the value, or the band "von – bis"
    pieces: int  # sent letters
    responses: int
    rate: float | None
    low: float | None  # 95 % Wilson interval
    high: float | None
    lift: float | None  # rate / the campaign's rate
    band: bool  # a band of numbers or dates (not a single value)


def as_number(text: str) -> float | None:
    """A number as a German or English spreadsheet writes it, else None."""
    t = text.strip().replace(" ", "").replace("€", "")
    if _NUMBER_EN.fullmatch(t) and t.count(".") <= 1 and not re.fullmatch(r"[+-]?\d{1,3}\.\d{3}", t):
        return float(t)
    if _NUMBER_DE.fullmatch(t):
        return float(t.replace(".", "").replace(",", "."))
    return None


def as_date(text: str) -> date | None:
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    return None


def _label(value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _ordered(values: dict[str, Group]) -> list[tuple[Any, str, Group]] | None:
    """(sort value, text, group) when every value is a number, or every value a date; else None."""
    for parse in (as_number, as_date):
        parsed = [(parse(v), v, g) for v, g in values.items()]
        if parsed and all(p is not None for p, _, _ in parsed):
            return sorted(parsed, key=lambda t: t[0])  # type: ignore[arg-type,return-value]
    return None


def band(values: dict[str, Group], bands: int) -> list[tuple[str, Group, bool]]:
    """One column's values → (label, group, is a band) rows, in order (module docstring)."""
    ordered = _ordered(values)
    if ordered is None or len(ordered) <= bands:
        rows = ordered or sorted(((v, v, g) for v, g in values.items()), key=lambda t: t[1].casefold())
        return [(text if ordered is None else _label(sort), g, False) for sort, text, g in rows]
    total = sum(g.pieces for _, _, g in ordered) or 1
    out: list[tuple[str, Group, bool]] = []
    current: list[tuple[Any, str, Group]] = []
    index = 0
    before = 0
    for item in ordered:
        k = min(bands - 1, before * bands // total)
        if current and k != index:
            out.append(_band_row(current))
            current = []
        index = k
        current.append(item)
        before += item[2].pieces
    if current:
        out.append(_band_row(current))
    return out


def _band_row(items: list[tuple[Any, str, Group]]) -> tuple[str, Group, bool]:
    g = Group()
    for _, _, part in items:
        g.merge(part)
    low, high = items[0][0], items[-1][0]
    return (_label(low) if low == high else f"{_label(low)} – {_label(high)}", g, low != high)


def segment_rows(groups: dict[str, dict[str | None, Group]], keys: tuple[str, ...], campaign_rate: float | None,
                 bands: int = 4) -> list[SegmentRow]:
    """Rows for every named column (in the campaign file's order), then any column no longer named."""
    rows: list[SegmentRow] = []
    for key in [*keys, *sorted(k for k in groups if k not in keys)]:
        by_value = groups.get(key, {})
        filled = {v: g for v, g in by_value.items() if v is not None}
        labelled = band(filled, bands)
        if None in by_value:
            labelled.append((EMPTY_LABEL, by_value[None], False))
        for label, g, is_band in labelled:
            ci = wilson_interval(g.responses, g.pieces)
            lift = g.rate / campaign_rate if g.rate is not None and campaign_rate else None
            rows.append(SegmentRow(key, label, g.pieces, g.responses, g.rate, ci.low if ci else None,
                                   ci.high if ci else None, lift, is_band))
    return rows
