"""Recipient import: a CSV or XLSX list → validated rows in the store (one transaction).

Stages: `tabular.read_table` (file → header + rows of strings, streamed) → `resolve_columns`
(German/English headers and the campaign's `[import.columns]` → target fields) → `parse_row` (one row → a
recipients record, or the reasons it is bad) → chunked inserts → `_remove_already_present` (a record
already in the campaign is never added again) → `dedupe.apply` (likely duplicates among the new records)
→ one `imports` row (with the file's SHA-256) and an audit entry.

Already present: a new record is the same as one in the campaign when both carry a customer id and the
ids are equal, or, when either has none, when surname/company, address and first name are equal after
normalising. Such a record is removed again in the same transaction (never committed, never mailed),
counted and named (`ImportSummary.already_present_rows`); the earlier record is kept as it is. A file
imported before (same content hash) is named (`ImportSummary.earlier_import`).

Erased persons: a row that matches the keyed hash `person erase` left on the suppression list is not
stored at all (only counted, `ImportSummary.erased`), so the person is never mailed and no byte of them
comes back into the store.

All-or-nothing by default: any bad row rolls the whole import back; every bad row is logged as a warning
(file, row, column, reason) and the first one is raised as an InputError. With `skip_invalid` the good rows
are imported and the bad ones written to `<stem>.rejected.csv` beside the input with their reasons; a file
with no valid row at all is refused. Values starting with `=`, `+`, `-`, `@` are stored exactly as given
(never evaluated).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from mailing import dedupe
from mailing.campaigns import load
from mailing.errors import InputError
from mailing.log import get_logger
from mailing.normalise import (
    country_code,
    fold,
    match_key,
    parse_postbox,
    postal_code,
    salutation_value,
    split_street,
)
from mailing.store import Store, audit, imports, in_chunks, new_id, recipient_segments, recipients
from mailing.tabular import content_sha256, read_table

log = get_logger(__name__)

CHUNK_ROWS = 1000  # rows per INSERT: bounded memory, few round trips
MAX_WARNINGS = 200  # bad rows named one by one in the log; beyond that only counted
FIX_HINT = "fix the row or use --skip-invalid"

# Folded header (see normalise.fold) → target field. The campaign's [import.columns] comes first.
HEADER_ALIASES: dict[str, str] = {}
for _target, _names in {
    "salutation": ("anrede", "salutation", "gender", "geschlecht", "sex", "anredeform"),
    "title": ("titel", "title", "akadtitel", "akademischertitel", "akadgrad", "grad"),
    "first_name": ("vorname", "vornamen", "firstname", "first", "givenname", "forename"),
    "last_name": ("nachname", "name", "lastname", "last", "surname", "familienname", "zuname", "name1"),
    "company": ("firma", "company", "unternehmen", "firmenname", "organisation", "organization", "companyname",
                "firmierung"),
    "addition": ("zusatz", "adresszusatz", "anschriftzusatz", "addition", "addressaddition", "address2",
                 "addressline2", "abteilung", "department", "co", "bei"),
    "street": ("strasse", "str", "street", "strassenname", "streetname"),
    "house_number": ("hausnummer", "hausnr", "nr", "housenumber", "houseno", "number", "hnr", "streetnumber"),
    "street_and_number": ("strasseundhausnummer", "strassehausnummer", "strassenr", "strasseundnr", "anschrift",
                          "adresse", "address", "addressline1", "streetaddress", "streetandnumber"),
    "postbox": ("postfach", "postbox", "pobox", "pf"),
    "postal_code": ("plz", "postleitzahl", "postalcode", "zip", "zipcode", "postcode"),
    "city": ("ort", "stadt", "city", "wohnort", "town", "place", "ortsname"),
    "country": ("land", "country", "staat", "countrycode", "laenderkennzeichen", "lkz", "laendercode"),
    "customer_id": ("kundennummer", "kundennr", "kdnr", "kundenid", "customerid", "customerno",
                    "customernumber", "id"),
    "email": ("email", "mail", "emailadresse", "emailaddress", "mailadresse"),
    "phone": ("telefon", "tel", "phone", "telefonnummer", "telephone", "phonenumber", "festnetz", "mobil"),
    "address_override": ("addressoverride", "anschriftmanuell", "adressblock", "anschriftsblock"),
    "salutation_override": ("salutationoverride", "briefanrede", "anredezeile", "greeting", "anredemanuell"),
}.items():
    for _name in _names:
        HEADER_ALIASES[_name] = _target

# Stored column → max length (from the schema), so PostgreSQL never rejects what SQLite accepted.
_MAX_LEN: dict[str, int] = {
    c.name: int(getattr(c.type, "length")) for c in recipients.columns if getattr(c.type, "length", None)  # noqa: B009
}


@dataclass(frozen=True)
class EarlierImport:
    """An earlier import of the same file content into the same campaign."""

    source_file: str
    at: datetime


@dataclass(frozen=True)
class ImportSummary:
    source_file: str
    rows: int  # data rows read (blank rows not counted)
    imported: int
    rejected: int
    duplicates: int  # likely (or exact, other customer id) duplicates among the imported records
    merged: int
    import_id: int | None
    rejects_file: str | None
    already_present: int = 0  # rows not added: the record is already in the campaign
    already_present_rows: tuple[int, ...] = field(default=(), repr=False)  # their row numbers (header = 1)
    earlier_import: EarlierImport | None = None  # the same file (content hash) imported before
    erased: int = 0  # rows not stored: persons erased from the store (their keyed hash is suppressed)
    suppressed: int = 0  # `--from`: people not added because the suppression list holds them


# ----------------------------------------------------------------------------------------- columns
def resolve_columns(path: Path, header: list[str], mapping: Mapping[str, str] | None = None) -> dict[str, int]:
    """target field → column index. Unknown headers are ignored (logged); a target twice is an error."""
    explicit = {fold(k): v for k, v in (mapping or {}).items()}
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        key = fold(name)
        if not key:
            continue
        target = explicit.get(key) or HEADER_ALIASES.get(key)
        if target is None:
            log.debug("%s: column %r is not used", path, name)
            continue
        if target == "ignore":
            continue
        if target in columns:
            raise InputError(path, f"columns {header[columns[target]]!r} and {name!r} both mean {target}; "
                                   "rename one or map it in the campaign's [import.columns]", row=1)
        columns[target] = i
    return columns


def _require(path: Path, header: list[str], columns: dict[str, int], groups: list[tuple[str, ...]]) -> None:
    """Every group needs one of its fields; a missing one is named by the German header word."""
    missing = []
    for group in groups:
        if not any(t in columns for t in group):
            words = list(dict.fromkeys(_LABELS.get(t, t) for t in group))
            missing.append(" or ".join(words))
    if missing:
        found = ", ".join(h for h in header if h.strip()) or "nothing"
        raise InputError(path, f"missing required column(s): {'; '.join(missing)} (found: {found}); rename "
                               "the headers or map them in the campaign's [import.columns]", row=1)


_REQUIRED = [("last_name", "company"), ("street", "street_and_number", "postbox"), ("postal_code",), ("city",)]
_LABELS = {"last_name": "Nachname", "company": "Firma", "street": "Straße", "street_and_number": "Straße",
           "postbox": "Postfach", "postal_code": "PLZ", "city": "Ort", "country": "Land",
           "salutation": "Anrede", "house_number": "Hausnummer", "customer_id": "Kundennummer",
           "address_override": "address_override"}


def segment_columns(path: Path, header: list[str], segments: tuple[str, ...]) -> dict[str, int]:
    """The campaign's `[import] segments` → column index (headers compared folded: case, umlauts,
    spaces). A named column missing from the file refuses the import."""
    folded = {fold(h): i for i, h in reversed(list(enumerate(header))) if fold(h)}
    found: dict[str, int] = {}
    missing = []
    for name in segments:
        i = folded.get(fold(name))
        if i is None:
            missing.append(name)
        else:
            found[name] = i
    if missing:
        raise InputError(path, f"segment column(s) {', '.join(repr(m) for m in missing)} named in the campaign's "
                               f"[import] segments are not in the file (found: {', '.join(h for h in header if h)}); "
                               "rename the header or change the campaign file", row=1)
    return found


def _store_segments(conn: Connection, import_id: int, values: dict[int, dict[str, str]]) -> None:
    """Segment values by source row → recipient_segments rows for this import's records still present."""
    if not values:
        return
    rows: list[dict[str, Any]] = []
    for rid, source_row in conn.execute(select(recipients.c.id, recipients.c.source_row)
                                        .where(recipients.c.import_id == import_id)):
        for key, value in values.get(int(source_row), {}).items():
            rows.append({"recipient_id": int(rid), "key": key, "value": value or None})
        if len(rows) >= CHUNK_ROWS:
            conn.execute(insert(recipient_segments), rows)
            rows = []
    if rows:
        conn.execute(insert(recipient_segments), rows)


