"""Data subjects' rights: what the store holds about one person (GDPR Art. 15) and erasing it (Art. 17).

Stages: `find_person` (a customer id or a response code → the person's records in every campaign) →
`export_person` (everything stored about them → one JSON file, scan pictures as files beside it) or
`erase_person` (personal fields blanked, pictures deleted, suppression entries reduced to keyed hashes, the
person's strings cut out of audit and note texts, then the SQLite file compacted so no byte of them stays).

Who "the person" is (the issue leaves it open; see docs/data-protection.md and docs/clients.md):
- by customer id: every record with that id in any campaign of its client (customer ids are per client; an
  id known under several clients needs `--client`); by code: the record the letter went to, and every record
  of that client with its customer id;
- and records without a customer id (or with one of those ids) whose match key (surname, address) and
  folded first name equal one of those records: the same person in a list imported without customer ids.
  Records of another customer id at the same address of the same client are someone else (father and son)
  and are left alone; in another client's campaigns a customer id says nothing, so the same name, address
  and first name are the same person there too: the store answers for everything it holds about them.

Erasure keeps the rows (ids, campaign, country, Leitregion, pieces, codes, responses, ticks, counts), so
every statistic stays; `recipients.erased_at` marks them, and such a record is never mailed again. The
suppression list gets one entry (reason "erased") of keyed hashes per identity, and the person's readable
entries become keyed hashes too, so an import of the same person later is not stored and never mailed.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, case, cast, delete, func, insert, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from mailing import codes
from mailing.clients import client_by_key
from mailing.errors import MailingError, NotFoundError
from mailing.log import get_logger
from mailing.normalise import fold
from mailing.store import (
    Store,
    audit,
    audit_log,
    batches,
    campaigns,
    clients,
    followups,
    imports,
    in_chunks,
    new_id,
    pieces,
    recipient_segments,
    recipients,
    response_options,
    responses,
    review_items,
    scan_marks,
    scan_runs,
    scans,
    store_secret,
    suppression,
    utcnow,
    wave_suppressions,
    waves,
)
from mailing.suppression import ERASED, HashedEntries, _first_names_agree, person_hashes

log = get_logger(__name__)

ERASED_TEXT = "[erased]"  # what stands in audit and note texts where the person's strings were
COMPACT_WAIT_MS = 3000  # how long the final checkpoint waits for other readers before it reports them
MIN_SCRUB_LEN = 3  # shorter strings ("Al", "5") would cut unrelated words out of texts; they name nobody
# Text columns that may quote a person (file names people gave, notes typed in review): cleaned on erase.
_TEXT_COLUMNS = (
    (audit_log, audit_log.c.detail),
    (review_items, review_items.c.note),
    (followups, followups.c.note),
    (scans, scans.c.source),
    (scans, scans.c.reason),
    (scan_runs, scan_runs.c.sources),
    (suppression, suppression.c.source_ref),
    (imports, imports.c.source_file),
)
# Personal fields of a recipient whose values are cut out of texts on erase (city, postal code and title
# are not: alone they name nobody, and "Berlin" or "12345" would cut unrelated words and counts).
_SCRUB_FIELDS = ("customer_id", "first_name", "last_name", "company", "addition", "street", "postbox", "email",
                 "phone", "address_override", "salutation_override")
# Personal fields of a suppression entry, emptied when it becomes keyed hashes.
_SUPPRESSION_PERSONAL = ("customer_id", "last_name", "first_name", "company", "street", "house_number",
                         "postal_code", "city", "match_key")


# ------------------------------------------------------------------------------------------------ finding
@dataclass
class Person:
    """One person's records across campaigns and clients (see the module docstring for who counts)."""

    records: list[Any]  # recipients rows, id order
    customer_ids: set[str]
    hashed_by_customer: int | None = None  # an erasure entry that matches the customer id asked for
    # (client id, customer id): customer ids are per client (mailing/clients.py)
    keys: set[tuple[int | None, str]] = field(default_factory=set)
    client_of_campaign: dict[int, int | None] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        return [int(r.id) for r in self.records]

    @property
    def live(self) -> list[Any]:
        """Records whose personal data is still there."""
        return [r for r in self.records if r.erased_at is None]

    def client_of(self, rec: Any) -> int | None:
        return self.client_of_campaign.get(int(rec.campaign_id))


