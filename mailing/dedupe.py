"""Deduplication of a campaign's recipients after an import: new rows against earlier ones.

Two records are the same person when, at the same postal code and (normalised) street:
- **exact**: the match keys are equal (surname or company, street, house number, postal code, country) and
  the first names are equal after folding;
- **likely**: the house numbers share their base number ("5" / "5a"), the surnames sound alike (Kölner
  Phonetik, `cologne_phonetics`) or are close (`rapidfuzz` ratio ≥ `SURNAME_MIN_RATIO`), and the first names
  agree: equal, one of them empty, or one the initial of the other.
Two different first names at one address are a household (spouses, Stephan and Stephanie), never a
duplicate. A company-only record compares by company name.

Candidates are blocked by postal code (rows streamed from the store ordered by postal code) and then by
street key, so the work is linear in the list length and memory is bounded by the largest postal code.

A record that is the very same as one already in the campaign (same customer id, or same name and address
where a customer id is missing) never gets here: the import leaves it out as "already present". An "exact"
pair is therefore two records with the same name and address but different customer ids.

`list_duplicates` lists every pair (recipient, duplicate of, kind, reason) for `mailing duplicates`;
`duplicate_summary` gives the counts that the import summary, `status` and the report all show.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cologne_phonetics
from rapidfuzz import fuzz
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from mailing.errors import MailingError
from mailing.normalise import address_part_key, fold, group_postbox, house_number_base, street_key
from mailing.store import imports, recipients

SURNAME_MIN_RATIO = 88.0  # rapidfuzz ratio: "Schmidt"/"Schmitt" 86 → needs the phonetic match; typos ≥ 88


@dataclass
class _Rec:
    id: int
    import_id: int
    first: str
    surname: str  # folded surname, or company when there is no surname
    phonetic: str
    block: str  # street key (or postbox)
    number_base: str
    match_key: str
    root: int  # the first record of its duplicate group


@dataclass(frozen=True)
class Duplicate:
    recipient_id: int
    duplicate_of: int
    kind: str  # exact | likely


def _phonetic(name: str) -> str:
    if not name:
        return ""
    return "".join(code for _, code in cologne_phonetics.encode(name))


def first_names_agree(a: str, b: str) -> bool:
    """Folded first names: equal, one empty, or one an initial of the other."""
    if not a or not b or a == b:
        return True
    return (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def surnames_alike(a: _Rec, b: _Rec) -> bool:
    if not a.surname or not b.surname:
        return False
    if a.surname == b.surname:
        return True
    if a.phonetic and a.phonetic == b.phonetic:
        return True
    return fuzz.ratio(a.surname, b.surname) >= SURNAME_MIN_RATIO


def compare(new: _Rec, old: _Rec) -> str | None:
    """ "exact", "likely" or None."""
    if new.block != old.block or not first_names_agree(new.first, old.first):
        return None
    if new.match_key == old.match_key and new.first == old.first:
        return "exact"
    if new.number_base == old.number_base and surnames_alike(new, old):
        return "likely"
    return None


def _rec(row) -> _Rec:  # type: ignore[no-untyped-def]
    surname = row.last_name or row.company or ""
    return _Rec(
        id=row.id, import_id=row.import_id, first=fold(row.first_name), surname=fold(surname),
        phonetic=_phonetic(surname),
        block=address_part_key(row.street, None, row.postbox) if row.postbox else street_key(row.street),
        number_base="" if row.postbox else house_number_base(row.house_number),
        match_key=row.match_key, root=row.duplicate_of or row.id,
    )


def find_duplicates(conn: Connection, campaign_id: int, import_id: int) -> Iterator[Duplicate]:
    """Each recipient of import `import_id` that repeats an earlier recipient of the campaign."""
    r = recipients.c
    query = (
        select(r.id, r.import_id, r.first_name, r.last_name, r.company, r.street, r.house_number, r.postbox,
               r.postal_code, r.match_key, r.duplicate_of)
        .where(r.campaign_id == campaign_id, r.import_id <= import_id)
        .order_by(r.postal_code, r.id)
    )
    group_plz: str | None = None
    # Candidates share postal code, street and house-number base: "exact" and "likely" both require them,
    # so a long street in one postal code stays cheap.
    blocks: dict[tuple[str, str], list[_Rec]] = {}
    for row in conn.execute(query.execution_options(yield_per=2000)):
        if row.postal_code != group_plz:
            group_plz, blocks = row.postal_code, {}
        rec = _rec(row)
        candidates = blocks.setdefault((rec.block, rec.number_base), [])
        if rec.import_id == import_id:
            best: tuple[str, _Rec] | None = None
            for old in candidates:
                kind = compare(rec, old)
                if kind and (best is None or (kind == "exact" and best[0] != "exact")):
                    best = (kind, old)
            if best is not None:
                rec.root = best[1].root
                yield Duplicate(rec.id, best[1].root, best[0])
        candidates.append(rec)


def apply(conn: Connection, campaign_id: int, import_id: int, mode: str) -> tuple[int, int]:
    """Mark this import's duplicates: `report` sets duplicate_of/kind and keeps them active; `merge` also
    sets active=False on the later record (keep-first). Returns (duplicates found, merged)."""
    found = merged = 0
    pending = list(find_duplicates(conn, campaign_id, import_id))  # a few % of the rows
    for dup in pending:
        values: dict[str, object] = {"duplicate_of": dup.duplicate_of, "duplicate_kind": dup.kind}
        if mode == "merge":
            values["active"] = False
            merged += 1
        conn.execute(update(recipients).where(recipients.c.id == dup.recipient_id).values(**values))
        found += 1
    return found, merged


# ----------------------------------------------------------------------------------------- listing
@dataclass(frozen=True)
class DuplicateSummary:
    """A campaign's duplicate figures, the same wherever they are shown."""

    already_present: int  # import rows left out: the record was already in the campaign
    exact: int  # same name and address, different customer ids
    likely: int  # sound-alike or close surname, same address, agreeing first names
    merged: int  # of exact + likely: merged away (never mailed)

    @property
    def duplicates(self) -> int:
        return self.exact + self.likely

    def as_json(self) -> dict[str, int]:
        return {"already_present": self.already_present, "duplicates": self.duplicates, "exact": self.exact,
                "likely": self.likely, "merged": self.merged}


