"""German number and date formats for German text."""

from __future__ import annotations

from datetime import date

from mailing import german


def test_german_formats() -> None:
    assert german.number(1234) == "1.234" and german.number(1234567) == "1.234.567" and german.number(12) == "12"
    assert german.percent(0.125) == "12,5 %" and german.percent(0.06, 2) == "6,00 %"
    assert german.decimal(1234.5) == "1.234,50" and german.euro(0.8) == "0,80 €"
    assert german.day(date(2026, 11, 30)) == "30.11.2026"
