"""Call list: XLSX with text cells, CSV as German Excel reads it, formula-like values neutralised."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from reports.calllist import CallListRow, csv_safe, write_call_list

ROWS = [
    CallListRow(name='=HYPERLINK("http://evil.example","x")', customer_id="K1", phone="+49 171 2345678",
                email="@home", options="Bitte rufen Sie mich an.", responded_on=date(2026, 3, 9),
                postal_code="01067", city="Dresden"),
    CallListRow(name="Jürgen Weiß", customer_id="-42", phone="0221 123456", email="j@example.de",
                options="Bitte senden Sie mir Informationsmaterial., Bitte rufen Sie mich an.",
                responded_on=None, postal_code="50667", city="Köln"),
]


def test_xlsx_and_csv(tmp_path: Path) -> None:
    x, c = tmp_path / "anrufliste.xlsx", tmp_path / "anrufliste.csv"
    assert write_call_list(ROWS, x, c) == 2
    ws = load_workbook(x)["Anrufliste"]
    assert [cell.value for cell in ws[1]][:6] == ["Name", "Kundennummer", "Telefon", "E-Mail", "Gewünschte Optionen",
                                                  "Antwort vom"]
    assert ws["A2"].value == ROWS[0].name and ws["A2"].data_type == "s"
    assert ws["C2"].value == "+49 171 2345678" and ws["C2"].data_type == "s"
    assert ws["D2"].value == "@home" and ws["D2"].data_type == "s"
    assert ws["G2"].value == "01067"
    assert ws["F2"].value.date() == date(2026, 3, 9) and ws["F2"].number_format == "DD.MM.YYYY"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:M3"  # K: issue 10 added the picture column, M: issue 14 the consent

    raw = c.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: German Excel then reads UTF-8
    rows = list(csv.reader(c.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert rows[1][0] == "'" + ROWS[0].name  # would be a formula in Excel
    assert rows[1][2] == "+49 171 2345678"  # a phone number stays dialable
    assert rows[1][3] == "'@home" and rows[1][5] == "09.03.2026"
    assert rows[2][1] == "-42" and rows[2][5] == "" and rows[2][7] == "Köln"


def test_empty_list(tmp_path: Path) -> None:
    assert write_call_list([], tmp_path / "a.xlsx", tmp_path / "a.csv") == 0
    assert (tmp_path / "a.csv").read_text(encoding="utf-8-sig").count("\n") == 1


def test_csv_safe() -> None:
    assert csv_safe("=1+2") == "'=1+2"
    assert csv_safe("-Müller") == "'-Müller"
    assert csv_safe("+49 (0)221 / 123-45") == "+49 (0)221 / 123-45"
    assert csv_safe("Müller") == "Müller"


def test_call_list_prints_one_page_wide_with_header_row_and_campaign(tmp_path: Path) -> None:
    # found in issue 9: the call list had no page setup (a 5-row list printed as 4 pages)
    x = tmp_path / "anrufliste.xlsx"
    write_call_list(ROWS, x, tmp_path / "anrufliste.csv", campaign="Frühjahrsaktion 2026")
    ws = load_workbook(x)["Anrufliste"]
    setup = ws.page_setup
    assert (setup.paperSize, setup.orientation, setup.fitToWidth, setup.fitToHeight) == (9, "landscape", 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.print_title_rows == "$1:$1"
    assert ws.oddHeader.left.text == "Anrufliste: Frühjahrsaktion 2026"
    assert ws.oddFooter.center.text == "Seite &P von &N"
    assert ws["E3"].alignment.wrap_text and ws.row_dimensions[3].height >= 30  # two options: two lines
    assert ws["A2"].value == ROWS[0].name and ws["A2"].data_type == "s"  # still never a formula