# ----------------------------------------------------------------------------------------- one row
_NORMALISED = frozenset(("salutation", "country", "postal_code", "postbox"))  # length checked after parsing

class RowProblem(Exception):
    """A bad value in one row (internal; becomes an InputError or a reject line)."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(reason)
        self.target, self.reason = target, reason


def _values(row: list[str], columns: dict[str, int]) -> dict[str, str]:
    out = {}
    for target, i in columns.items():
        value = row[i] if i < len(row) else ""
        out[target] = value.strip()
    return out


def _address(v: dict[str, str]) -> dict[str, str | None]:
    """street / house_number / postbox from the separate, joined or Postfach forms."""
    street, number = v.get("street", ""), v.get("house_number", "")
    joined = v.get("street_and_number", "")
    postbox_raw = v.get("postbox", "")
    postbox = None
    if postbox_raw:
        postbox = parse_postbox(postbox_raw) or (postbox_raw.replace(" ", "") if postbox_raw.replace(" ", "")
                                                  .isdigit() else None)
        if postbox is None:
            raise RowProblem("postbox", f"{postbox_raw!r} is not a Postfach number (digits, e.g. 12 34 56)")
    for candidate in (street, joined):
        box = parse_postbox(candidate)
        if box:
            postbox, street, joined = box, "", ""
    if joined and not street:
        street, split_number = split_street(joined)
        number = number or split_number
    elif street and not number:
        street, number = split_street(street)
    if postbox:
        return {"street": None, "house_number": None, "postbox": postbox}
    if not street:
        raise RowProblem("street", "street is empty (give a street and house number or a Postfach)")
    return {"street": street, "house_number": number or None, "postbox": None}


def parse_row(v: dict[str, str]) -> dict[str, Any]:
    """Raw strings by target → a recipients record (without campaign/import ids). Raises RowProblem."""
    for target, value in v.items():
        limit = None if target in _NORMALISED else _MAX_LEN.get(target)
        if limit and len(value) > limit:
            raise RowProblem(target, f"value is longer than {limit} characters")
    first, last, company = v.get("first_name", ""), v.get("last_name", ""), v.get("company", "")
    if not last and not company:
        raise RowProblem("last_name", "neither a surname nor a company is given")
    raw_salutation = v.get("salutation", "")
    salutation = salutation_value(raw_salutation)
    if salutation is None:
        raise RowProblem("salutation", f"unknown salutation {raw_salutation!r} (allowed: Frau, Herr, divers, "
                                       "Firma, empty; or female, male, none, company)")
    if not last and not first:
        salutation = "company"
    elif salutation == "company" and not company:
        salutation = "none"
    country = country_code(v.get("country"))
    if country is None:
        raise RowProblem("country", f"unknown country {v.get('country')!r}; write a country name or an ISO "
                                    "code such as DE, AT, CH, NL")
    address = _address(v)
    plz, reason = postal_code(v.get("postal_code"), country)
    if plz is None:
        if country == "DE" and v.get("postal_code", "").isdigit() and len(v.get("postal_code", "")) == 4:
            reason += "; a leading zero lost in Excel? write e.g. 01067"
        raise RowProblem("postal_code", reason)
    city = v.get("city", "")
    if not city:
        raise RowProblem("city", "city is empty")
    override = v.get("address_override", "").replace("\\n", "\n")
    if override and len([line for line in override.splitlines() if line.strip()]) > 6:
        raise RowProblem("address_override", "an address block has at most 6 lines")
    rec: dict[str, Any] = {
        "salutation": salutation, "title": v.get("title") or None, "first_name": first or None,
        "last_name": last or None, "company": company or None, "addition": v.get("addition") or None,
        **address, "postal_code": plz, "city": city, "country": country,
        "customer_id": v.get("customer_id") or None, "email": v.get("email") or None,
        "phone": v.get("phone") or None, "address_override": override or None,
        "salutation_override": v.get("salutation_override") or None,
    }
    rec["match_key"] = match_key(last, company, rec["street"], rec["house_number"], rec["postbox"], plz, country)
    return rec


# ----------------------------------------------------------------------------------------- rejects
def _safe_cell(value: str) -> str:
    """Rejects file is opened in Excel: neutralise formula starters (OWASP: prefix with ')."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


class _Rejects:
    def __init__(self, path: Path, header: list[str]) -> None:
        self.path, self.header, self.count = path, header, 0
        self._fh: Any = None
        self._writer: Any = None

    def add(self, row_number: int, column: str, reason: str, row: list[str]) -> None:
        if self._writer is None:
            self._fh = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh, delimiter=";")
            self._writer.writerow(["row", "column", "reason", *self.header])
        self._writer.writerow([row_number, column, reason, *(_safe_cell(c) for c in row)])
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


