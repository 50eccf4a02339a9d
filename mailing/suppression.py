"""The suppression list (GDPR Art. 21, UWG § 7): one list across all campaigns of a client.

Clients (Mandanten, mailing/clients.py): every entry records the client in whose name it was written. Its
customer id is that client's (customer ids are per client) and matches only that client's records. An
objection binds only that client: an opt-out to one company is not one to another. Robinson, undeliverable,
deceased and erased entries match by name + address for every client: the person does not want advertising
at all, does not live there, has died, or asked the store to forget them (`scope_all`).

Entries come from imported files (`import_file`: opt-out lists, Robinson matches, returned mail, deceased),
from the opt-out tick on a coupon and from returned letters (`add_entry`, called by scanning/follow-ups).
An entry matches a recipient by customer id or by normalised name + address (`normalise.match_key`; when
both sides carry a first name they must agree too, so one spouse's objection does not silence the other).

Expiry: an objection never expires (GDPR Art. 21(3); a later address purchase does not cancel it), nor do
undeliverable and deceased entries. Robinson entries expire after 5 years: the DDV Robinsonliste deletes
registrations after five years, so a match older than that no longer stands for a current wish.

`suppressed_recipients(conn, campaign_id, as_of)` is what wave planning applies before codes are assigned.

Keyed hashes (erasure, GDPR Art. 17): after `person erase` (or `purge`) an entry keeps no readable personal
data, only HMAC-SHA256 values keyed with the store secret (`store.store_secret`): of the customer id, of the
match key, and of the match key with the folded first name and with its initial, so that the first-name
rule above still holds. `HashedEntries` matches records against them; `suppressed_recipients` and the
recipient import use it, so an erased person who turns up in a later list is never mailed. Without the
secret the hashes cannot be tested against guesses; it never leaves the store.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.engine import Connection

from mailing.clients import client_by_key, client_count, client_of_campaign, default_client
from mailing.errors import MailingError
from mailing.log import get_logger
from mailing.normalise import fold, match_key
from mailing.recipients import read_suppression_rows
from mailing.store import Store, audit, clients, new_id, read_secret, recipients, suppression

log = get_logger(__name__)

REASONS = ("objection", "robinson", "undeliverable", "deceased")
ERASED = "erased"  # the entry `person erase` leaves: keyed hashes only; never imported from a file
CLIENT_ONLY = ("objection",)  # reasons that bind only the client they were given to; the others bind all
ROBINSON_YEARS = 5  # DDV Robinsonliste: registrations expire after 5 years


def scope_all(reason: str) -> bool:
    """Does an entry of this reason keep a person out of every client's mailings (by name + address)?"""
    return reason not in CLIENT_ONLY


def expiry_for(reason: str, created: date) -> date | None:
    """None = never. Only Robinson entries expire (5 years, DDV rule); an objection never does."""
    if reason != "robinson":
        return None
    try:
        return created.replace(year=created.year + ROBINSON_YEARS)
    except ValueError:  # 29 February
        return created.replace(year=created.year + ROBINSON_YEARS, day=28)


