"""Shared openpyxl helpers: text-safe cells, German formats, header styles, table sheets.

Rule: every value that comes from personal or user-supplied data is written as a *text* cell
(`text_cell` / `set_text`): openpyxl turns any str starting with "=" into a formula, and Excel would run
it. Setting ``data_type = "s"`` after the value keeps it a literal string whatever it starts with
(=, +, -, @). Characters that XML cannot hold are dropped, and overlong text is cut to Excel's cell limit.

Number formats are stored locale-neutral in the file ("#,##0.00" → German Excel shows 1.234,56);
dates use an explicit DD.MM.YYYY. Numbers are written as numbers, never as preformatted strings.

Fonts: every styled cell uses the workbook's own font (openpyxl's default style, Calibri 11; LibreOffice
draws it with the metric-compatible Carlito), so a bold header looks like the body, only bold. A font
without a name would fall back to the spreadsheet program's default (a serif in LibreOffice).

Printing (`print_sheet`, `fit_orientation`): every sheet prints on A4, all columns on one page width and as
many pages down as needed, the table's header row repeated on every page, with a German header (document
and campaign, sheet name, date) and footer ("Seite 2 von 5"). Header cells wrap at word boundaries only:
a column is at least as wide as the longest word of its header (`header_width`), and the header row is as
tall as its most wrapped label (`header_height`).

`TableSheet` writes one table (header + rows) to a worksheet, in write-only mode or not: column widths,
frozen header row, autofilter over exactly the written range, print titles. The call lists use it as well
as the response report.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.cell.cell import WriteOnlyCell as _WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.fonts import DEFAULT_FONT
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

# Excel number formats (locale-neutral in the file; German Excel/LibreOffice show "," as decimal mark)
FMT_INT = "#,##0"
FMT_DECIMAL = "#,##0.00"
FMT_PERCENT = "0.0 %"
FMT_PERCENT_2 = "0.00 %"
FMT_EURO = '#,##0.00 "€"'
FMT_P_VALUE = "0.0000"
FMT_DATE = "DD.MM.YYYY"
FMT_DATETIME = "DD.MM.YYYY HH:MM"

EXCEL_MAX_CELL_CHARS = 32_767
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what XML 1.0 (and openpyxl) refuses

FONT_NAME = DEFAULT_FONT.name  # the workbook's body font (Calibri)
FONT_SIZE = float(DEFAULT_FONT.sz)  # points
HEADER_FONT = Font(name=FONT_NAME, size=FONT_SIZE, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="1F4E78", end_color="1F4E78")
TITLE_FONT = Font(name=FONT_NAME, size=14, bold=True)
SECTION_FONT = Font(name=FONT_NAME, size=FONT_SIZE, bold=True, color="1F4E78")
BOLD = Font(name=FONT_NAME, size=FONT_SIZE, bold=True)
NOTE_FONT = Font(name=FONT_NAME, size=FONT_SIZE, italic=True, color="595959")
WRAP = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right")

# Printing. Column widths are in Excel's unit: the width of one digit of the body font.
DIGIT_WIDTH_MM = 1.85  # Calibri 11: 7 px at 96 dpi, printed at 100 %
PAPER_A4 = "9"  # openpyxl's paperSize code
MARGIN_SIDE_IN = 0.6  # 15 mm left and right
MARGIN_TOP_BOTTOM_IN = 0.8  # 20 mm: room for the running header and footer
MARGIN_HEADER_FOOTER_IN = 0.3  # 8 mm from the paper's edge
PORTRAIT_WIDTH_CHARS = (210 - 2 * 15) / DIGIT_WIDTH_MM  # ~97; wider sheets print landscape (~144 fit there)
LINE_PT = 15.0  # one line of 11-pt text (row height in points)
HEADER_PAD_PT = 3.0
CELL_PAD_CHARS = 1.2  # the cell's inner margins (Excel: 5 px, 0.7 digit) plus a little slack
HEADER_LEFT_MAX_CHARS = 120  # Excel refuses a page header longer than 255 characters, codes included

# Widths of bold Calibri glyphs in digit widths, measured on the metric-compatible Carlito Bold and rounded
# up to 0.05; digits are 1.0, any other character counts as a wide capital.
_GLYPH_WIDTHS = {ch: width for chars, width in (
    (" ", 0.45), ("il'", 0.5), ("jI.,:;", 0.55), ("f()-!", 0.65), ("tJ", 0.7), ("r", 0.75), ("sz", 0.8),
    ("cL/", 0.85), ('"', 0.9), ("gkvxyFSZ?", 0.95), ("aeETä+0123456789", 1.0), ("CY", 1.05),
    ("bdhnopquKPXöüß", 1.1), ("BR", 1.15), ("AVÄ", 1.2), ("DH", 1.25), ("GNUÜ", 1.3), ("OÖ", 1.35),
    ("Q&", 1.4), ("%", 1.45), ("w", 1.5), ("m", 1.65), ("M", 1.75), ("W", 1.8)) for ch in chars}
_OTHER_GLYPH_WIDTH = 1.4


def clean_text(value: Any) -> str:
    """str(value) without XML-illegal control characters, at most Excel's 32,767 characters."""
    text = value if isinstance(value, str) else str(value)
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    return text[:EXCEL_MAX_CELL_CHARS]


