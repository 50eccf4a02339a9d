"""The lettershop manifest as an Excel workbook (openpyxl, write-only for speed).

Every cell that comes from imported data is written as text (data type "s", number format "@"), so a
customer id like "=1+2" or "0049" stays exactly what it was: no formula, no lost leading zero.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

NUMERIC_COLUMNS = frozenset({"page", "wave", "batch", "seq"})  # numbers we made ourselves


def manifest_xlsx_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str = "Manifest") -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Manifest")
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        out: list[Any] = []
        for name in columns:
            value = row.get(name)
            if name in NUMERIC_COLUMNS and isinstance(value, int):
                out.append(value)
                continue
            cell = WriteOnlyCell(ws, value="" if value is None else str(value))
            cell.data_type = "s"  # text, never a formula
            cell.number_format = "@"
            out.append(cell)
        ws.append(out)
    wb.properties.title = title
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
