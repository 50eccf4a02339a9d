"""The workbooks as they come out of a printer: LibreOffice (German locale) → PDF, pages counted with pypdf.

Measured on this fixture before issue 9 (no page setup): the report 37 pages (the demo's report 26; the
issue counted 32 with other fonts), a 5-row call list 3 pages (the issue: 4). After: 14 and 1.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from libreoffice import NO_SOFFICE, SOFFICE, page_texts, pages, to_pdf
from openpyxl import load_workbook

from mailing.store import Store
from mailing.testing.report_fixtures import build_campaign
from reports.calllist import CallListRow, write_call_list
from reports.response import SHEETS, write_response_report
from reports.xlsx import HEADER_FILL

pytestmark = [pytest.mark.slow, pytest.mark.skipif(SOFFICE is None, reason=NO_SOFFICE)]

REPORT_MAX_PAGES = 16  # 600 pieces, 90 responses: 14 measured; 37 without a page setup
OPTIONS = "Bitte senden Sie mir Informationsmaterial., Bitte rufen Sie mich an."


def header_words(path: Path) -> set[str]:
    words = set()
    for ws in load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.fill.fgColor.rgb == HEADER_FILL.fgColor.rgb:
                    words.update(cell.value.split())
    return words


@pytest.fixture
def printed_report(store: Store, campaign: Any, tmp_path: Path) -> tuple[Path, Path]:
    build_campaign(store, campaign.name, n_pieces=600, n_responses=90, seed=11)
    xlsx = tmp_path / "bericht.xlsx"
    write_response_report(store, campaign.name, xlsx)
    return xlsx, to_pdf(xlsx, tmp_path / "pdf")


def test_report_prints_one_page_wide_on_few_pages(printed_report: tuple[Path, Path]) -> None:
    # found in issue 9: without a page setup the report printed as 32 pages, columns spread over pages
    _, pdf = printed_report
    n = pages(pdf)
    assert n <= REPORT_MAX_PAGES
    texts = page_texts(pdf)
    # every page carries the German header and footer; each sheet starts on a page of its own
    for i, text in enumerate(texts, 1):
        assert "Antwortbericht: Frühjahrsaktion 2026" in text and f"Seite {i} von {n}" in text
    assert [s for s in SHEETS if any(s in t.split("\n")[0] for t in texts)] == list(SHEETS)
    assert re.search(r"\d+,\d %", "\n".join(texts))  # German number formats: 9,8 %


def test_report_header_words_are_never_split(printed_report: tuple[Path, Path]) -> None:
    # found in issue 9: "Kundennummer" printed as "Kundennu" / "mmer", "Antworten gesamt" as "Antworte" / "n ..."
    xlsx, pdf = printed_report
    text = "\n".join(page_texts(pdf))
    split = sorted(w for w in header_words(xlsx) if w not in text)
    assert split == []


def test_call_list_of_five_rows_prints_on_one_page(tmp_path: Path) -> None:
    # found in issue 9: a 5-row call list printed as 4 pages (columns spread over pages)
    rows = [CallListRow(name=f"Dr. Erika Mustermann-Lüdenscheidt {i}", customer_id=f"K-10{i}",
                        phone="+49 221 1234567", email=f"erika.mustermann{i}@example.de", options=OPTIONS,
                        responded_on=date(2026, 3, 9), postal_code="50667", city="Köln") for i in range(5)]
    xlsx = tmp_path / "anrufliste.xlsx"
    write_call_list(rows, xlsx, tmp_path / "anrufliste.csv", campaign="Frühjahrsaktion 2026")
    pdf = to_pdf(xlsx, tmp_path / "pdf")
    assert pages(pdf) == 1
    (text,) = page_texts(pdf)
    assert "Anrufliste: Frühjahrsaktion 2026" in text and "Seite 1 von 1" in text
    assert " ".join(text.split()).count(OPTIONS) == 5  # the wish wraps inside its column, never cut off
