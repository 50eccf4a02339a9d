"""Text-safe cells: personal data never becomes a formula, in write-only and in normal workbooks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook, load_workbook

from reports.xlsx import FMT_DATE, Col, TableSheet, clean_text, new_workbook, set_text, text_cell

NASTY = ['=HYPERLINK("http://evil.example","x")', "+49 171 2345678", "-Müller", "@home", "=1+2",
         "=cmd|' /C calc'!A0"]


def test_text_cells_stay_text_in_write_only_mode(tmp_path: Path) -> None:
    wb = new_workbook(write_only=True)
    ws = wb.create_sheet("T")
    for value in NASTY:
        ws.append([text_cell(ws, value)])
    wb.save(tmp_path / "t.xlsx")
    rows = list(load_workbook(tmp_path / "t.xlsx")["T"].iter_rows())
    for value, (cell,) in zip(NASTY, rows, strict=True):
        assert cell.data_type == "s"
        assert cell.value == value


def test_set_text_in_a_normal_workbook(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    for i, value in enumerate(NASTY, 1):
        set_text(ws.cell(row=i, column=1), value)
    wb.save(tmp_path / "n.xlsx")
    ws2 = load_workbook(tmp_path / "n.xlsx").active
    assert [c.value for (c,) in ws2.iter_rows()] == NASTY
    assert all(c.data_type == "s" for (c,) in ws2.iter_rows())


def test_clean_text_drops_control_characters_and_cuts_long_text() -> None:
    assert clean_text("Mül\x00ler\x1b") == "Müller"
    assert len(clean_text("x" * 40_000)) == 32_767
    assert clean_text(12) == "12"


def test_table_sheet_sets_filter_freeze_widths_and_date_format(tmp_path: Path) -> None:
    wb = new_workbook()
    ws = wb.create_sheet("T")
    table = TableSheet(ws, [Col("Name", 30), Col("Datum", 12, "date"), Col("Anzahl", 9, "int")], header_row=2)
    ws.append([text_cell(ws, "Titel")])
    table.header()
    table.row(["=Name", date(2026, 3, 2), 1234])
    table.row(["Meier", None, 5])
    assert table.finish() == "A2:C4"
    wb.save(tmp_path / "t.xlsx")
    ws2 = load_workbook(tmp_path / "t.xlsx")["T"]
    assert ws2.auto_filter.ref == "A2:C4"
    assert ws2.freeze_panes == "A3"
    assert ws2.column_dimensions["A"].width == 30
    assert ws2["A3"].value == "=Name" and ws2["A3"].data_type == "s"
    assert ws2["B3"].number_format == FMT_DATE and ws2["B3"].value.date() == date(2026, 3, 2)
    assert ws2["C3"].value == 1234