def text_cell(ws: Any, value: Any, font: Font | None = None) -> Cell:
    """A cell for `ws.append` (write-only or normal sheet) that holds `value` as literal text.

    None stays an empty cell. Anything else is written as a string that can never become a formula.
    """
    cell = _WriteOnlyCell(ws, None)
    if value is not None:
        set_text(cell, value)
    if font is not None:
        cell.font = font
    return cell


def set_text(cell: Cell, value: Any) -> Cell:
    """Put `value` into an existing (normal-mode) cell as literal text; None empties the cell."""
    if value is None:
        cell.value = None
        return cell
    text = clean_text(value)
    cell.value = text
    cell.data_type = "s"  # after the value: openpyxl has just guessed "f" for "=..."
    return cell


def value_cell(ws: Any, value: Any, number_format: str | None = None, font: Font | None = None) -> Cell:
    """A number/date cell for `ws.append`; strings are routed through `text_cell` (never formulas)."""
    if isinstance(value, str):
        return text_cell(ws, value, font)
    cell = _WriteOnlyCell(ws, value)
    if number_format is None:
        if isinstance(value, datetime):
            number_format = FMT_DATETIME
        elif isinstance(value, date):
            number_format = FMT_DATE
    if number_format is not None and value is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def text_width(text: str) -> float:
    """Printed width of `text` in bold body font, in digit widths (Excel's column-width unit)."""
    return sum(_GLYPH_WIDTHS.get(ch, _OTHER_GLYPH_WIDTH) for ch in text)


def header_width(label: str) -> float:
    """The narrowest column that shows every word of `label` whole (wrapping only between words)."""
    return max((text_width(word) for word in label.split()), default=0.0) + CELL_PAD_CHARS


def wrapped_lines(label: str, width: float) -> int:
    """Lines `label` takes in a column `width` wide when it wraps at spaces only."""
    room = max(width - CELL_PAD_CHARS, 1.0)
    lines, used = 1, 0.0
    space = text_width(" ")
    for word in label.split():
        w = text_width(word)
        if used and used + space + w > room:
            lines, used = lines + 1, w
        else:
            used += (space if used else 0.0) + w
    return lines


def header_height(labels: Sequence[str], widths: Sequence[float]) -> float:
    """Row height in points that shows every label of a header row wrapped into its column."""
    lines = max((wrapped_lines(label, width) for label, width in zip(labels, widths, strict=False)), default=1)
    return lines * LINE_PT + HEADER_PAD_PT


def fit_widths(widths: Sequence[float], *header_rows: Sequence[str]) -> list[float]:
    """`widths`, each widened where a header label in that column has a longer word."""
    out = list(widths)
    for labels in header_rows:
        for i, label in enumerate(labels[:len(out)]):
            out[i] = max(out[i], header_width(label))
    return out


def missing_cell(ws: Any, font: Font | None = None) -> Cell:
    """A dash where a figure cannot exist (a rate without pieces), aligned with the numbers around it."""
    cell = text_cell(ws, "–", font)
    cell.alignment = RIGHT
    return cell


