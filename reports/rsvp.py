"""The RSVP list of an event invitation: `mailing.rsvp.Rsvp` → XLSX (for people) and CSV (for the venue).

`write_rsvp_list(rsvp, xlsx_path, csv_path, campaign)` writes both files atomically (temporary file, then
rename). One row per reply: name, customer id, persons, the date(s) chosen, when it arrived, contact, a
note where the reply needs a second look; below the table the totals (persons, and persons per date).

Formula-safe as the call list (reports/calllist.py): in the XLSX every personal value is a text cell; the
CSV (semicolon, UTF-8 with BOM, dates DD.MM.YYYY, as German Excel reads it) prefixes a value a spreadsheet
would read as a formula with an apostrophe (`csv_safe`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mailing.rsvp import Rsvp, RsvpRow
from reports.calllist import csv_safe, german_date
from reports.wording import SALUTATIONS, german_label
from reports.xlsx import (
    BOLD,
    Col,
    PrintHeader,
    TableSheet,
    new_workbook,
    save_csv,
    save_workbook,
    text_cell,
    value_cell,
)

COLUMNS = (
    Col("Name", 28), Col("Firma", 24), Col("Kundennummer", 14), Col("Personen", 10, "int"), Col("Termin", 16),
    Col("Antwort vom", 11, "date"), Col("Telefon", 18), Col("E-Mail", 28), Col("PLZ", 9), Col("Ort", 18),
    Col("Code", 16), Col("Hinweis", 40, wrap=True),
)


def person_name(r: RsvpRow) -> str:
    words = [german_label(SALUTATIONS, r.salutation) if r.salutation in ("female", "male") else "", r.title or "",
             r.first_name or "", r.last_name or ""]
    return " ".join(w for w in words if w) or (r.company or "")


def grouped_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def rsvp_values(r: RsvpRow) -> list[object]:
    return [person_name(r), r.company, r.customer_id, r.persons, ", ".join(r.choices), r.received_on, r.phone,
            r.email, r.postal_code, r.city, grouped_code(r.code), r.note]


def write_rsvp_list(rsvp: Rsvp, xlsx_path: str | Path, csv_path: str | Path, campaign: str = "") -> int:
    """Write the RSVP list to both files; returns the number of rows."""
    xlsx_path, csv_path = Path(xlsx_path), Path(csv_path)
    for p in (xlsx_path, csv_path):
        p.parent.mkdir(parents=True, exist_ok=True)
    wb = new_workbook(write_only=False)
    ws = wb.create_sheet("Anmeldungen")
    table = TableSheet(ws, COLUMNS, print_header=PrintHeader("Anmeldungen", campaign), top=True)
    table.header()
    for r in rsvp.rows:
        table.row(rsvp_values(r))
    if not rsvp.rows:
        ws.append([text_cell(ws, "Noch keine Anmeldungen.")])
    table.finish()
    ws.append([])
    for label, n in totals(rsvp):
        ws.append([text_cell(ws, label, BOLD), None, None, value_cell(ws, n, "#,##0", BOLD)])
    save_workbook(wb, xlsx_path)
    save_csv(csv_path, [c.label for c in COLUMNS], ([_csv(v) for v in rsvp_values(r)] for r in rsvp.rows))
    return len(rsvp.rows)


def _csv(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return german_date(value)
    return csv_safe(str(value))


def totals(rsvp: Rsvp) -> list[tuple[str, int]]:
    """The summary lines: persons in all, per date, replies, replies still in review."""
    out = [("Personen gesamt", rsvp.persons)]
    out += [(f"Personen am {choice}", n) for choice, n in rsvp.by_choice.items()]
    out += [("Anmeldungen (Antworten mit Personenzahl)", rsvp.replies)]
    if rsvp.in_review:
        out.append(("Davon mit unklaren Kreuzen (in Prüfung)", rsvp.in_review))
    return out
