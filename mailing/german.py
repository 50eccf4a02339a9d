"""Numbers and dates as German readers write them, for text that is German (job ticket, letters, notes).

`number(1234)` → "1.234"; `decimal(12.5)` → "12,50"; `percent(0.125)` → "12,5 %" (DIN 5008: a space before
%); `euro(1234.5)` → "1.234,50 €"; `day(date(2026, 11, 30))` → "30.11.2026". English command-line output
keeps English formats; these are for German text only.
"""

from __future__ import annotations

from datetime import date

_MARKS = str.maketrans(",.", ".,")


def _swap(text: str) -> str:
    """English grouping/decimal marks → German ("1,234.5" → "1.234,5")."""
    return text.translate(_MARKS)


def number(value: int) -> str:
    return _swap(f"{value:,d}")


def decimal(value: float, places: int = 2) -> str:
    return _swap(f"{value:,.{places}f}")


def percent(fraction: float, places: int = 1) -> str:
    """A fraction (0.125) as a German percentage ("12,5 %")."""
    return f"{decimal(fraction * 100, places)} %"


def euro(value: float) -> str:
    return f"{decimal(value, 2)} €"


def day(d: date) -> str:
    return d.strftime("%d.%m.%Y")
