"""The review queue: what the machine could not read or was not sure about.

Kinds: ``unreadable`` (no code found), ``invalid`` (check symbol wrong), ``unknown`` (no such code),
``doubtful`` (a tick box between empty and ticked) and ``conflict`` (a second copy of an answered coupon
ticks something the first did not). A person resolves an item by typing the human-readable code (check
symbol validated), by setting boxes, or by voiding it. Resolving records the response as if it had been
read, and closes the item; an opt-out set or typed here is on the suppression list in the same transaction.
A clearer copy of the coupon (a grey rescan) may settle a "doubtful" item before anybody does
(mailing/settle.py); a box a person sets is theirs, and an undo of that rescan leaves it as they set it.
Every resolution goes to the audit log, under the name of the person who made it (`actor`).

At the review station several operators work on one queue: each takes the next item with `claim_next`,
which holds it for them for CLAIM_MINUTES (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite: inside
a write transaction), so two people never get the same item; a held item is refused to everybody else,
the command line included, until its hold runs out.

Clients (mailing/clients.py): an item belongs to the client of the letter its code names. Whoever may see
only some clients (`Access`: a web user's clients, `review --client`) gets only those clients' items; an item
whose code names no letter (unreadable, invalid, unknown) could be any client's coupon and is shown only to
those who may see every client. An item someone may not see is "not found" for them, whatever they do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, false, func, or_, select, true, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from mailing import codes
from mailing.clients import EVERYTHING, Access, client_of_piece
from mailing.errors import MailingError, NotFoundError, StoreError
from mailing.matching import Matcher, apply_objection, optout_keys, record_response
from mailing.store import (
    Store,
    acting_as,
    audit,
    campaigns,
    clients,
    pieces,
    response_options,
    responses,
    retryable,
    review_items,
    scan_marks,
    scan_runs,
    scans,
    suppression,
    utcnow,
    wave_suppressions,
    waves,
)

KINDS = ("unreadable", "invalid", "unknown", "doubtful", "conflict")


class HeldError(MailingError):
    """Someone else holds the item at the review station."""

CLAIM_MINUTES = 5  # an operator's hold on an item: long enough to read a bad coupon, short for a closed tab


@dataclass
class ReviewItem:
    id: int
    kind: str
    note: str | None
    source: str
    page: int
    code: str | None
    campaign: str | None
    options: dict[str, bool | None] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    picture: str | None = None
    run: int | None = None  # the scan run that recorded the page (`review void --run`, `runs undo`)
    reason: str | None = None  # why the scan was not enough (e.g. "no code found", "check symbol wrong")
    option_labels: dict[str, str] = field(default_factory=dict)  # key → the coupon's wording (known codes)
    marks: dict[str, str] = field(default_factory=dict)  # key → ticked|empty|doubtful, as the scan measured it
    status: str = "open"  # open | resolved | voided
    box_pictures: list[str] = field(default_factory=list)  # keys whose box crop was saved (`box_picture`)
    client: str | None = None  # the key of the client whose letter the code names (None: no letter known)
    bitonal: bool = False  # the page was black and white: a grey rescan settles doubtful boxes (mailing/settle.py)

    @property
    def rescan(self) -> bool:
        """Doubtful boxes on a black-and-white page: scanning it again in grey settles them, no person needed."""
        return self.bitonal and self.kind == "doubtful"

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "note": self.note, "source": self.source, "page": self.page,
                "code": self.code, "campaign": self.campaign, "client": self.client, "options": self.options,
                "scores": self.scores, "picture": self.picture, "run": self.run, "rescan": self.rescan}


def _client_of_item() -> ColumnElement:  # type: ignore[type-arg]
    """The client id of a review item's letter (correlated to review_items; NULL: no letter known)."""
    sc = scans.alias("item_scan")
    return (select(campaigns.c.client_id)
            .select_from(sc.join(pieces, pieces.c.id == sc.c.piece_id).join(waves, waves.c.id == pieces.c.wave_id)
                         .join(campaigns, campaigns.c.id == waves.c.campaign_id))
            .where(sc.c.id == review_items.c.scan_id).correlate(review_items).scalar_subquery())


def _visible(access: Access) -> ColumnElement:  # type: ignore[type-arg]
    """SQL condition: the review items `access` may see."""
    if access.client_ids is None:
        return true()
    owner = _client_of_item()
    mine = owner.in_(sorted(access.client_ids))
    return or_(mine, owner.is_(None)) if access.all_clients else mine