def _all_hashed(conn: Connection) -> HashedEntries | None:
    """Every hashed entry, expired ones included (an export names them all)."""
    return HashedEntries.load(conn, as_of=date.min)


def find_person(conn: Connection, *, customer_id: str | None = None, code: str | None = None,
                client: str | None = None) -> Person:
    """The person named by a customer id (of client `client`, a key; needed when the id is known under
    several clients) or a response code. NotFoundError when the store knows neither."""
    if (customer_id is None) == (code is None):
        raise MailingError("name the person by --customer-id or by --code (one of them)")
    r = recipients.c
    owner = {int(c.id): c.client_id for c in conn.execute(select(campaigns.c.id, campaigns.c.client_id))}
    client_id = client_by_key(conn, client).id if client is not None else None
    if code is not None:
        normal = codes.parse(code)
        seed = conn.execute(select(recipients).join(pieces, pieces.c.recipient_id == r.id)
                            .where(pieces.c.code == normal)).first()
        if seed is None or (client_id is not None and owner.get(int(seed.campaign_id)) != client_id):
            raise NotFoundError(f"no letter with code {codes.format_code(normal)} in this store"
                                + (f" for client {client!r}" if client_id is not None else "") + "; check the code")
        seeds = [seed]
    else:
        cid = " ".join(str(customer_id).split())
        seeds = [x for x in conn.execute(select(recipients).where(r.customer_id == cid))
                 if client_id is None or owner.get(int(x.campaign_id)) == client_id]
        holders = {owner.get(int(x.campaign_id)) for x in seeds}
        if len(holders) > 1:
            known = sorted(c.key for c in conn.execute(select(clients.c.key).where(clients.c.id.in_(
                [h for h in holders if h is not None]))))
            raise MailingError(f"customer id {cid!r} is known under {len(holders)} clients ({', '.join(known)}): "
                               "customer ids are per client; name one with --client KEY")
        if not seeds:
            hashed = _all_hashed(conn)
            found_hashed = hashed.all_matches(cid, None, None, client_id) if hashed is not None else set()
            if not found_hashed:
                raise NotFoundError(f"no record with customer id {cid!r} in any campaign"
                                    + (f" of client {client!r}" if client_id is not None else "")
                                    + "; check the number (ids are compared exactly)")
            entry = min(found_hashed)
            erased = list(conn.execute(select(recipients).where(r.suppression_id == entry, r.erased_at.is_not(None))
                                       .order_by(r.id)))  # the records that erasure blanked
            return Person(erased, {cid}, hashed_by_customer=entry, keys={(client_id, cid)}, client_of_campaign=owner)
    found = {int(s.id): s for s in seeds}
    keys = {(owner.get(int(s.campaign_id)), s.customer_id) for s in seeds if s.customer_id}
    for client_of, cid in sorted(keys, key=str):
        mine = [c for c, o in owner.items() if o == client_of]
        for chunk in in_chunks(mine):
            found.update({int(x.id): x for x in conn.execute(
                select(recipients).where(r.customer_id == cid, r.campaign_id.in_(chunk)))})
    # Within a client, a record with another customer id at the same address is someone else (father and
    # son); across clients a customer id says nothing, so name, address and first name decide.
    seed_clients = {owner.get(int(s.campaign_id)) for s in found.values()}
    same = {(x.match_key, fold(x.first_name)) for x in found.values() if x.erased_at is None}
    for chunk in in_chunks(sorted({k for k, _ in same})):
        for x in conn.execute(select(recipients).where(r.match_key.in_(chunk))):
            cx = owner.get(int(x.campaign_id))
            if (x.match_key, fold(x.first_name)) in same and (
                    x.customer_id is None or (cx, x.customer_id) in keys or cx not in seed_clients):
                found[int(x.id)] = x
    keys |= {(owner.get(int(x.campaign_id)), x.customer_id) for x in found.values() if x.customer_id}
    return Person([found[i] for i in sorted(found)], {k for _, k in keys}, keys=keys, client_of_campaign=owner)


