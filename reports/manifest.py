"""The lettershop manifest as an Excel workbook (openpyxl, write-only for speed).

Every cell that comes from imported data (customer id, postal code) is written as text through
`reports.xlsx.text_cell`, so a customer id like "=1+2" or "0049" stays exactly what it was: no formula, no lost
leading zero. Values the program made itself (file, code, variant, Leitregion, country, numbers) go in plain,
which is three times cheaper per cell.

The bytes are reproducible: the workbook's dates and every zip entry's time are the wave's production
time (`created`), so a reprint writes the same file.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from reports.xlsx import text_cell

OWN_COLUMNS = frozenset({"file", "page", "code", "wave", "variant", "leitregion", "batch", "seq", "country"})
FORMULA_START = ("=", "+", "-", "@")


def _plain(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and not value.startswith(FORMULA_START))


def manifest_xlsx_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str = "Manifest",
                        created: datetime | None = None) -> bytes:
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
    return buf.getvalue() if created is None else reproducible_xlsx(buf.getvalue(), created)


_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def reproducible_xlsx(data: bytes, when: datetime) -> bytes:
    """The workbook with its created/modified dates and every zip entry's time set to `when` (naive UTC)."""
    stamp = when.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()