def header_cells(ws: Any, labels: Sequence[str]) -> list[Cell]:
    """Styled header cells (bold white on dark blue, wrapped)."""
    cells = []
    for label in labels:
        cell = text_cell(ws, label, HEADER_FONT)
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
        cells.append(cell)
    return cells


def set_widths(ws: Any, widths: Sequence[float], first_column: int = 1) -> None:
    """Column widths in characters. In write-only mode call this before the first `append`."""
    for i, width in enumerate(widths, first_column):
        ws.column_dimensions[get_column_letter(i)].width = width


@dataclass(frozen=True)
class PrintHeader:
    """What every printed page of a sheet says, in German: "Antwortbericht: Frühjahrsaktion 2026" at the top
    left, the sheet's name in the middle, "Stand 30.11.2026" at the right, "Seite 2 von 5" at the bottom."""

    document: str  # "Antwortbericht", "Anrufliste"
    campaign: str = ""  # the campaign's title
    as_of: date | None = None  # the date the figures stand at; None: today

    def left(self) -> str:
        text = f"{self.document}: {self.campaign}" if self.campaign else self.document
        return _header_text(text[:HEADER_LEFT_MAX_CHARS])

    def right(self) -> str:
        return f"Stand {(self.as_of or date.today()).strftime('%d.%m.%Y')}"


def _header_text(text: str) -> str:
    """Literal text for a header/footer: "&" starts a code there ("&P" = page number), "&&" is one "&"."""
    return clean_text(text).replace("&", "&&")


def print_sheet(ws: Any, header: PrintHeader, width_chars: float = 0.0, repeat_row: int | None = None) -> None:
    """Page setup of a sheet: A4, all columns on one page width (as many pages down as needed), margins, a
    German running header and footer, and `repeat_row` (the table's header) printed at the top of every
    page. Orientation follows `width_chars` (see `fit_orientation`). In write-only mode call this before
    the first `append`: the fit-to-page flag is written with the sheet's first lines."""
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    setup = ws.page_setup
    setup.paperSize = PAPER_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # as many pages down as the rows need
    ws.page_margins = PageMargins(left=MARGIN_SIDE_IN, right=MARGIN_SIDE_IN, top=MARGIN_TOP_BOTTOM_IN,
                                  bottom=MARGIN_TOP_BOTTOM_IN, header=MARGIN_HEADER_FOOTER_IN,
                                  footer=MARGIN_HEADER_FOOTER_IN)
    hf = ws.HeaderFooter
    hf.oddHeader.left.text = header.left()
    hf.oddHeader.center.text = "&A"  # the sheet's name
    hf.oddHeader.right.text = header.right()
    hf.oddFooter.center.text = "Seite &P von &N"
    for part in (hf.oddHeader.left, hf.oddHeader.center, hf.oddHeader.right, hf.oddFooter.center):
        part.font = f"{FONT_NAME},Regular"
        part.size = 9
    fit_orientation(ws, width_chars)
    if repeat_row is not None:
        ws.print_title_rows = f"{repeat_row}:{repeat_row}"


def fit_orientation(ws: Any, width_chars: float) -> None:
    """Upright when the printed columns (`width_chars` digit widths, charts included) fit an upright A4
    page at full size, else landscape: a wide table then shrinks less. Can be called until the save."""
    ws.page_setup.orientation = "portrait" if width_chars <= PORTRAIT_WIDTH_CHARS else "landscape"


def new_workbook(write_only: bool = True) -> Workbook:
    """A workbook without its default sheet; write-only (streaming, constant memory) by default."""
    wb = Workbook(write_only=write_only)
    if not write_only:
        wb.remove(wb.active)
    return wb


@dataclass(frozen=True)
class Col:
    """One table column: header label, width in characters, kind of value.

    kind: "text" (personal or free text, always a text cell), "int", "decimal", "percent", "euro",
    "date", "datetime", "p" (p-value), or "raw" (value written as given; use only for numbers).
    width: at least the header's longest word (`TableSheet` widens it), so headers wrap between words.
    """

    label: str
    width: float = 14
    kind: str = "text"
    align: str | None = None  # "center" for a short number next to text ("1 Erstaussendung", not "1Erst…")
    wrap: bool = False  # long text wraps inside the column (the row grows) instead of being cut off


