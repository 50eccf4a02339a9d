"""Text-safe cells: personal data never becomes a formula, in write-only and in normal workbooks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from reports.xlsx import (
    FMT_DATE,
    FONT_NAME,
    FONT_SIZE,
    MARGIN_SIDE_IN,
    Col,
    PrintHeader,
    TableSheet,
    clean_text,
    header_width,
    new_workbook,
    set_text,
    text_cell,
    text_width,
    wrapped_lines,
)

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


def test_header_cells_use_the_body_font_bold_and_wrap(tmp_path: Path) -> None:
    # found in issue 9: header cells had a font without a name, which LibreOffice draws as a serif
    wb = new_workbook()
    ws = wb.create_sheet("T")
    table = TableSheet(ws, [Col("Rücklaufquote bezogen auf zugestellte", 10, "percent")])
    table.header()
    table.row([0.25])
    wb.save(tmp_path / "t.xlsx")
    ws2 = load_workbook(tmp_path / "t.xlsx")["T"]
    header, body = ws2["A1"], ws2["A2"]
    assert (header.font.name, header.font.sz, header.font.b) == (FONT_NAME, FONT_SIZE, True)
    assert (body.font.name, body.font.sz) == (FONT_NAME, FONT_SIZE)  # the workbook's default style
    assert header.alignment.wrap_text


def test_header_columns_are_as_wide_as_the_longest_word_of_their_label(tmp_path: Path) -> None:
    # found in issue 9: "Kundennummer" in a 14-wide column printed as "Kundennu" / "mmer"
    wb = new_workbook()
    ws = wb.create_sheet("T")
    cols = [Col("Kundennummer", 6), Col("Quote bezogen auf zugestellte", 8, "percent"), Col("Nr.", 30, "int")]
    table = TableSheet(ws, cols)
    table.header()
    wb.save(tmp_path / "t.xlsx")
    ws2 = load_workbook(tmp_path / "t.xlsx")["T"]
    for letter, col in zip("ABC", cols, strict=True):
        width = ws2.column_dimensions[letter].width
        assert width >= header_width(col.label) > text_width(max(col.label.split(), key=text_width))
        assert width >= col.width
    assert ws2.column_dimensions["C"].width == 30  # a wide column stays as wide as asked
    lines = wrapped_lines("Quote bezogen auf zugestellte", ws2.column_dimensions["B"].width)
    assert lines >= 2
    assert ws2.row_dimensions[1].height >= lines * 15  # the header row shows every wrapped line


def test_wrapped_lines_break_between_words_only() -> None:
    assert wrapped_lines("Antworten gesamt", header_width("Antworten")) == 2
    assert wrapped_lines("Antworten gesamt", 40) == 1
    assert wrapped_lines("Informationsmaterial", 3) == 1  # a word longer than the column is never split
    assert text_width("mmm") > text_width("iii") and text_width("0") == 1.0


def test_print_sheet_a4_one_page_wide_header_row_repeated_german_header_and_footer(tmp_path: Path) -> None:
    # found in issue 9: no sheet had a page setup; the report printed as 32 pages, a 5-row call list as 4
    wb = new_workbook()
    wide, narrow = wb.create_sheet("Breit"), wb.create_sheet("Schmal")
    for ws, width in ((wide, 60), (narrow, 20)):
        table = TableSheet(ws, [Col("Name", width), Col("Ort", width)], header_row=3,
                           print_header=PrintHeader("Antwortbericht", "Sommer & Sonne 2026", date(2026, 11, 30)))
        ws.append([text_cell(ws, "Titel")])
        ws.append([])
        table.header()
        table.row(["=1+2", "Köln"])
        table.finish()
    wb.save(tmp_path / "p.xlsx")
    wb2 = load_workbook(tmp_path / "p.xlsx")
    for name, orientation in (("Breit", "landscape"), ("Schmal", "portrait")):
        ws = wb2[name]
        setup = ws.page_setup
        assert (setup.paperSize, setup.fitToWidth, setup.fitToHeight) == (9, 1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert setup.orientation == orientation
        assert ws.print_title_rows == "$3:$3"
        assert ws.page_margins.left == pytest.approx(MARGIN_SIDE_IN) and ws.page_margins.top > ws.page_margins.header
        header, footer = ws.oddHeader, ws.oddFooter
        assert header.left.text == "Antwortbericht: Sommer && Sonne 2026"  # "&&" prints one "&"
        assert header.center.text == "&A" and header.right.text == "Stand 30.11.2026"
        assert footer.center.text == "Seite &P von &N"


def test_table_rows_with_a_wrapped_column_store_their_height(tmp_path: Path) -> None:
    wb = new_workbook()
    ws = wb.create_sheet("T")
    table = TableSheet(ws, [Col("Name", 10), Col("Optionen", 20, wrap=True)], top=True)
    table.header()
    table.row(["Kurz", "Informationsmaterial, Rückruf, Katalog, Muster, Beratung"])
    table.row(["Kurz", "Rückruf"])
    wb.save(tmp_path / "t.xlsx")
    ws2 = load_workbook(tmp_path / "t.xlsx")["T"]
    assert ws2.row_dimensions[2].height >= 3 * 15 and not ws2.row_dimensions[3].height
    assert ws2["B2"].alignment.wrap_text and ws2["A2"].alignment.vertical == "top"