def _check_visible(conn: Connection, item_id: int, access: Access) -> None:
    """An item `access` may not see is not found (its id says nothing about another client's work)."""
    if access.client_ids is None:
        return
    if conn.execute(select(review_items.c.id).where(review_items.c.id == item_id, _visible(access))).first() is None:
        raise NotFoundError(f"no review item {item_id}; `mailing review` lists the open ones")


def open_items(store: Store, campaign: str | None = None, pictures: str | Path | None = None,
               access: Access = EVERYTHING) -> list[ReviewItem]:
    """Open items `access` may see, oldest first; with `pictures`, each item's saved picture is written there
    as PNG."""
    matcher = Matcher()
    out: list[ReviewItem] = []
    with store.connect() as conn:
        rows = conn.execute(_item_query().where(review_items.c.status == "open", _visible(access))
                            .order_by(review_items.c.id)).all()
        for r in rows:
            item = _review_item(conn, r, matcher)
            if campaign and item.campaign != campaign:
                continue
            if pictures and r.snippet:
                folder = Path(pictures)
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"review-{r.id}{picture_suffix(r.snippet)}"
                path.write_bytes(r.snippet)
                item.picture = str(path)
            out.append(item)
    return out


def _item_query():  # type: ignore[no-untyped-def]
    owner = _client_of_item()
    return (select(review_items, scans.c.source, scans.c.page, scans.c.code, scans.c.snippet,
                   scans.c.id.label("sid"), scans.c.run_id, scans.c.reason, scans.c.bitonal,
                   select(clients.c.key).where(clients.c.id == owner).scalar_subquery().label("client_key"))
            .join(scans, scans.c.id == review_items.c.scan_id))


def _review_item(conn: Connection, r, matcher: Matcher) -> ReviewItem:  # type: ignore[no-untyped-def]
    item = ReviewItem(r.id, r.kind, r.note, r.source, r.page, r.code, None, run=r.run_id, reason=r.reason,
                      status=r.status, client=r.client_key, bitonal=bool(r.bitonal))
    marks = {m.key: m for m in conn.execute(select(scan_marks).where(scan_marks.c.scan_id == r.sid))}
    item.marks = {k: m.state for k, m in marks.items()}
    item.box_pictures = [k for k, m in marks.items() if m.snippet]
    info = matcher.piece(conn, r.code) if r.code else None
    if info is not None:
        item.campaign = info.campaign_name
        resp = _response_options(conn, info.piece_id)
        item.options = {k: resp.get(k) for k in info.campaign.option_keys}
        item.scores = {k: round(m.score, 3) for k, m in marks.items()}
        item.option_labels = info.campaign.option_labels
    return item


def get_item(store: Store, item_id: int, access: Access = EVERYTHING) -> ReviewItem:
    """One item, open or closed, as `open_items` describes it (without writing its picture)."""
    with store.connect() as conn:
        row = conn.execute(_item_query().where(review_items.c.id == item_id, _visible(access))).first()
        if row is None:
            raise NotFoundError(f"no review item {item_id}; `mailing review` lists the open ones")
        return _review_item(conn, row, Matcher())


def item_picture(store: Store, item_id: int, access: Access = EVERYTHING) -> bytes | None:
    """The saved picture of an item's page or coupon (PNG or JPEG), or None (also for an item `access` may
    not see)."""
    with store.connect() as conn:
        return conn.execute(select(scans.c.snippet).join(review_items, review_items.c.scan_id == scans.c.id)
                            .where(review_items.c.id == item_id, _visible(access))).scalar()


def box_picture(store: Store, item_id: int, key: str, access: Access = EVERYTHING) -> bytes | None:
    """The crop of one tick box of an item's coupon (PNG), or None."""
    with store.connect() as conn:
        return conn.execute(select(scan_marks.c.snippet)
                            .join(review_items, review_items.c.scan_id == scan_marks.c.scan_id)
                            .where(review_items.c.id == item_id, scan_marks.c.key == key, _visible(access))).scalar()


@dataclass(frozen=True)
class CodeCheck:
    """What a typed code is: its normalised form, whether its check symbol holds, and the piece's options."""

    code: str
    valid: bool
    reason: str | None = None  # why not valid, or "no such code"
    campaign: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # key → label, for a code of a piece


def check_code(store: Store, typed: str, access: Access = EVERYTHING) -> CodeCheck:
    """For the review station: is a typed code well formed, and whose coupon options does it open? A code
    of a client `access` may not see is "no such code"."""
    try:
        code = codes.parse(typed)
    except codes.CodeError as exc:
        return CodeCheck(codes.normalise(typed), False, exc.reason)
    with store.connect() as conn:
        info = Matcher().piece(conn, code)
        if info is not None and not access.sees(client_of_piece(conn, info.piece_id)):
            info = None
    if info is None:
        return CodeCheck(code, True, "no such code")
    return CodeCheck(code, True, None, info.campaign_name, info.campaign.option_labels)