# ----------------------------------------------------------------------------------------- import
def _label(header: list[str], columns: dict[str, int], target: str) -> str:
    if target in columns:
        return header[columns[target]]
    for alt in ("street_and_number", "street", "postbox", "company"):
        if target in ("street", "last_name") and alt in columns:
            return header[columns[alt]]
    return _LABELS.get(target, target)


def _rows(path: Path, sheet: str | None, mapping: Mapping[str, str] | None,
          required: list[tuple[str, ...]]) -> tuple[list[str], dict[str, int], Iterator[tuple[int, list[str]]]]:
    table = read_table(path, sheet)
    header: list[str] | None = None
    for header_row in table:
        if any(c.strip() for c in header_row):
            header = header_row
            break
    if header is None:
        raise InputError(path, "the file is empty; expected a header row and at least one data row")
    header = [h.strip().lstrip("\ufeff") for h in header]
    columns = resolve_columns(path, header, mapping)
    _require(path, header, columns, required)

    def numbered() -> Iterator[tuple[int, list[str]]]:
        for n, row in enumerate(table, start=2):  # header = row 1
            if any(c.strip() for c in row):
                yield n, row

    return header, columns, numbered()


def import_recipients(store: Store, campaign_name: str, path: str | Path, sheet: str | None = None,
                      skip_invalid: bool = False) -> ImportSummary:
    """Import a recipient list into the campaign (one transaction): new records only, deduplicate, record
    the run with the file's content hash."""
    p = Path(path)
    with store.begin() as conn:
        campaign_id, campaign = load(conn, campaign_name)
        header, columns, rows = _rows(p, sheet, campaign.column_mapping, _REQUIRED)
        seg_columns = segment_columns(p, header, campaign.segments)
        digest = content_sha256(p)
        earlier = conn.execute(
            select(imports.c.source_file, imports.c.created_at)
            .where(imports.c.campaign_id == campaign_id, imports.c.content_sha256 == digest)
            .order_by(imports.c.id).limit(1)).first()
        import_id = new_id(conn.execute(insert(imports).values(
            campaign_id=campaign_id, source_file=str(p), rows=0, imported=0, rejected=0, duplicates=0,
            merged=0, content_sha256=digest, already_present=0)))
        rejects = _Rejects(p.with_name(p.stem + ".rejected.csv"), header) if skip_invalid else None
        first_new_id = (conn.execute(select(func.max(recipients.c.id))).scalar() or 0) + 1
        from mailing.clients import client_of_campaign
        from mailing.suppression import ERASED, HashedEntries

        erased = _ErasedRows(HashedEntries.load(conn, reasons=(ERASED,)), client_of_campaign(conn, campaign_id))
        seg_values: dict[int, dict[str, str]] = {}
        try:
            n_rows, imported, bad, first_error = _load_rows(conn, p, header, columns, rows, campaign_id,
                                                            import_id, rejects, erased, seg_columns, seg_values)
        finally:
            if rejects is not None:
                rejects.close()
        if first_error is not None and not skip_invalid:
            more = f" ({bad} bad rows in all, each named in the warnings; nothing was imported)" if bad > 1 \
                else " (nothing was imported)"
            raise InputError(first_error.file, first_error.reason + more, row=first_error.row,
                             column=first_error.column)
        if n_rows == 0:
            raise InputError(p, "the file has a header but no data rows")
        if bad == n_rows and rejects is not None:
            raise InputError(p, f"no row is valid ({n_rows} rejected), nothing was imported; the reasons are in "
                                f"{rejects.path}")
        present_rows = _remove_already_present(conn, campaign_id, import_id, first_new_id, p)
        present = len(present_rows)
        imported -= present
        duplicates, merged = dedupe.apply(conn, campaign_id, import_id, campaign.dedupe_mode)
        _store_segments(conn, import_id, seg_values)
        conn.execute(update(imports).where(imports.c.id == import_id).values(
            rows=n_rows, imported=imported, rejected=bad, duplicates=duplicates, merged=merged,
            already_present=present))
        audit(conn, "recipients.import", "import", import_id,
              f"{p.name}: {n_rows} rows, {imported} imported, {present} already present, {bad} rejected, "
              f"{duplicates} duplicates, {merged} merged"
              + (f", {erased.count} erased persons not stored" if erased.count else "")
              + (f"; same content as {earlier.source_file}, imported {earlier.created_at:%Y-%m-%d}"
                 if earlier else ""))
    return ImportSummary(str(p), n_rows, imported, bad, duplicates, merged, import_id,
                         str(rejects.path) if rejects is not None and rejects.count else None,
                         already_present=present, already_present_rows=tuple(present_rows),
                         earlier_import=EarlierImport(*earlier) if earlier else None, erased=erased.count)