def duplicate_summary(conn: Connection, campaign_id: int) -> DuplicateSummary:
    """Counts from the recipients themselves (the listing's source) and the imports' already-present rows."""
    r = recipients.c
    kinds: dict[str, int] = dict(conn.execute(select(r.duplicate_kind, func.count()).where(
        r.campaign_id == campaign_id, r.duplicate_of.is_not(None)).group_by(r.duplicate_kind)).all())
    merged = conn.execute(select(func.count()).select_from(recipients).where(
        r.campaign_id == campaign_id, r.duplicate_of.is_not(None), r.active.is_(False))).scalar_one()
    present = conn.execute(select(func.coalesce(func.sum(imports.c.already_present), 0)).where(
        imports.c.campaign_id == campaign_id)).scalar_one()
    return DuplicateSummary(int(present), int(kinds.get("exact", 0)), int(kinds.get("likely", 0)), int(merged))


@dataclass(frozen=True)
class DuplicatePair:
    """One listed duplicate: a recipient, the earlier recipient it repeats, how and why."""

    recipient: int
    customer_id: str | None
    name: str
    address: str
    file: str
    row: int
    duplicate_of: int
    of_customer_id: str | None
    of_name: str
    of_address: str
    of_file: str
    of_row: int
    kind: str  # exact | likely
    reason: str
    merged: bool  # merged away: never mailed

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = tuple(DuplicatePair.__dataclass_fields__)


def _name(row: Any) -> str:
    person = " ".join(x for x in (row.first_name, row.last_name) if x)
    return ", ".join(x for x in (person, row.company) if x)


def _address_text(row: Any) -> str:
    place = f"Postfach {group_postbox(row.postbox)}" if row.postbox else " ".join(
        x for x in (row.street, row.house_number) if x)
    return f"{place}, {row.postal_code} {row.city}" + ("" if row.country == "DE" else f", {row.country}")