# ------------------------------------------------------------------------------------------------ claims
def _write_lock(conn: Connection) -> None:
    """SQLite: take the database's write lock now, so that what this transaction reads stays true until it
    commits (a write that matches no row still takes it). PostgreSQL locks rows instead (FOR UPDATE)."""
    if conn.dialect.name == "sqlite":
        conn.execute(update(review_items).where(false()).values(claimed_until=None))


def claim_next(store: Store, actor: str, skip: Sequence[int] = (), minutes: float = CLAIM_MINUTES,
               now: datetime | None = None, access: Access = EVERYTHING) -> int | None:
    """Hold the next open item for `actor` and return its id (None: nothing left for them).

    The item `actor` already holds comes first; then the oldest one nobody holds (or whose hold ran out).
    Items in `skip` (the ones this person passed over) are left for the others.
    """
    now = now or utcnow()
    ri = review_items.c
    with store.begin() as conn:
        _write_lock(conn)
        query = (select(ri.id).where(ri.status == "open", _visible(access),
                                     or_(ri.claimed_until.is_(None), ri.claimed_until <= now, ri.claimed_by == actor))
                 .order_by(case((ri.claimed_by == actor, 0), else_=1), ri.id).limit(1)
                 .with_for_update(skip_locked=True))
        if skip:
            query = query.where(ri.id.not_in(list(skip)))
        item_id = conn.execute(query).scalar()
        if item_id is None:
            return None
        conn.execute(update(review_items).where(ri.id == item_id)
                     .values(claimed_by=actor, claimed_until=now + timedelta(minutes=minutes)))
        return int(item_id)


def open_count(store: Store, access: Access = EVERYTHING) -> int:
    """How many items `access` may see are open (held ones included)."""
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(review_items)
                                .where(review_items.c.status == "open", _visible(access))).scalar_one())


def release_all(store: Store, actor: str) -> None:
    """`actor` leaves the station (logs out): every item they hold is free for the others at once."""
    with store.begin() as conn:
        conn.execute(update(review_items).where(review_items.c.claimed_by == actor, review_items.c.status == "open")
                     .values(claimed_until=None))


def release(store: Store, item_id: int, actor: str) -> None:
    """`actor` lets go of an item (skipped it, logged out): the next person may take it at once."""
    with store.begin() as conn:
        done = conn.execute(update(review_items).where(review_items.c.id == item_id,
                                                       review_items.c.claimed_by == actor,
                                                       review_items.c.status == "open")
                            .values(claimed_until=None))
        if done.rowcount:
            audit(conn, "review.skip", "review_item", item_id, "", actor=actor)


def picture_suffix(data: bytes) -> str:
    """Saved pictures are PNG (pages, box crops) or JPEG (straightened coupons)."""
    return ".jpg" if data[:3] == b"\xff\xd8\xff" else ".png"


def _response_options(conn: Connection, piece_id: int) -> dict[str, bool | None]:
    resp = conn.execute(select(responses.c.id).where(responses.c.piece_id == piece_id)).first()
    if resp is None:
        return {}
    return {o.key: o.ticked for o in conn.execute(
        select(response_options).where(response_options.c.response_id == resp.id))}


def _item(conn: Connection, item_id: int, actor: str | None = None):  # type: ignore[no-untyped-def]
    """The open item, locked for this transaction; refused while someone else holds it at the station."""
    _write_lock(conn)
    row = conn.execute(
        select(review_items, scans.c.code, scans.c.returned_mail, scans.c.id.label("sid"))
        .join(scans, scans.c.id == review_items.c.scan_id).where(review_items.c.id == item_id)
        .with_for_update(of=review_items)
    ).first()
    if row is None:
        raise NotFoundError(f"no review item {item_id}; `mailing review` lists the open ones")
    if row.status != "open":
        raise MailingError(f"review item {item_id} is already {row.status}")
    if row.claimed_by and row.claimed_by != actor and row.claimed_until and row.claimed_until > utcnow():
        raise HeldError(f"review item {item_id} is being reviewed by {row.claimed_by} until "
                           f"{row.claimed_until:%H:%M} UTC; take another item")
    return row


def _close(conn: Connection, item_id: int, status: str, note: str) -> None:
    conn.execute(update(review_items).where(review_items.c.id == item_id)
                 .values(status=status, resolved_at=utcnow(), note=note))