class _ErasedRows:
    """Rows of persons erased from the store: matched by keyed hash, counted, never stored."""

    def __init__(self, hashed: Any, client_id: int) -> None:
        self.hashed, self.client_id, self.count = hashed, client_id, 0

    def take(self, rec: Mapping[str, Any]) -> bool:
        if self.hashed is None or self.hashed.match(rec["customer_id"], rec["match_key"], rec["first_name"],
                                                    self.client_id) is None:
            return False
        self.count += 1
        return True


def _remove_already_present(conn: Connection, campaign_id: int, import_id: int, first_new_id: int,
                            path: Path) -> list[int]:
    """Delete this import's records (ids from `first_new_id` on) that are already in the campaign (module
    docstring); returns their row numbers.

    Set-based, after the chunked inserts: grouped scans of the (campaign, customer id) and (campaign, match
    key) indexes select the keys held more than once with a new record among them (few: repeats and
    households); only those rows are streamed, one key group at a time, in id order, so a record only ever
    repeats one that stays and memory is bounded by the largest group."""
    r = recipients.c
    present: dict[int, int] = {}  # recipient id → source row

    def repeated(column: Any) -> Any:
        return (select(column).where(r.campaign_id == campaign_id, column.is_not(None)).group_by(column)
                .having(func.count() > 1, func.max(r.id) >= first_new_id))

    same_customer = (select(r.id, r.import_id, r.customer_id, r.match_key, r.source_row)
                     .where(r.campaign_id == campaign_id, r.customer_id.in_(repeated(r.customer_id)))
                     .order_by(r.customer_id, r.id).execution_options(yield_per=2000))
    first: Any = None
    for row in conn.execute(same_customer):
        if first is None or first.customer_id != row.customer_id:
            first = row
        elif row.import_id == import_id:
            present[row.id] = row.source_row
            if row.match_key != first.match_key:
                log.warning("%s, row %d: customer id %s is already in the campaign (with another name or "
                            "address); the earlier record is kept", path, row.source_row, row.customer_id)

    same_key = (select(r.id, r.import_id, r.customer_id, r.match_key, r.first_name, r.source_row)
                .where(r.campaign_id == campaign_id, r.match_key.in_(repeated(r.match_key)))
                .order_by(r.match_key, r.id).execution_options(yield_per=2000))
    group_key: str | None = None
    kept: dict[str, list[bool]] = {}  # folded first name → has a customer id, for each kept record
    for key_row in conn.execute(same_key):
        if key_row.match_key != group_key:
            group_key, kept = key_row.match_key, {}
        if key_row.id in present:
            continue
        earlier = kept.setdefault(fold(key_row.first_name), [])
        if key_row.import_id == import_id and any(not (key_row.customer_id and has_id) for has_id in earlier):
            present[key_row.id] = key_row.source_row
            continue
        earlier.append(bool(key_row.customer_id))

    for part in in_chunks(sorted(present)):
        conn.execute(delete(recipients).where(r.id.in_(part)))
    return sorted(present.values())