_KIND_FORMAT = {"int": FMT_INT, "decimal": FMT_DECIMAL, "percent": FMT_PERCENT, "euro": FMT_EURO,
                "date": FMT_DATE, "datetime": FMT_DATETIME, "p": FMT_P_VALUE, "raw": None}


class TableSheet:
    """Writes one table with header to a (write-only) worksheet; its header goes to row `header_row`.

    Creating it sets the column widths (each at least its header's longest word), the frozen panes
    (everything down to the header row), the print orientation and the header row as print title; with
    `print_header` also the whole page setup (`print_sheet`). In write-only mode create it before
    appending anything; then append any title rows above the table
    (exactly `header_row - 1` of them), call `header()`, `row()` per row and `finish()` for the autofilter.
    """

    def __init__(self, ws: Any, columns: Sequence[Col], header_row: int = 1, freeze: bool = True,
                 autofilter: bool = True, print_header: PrintHeader | None = None, top: bool = False) -> None:
        self.ws = ws
        self.columns = list(columns)
        self.widths = fit_widths([c.width for c in self.columns], [c.label for c in self.columns])
        self.autofilter = autofilter
        self.rows = 0
        self.header_row = header_row
        self._formats = [_KIND_FORMAT.get(c.kind) for c in self.columns]
        # top: every cell at the top of its row, which a wrapped column makes taller (small tables only:
        # a style on every cell costs time on big sheets)
        self._wrapped = [i for i, c in enumerate(self.columns) if c.wrap]
        self._aligns = [Alignment(horizontal=c.align, wrap_text=c.wrap or None, vertical="top" if top else None)
                        if c.align or c.wrap or top else None for c in self.columns]
        for c in self.columns:
            if c.kind != "text" and c.kind not in _KIND_FORMAT:
                raise ValueError(f"column {c.label!r}: unknown kind {c.kind!r}")
        set_widths(ws, self.widths)
        if freeze:
            ws.freeze_panes = f"A{header_row + 1}"
        if print_header is not None:
            print_sheet(ws, print_header)
        fit_orientation(ws, sum(self.widths))
        ws.print_title_rows = f"{header_row}:{header_row}"  # the header row on top of every printed page

    def header(self, height: float | None = None) -> None:
        """Write the header row, tall enough for its wrapped labels (in write-only mode: before the row)."""
        labels = [c.label for c in self.columns]
        self.ws.row_dimensions[self.header_row].height = height or header_height(labels, self.widths)
        self.ws.append(header_cells(self.ws, labels))

    def row(self, values: Sequence[Any]) -> None:
        ws = self.ws
        if self._wrapped:  # a row height stored in the file: no spreadsheet program has to guess it
            lines = max(wrapped_lines(str(values[i]), self.widths[i]) if i < len(values) and values[i] else 1
                        for i in self._wrapped)
            if lines > 1:
                ws.row_dimensions[self.header_row + self.rows + 1].height = lines * LINE_PT
        cells: list[Any] = []
        for col, fmt, align, value in zip(self.columns, self._formats, self._aligns, values, strict=False):
            cell: Any
            if value is None:
                cell = None
            elif col.kind == "text" or isinstance(value, str):
                cell = text_cell(ws, value)
            elif fmt is None and align is None:
                cell = value
            else:
                cell = value_cell(ws, value, fmt)
            if align is not None and cell is not None:
                cell.alignment = align
            cells.append(cell)
        ws.append(cells)
        self.rows += 1

    def rows_from(self, rows: Iterable[Sequence[Any]]) -> None:
        for r in rows:
            self.row(r)

    def finish(self) -> str:
        """Set the autofilter over header + rows; returns the range (e.g. "A1:K120")."""
        last_col = get_column_letter(len(self.columns))
        ref = f"A{self.header_row}:{last_col}{self.header_row + max(self.rows, 1)}"
        if self.autofilter:
            self.ws.auto_filter.ref = ref
        return ref


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save `wb` under a temporary name beside `path`, then rename: never a half-written workbook."""
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, path)


def save_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV as German spreadsheets open it (UTF-8 with BOM, `;`), written under a temporary name beside
    `path`, then renamed. The caller makes each value formula-safe (reports.calllist.csv_safe)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)