def resolve_code(store: Store, item_id: int, typed: str, values: Mapping[str, bool] | None = None,
                 received_on: date | None = None, actor: str | None = None, access: Access = EVERYTHING) -> str:
    """Resolve an unreadable/invalid/unknown item by the code a person read off the coupon.

    Returns the new outcome (matched, duplicate or returned); the item is closed. The person names the
    ticked boxes: a box not named counts as read from the scan when it was measured clearly, else as not
    ticked (an unreadable page has no measured boxes at all).
    """
    try:
        code = codes.parse(typed)
    except codes.CodeError as exc:
        raise MailingError(f"review item {item_id}: {exc}; type the code printed under the QR code") from None
    values = dict(values or {})
    return str(_retried(item_id, lambda: _resolve_code(store, item_id, code, values, received_on, actor, access)))


RECORD_TRIES = 8  # an answer on another channel (a scan, the answer page) committing first costs one retry


def _retried(item_id: int, decide: Callable[[], Any]) -> Any:
    """Run a decision's transaction; when it lost a race (the same letter answered online, by phone or by
    another scan at that moment: a unique constraint, a deadlock), run it again: it then finds that answer."""
    for attempt in range(RECORD_TRIES):
        try:
            return decide()
        except (IntegrityError, OperationalError) as exc:
            if attempt + 1 == RECORD_TRIES or not retryable(exc):
                orig = str(getattr(exc, "orig", exc)).strip()
                raise StoreError(f"review item {item_id}: cannot record the decision in the store: "
                                 f"{orig.splitlines()[0] if orig else type(exc).__name__}") from exc
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _resolve_code(store: Store, item_id: int, code: str, values: dict[str, bool], received_on: date | None,
                  actor: str | None, access: Access) -> str:
    with acting_as(actor), store.begin() as conn:
        _check_visible(conn, item_id, access)
        row = _item(conn, item_id, actor)
        if row.kind not in ("unreadable", "invalid", "unknown"):
            raise MailingError(f"review item {item_id} is {row.kind}: set its boxes with `mailing review set`")
        matcher = Matcher(returned_mail=bool(row.returned_mail), received_on=received_on)
        info = matcher.piece(conn, code)
        if info is not None and not access.sees(client_of_piece(conn, info.piece_id)):
            info = None  # another client's letter: as if there were none
        if info is None:
            raise MailingError(f"review item {item_id}: no piece has code {codes.format_code(code)}; check the "
                               "code, or void the item")
        _check_keys(values, info.campaign.option_keys, item_id)
        marks = {m.key: m.state for m in conn.execute(select(scan_marks).where(scan_marks.c.scan_id == row.sid))}
        state_value = {"ticked": True, "empty": False}
        options: dict[str, bool | None] = {k: values[k] if k in values else state_value.get(marks.get(k, ""), False)
                                           for k in info.campaign.option_keys}
        if row.returned_mail:
            status = "returned"
            matcher.mark_returned(conn, info, row.sid)
        elif conn.execute(select(responses.c.id).where(responses.c.piece_id == info.piece_id)).first():
            status = "duplicate"
        else:
            status = "matched"
        conn.execute(update(scans).where(scans.c.id == row.sid).values(
            status=status, code=code, piece_id=info.piece_id, reason=None))
        if status == "matched":
            record_response(conn, info.piece_id, options, row.sid, matcher.received_on, "review")
        if status != "returned":  # an objection typed from a second copy is honoured too
            apply_objection(conn, info.piece_id, info.campaign, options, row.sid, "review")
        audit(conn, "review.resolve", "review_item", item_id, f"code {code} → {status}")
        _close(conn, item_id, "resolved", f"code {code} typed → {status} " +
               " ".join(f"{k}={'yes' if v else 'no'}" for k, v in options.items()))
        return status


def set_boxes(store: Store, item_id: int, values: Mapping[str, bool],
              actor: str | None = None, access: Access = EVERYTHING) -> dict[str, bool | None]:
    """Resolve a doubtful or conflict item by setting boxes; returns the response's options afterwards."""
    return _retried(item_id, lambda: _set_boxes(store, item_id, values, actor, access))  # type: ignore[no-any-return]