def _load_rows(conn: Connection, p: Path, header: list[str], columns: dict[str, int],
               rows: Iterator[tuple[int, list[str]]], campaign_id: int, import_id: int,
               rejects: _Rejects | None, erased: _ErasedRows | None = None,
               seg_columns: Mapping[str, int] | None = None, seg_values: dict[int, dict[str, str]] | None = None
               ) -> tuple[int, int, int, InputError | None]:
    n_rows = imported = bad = 0
    first_error: InputError | None = None
    chunk: list[dict[str, Any]] = []
    for n, row in rows:
        n_rows += 1
        try:
            rec = parse_row(_values(row, columns))
        except RowProblem as problem:
            bad += 1
            label = _label(header, columns, problem.target)
            hint = FIX_HINT if rejects is None else f"skipped, see {rejects.path.name}"
            error = InputError(p, f"{problem.reason}; {hint}", row=n, column=label)
            first_error = first_error or error
            named_in_error = rejects is None and error is first_error  # the refusal message names it
            if bad <= MAX_WARNINGS and not named_in_error:
                log.warning("%s", error)
            elif bad == MAX_WARNINGS + 1:
                log.warning("%s: more bad rows; only the first %d are named", p, MAX_WARNINGS)
            if rejects is not None:
                rejects.add(n, label, problem.reason, row)
            continue
        if first_error is not None and rejects is None:
            continue  # the import will be refused; keep reading only to name every bad row
        if erased is not None and erased.take(rec):
            continue
        rec.update(campaign_id=campaign_id, import_id=import_id, source_row=n, active=True)
        if seg_columns and seg_values is not None:
            seg_values[n] = {key: (row[i].strip() if i < len(row) else "") for key, i in seg_columns.items()}
        chunk.append(rec)
        if len(chunk) >= CHUNK_ROWS:
            conn.execute(insert(recipients), chunk)
            imported += len(chunk)
            chunk = []
            log.info("%s: %d rows imported", p.name, imported)
    if chunk and (first_error is None or rejects is not None):
        conn.execute(insert(recipients), chunk)
        imported += len(chunk)
    return n_rows, imported, bad, first_error


