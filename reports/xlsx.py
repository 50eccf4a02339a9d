"""Shared openpyxl helpers: text-safe cells, German formats, header styles, table sheets.

Rule: every value that comes from personal or user-supplied data is written as a *text* cell
(`text_cell` / `set_text`): openpyxl turns any str starting with "=" into a formula, and Excel would run
it. Setting ``data_type = "s"`` after the value keeps it a literal string whatever it starts with
(=, +, -, @). Characters that XML cannot hold are dropped, and overlong text is cut to Excel's cell limit.

Number formats are stored locale-neutral in the file ("#,##0.00" → German Excel shows 1.234,56);
dates use an explicit DD.MM.YYYY.

`TableSheet` writes one table (header + rows) to a worksheet, in write-only mode or not: column widths,
frozen header row, autofilter over exactly the written range. The lettershop manifest and call lists use
it as well as the response report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.cell.cell import WriteOnlyCell as _WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

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

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="1F4E78", end_color="1F4E78")
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=11, color="1F4E78")
BOLD = Font(bold=True)
NOTE_FONT = Font(italic=True, color="595959")
WRAP = Alignment(wrap_text=True, vertical="top")


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


def print_landscape(ws: Any, fit_width: bool = True) -> None:
    """Print setup: A4 landscape, all columns on one page width (set before writing rows)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    if fit_width:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0


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
    """

    label: str
    width: float = 14
    kind: str = "text"


_KIND_FORMAT = {"int": FMT_INT, "decimal": FMT_DECIMAL, "percent": FMT_PERCENT, "euro": FMT_EURO,
                "date": FMT_DATE, "datetime": FMT_DATETIME, "p": FMT_P_VALUE, "raw": None}


class TableSheet:
    """Writes one table with header to a (write-only) worksheet; its header goes to row `header_row`.

    Creating it sets the column widths and the frozen panes (everything down to the header row), so in
    write-only mode create it before appending anything; then append any title rows above the table
    (exactly `header_row - 1` of them), call `header()`, `row()` per row and `finish()` for the autofilter.
    """

    def __init__(self, ws: Any, columns: Sequence[Col], header_row: int = 1, freeze: bool = True,
                 autofilter: bool = True) -> None:
        self.ws = ws
        self.columns = list(columns)
        self.autofilter = autofilter
        self.rows = 0
        self.header_row = header_row
        self._formats = [_KIND_FORMAT.get(c.kind) for c in self.columns]
        for c in self.columns:
            if c.kind != "text" and c.kind not in _KIND_FORMAT:
                raise ValueError(f"column {c.label!r}: unknown kind {c.kind!r}")
        set_widths(ws, [c.width for c in self.columns])
        if freeze:
            ws.freeze_panes = f"A{header_row + 1}"

    def header(self, height: float = 30) -> None:
        """Write the header row (taller, so wrapped labels show; in write-only mode set before the row)."""
        self.ws.row_dimensions[self.header_row].height = height
        self.ws.append(header_cells(self.ws, [c.label for c in self.columns]))

    def row(self, values: Sequence[Any]) -> None:
        ws = self.ws
        cells: list[Any] = []
        for col, fmt, value in zip(self.columns, self._formats, values, strict=False):
            if value is None:
                cells.append(None)
            elif col.kind == "text" or isinstance(value, str):
                cells.append(text_cell(ws, value))
            elif fmt is None:
                cells.append(value)
            else:
                cells.append(value_cell(ws, value, fmt))
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
