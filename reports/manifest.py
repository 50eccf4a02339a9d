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
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Font

from reports.xlsx import text_cell

OWN_COLUMNS = frozenset({"file", "page", "code", "wave", "variant", "leitregion", "batch", "seq", "country"})
FORMULA_START = ("=", "+", "-", "@")


def _plain(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and not value.startswith(FORMULA_START))


def _workbook(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], title: str) -> Workbook:
    """The write-only workbook (openpyxl streams its rows to a temporary file as they are appended)."""
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
    return wb


def manifest_xlsx_bytes(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], title: str = "Manifest",
                        created: datetime | None = None) -> bytes:
    buf = io.BytesIO()
    _workbook(rows, columns, title).save(buf)
    return buf.getvalue() if created is None else reproducible_xlsx(buf.getvalue(), created)


def write_manifest_xlsx(path: str | Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str],
                        title: str = "Manifest", created: datetime | None = None) -> None:
    """The bytes `manifest_xlsx_bytes` gives, written to `path` without ever holding the workbook (or one of
    its parts) in memory: rows, workbook and the reproducible copy are all streamed through files."""
    target = Path(path)
    wb = _workbook(rows, columns, title)
    if created is None:
        wb.save(str(target))
        return
    fd, raw = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        wb.save(raw)
        with open(raw, "rb") as src, target.open("wb") as dst:
            _rezip(src, dst, created)
    finally:
        Path(raw).unlink(missing_ok=True)


_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def reproducible_xlsx(data: bytes, when: datetime) -> bytes:
    """The workbook with its created/modified dates and every zip entry's time set to `when` (naive UTC)."""
    out = io.BytesIO()
    _rezip(io.BytesIO(data), out, when)
    return out.getvalue()


def _rezip(source: BinaryIO, target: BinaryIO, when: datetime) -> None:
    """`reproducible_xlsx` from one file to another, entry by entry in pieces of 1 MiB (the same bytes as
    compressing each entry at once: deflate's output does not depend on how its input is split)."""
    stamp = when.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            if info.filename == "docProps/core.xml":
                dst.writestr(entry, _CORE_DATES.sub(rb"\g<1>" + stamp + rb"\g<2>", src.read(info)))
                continue
            with src.open(info) as fin, dst.open(entry, "w") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