def pair_reason(kind: str, new: Any, old: Any) -> str:
    """Why two stored records were taken for the same person, in words."""
    if kind == "exact":
        ids = f" (customer ids {new.customer_id} / {old.customer_id})" if new.customer_id and old.customer_id \
            else ""
        return "same name and address" + ids
    parts = []
    a, b = new.last_name or new.company or "", old.last_name or old.company or ""
    if fold(a) == fold(b):
        parts.append("same surname")
    elif _phonetic(a) == _phonetic(b):
        parts.append(f"surnames sound alike ({a} / {b})")
    else:
        parts.append(f"surnames spelt alike ({a} / {b})")
    if new.postbox or old.postbox:
        parts.append("same Postfach")
    elif fold(new.house_number) == fold(old.house_number):
        parts.append("same address")
    else:
        parts.append(f"same street, house numbers {new.house_number or '-'} / {old.house_number or '-'}")
    fa, fb = fold(new.first_name), fold(old.first_name)
    if fa != fb:
        parts.append("first name missing on one" if not fa or not fb
                     else f"first name and initial ({new.first_name} / {old.first_name})")
    return "; ".join(parts)


def list_duplicates(conn: Connection, campaign_id: int) -> list[DuplicatePair]:
    """Every recipient marked as a duplicate of an earlier one, with both records, oldest pair first."""
    new, old = recipients.alias("new"), recipients.alias("old")
    new_imp, old_imp = imports.alias("new_imp"), imports.alias("old_imp")
    query = (
        select(new, old, new_imp.c.source_file, old_imp.c.source_file)
        .select_from(new.join(old, old.c.id == new.c.duplicate_of)
                     .join(new_imp, new_imp.c.id == new.c.import_id)
                     .join(old_imp, old_imp.c.id == old.c.import_id))
        .where(new.c.campaign_id == campaign_id)
        .order_by(new.c.id)
    )
    width = len(recipients.columns)
    out = []
    for row in conn.execute(query):
        n = _record(row[:width])
        o = _record(row[width:2 * width])
        out.append(DuplicatePair(
            recipient=n.id, customer_id=n.customer_id, name=_name(n), address=_address_text(n),
            file=Path(row[2 * width]).name, row=n.source_row,
            duplicate_of=o.id, of_customer_id=o.customer_id, of_name=_name(o), of_address=_address_text(o),
            of_file=Path(row[2 * width + 1]).name, of_row=o.source_row,
            kind=n.duplicate_kind or "likely", reason=pair_reason(n.duplicate_kind or "likely", n, o),
            merged=not n.active))
    return out


def _record(values: Sequence[Any]) -> SimpleNamespace:
    """Attribute access to one recipients row taken out of a joined result."""
    return SimpleNamespace(**dict(zip(recipients.columns.keys(), values, strict=True)))


def write_duplicates(pairs: Sequence[DuplicatePair], path: str | Path) -> Path:
    """The list as CSV (`;`, UTF-8 with BOM, as German Excel opens it) or XLSX, by the file's extension.
    Every personal value stays text: formula starters are neutralised (CSV) or written as text cells."""
    from reports.calllist import csv_safe

    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise MailingError(f"{out}: give a file name ending in .csv or .xlsx")
    if not out.parent.is_dir():
        raise MailingError(f"{out}: folder {out.parent} does not exist; create it first")
    values = [[_plain(getattr(p, c)) for c in COLUMNS] for p in pairs]
    part = out.with_name(out.name + ".part")
    if suffix == ".csv":
        with part.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, delimiter=";")
            writer.writerow(COLUMNS)
            writer.writerows([csv_safe(v) for v in row] for row in values)
    else:
        from reports.xlsx import header_cells, new_workbook, text_cell

        wb = new_workbook(write_only=True)
        ws = wb.create_sheet("duplicates")
        ws.append(header_cells(ws, COLUMNS))
        for row in values:
            ws.append([text_cell(ws, v) for v in row])
        wb.save(part)
    part.replace(out)
    return out


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