def _set_boxes(store: Store, item_id: int, values: Mapping[str, bool], actor: str | None,
               access: Access) -> dict[str, bool | None]:
    with acting_as(actor), store.begin() as conn:
        _check_visible(conn, item_id, access)
        row = _item(conn, item_id, actor)
        if row.kind not in ("doubtful", "conflict"):
            raise MailingError(f"review item {item_id} is {row.kind}: resolve it with --code first")
        piece_id = conn.execute(select(scans.c.piece_id).where(scans.c.id == row.sid)).scalar_one()
        resp = conn.execute(select(responses.c.id).where(responses.c.piece_id == piece_id)).one()
        info = Matcher().piece(conn, row.code)
        if info is None:
            raise MailingError(f"review item {item_id}: its code no longer names a piece; void the item")
        keys = info.campaign.option_keys
        _check_keys(values, keys, item_id)
        for k, v in values.items():
            conn.execute(update(response_options).where(response_options.c.response_id == resp.id,
                                                         response_options.c.key == k).values(ticked=v, settled_by=None))
        after = _response_options(conn, piece_id)
        audit(conn, "review.set", "review_item", item_id, " ".join(f"{k}={v}" for k, v in values.items()))
        objected = any(after.get(k) for k in optout_keys(info.campaign))
        if objected:
            apply_objection(conn, piece_id, info.campaign, after, row.sid, "review")
        elif any(k in values for k in optout_keys(info.campaign)):
            _withdraw_objection(conn, resp.id, item_id)
        missing = [k for k in keys if after.get(k) is None]
        if missing:
            conn.execute(update(review_items).where(review_items.c.id == item_id)
                         .values(note="boxes still to set: " + ", ".join(missing)))
        else:
            _close(conn, item_id, "resolved", "boxes set: " + " ".join(f"{k}={v}" for k, v in values.items()))
        return {k: after.get(k) for k in keys}


def _withdraw_objection(conn: Connection, response_id: int, item_id: int) -> None:
    """A person decided a read opt-out was not one: the entry that response's scans added goes again,
    unless a wave already applied it or another scan relies on it."""
    sids = [r.id for r in conn.execute(
        select(scans.c.id).join(responses, responses.c.piece_id == scans.c.piece_id)
        .where(responses.c.id == response_id))]
    for sid in sids:
        entry = conn.execute(select(scans.c.suppression_id).where(scans.c.id == sid)).scalar()
        if entry is None:
            continue
        ref = conn.execute(select(suppression.c.source_ref).where(suppression.c.id == entry)).scalar()
        others = conn.execute(select(scans.c.id).where(scans.c.suppression_id == entry, scans.c.id != sid)).first()
        applied = conn.execute(select(wave_suppressions.c.wave_id)
                               .where(wave_suppressions.c.suppression_id == entry)).first()
        if ref != f"scan {sid}" or others or applied:
            continue
        conn.execute(update(scans).where(scans.c.id == sid).values(suppression_id=None))
        conn.execute(suppression.delete().where(suppression.c.id == entry))
        audit(conn, "suppression.withdraw", "review_item", item_id, f"entry {entry}: opt-out set to no in review")


def void(store: Store, item_ids: int | Sequence[int], note: str = "", run_id: int | None = None,
         actor: str | None = None, access: Access = EVERYTHING) -> list[int]:
    """Close items without a response (not a coupon, illegible, …): the ids given and, with `run_id`, every
    open item of that scan run. All or nothing: an unknown or closed id refuses the lot. The pages stay
    recorded. Returns the ids voided."""
    ids = [item_ids] if isinstance(item_ids, int) else list(item_ids)
    with acting_as(actor), store.begin() as conn:
        for item_id in ids:
            _check_visible(conn, item_id, access)
            _item(conn, item_id, actor)
        if run_id is not None:
            if conn.execute(select(scan_runs.c.id).where(scan_runs.c.id == run_id)).first() is None:
                raise NotFoundError(f"no scan run {run_id}; `mailing runs` lists them")
            ids += [int(r.id) for r in conn.execute(
                select(review_items.c.id).join(scans, scans.c.id == review_items.c.scan_id)
                .where(scans.c.run_id == run_id, review_items.c.status == "open").order_by(review_items.c.id))
                if int(r.id) not in ids]
        for item_id in ids:
            _close(conn, item_id, "voided", note or "voided")
            audit(conn, "review.void", "review_item", item_id, note)
    return ids


def _check_keys(values: Mapping[str, bool], keys: list[str], item_id: int) -> None:
    unknown = [k for k in values if k not in keys]
    if unknown:
        raise MailingError(f"review item {item_id}: unknown option {unknown[0]!r}; the campaign's options are "
                           + ", ".join(keys))


def parse_assignments(items: list[str]) -> dict[str, bool]:
    """["info=yes", "call=0"] → {"info": True, "call": False}."""
    truth = {"1": True, "yes": True, "ja": True, "true": True, "x": True,
             "0": False, "no": False, "nein": False, "false": False, "-": False}
    out: dict[str, bool] = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key or value.lower() not in truth:
            raise MailingError(f"{item!r}: write KEY=yes or KEY=no, e.g. info=yes")
        out[key.strip()] = truth[value.lower()]
    return out

