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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cologne_phonetics
from rapidfuzz import fuzz
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from mailing.normalise import address_part_key, fold, house_number_base, street_key
from mailing.store import recipients

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
