"""Tabular files → rows of strings: the generic CSV/XLSX reader behind recipient and suppression imports.

`read_table(path)` streams a file as lists of strings, the first being the header:
- CSV: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode-Text"), else Windows-1252; the
  delimiter (`;`, `,` or tab) is the one the header line uses most. A file whose header uses one delimiter
  and whose rows another (header `;`, rows `,`) is refused with one error naming both, instead of every
  row failing for a missing column.
- XLSX: the first worksheet or a named one, read-only; numbers and dates become text as a person reads them.

`content_sha256(path)` is the file's content hash (an import remembers it, so a file imported before is
recognised under any name).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mailing.errors import InputError

DELIMITERS = (";", ",", "\t")
_DELIMITER_NAMES = {";": "';'", ",": "','", "\t": "tab"}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
RESAVE_HINT = "save it again from Excel as 'CSV UTF-8 (comma delimited)' or as .xlsx"


def content_sha256(path: str | Path) -> str:
    """SHA-256 of the file's bytes (streamed)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """utf-16 (with BOM), utf-8-sig when the whole file decodes as UTF-8 (streamed check), else cp1252."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(_UTF16_BOMS):
            return "utf-16"
        if b"\x00" in head:
            raise InputError(path, f"the file holds NUL bytes (UTF-16 without a byte-order mark?); {RESAVE_HINT}")
        fh.seek(0)
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def cell_text(value: Any) -> str:
    """A spreadsheet cell as a person reads it: 10115.0 → "10115", True → "1", a date → ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _check_delimiters(path: Path, delimiter: str, header: list[str], row_number: int, row: list[str]) -> None:
    """A header split into columns by `delimiter` but a data row that only another delimiter splits."""
    if len(header) < 2 or len(row) != 1:
        return
    others = [d for d in DELIMITERS if d != delimiter and row[0].count(d) >= 1]
    if others:
        other = max(others, key=lambda d: row[0].count(d))
        raise InputError(path, f"the header is separated by {_DELIMITER_NAMES[delimiter]} but the rows by "
                               f"{_DELIMITER_NAMES[other]}; use one delimiter for the whole file ({RESAVE_HINT})",
                         row=row_number)


def _read_csv(path: Path) -> Iterator[list[str]]:
    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        first = fh.readline()
        counts = {d: first.count(d) for d in DELIMITERS}
        delimiter = max(counts, key=lambda d: counts[d])
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delimiter)
        header: list[str] | None = None
        checked = False
        try:
            for row in reader:
                if header is None:
                    if any(c.strip() for c in row):
                        header = row
                elif not checked and any(c.strip() for c in row):
                    _check_delimiters(path, delimiter, header, reader.line_num, row)
                    checked = True
                yield row
        except csv.Error as exc:
            raise InputError(path, f"not a readable CSV file ({exc}); export it again as CSV or XLSX",
                             row=reader.line_num) from exc


def _read_xlsx(path: Path, sheet: str | None) -> Iterator[list[str]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(path, f"cannot read this workbook ({exc.__class__.__name__}); "
                               "save it again as .xlsx or export it as CSV") from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(path, f"no sheet named {sheet!r}; the workbook has: {', '.join(wb.sheetnames)}")
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        for values in ws.iter_rows(values_only=True):
            yield [cell_text(v) for v in values]
    finally:
        wb.close()


def read_table(path: str | Path, sheet: str | None = None) -> Iterator[list[str]]:
    """The file's rows as lists of strings (first = header), streamed. CSV or XLSX by extension."""
    p = Path(path)
    if p.is_dir():
        raise InputError(p, "this is a folder; name a CSV or XLSX file")
    if not p.is_file():
        raise InputError(p, "no such file")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(p, sheet)
    if suffix == ".xls":
        raise InputError(p, "old Excel .xls files are not read; save it as .xlsx or CSV")
    if sheet is not None:
        raise InputError(p, "--sheet applies to XLSX workbooks only")
    return _read_csv(p)