def read_suppression_rows(path: Path, sheet: str | None = None) -> list[dict[str, Any]]:
    """A suppression file → keyword arguments for `suppression.add_entry` (customer id and/or name +
    address). Any bad row refuses the file: InputError naming the first, every one logged."""
    header, columns, rows = _rows(path, sheet, None, [])
    if "customer_id" not in columns and not (("last_name" in columns or "company" in columns)
                                             and "postal_code" in columns):
        _require(path, header, columns, [("customer_id", "last_name", "company"), ("postal_code",)])
    out: list[dict[str, Any]] = []
    first_error: InputError | None = None
    bad = 0
    for n, row in rows:
        v = _values(row, columns)
        try:
            entry: dict[str, Any] = {"customer_id": v.get("customer_id") or None}
            if v.get("last_name") or v.get("company") or not entry["customer_id"]:
                rec = parse_row(v)
                entry.update({k: rec[k] for k in ("last_name", "first_name", "company", "street", "house_number",
                                                  "postbox", "postal_code", "city", "country")})
            out.append(entry)
        except RowProblem as problem:
            bad += 1
            error = InputError(path, f"{problem.reason}; fix the row and import the file again", row=n,
                               column=_label(header, columns, problem.target))
            first_error = first_error or error
            if error is not first_error:  # the refusal message names the first
                log.warning("%s", error)
    if first_error is not None:
        raise InputError(first_error.file, first_error.reason + (f" ({bad} bad rows in all)" if bad > 1 else ""),
                         row=first_error.row, column=first_error.column)
    if not out:
        raise InputError(path, "the file has a header but no data rows")
    return out


