"""The lettershop manifest as an Excel workbook (openpyxl, write-only for speed).

Every cell that comes from imported data (customer id, postal code) is written as text through
`reports.xlsx.text_cell`, so a customer id like "=1+2" or "0049" stays exactly what it was: no formula, no lost
leading zero. Values the program made itself (file, code, variant, Leitregion, country, numbers) go in plain,
which is three times cheaper per cell.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from reports.xlsx import text_cell

OWN_COLUMNS = frozenset({"file", "page", "code", "wave", "variant", "leitregion", "batch", "seq", "country"})
FORMULA_START = ("=", "+", "-", "@")


def _plain(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and not value.startswith(FORMULA_START))


def manifest_xlsx_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str = "Manifest") -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Manifest")
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    ws.append([text_cell(ws, name, bold) for name in columns])
    own = [name in OWN_COLUMNS for name in columns]
    for row in rows:
        values = [row.get(name) for name in columns]
        ws.append([v if mine and _plain(v) else text_cell(ws, "" if v is None else v)
                   for v, mine in zip(values, own, strict=True)])
    wb.properties.title = title
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