def _suppression_entries(conn: Connection, person: Person) -> list[Any]:
    """The suppression entries that stand for the person: readable ones by customer id (of the same client)
    or by match key with first names agreeing, hashed ones by their hashes, and the entries kept for erased
    records."""
    s = suppression.c
    out: dict[int, Any] = {}
    live = person.live
    for client_of, cid in person.keys:
        out.update({int(e.id): e for e in conn.execute(select(suppression).where(
            s.customer_id == cid, s.client_id.is_(None) if client_of is None else s.client_id == client_of))})
    firsts: dict[str, list[str | None]] = {}
    for rec in live:
        firsts.setdefault(rec.match_key, []).append(rec.first_name)
    for chunk in in_chunks(sorted(firsts)):
        for e in conn.execute(select(suppression).where(s.match_key.in_(chunk))):
            if any(_first_names_agree(f, e.first_name) for f in firsts[e.match_key]):
                out[int(e.id)] = e
    hashed = _all_hashed(conn)
    matched: set[int] = set()
    if hashed is not None:
        for client_of, cid in person.keys:
            matched.update(hashed.all_matches(cid, None, None, client_of))
        for rec in live:
            matched.update(hashed.all_matches(None, rec.match_key, rec.first_name, None))
    matched.update(int(rec.suppression_id) for rec in person.records if rec.suppression_id is not None)
    for chunk in in_chunks(sorted(matched - set(out))):
        out.update({int(e.id): e for e in conn.execute(select(suppression).where(s.id.in_(chunk)))})
    return [out[i] for i in sorted(out)]


# ------------------------------------------------------------------------------------------------ export
@dataclass(frozen=True)
class ExportResult:
    out: Path
    pictures_dir: Path | None
    records: int
    campaigns: int
    pieces: int
    responses: int
    pictures: int
    suppression_entries: int
    audit_entries: int