# ----------------------------------------------------------------------------------------- --from OTHER
SELECTIONS = ("all", "responders", "non-responders", "option")

_COPIED = ("customer_id", "salutation", "title", "first_name", "last_name", "company", "addition", "street",
           "house_number", "postbox", "postal_code", "city", "country", "email", "phone", "address_override",
           "salutation_override", "match_key")


def audience_query(conn: Connection, other_id: int, selection: str, option: str | None = None) -> Any:
    """The recipients of campaign `other_id` chosen by their response (active, not erased, in id order):

    - all: every one; responders: a counted response (paper or online) to any piece of the campaign;
    - option: a counted response with option `option` ticked;
    - non-responders: a piece of a produced (sent) wave, not a control piece, no response to any piece, and
      no piece returned undeliverable."""
    from mailing.store import pieces, response_options, responses, waves
    from mailing.waves import SENT_STATES

    r, p, w = recipients.c, pieces.c, waves.c
    mine = select(p.id).select_from(pieces.join(waves, w.id == p.wave_id)).where(w.campaign_id == other_id)
    answered = (select(p.recipient_id).select_from(pieces.join(responses, responses.c.piece_id == p.id))
                .where(p.id.in_(mine)))
    query = select(recipients).where(r.campaign_id == other_id, r.active.is_(True), r.erased_at.is_(None))
    if selection == "responders":
        query = query.where(r.id.in_(answered))
    elif selection == "option":
        ticked = (select(p.recipient_id)
                  .select_from(pieces.join(responses, responses.c.piece_id == p.id)
                               .join(response_options, response_options.c.response_id == responses.c.id))
                  .where(p.id.in_(mine), response_options.c.key == option, response_options.c.ticked.is_(True)))
        query = query.where(r.id.in_(ticked))
    elif selection == "non-responders":
        sent = (select(p.recipient_id).select_from(pieces.join(waves, w.id == p.wave_id))
                .where(w.campaign_id == other_id, w.status.in_(SENT_STATES), p.control.is_(False)))
        returned = select(p.recipient_id).where(p.id.in_(mine), p.undeliverable.is_(True))
        query = query.where(r.id.in_(sent), r.id.not_in(answered), r.id.not_in(returned))
    return query.order_by(r.id)


def selection_label(other: str, selection: str, option: str | None = None) -> str:
    """What `imports.source_file` records for an import from an earlier campaign."""
    flag = {"all": "", "responders": " --responders", "non-responders": " --non-responders",
            "option": f" --option {option}"}[selection]
    return f"campaign:{other}{flag}"


