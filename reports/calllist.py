"""Call lists: who ticked "please call me", as XLSX (for people) and CSV (for dialers and CRMs).

`write_call_list(rows, xlsx_path, csv_path)` takes `CallListRow`s (built by the follow-up rules) and
writes both files atomically (temporary file, then rename).

XLSX: every personal value is a text cell (never a formula); it prints on A4 landscape, all columns on one
page width, the header row on every page, with "Anrufliste: <campaign>" and "Seite X von Y" (see
`reports.xlsx.print_sheet`); "Angerufen am" and "Ergebnis" stay empty for notes by hand. CSV: semicolon-separated, UTF-8 with BOM,
dates DD.MM.YYYY, as German Excel reads it. A CSV has no cell types, so a value that starts with
= + - @ (or a tab/CR) and contains anything besides digits, spaces and + - / ( ) . is prefixed with an
apostrophe (OWASP "CSV injection" advice); a phone number like "+49 171 2345678" stays unchanged, since it
cannot call a function and dialers must read it as is.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reports.xlsx import Col, PrintHeader, TableSheet, new_workbook, text_cell

COLUMNS = (
    Col("Name", 28), Col("Kundennummer", 14), Col("Telefon", 18), Col("E-Mail", 28),
    Col("Gewünschte Optionen", 40, wrap=True), Col("Antwort vom", 11, "date"), Col("PLZ", 9), Col("Ort", 18),
    Col("Angerufen am", 13), Col("Ergebnis", 30),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HARMLESS = re.compile(r"[\d\s+\-/().]*")


@dataclass(frozen=True)
class CallListRow:
    """One person to call back."""

    name: str
    customer_id: str = ""
    phone: str = ""
    email: str = ""
    options: str = ""  # the ticked options' labels, comma-separated
    responded_on: date | None = None
    postal_code: str = ""
    city: str = ""


def csv_safe(value: str) -> str:
    """The value, with an apostrophe in front when a spreadsheet would read it as a formula."""
    if value.startswith(_FORMULA_START) and not _HARMLESS.fullmatch(value):
        return "'" + value
    return value


def german_date(d: date | None) -> str:
    return d.strftime("%d.%m.%Y") if d else ""


def _values(r: CallListRow) -> list[object]:
    return [r.name, r.customer_id, r.phone, r.email, r.options, r.responded_on, r.postal_code, r.city, None, None]


def write_call_list(rows: Iterable[CallListRow], xlsx_path: str | Path, csv_path: str | Path,
                    campaign: str = "") -> int:
    """Write the call list to both files; returns the number of rows. `campaign` (its title) goes into the
    printed page header."""
    rows = list(rows)
    xlsx_path, csv_path = Path(xlsx_path), Path(csv_path)

    wb = new_workbook(write_only=True)
    ws = wb.create_sheet("Anrufliste")
    table = TableSheet(ws, COLUMNS, print_header=PrintHeader("Anrufliste", campaign), top=True)
    table.header()
    for r in rows:
        table.row(_values(r))
    if not rows:
        ws.append([text_cell(ws, "Niemand möchte angerufen werden.")])
    table.finish()
    tmp = xlsx_path.with_name(xlsx_path.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, xlsx_path)

    tmp = csv_path.with_name(csv_path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([c.label for c in COLUMNS[:8]])
        for r in rows:
            writer.writerow([csv_safe(r.name), csv_safe(r.customer_id), csv_safe(r.phone), csv_safe(r.email),
                             csv_safe(r.options), german_date(r.responded_on), csv_safe(r.postal_code),
                             csv_safe(r.city)])
    os.replace(tmp, csv_path)
    return len(rows)