def _today() -> date:
    return datetime.now(UTC).date()


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _first_names_agree(a: str | None, b: str | None) -> bool:
    """Empty, equal, or one is the other's initial ("A." / "Anna")."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb or fa == fb:
        return True
    return (len(fa) == 1 and fb.startswith(fa)) or (len(fb) == 1 and fa.startswith(fb))


# ------------------------------------------------------------------------------------------ keyed hashes
def _hmac(key: bytes, kind: str, text: str) -> str:
    """HMAC-SHA256 of one part; `kind` keeps the parts apart (a customer id never equals a match key)."""
    return hmac.digest(key, f"{kind}\x00{text}".encode(), "sha256").hex()


@dataclass(frozen=True)
class PersonHashes:
    """The keyed hashes that stand for a person on the suppression list (None where the part is missing)."""

    customer_hash: str | None
    key_hash: str | None
    first_name_hash: str | None
    initial_hash: str | None

    def columns(self) -> dict[str, str | None]:
        return {"customer_hash": self.customer_hash, "key_hash": self.key_hash,
                "first_name_hash": self.first_name_hash, "initial_hash": self.initial_hash}


def person_hashes(secret: str, customer_id: str | None, key: str | None, first_name: str | None) -> PersonHashes:
    """HMAC-SHA256 (store secret) over the customer id, the normalised match key, and the match key with the
    folded first name and with its initial."""
    cid, first, k = _clean(customer_id), fold(first_name), bytes.fromhex(secret)
    return PersonHashes(
        _hmac(k, "customer", cid) if cid else None,
        _hmac(k, "key", key) if key else None,
        _hmac(k, "first", f"{key}|{first}") if key and first else None,
        _hmac(k, "first", f"{key}|{first[0]}") if key and first else None,
    )


class HashedEntries:
    """The hashed entries in force, to match records against them (their data is gone, the hashes stay)."""

    def __init__(self, secret: str, rows: Iterable[Any]) -> None:
        self.key = bytes.fromhex(secret)
        self.by_customer: dict[str, list[tuple[int, int | None]]] = {}  # hash → (entry, client)
        # key hash → (entry, first-name hash, initial hash, client, binds every client)
        self.by_key: dict[str, list[tuple[int, str | None, str | None, int | None, bool]]] = {}
        for row in rows:
            if row.customer_hash:
                self.by_customer.setdefault(row.customer_hash, []).append((int(row.id), row.client_id))
            if row.key_hash:
                self.by_key.setdefault(row.key_hash, []).append(
                    (int(row.id), row.first_name_hash, row.initial_hash, row.client_id, scope_all(row.reason)))

    @classmethod
    def load(cls, conn: Connection, as_of: date | None = None, reasons: tuple[str, ...] | None = None
             ) -> HashedEntries | None:
        """The hashed entries in force on `as_of` (default today), of the given reasons (default all); None
        when there are none."""
        s = suppression.c
        today = as_of or _today()
        stmt = select(s.id, s.customer_hash, s.key_hash, s.first_name_hash, s.initial_hash, s.client_id,
                      s.reason).where(
            or_(s.customer_hash.is_not(None), s.key_hash.is_not(None)),
            or_(s.expires_at.is_(None), s.expires_at > today))
        if reasons is not None:
            stmt = stmt.where(s.reason.in_(reasons))
        rows = conn.execute(stmt).all()
        secret = read_secret(conn) if rows else None
        return cls(secret, rows) if rows and secret else None

    def match(self, customer_id: str | None, key: str | None, first_name: str | None,
              client_id: int | None = None) -> int | None:
        """The lowest entry that matches a record of client `client_id`, or None. Same rule as for readable
        entries: the customer id (of the same client), or the match key with first names agreeing (equal, one
        empty, or one the other's initial) of an entry that binds this client."""
        found = self.all_matches(customer_id, key, first_name, client_id)
        return min(found) if found else None

    def all_matches(self, customer_id: str | None, key: str | None, first_name: str | None,
                    client_id: int | None = None) -> set[int]:
        """Every entry that matches the record of client `client_id` (see `match`); `client_id` None: the
        entries of every client (`person export` looking for everything stored about someone)."""
        found: set[int] = set()
        cid = _clean(customer_id)
        if cid and self.by_customer:
            for entry, owner in self.by_customer.get(_hmac(self.key, "customer", cid), ()):
                if client_id is None or owner == client_id:
                    found.add(entry)
        candidates = self.by_key.get(_hmac(self.key, "key", key)) if key and self.by_key else None
        if candidates:
            first = fold(first_name)
            full = _hmac(self.key, "first", f"{key}|{first}") if first else None
            initial = _hmac(self.key, "first", f"{key}|{first[0]}") if first else None
            for entry_id, first_hash, initial_hash, owner, binds_all in candidates:
                if not (binds_all or client_id is None or owner == client_id):
                    continue
                if (first_hash is None or not first or full == first_hash or initial == first_hash
                        or (len(first) == 1 and full == initial_hash)):
                    found.add(entry_id)
        return found


def add_entry(
    conn: Connection,
    reason: str,
    source: str,
    source_ref: str | None,
    recipient_row: Mapping[str, Any] | None = None,
    campaign_id: int | None = None,
    *,
    customer_id: str | None = None,
    last_name: str | None = None,
    first_name: str | None = None,
    company: str | None = None,
    street: str | None = None,
    house_number: str | None = None,
    postbox: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    country: str | None = None,
    as_of: date | None = None,
    erased: HashedEntries | None = None,
    client_id: int | None = None,
) -> int:
    """Suppress a person/address (inside the caller's transaction); returns the entry id.

    With `recipient_row` (a recipients-table mapping) its name, address and customer id are used; else
    the keyword fields. An identical entry still in force (same reason, customer id, name and address) is
    reused, so importing the same file twice or scanning the same opt-out twice adds nothing. A record whose
    data was erased keeps the entry that stands for it; a person matched by `erased` (erasure hashes) is
    not written down again in readable form: that entry is returned.

    The entry is recorded for `client_id`, else for the client of `campaign_id`, else the default client.
    """
    if reason not in REASONS:
        raise MailingError(f"unknown suppression reason {reason!r}; allowed: {', '.join(REASONS)}")
    if client_id is None:
        client_id = client_of_campaign(conn, campaign_id) if campaign_id is not None else default_client(conn).id
    if recipient_row is not None and recipient_row.get("erased_at") is not None:
        return _entry_of_erased(conn, reason, source, source_ref, recipient_row, campaign_id, client_id)
    if recipient_row is not None:
        r = recipient_row
        customer_id, last_name, first_name, company = (r.get("customer_id"), r.get("last_name"),
                                                       r.get("first_name"), r.get("company"))
        street, house_number, postbox = r.get("street"), r.get("house_number"), r.get("postbox")
        postal_code, city, country = r.get("postal_code"), r.get("city"), r.get("country")
    customer_id, last_name, first_name, company = map(_clean, (customer_id, last_name, first_name, company))
    street, house_number, postbox, postal_code, city = map(_clean, (street, house_number, postbox, postal_code, city))
    country = (_clean(country) or "DE").upper()
    key = None
    if (last_name or company) and (street or postbox) and postal_code:
        key = match_key(last_name, company, street, house_number, postbox, postal_code, country)
    if key is None and customer_id is None:
        raise MailingError("a suppression entry needs a customer id or a name with a full address")
    if erased is not None:
        hashed = erased.match(customer_id, key, first_name, client_id)
        if hashed is not None:
            return hashed
    today = as_of or _today()
    s = suppression.c
    existing = conn.execute(
        select(s.id, s.first_name).where(
            s.reason == reason,
            s.client_id == client_id,
            s.customer_id.is_(None) if customer_id is None else s.customer_id == customer_id,
            s.match_key.is_(None) if key is None else s.match_key == key,
            or_(s.expires_at.is_(None), s.expires_at > today),
        )
    ).all()
    for row in existing:
        if fold(row.first_name) == fold(first_name):
            return int(row.id)
    entry_id = new_id(conn.execute(insert(suppression).values(
        reason=reason, customer_id=customer_id, last_name=last_name, first_name=first_name, company=company,
        street=f"Postfach {postbox}" if postbox and not street else street, house_number=house_number,
        postal_code=postal_code, city=city, country=country, match_key=key, source=source,
        source_ref=source_ref, campaign_id=campaign_id, expires_at=expiry_for(reason, today), client_id=client_id,
    )))
    log.info("suppressed (%s) from %s %s: entry %d", reason, source, source_ref or "", entry_id)
    return entry_id


def _entry_of_erased(conn: Connection, reason: str, source: str, source_ref: str | None,
                     row: Mapping[str, Any], campaign_id: int | None, client_id: int) -> int:
    """An objection or return for a record whose data is gone (a late coupon): the entry that keeps it
    suppressed; for a purged record without one, an entry without personal data that records the event
    (nothing is left to match a later list against)."""
    kept = row.get("suppression_id")
    if kept is not None and conn.execute(select(suppression.c.id).where(suppression.c.id == kept)).first():
        return int(kept)
    log.warning("%s for recipient %s, whose data was purged: recorded without personal data; a later list "
                "cannot be matched against it", reason, row.get("id"))
    return new_id(conn.execute(insert(suppression).values(
        reason=reason, source=source, source_ref=source_ref, campaign_id=campaign_id,
        expires_at=expiry_for(reason, _today()), client_id=client_id)))


def binding(client_id: int) -> Any:
    """SQL condition: the suppression entries that bind client `client_id` by name + address (its own, and
    everyone's entries of the reasons that bind all clients)."""
    s = suppression.c
    return or_(s.client_id == client_id, s.reason.not_in(CLIENT_ONLY))


def suppressed_recipients(conn: Connection, campaign_id: int, as_of: date | None = None) -> dict[int, int]:
    """recipient id → suppression entry id, for every active recipient of the campaign matched by an entry
    in force on `as_of` (default today) that binds the campaign's client: by customer id (entries of that
    client), or by name + address (match_key, first names agreeing; that client's objections and everyone's
    Robinson, undeliverable, deceased and erased entries), also through the keyed hashes of erased persons;
    an erased record by the entry kept for it. The lowest (oldest) matching entry id is reported."""
    today = as_of or _today()
    client_id = client_of_campaign(conn, campaign_id)
    r, s = recipients.c, suppression.c
    in_force = or_(s.expires_at.is_(None), s.expires_at > today)
    binds = binding(client_id)
    mine = and_(r.campaign_id == campaign_id, r.active.is_(True))
    result: dict[int, int] = {}
    by_customer = (
        select(r.id, func.min(s.id))
        .select_from(recipients.join(suppression, s.customer_id == r.customer_id))
        .where(mine, r.customer_id.is_not(None), s.client_id == client_id, in_force)
        .group_by(r.id)
    )
    for rid, sid in conn.execute(by_customer):
        result[int(rid)] = int(sid)
    by_address = (
        select(r.id, r.first_name, s.id.label("sid"), s.first_name.label("s_first"))
        .select_from(recipients.join(suppression, s.match_key == r.match_key))
        .where(mine, in_force, binds)
        .order_by(s.id)
    )
    for row in conn.execute(by_address):
        if _first_names_agree(row.first_name, row.s_first):
            rid = int(row.id)
            result[rid] = min(result.get(rid, row.sid), int(row.sid))
    erased = (select(r.id, s.id).select_from(recipients.join(suppression, s.id == r.suppression_id))
              .where(mine, r.erased_at.is_not(None), in_force))
    for rid, sid in conn.execute(erased):
        result[int(rid)] = min(result.get(int(rid), int(sid)), int(sid))
    hashed = HashedEntries.load(conn, today)
    if hashed is not None:  # one HMAC per record and part: only while hashed entries exist
        for row in conn.execute(select(r.id, r.customer_id, r.match_key, r.first_name)
                                .where(mine, r.erased_at.is_(None)).execution_options(yield_per=5000)):
            sid = hashed.match(row.customer_id, row.match_key, row.first_name, client_id)
            if sid is not None:
                result[int(row.id)] = min(result.get(int(row.id), sid), sid)
    return result


@dataclass(frozen=True)
class SuppressionImport:
    source_file: str
    rows: int
    added: int
    already: int  # identical entries already in force (re-imported file)


def import_file(store: Store, path: str | Path, reason: str, sheet: str | None = None,
                as_of: date | None = None, client: str | None = None) -> SuppressionImport:
    """Read a CSV/XLSX of customer ids and/or names + addresses and add every row (one transaction), in the
    name of client `client` (its key). Without it: the only client of a store that has one; a store with
    several clients needs it (whose customer ids and objections the file holds is not guessed).

    Any bad row refuses the whole file (nothing written), named by file, row and column.
    """
    if reason not in REASONS:
        raise MailingError(f"unknown suppression reason {reason!r}; allowed: {', '.join(REASONS)}")
    p = Path(path)
    records = read_suppression_rows(p, sheet)
    added = already = 0
    with store.begin() as conn:
        if client is not None:
            client_id = client_by_key(conn, client).id
        elif client_count(conn) <= 1:
            client_id = default_client(conn).id
        else:
            raise MailingError(f"{p.name}: the store has several clients; name the one whose list this is with "
                               "--client KEY (`mailing client list` shows them)")
        before = conn.execute(select(func.max(suppression.c.id))).scalar() or 0
        seen: set[int] = set()
        erased = HashedEntries.load(conn, as_of, (ERASED,))
        for rec in records:
            entry_id = add_entry(conn, reason, "import", p.name, as_of=as_of, erased=erased, client_id=client_id,
                                 **rec)
            if entry_id > before and entry_id not in seen:
                added += 1
            else:
                already += 1
            seen.add(entry_id)
        audit(conn, "suppression.import", "suppression", None,
              f"{p.name}: reason {reason}, client {client_id}, {len(records)} rows, {added} added, "
              f"{already} already listed")
    return SuppressionImport(str(p), len(records), added, already)


def list_entries(conn: Connection, as_of: date | None = None) -> list[dict[str, Any]]:
    """Every entry, oldest first, with `in_force` for the given day (default today), `client` (the key of the
    client it was recorded for), `all_clients` (it binds every client) and `hashed` (only keyed hashes of an
    erased person are left; the hashes themselves are not listed)."""
    today = as_of or _today()
    keys = {int(c.id): c.key for c in conn.execute(select(clients.c.id, clients.c.key))}
    out = []
    for row in conn.execute(select(suppression).order_by(suppression.c.id)):
        m = dict(row._mapping)
        m["in_force"] = m["expires_at"] is None or m["expires_at"] > today
        m["client"] = keys.get(m["client_id"] or 0)  # whose customer id; an objection binds that client only
        m["all_clients"] = scope_all(m["reason"])
        hashes = [m.pop(k) for k in _HASH_COLUMNS]
        m["hashed"] = any(hashes)
        out.append(m)
    return out


_HASH_COLUMNS = ("customer_hash", "key_hash", "first_name_hash", "initial_hash")


def suppress_response(conn: Connection, recipient_row: Mapping[str, Any], campaign_id: int | None, source: str,
                      source_ref: str) -> int:
    """An objection read on a response (coupon tick, review, online answer): the recipient is suppressed in
    the caller's transaction, the same one that records the response. Returns the entry (an identical
    objection already in force is reused)."""
    return add_entry(conn, "objection", source, source_ref, recipient_row=recipient_row, campaign_id=campaign_id)