def import_from_campaign(store: Store, campaign_name: str, other: str, selection: str = "all",
                         option: str | None = None) -> ImportSummary:
    """Copy the recipients of campaign `other` chosen by their response (`audience_query`) into the campaign,
    in one transaction, like a file import (both campaigns must belong to the same client): a record already
    in the campaign is not added again, likely
    duplicates are marked, suppressed people are not added (counted), the import records where they came
    from (`imports.source_file` "campaign:OTHER --responders", `imports.from_campaign_id`). Segment values of
    the columns the campaign names are copied along."""
    from mailing.campaigns import campaign_row
    from mailing.errors import MailingError

    if selection not in SELECTIONS:
        raise MailingError(f"unknown selection {selection!r}; use one of {', '.join(SELECTIONS)}")
    label = selection_label(other, selection, option)
    with store.begin() as conn:
        campaign_id, campaign = load(conn, campaign_name)
        other_row = campaign_row(conn, other)
        if other_row.id == campaign_id:
            raise MailingError(f"--from {other}: that is the campaign itself; name an earlier campaign")
        from mailing.clients import client_by_id, client_of_campaign

        mine, theirs = client_of_campaign(conn, campaign_id), client_of_campaign(conn, other_row.id)
        if mine != theirs:  # one company's customers are never another's audience
            raise MailingError(f"--from {other}: that campaign belongs to client {client_by_id(conn, theirs).key!r}, "
                               f"{campaign_name!r} to {client_by_id(conn, mine).key!r}; an audience is taken only "
                               "from a campaign of the same client")
        if selection == "option":
            other_campaign = load(conn, other)[1]
            if option not in other_campaign.option_keys:
                raise MailingError(f"--option {option}: campaign {other!r} has no such coupon option; use one of "
                                   f"{', '.join(other_campaign.option_keys)}")
        import_id = new_id(conn.execute(insert(imports).values(
            campaign_id=campaign_id, source_file=label, rows=0, imported=0, rejected=0, duplicates=0,
            merged=0, content_sha256=None, already_present=0, from_campaign_id=other_row.id, suppressed=0)))
        first_new_id = (conn.execute(select(func.max(recipients.c.id))).scalar() or 0) + 1
        chosen: dict[int, int] = {}  # source row (1-based position + 1, as if row 1 were a header) → old id
        chunk: list[dict[str, Any]] = []
        n = 0
        for n, row in enumerate(conn.execute(audience_query(conn, other_row.id, selection, option)).all(), start=2):
            chosen[n] = int(row.id)
            chunk.append({**{k: getattr(row, k) for k in _COPIED}, "campaign_id": campaign_id,
                          "import_id": import_id, "source_row": n, "active": True})
            if len(chunk) >= CHUNK_ROWS:
                conn.execute(insert(recipients), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(recipients), chunk)
        n_rows = len(chosen)
        suppressed = _remove_suppressed(conn, campaign_id, import_id)
        present_rows = _remove_already_present(conn, campaign_id, import_id, first_new_id, Path(label))
        imported = n_rows - len(suppressed) - len(present_rows)
        duplicates, merged = dedupe.apply(conn, campaign_id, import_id, campaign.dedupe_mode)
        if campaign.segments:
            _copy_segments(conn, import_id, chosen, campaign.segments)
        conn.execute(update(imports).where(imports.c.id == import_id).values(
            rows=n_rows, imported=imported, rejected=0, duplicates=duplicates, merged=merged,
            already_present=len(present_rows), suppressed=len(suppressed)))
        audit(conn, "recipients.import", "import", import_id,
              f"{label}: {n_rows} chosen, {imported} imported, {len(present_rows)} already present, "
              f"{len(suppressed)} suppressed, {duplicates} duplicates, {merged} merged")
    return ImportSummary(label, n_rows, imported, 0, duplicates, merged, import_id, None,
                         already_present=len(present_rows), already_present_rows=tuple(present_rows),
                         suppressed=len(suppressed))


def _remove_suppressed(conn: Connection, campaign_id: int, import_id: int) -> list[int]:
    """Delete this import's records the suppression list holds (the same matching wave planning applies);
    returns their source rows."""
    from mailing.suppression import suppressed_recipients

    held = suppressed_recipients(conn, campaign_id)
    r = recipients.c
    mine = [(int(rid), int(row)) for rid, row in conn.execute(select(r.id, r.source_row)
                                                               .where(r.import_id == import_id))
            if int(rid) in held]
    for part in in_chunks([rid for rid, _ in mine]):
        conn.execute(delete(recipients).where(r.id.in_(part)))
    return sorted(row for _, row in mine)


def _copy_segments(conn: Connection, import_id: int, chosen: dict[int, int], keys: tuple[str, ...]) -> None:
    """The earlier records' values of the campaign's segment columns, for the records this import kept."""
    sg = recipient_segments.c
    values: dict[int, dict[str, str]] = {}
    by_old = {old: row for row, old in chosen.items()}
    for part in in_chunks(sorted(by_old)):
        for rid, key, value in conn.execute(select(sg.recipient_id, sg.key, sg.value)
                                            .where(sg.recipient_id.in_(part), sg.key.in_(keys))):
            values.setdefault(by_old[int(rid)], {})[key] = value or ""
    _store_segments(conn, import_id, values)