def _plain(row: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    out = {}
    for k, v in row._mapping.items():
        if k in skip or isinstance(v, bytes | memoryview):
            continue
        out[k] = v.isoformat() if isinstance(v, date | datetime) else v
    return out


def _person_codes(conn: Connection, ids: Sequence[int]) -> list[Any]:
    rows: list[Any] = []
    for chunk in in_chunks(list(ids)):
        rows.extend(conn.execute(
            select(pieces, waves.c.number.label("wave"), waves.c.kind.label("wave_kind"),
                   waves.c.status.label("wave_status"), waves.c.drop_date, waves.c.campaign_id,
                   batches.c.file.label("batch_file"))
            .join(waves, waves.c.id == pieces.c.wave_id).outerjoin(batches, batches.c.id == pieces.c.batch_id)
            .where(pieces.c.recipient_id.in_(chunk)).order_by(pieces.c.id)))
    return rows


def _scans_of(conn: Connection, piece_ids: Sequence[int]) -> list[Any]:
    rows: list[Any] = []
    for chunk in in_chunks(list(piece_ids)):
        rows.extend(conn.execute(select(scans).where(scans.c.piece_id.in_(chunk)).order_by(scans.c.id)))
    return rows


def _audit_entries(conn: Connection, person: Person, piece_rows: Sequence[Any], scan_ids: Sequence[int],
                   review_ids: Sequence[int], entry_ids: Sequence[int], needles: Sequence[str]) -> list[Any]:
    """Audit lines about the person: about their records, pieces, review items, suppression entries (their
    erasure), or quoting their codes, customer id or name strings in the detail."""
    by_entity = {"recipient": set(person.ids), "piece": {int(p.id) for p in piece_rows},
                 "review_item": set(review_ids), "scan": set(scan_ids), "suppression": set(entry_ids)}
    codes_quoted = [form for p in piece_rows for form in (p.code, codes.format_code(p.code))]
    pattern = _needle_pattern([*needles, *codes_quoted])
    out = []
    for row in conn.execute(select(audit_log).order_by(audit_log.c.id).execution_options(yield_per=5000)):
        about = row.entity_id is not None and int(row.entity_id) in by_entity.get(row.entity, ())
        if about or (pattern is not None and row.detail and pattern.search(row.detail)):
            out.append(row)
    return out


def _needles(person: Person) -> list[str]:
    """The person's strings that may be quoted in texts (longest first, so a name goes before its parts)."""
    found: set[str] = set(person.customer_ids)
    for rec in person.live:
        for name in _SCRUB_FIELDS:
            value = rec._mapping[name]
            if not value:
                continue
            parts = str(value).splitlines() if name == "address_override" else [str(value)]
            found.update(p.strip() for p in parts)
        whole = " ".join(x for x in (rec.first_name, rec.last_name) if x)
        found.add(whole)
    return sorted((n for n in found if len(n) >= MIN_SCRUB_LEN), key=lambda n: (-len(n), n))


def _quoting(person: Person) -> list[str]:
    """The strings that say a text is about this person (for the export): customer ids, full names, e-mail,
    phone. A surname or first name alone would pull in lines about namesakes, which are not theirs to read."""
    found: set[str] = set(person.customer_ids)
    for rec in person.live:
        found.update(str(v) for v in (rec.email, rec.phone, rec.customer_id) if v)
        whole = " ".join(x for x in (rec.first_name, rec.last_name) if x)
        if rec.first_name and rec.last_name:
            found.add(whole)
    return sorted(found)


def _needle_pattern(needles: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for whole occurrences (not inside a longer word or number)."""
    usable = [n for n in needles if n and len(n) >= MIN_SCRUB_LEN]
    if not usable:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(set(usable), key=lambda n: (-len(n), n)))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file owner-only (0600), atomically: a temporary file beside it, then renamed."""
    try:
        _write_atomic(path, data)
    except OSError as exc:
        raise MailingError(f"cannot write {path}: {exc.strerror or exc}; choose another --out") from exc


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_person(store: Store, out: str | Path, *, customer_id: str | None = None,
                  code: str | None = None, client: str | None = None) -> ExportResult:
    """Everything the store holds about the person → OUT (JSON, owner-only) and the scan pictures (PNG or
    JPEG, as stored) in OUT's folder `<stem>-pictures/`, named by scan id (no personal data in file names)."""
    out_path = Path(out)
    if out_path.is_dir():
        raise MailingError(f"{out_path} is a folder; name a file such as {out_path / 'auskunft.json'}")
    if not out_path.parent.is_dir():
        raise MailingError(f"{out_path}: folder {out_path.parent} does not exist; create it first")
    with store.connect() as conn:
        person = find_person(conn, customer_id=customer_id, code=code, client=client)
        doc, pictures = _collect(conn, person, customer_id=customer_id, code=code)
    pictures_dir = out_path.with_name(out_path.stem + "-pictures") if pictures else None
    if pictures_dir is not None:
        try:
            pictures_dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise MailingError(f"cannot create {pictures_dir}: {exc.strerror or exc}; choose another --out") from exc
        for name, data in pictures.items():
            _write_private(pictures_dir / name, data)
    _write_private(out_path, json.dumps(doc, ensure_ascii=False, indent=2, default=str).encode("utf-8"))
    with store.begin() as wconn:
        audit(wconn, "person.export", "recipient", person.ids[0] if person.ids else None,
              f"{len(person.ids)} record(s) in {doc['summary']['campaigns']} campaign(s), {len(pictures)} "
              f"picture(s), {doc['summary']['audit_entries']} audit line(s) exported; records {_id_list(person.ids)}")
    summary = doc["summary"]
    return ExportResult(out_path, pictures_dir, len(person.ids), summary["campaigns"], summary["pieces"],
                        summary["responses"], len(pictures), summary["suppression_entries"],
                        summary["audit_entries"])


def _picture_name(stem: str, data: bytes) -> str:
    """A picture's file name: the stem (scan id, option key: no personal data) and its format's suffix."""
    if data.startswith(b"\x89PNG"):
        return stem + ".png"
    if data.startswith(b"\xff\xd8"):
        return stem + ".jpg"
    return stem + ".bin"


def _id_list(ids: Sequence[int]) -> str:
    return ", ".join(map(str, ids[:50])) + (f" and {len(ids) - 50} more" if len(ids) > 50 else "") or "none"


def _collect(conn: Connection, person: Person, *, customer_id: str | None,
             code: str | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    names = {int(c.id): c.name for c in conn.execute(select(campaigns.c.id, campaigns.c.name))}
    client_keys = {int(c.id): c.key for c in conn.execute(select(clients.c.id, clients.c.key))}
    piece_rows = _person_codes(conn, person.ids)
    piece_ids = [int(p.id) for p in piece_rows]
    scan_rows = _scans_of(conn, piece_ids)
    scan_ids = [int(s.id) for s in scan_rows]
    marks: dict[int, list[Any]] = {}
    reviews: dict[int, list[Any]] = {}
    for chunk in in_chunks(scan_ids):
        for m in conn.execute(select(scan_marks).where(scan_marks.c.scan_id.in_(chunk)).order_by(scan_marks.c.key)):
            marks.setdefault(int(m.scan_id), []).append(m)
        for it in conn.execute(select(review_items).where(review_items.c.scan_id.in_(chunk))):
            reviews.setdefault(int(it.scan_id), []).append(it)
    resp: dict[int, Any] = {}
    ticks: dict[int, dict[str, bool | None]] = {}
    for chunk in in_chunks(piece_ids):
        for rr in conn.execute(select(responses).where(responses.c.piece_id.in_(chunk))):
            resp[int(rr.piece_id)] = rr
    for chunk in in_chunks([int(x.id) for x in resp.values()]):
        for o in conn.execute(select(response_options).where(response_options.c.response_id.in_(chunk))):
            ticks.setdefault(int(o.response_id), {})[o.key] = o.ticked
    fups: dict[int, list[Any]] = {}
    left_out: dict[int, list[Any]] = {}
    segments: dict[int, dict[str, str | None]] = {}
    for chunk in in_chunks(person.ids):
        for sg in conn.execute(select(recipient_segments).where(recipient_segments.c.recipient_id.in_(chunk))):
            segments.setdefault(int(sg.recipient_id), {})[sg.key] = sg.value
        for f in conn.execute(select(followups).where(followups.c.recipient_id.in_(chunk)).order_by(followups.c.id)):
            fups.setdefault(int(f.recipient_id), []).append(f)
        for w in conn.execute(select(wave_suppressions, waves.c.number, waves.c.campaign_id)
                              .join(waves, waves.c.id == wave_suppressions.c.wave_id)
                              .where(wave_suppressions.c.recipient_id.in_(chunk))):
            left_out.setdefault(int(w.recipient_id), []).append(w)

    pictures: dict[str, bytes] = {}

    def scan_doc(s: Any) -> dict[str, Any]:
        d = _plain(s)
        if s.snippet:
            name = _picture_name(f"scan-{s.id}", bytes(s.snippet))
            pictures[name] = bytes(s.snippet)
            d["picture"] = name
        if s.phone_snippet:
            name = _picture_name(f"scan-{s.id}-phone", bytes(s.phone_snippet))
            pictures[name] = bytes(s.phone_snippet)
            d["phone_picture"] = name
        d["ticks"] = []
        for m in marks.get(int(s.id), []):
            md = _plain(m, skip=("scan_id",))
            if m.snippet:
                name = _picture_name(f"scan-{s.id}-box-{fold(m.key) or 'x'}", bytes(m.snippet))
                pictures[name] = bytes(m.snippet)
                md["picture"] = name
            d["ticks"].append(md)
        d["review"] = [_plain(it) for it in reviews.get(int(s.id), [])]
        return d

    records = []
    for rec in person.records:
        mine = [p for p in piece_rows if int(p.recipient_id) == int(rec.id)]
        letters = []
        for p in mine:
            pd = _plain(p, skip=("recipient_id", "campaign_id"))
            pd["campaign"] = names.get(int(p.campaign_id))
            pd["code_printed"] = codes.format_code(p.code)
            answer = resp.get(int(p.id))
            pd["response"] = None if answer is None else {**_plain(answer), "options": ticks.get(int(answer.id), {})}
            pd["scans"] = [scan_doc(s) for s in scan_rows if s.piece_id == p.id]
            letters.append(pd)
        rd = _plain(rec)
        rd["campaign"] = names.get(int(rec.campaign_id))
        rd["client"] = client_keys.get(person.client_of(rec) or 0)
        rd["letters"] = letters
        rd["followups"] = [_plain(f) for f in fups.get(int(rec.id), [])]
        rd["segments"] = segments.get(int(rec.id), {})  # [import] segments: extra columns kept (issue 14)
        rd["left_out_of_waves"] = [{"campaign": names.get(int(w.campaign_id)), "wave": w.number,
                                    "suppression_entry": w.suppression_id} for w in left_out.get(int(rec.id), [])]
        records.append(rd)

    entries = _suppression_entries(conn, person)
    needles = _quoting(person)
    review_ids = [int(it.id) for items in reviews.values() for it in items]
    audit_rows = _audit_entries(conn, person, piece_rows, scan_ids, review_ids, [int(e.id) for e in entries],
                                needles)
    doc = {
        "exported_at": utcnow().isoformat(timespec="seconds") + "Z",
        "asked_for": {"customer_id": customer_id} if customer_id is not None else {"code": code},
        "note": ("Everything this mailing store holds about the person (GDPR Art. 15): their records in every "
                 "campaign with letters, codes, responses and ticks, scans (pictures in the folder beside this "
                 "file), suppression entries and audit lines. Hashed entries hold keyed hashes, nothing readable."),
        "summary": {"records": len(records), "campaigns": len({int(r.campaign_id) for r in person.records}),
                    "pieces": len(piece_rows), "responses": len(resp), "scans": len(scan_rows),
                    "pictures": len(pictures), "suppression_entries": len(entries), "audit_entries": len(audit_rows),
                    "erased": bool(person.records) and not person.live or person.hashed_by_customer is not None},
        "records": records,
        "suppression": [{**_plain(e, skip=("customer_hash", "key_hash", "first_name_hash", "initial_hash")),
                         "hashed": e.key_hash is not None or e.customer_hash is not None} for e in entries],
        "audit": [_plain(a) for a in audit_rows],
    }
    return doc, pictures


# ------------------------------------------------------------------------------------------------- erase
@dataclass
class ErasureResult:
    records: int  # records blanked now
    campaigns: list[str]
    pieces: int  # kept (statistics), no longer tied to a name
    responses: int  # kept
    pictures: int  # scan and tick-box pictures deleted
    entries_hashed: int  # readable suppression entries turned into keyed hashes
    entries_added: int  # erasure entries added (one per identity)
    texts_cleaned: int  # audit/note/file-name texts the person's strings were cut out of
    dry_run: bool
    already_erased: bool = False
    compacted: bool | None = None  # SQLite: file rewritten (None: not SQLite, or a dry run)
    print_folders: list[str] = field(default_factory=list)  # produced waves' folders: files there name them

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def blank_values(now: datetime) -> dict[str, Any]:
    """The UPDATE values that take a recipient's personal data away and keep what statistics need: id,
    campaign, import, country and the Leitregion (the first two digits of a German postal code)."""
    r = recipients.c
    return {
        "customer_id": None, "salutation": "none", "title": None, "first_name": None, "last_name": None,
        "company": None, "addition": None, "street": None, "house_number": None, "postbox": None,
        "postal_code": case((r.country == "DE", func.substr(r.postal_code, 1, 2)), else_=""),
        "city": "", "email": None, "phone": None, "address_override": None, "salutation_override": None,
        "match_key": literal("erased:", String) + cast(r.id, String), "erased_at": now,
    }


def hash_entries(conn: Connection, entries: Iterable[Any], secret: str) -> int:
    """Readable suppression entries → keyed hashes (their personal fields emptied). Returns how many."""
    n = 0
    for e in entries:
        if e.key_hash is not None or e.customer_hash is not None or (e.match_key is None and e.customer_id is None):
            continue
        hashes = person_hashes(secret, e.customer_id, e.match_key, e.first_name)
        conn.execute(update(suppression).where(suppression.c.id == e.id).values(
            **dict.fromkeys(_SUPPRESSION_PERSONAL), **hashes.columns()))
        n += 1
    return n


def delete_pictures(conn: Connection, scan_ids: Sequence[int]) -> int:
    """Scan and tick-box pictures of these scans → NULL; returns how many pictures went."""
    n = 0
    for chunk in in_chunks(list(scan_ids)):
        n += conn.execute(update(scans).where(scans.c.id.in_(chunk), scans.c.snippet.is_not(None))
                          .values(snippet=None)).rowcount or 0
        n += conn.execute(update(scans).where(scans.c.id.in_(chunk), scans.c.phone_snippet.is_not(None))
                          .values(phone_snippet=None)).rowcount or 0
        n += conn.execute(update(scan_marks).where(scan_marks.c.scan_id.in_(chunk), scan_marks.c.snippet.is_not(None))
                          .values(snippet=None)).rowcount or 0
    return n


def count_pictures(conn: Connection, scan_ids: Sequence[int]) -> int:
    """How many scan and tick-box pictures these scans still hold."""
    n = 0
    for chunk in in_chunks(list(scan_ids)):
        n += int(conn.execute(select(func.count()).select_from(scans).where(
            scans.c.id.in_(chunk), scans.c.snippet.is_not(None))).scalar_one())
        n += int(conn.execute(select(func.count()).select_from(scans).where(
            scans.c.id.in_(chunk), scans.c.phone_snippet.is_not(None))).scalar_one())
        n += int(conn.execute(select(func.count()).select_from(scan_marks).where(
            scan_marks.c.scan_id.in_(chunk), scan_marks.c.snippet.is_not(None))).scalar_one())
    return n


def _scrub_texts(conn: Connection, pattern: re.Pattern[str] | None, *, dry_run: bool) -> int:
    """Cut the person's strings out of every text column that may quote people; returns rows changed."""
    if pattern is None:
        return 0
    changed = 0
    for table, column in _TEXT_COLUMNS:
        pk = list(table.primary_key.columns)
        hits = [(tuple(row[:-1]), row[-1]) for row in conn.execute(select(*pk, column).where(column.is_not(None)))
                if pattern.search(row[-1])]
        for key, text in hits:
            changed += 1
            if not dry_run:
                conn.execute(update(table).where(*(c == v for c, v in zip(pk, key, strict=True)))
                             .values({column.name: pattern.sub(ERASED_TEXT, text)}))
    return changed


def erase_person(store: Store, *, customer_id: str | None = None, code: str | None = None,
                 dry_run: bool = False, client: str | None = None) -> ErasureResult:
    """Erase the person everywhere in the store (one transaction), leave keyed hashes on the suppression list,
    then compact a SQLite store (secure delete, WAL checkpoint, VACUUM). With dry_run nothing is written."""
    with store.begin() as conn:
        if conn.dialect.name == "sqlite":  # freed cells and pages are overwritten with zeros
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        person = find_person(conn, customer_id=customer_id, code=code, client=client)
        result = _erase(conn, person, dry_run)
    if not dry_run:  # also when erased before: a compaction another process held up is done now
        result.compacted = compact(store)
    return result


def _erase(conn: Connection, person: Person, dry_run: bool) -> ErasureResult:
    live = person.live
    names = {int(c.id): c.name for c in conn.execute(select(campaigns.c.id, campaigns.c.name))}
    piece_rows = _person_codes(conn, person.ids)
    scan_ids = [int(s.id) for s in _scans_of(conn, [int(p.id) for p in piece_rows])]
    n_responses = 0
    for chunk in in_chunks([int(p.id) for p in piece_rows]):
        n_responses += int(conn.execute(select(func.count()).select_from(responses)
                                        .where(responses.c.piece_id.in_(chunk))).scalar_one())
    entries = _suppression_entries(conn, person)
    readable = [e for e in entries if e.key_hash is None and e.customer_hash is None
                and (e.match_key is not None or e.customer_id is not None)]
    identities = {(person.client_of(rec), rec.customer_id, rec.match_key, fold(rec.first_name)): rec for rec in live}
    folders = sorted({str(w.out_dir) for w in conn.execute(
        select(waves.c.out_dir).where(waves.c.id.in_({int(p.wave_id) for p in piece_rows}), waves.c.out_dir.is_not(None)))})
    pattern = _needle_pattern(_needles(person))
    result = ErasureResult(
        records=len(live), campaigns=sorted({names[int(r.campaign_id)] for r in live}), pieces=len(piece_rows),
        responses=n_responses, pictures=count_pictures(conn, scan_ids), entries_hashed=len(readable),
        entries_added=len(identities), texts_cleaned=0, dry_run=dry_run, already_erased=not live,
        print_folders=folders)
    if not live:  # erased before; a coupon that came in since may have brought a picture
        if not dry_run and result.pictures:
            result.pictures = delete_pictures(conn, scan_ids)
            audit(conn, "person.erase", "recipient", person.ids[0] if person.ids else None,
                  f"erased before; {result.pictures} picture(s) of later scans deleted")
        return result
    if dry_run:
        result.texts_cleaned = _scrub_texts(conn, pattern, dry_run=True)
        return result

    secret = store_secret(conn)
    now = utcnow()
    entry_of: dict[int, int] = {}
    added: list[int] = []
    for (client_id, cid, key, first), rec in identities.items():
        hashes = person_hashes(secret, cid, key, rec.first_name)
        entry_id = new_id(conn.execute(insert(suppression).values(  # binds every client (suppression.scope_all)
            reason=ERASED, source="erasure", source_ref=None, country=rec.country, client_id=client_id,
            **hashes.columns())))
        added.append(entry_id)
        for other in live:
            if (person.client_of(other), other.customer_id, other.match_key, fold(other.first_name)) == (
                    client_id, cid, key, first):
                entry_of[int(other.id)] = entry_id
    result.entries_hashed = hash_entries(conn, readable, secret)
    for chunk in in_chunks([int(r.id) for r in live]):
        conn.execute(update(recipients).where(recipients.c.id.in_(chunk)).values(**blank_values(now)))
        conn.execute(delete(recipient_segments).where(recipient_segments.c.recipient_id.in_(chunk)))
    for rid, entry_id in entry_of.items():
        conn.execute(update(recipients).where(recipients.c.id == rid).values(suppression_id=entry_id))
    result.pictures = delete_pictures(conn, scan_ids)
    result.texts_cleaned = _scrub_texts(conn, pattern, dry_run=False)
    audit(conn, "person.erase", "suppression", added[0],
          f"{result.records} record(s) in {len(result.campaigns)} campaign(s) erased (records "
          f"{_id_list([int(r.id) for r in live])}); {result.pictures} picture(s) deleted; "
          f"{result.entries_hashed} suppression entr(ies) hashed, erasure entr(ies) {_id_list(added)}; "
          f"{result.texts_cleaned} text(s) cleaned; {result.pieces} piece(s) and {result.responses} response(s) "
          "kept for the statistics")
    log.info("erased %d record(s)", result.records)
    return result


def compact(store: Store) -> bool | None:
    """SQLite: rewrite the file so that no freed byte stays (secure delete, VACUUM, then a checkpoint that
    copies the log into the file and truncates it). False when another process still reads the store (its WAL could not
    be emptied: run the command again later); None for other databases (PostgreSQL: VACUUM FULL is the
    operator's job)."""
    if store.engine.dialect.name != "sqlite":
        return None
    try:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql(f"PRAGMA busy_timeout={COMPACT_WAIT_MS}")
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            conn.exec_driver_sql("PRAGMA busy_timeout=10000")  # the store's usual wait (store._sqlite_pragmas)
    except OperationalError as exc:  # locked by another writer past the busy timeout: the erase itself stands
        log.warning("%s: could not compact the store (%s)", store.where, exc.orig)
        return False
    done = busy is not None and int(busy[0]) == 0
    if not done:
        log.warning("%s: another process holds the store open; its write-ahead log could not be emptied", store.where)
    return done

