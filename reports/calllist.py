"""Call lists: who ticked "please call me", as XLSX (for people) and CSV (for dialers and CRMs).

`write_call_list(rows, xlsx_path, csv_path)` takes `CallListRow`s (built by the follow-up rules) and
writes both files atomically (temporary file, then rename).

XLSX: every personal value is a text cell (never a formula); it prints on A4 landscape, all columns on one
page width, the header row on every page, with "Anrufliste: <campaign>" and "Seite X von Y" (see
`reports.xlsx.print_sheet`); "Angerufen am" and "Ergebnis" stay empty for notes by hand. Where the coupon
carried the telephone write-in line, the picture of what was written there (cropped by the scanner) is
embedded in the row's "Telefon handschriftlich" cell, so the call centre needs no other screen; the CSV
cannot hold a picture and says in that column that it is in the XLSX. CSV: semicolon-separated, UTF-8 with BOM,
dates DD.MM.YYYY, as German Excel reads it. A CSV has no cell types, so a value that starts with
= + - @ (or a tab/CR) and contains anything besides digits, spaces and + - / ( ) . is prefixed with an
apostrophe (OWASP "CSV injection" advice); a phone number like "+49 171 2345678" stays unchanged, since it
cannot call a function and dialers must read it as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from reports.xlsx import Col, PrintHeader, TableSheet, new_workbook, save_csv, save_workbook, text_cell

PICTURE_LABEL = "Telefon handschriftlich"
PICTURE_COL = 8  # 0-based: after "Ort", before the columns for notes by hand
PICTURE_WIDTH_CHARS = 40
PICTURE_WIDTH_PX = 270  # shown size (the full picture is embedded: zooming in shows every stroke)
PICTURE_PAD_PT = 4.0
COLUMNS = (
    Col("Name", 28), Col("Kundennummer", 14), Col("Telefon", 18), Col("E-Mail", 28),
    Col("Gewünschte Optionen", 40, wrap=True), Col("Antwort vom", 11, "date"), Col("PLZ", 9), Col("Ort", 18),
    Col(PICTURE_LABEL, PICTURE_WIDTH_CHARS), Col("Angerufen am", 13), Col("Ergebnis", 30),
    Col("Einwilligung vom", 13, "date"), Col("Einwilligung über", 30, wrap=True),  # UWG §7: the call's consent
)
CONSENT_COLUMNS = COLUMNS[-2:]  # also at the end of the CSV
CSV_COLUMNS = 9  # up to and including the picture column
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
    phone_picture: bytes = b""  # JPEG or PNG of the telephone line on the coupon (scans.phone_snippet)
    consent_on: date | None = None  # the explicit consent to the call: the day it arrived ...
    consent_via: str = ""  # ... its channel and where it is on record (mailing.consent)


def csv_safe(value: str) -> str:
    """The value, with an apostrophe in front when a spreadsheet would read it as a formula."""
    if value.startswith(_FORMULA_START) and not _HARMLESS.fullmatch(value):
        return "'" + value
    return value


def german_date(d: date | None) -> str:
    return d.strftime("%d.%m.%Y") if d else ""


def _values(r: CallListRow) -> list[object]:
    return [r.name, r.customer_id, r.phone, r.email, r.options, r.responded_on, r.postal_code, r.city, None, None,
            None, r.consent_on, r.consent_via]


def _picture(data: bytes) -> Any:
    """The picture as an openpyxl image shown PICTURE_WIDTH_PX wide, or None when it cannot be read."""
    from openpyxl.drawing.image import Image as XlImage
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    pic = XlImage(BytesIO(data))
    pic.width, pic.height = PICTURE_WIDTH_PX, max(1, round(PICTURE_WIDTH_PX * h / max(w, 1)))
    return pic


def picture_note(xlsx_name: str, row: int) -> str:
    """What the CSV says where the XLSX holds the picture."""
    return f"Bild in {xlsx_name}, Zeile {row}"


def write_call_list(rows: Iterable[CallListRow], xlsx_path: str | Path, csv_path: str | Path,
                    campaign: str = "") -> int:
    """Write the call list to both files; returns the number of rows. `campaign` (its title) goes into the
    printed page header."""
    rows = list(rows)
    xlsx_path, csv_path = Path(xlsx_path), Path(csv_path)

    # a normal (not write-only) workbook: the pictures are anchored and the rows sized after writing them;
    # a call list is small
    wb = new_workbook(write_only=False)
    ws = wb.create_sheet("Anrufliste")
    table = TableSheet(ws, COLUMNS, print_header=PrintHeader("Anrufliste", campaign), top=True)
    table.header()
    pictured: dict[int, int] = {}  # index in rows → sheet row with its picture
    for i, r in enumerate(rows):
        table.row(_values(r))
        pic = _picture(r.phone_picture) if r.phone_picture else None
        if pic is not None:
            at = table.header_row + table.rows
            ws.add_image(pic, f"{get_column_letter(PICTURE_COL + 1)}{at}")
            height = pic.height * 0.75 + PICTURE_PAD_PT  # px at 96 dpi → pt
            ws.row_dimensions[at].height = max(ws.row_dimensions[at].height or 0, height)
            pictured[i] = at
    if not rows:
        ws.append([text_cell(ws, "Niemand möchte angerufen werden.")])
    table.finish()
    save_workbook(wb, xlsx_path)
    save_csv(csv_path, [c.label for c in (*COLUMNS[:CSV_COLUMNS], *CONSENT_COLUMNS)], (
        [csv_safe(r.name), csv_safe(r.customer_id), csv_safe(r.phone), csv_safe(r.email), csv_safe(r.options),
         german_date(r.responded_on), csv_safe(r.postal_code), csv_safe(r.city),
         csv_safe(picture_note(xlsx_path.name, pictured[i]) if i in pictured else ""), german_date(r.consent_on),
         csv_safe(r.consent_via)]
        for i, r in enumerate(rows)))
    return len(rows)
