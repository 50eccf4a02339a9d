"""Recording scan readings: one page → outcomes in the store, one transaction per page.

Each coupon found (or each page where none is found) gets exactly one outcome:
``matched`` (a new response), ``duplicate`` (the piece already has a response; kept, not counted again; what
it reads clearly decides the boxes the first reading left doubtful: mailing/settle.py),
``unknown`` (valid check symbol, no such code), ``invalid`` (check symbol wrong), ``unreadable`` (no code
found) or ``returned`` (an undeliverable letter scanned in returned-mail mode: the piece is flagged and its
address suppressed). The first response wins. Scanning the very same image again (same image hash)
repeats that image's first outcome (and names its first run) and changes nothing.

An opt-out read on a coupon is on the suppression list in the same transaction that records the response
(`apply_objection`). A coupon that ticks both an option of a ``call`` rule and an opt-out goes to review
(kind ``conflict``; the call stays undecided, the objection is honoured at once) unless the campaign says
``[coupon] conflict = "optout-wins"``. A page drawn by a program (a print file's vector page) carrying one
of our codes is `invalid` and recorded nowhere: print files are not scans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from mailing import codes
from mailing.campaigns import load_by_id
from mailing.config import Campaign
from mailing.log import get_logger
from mailing.settle import DOUBTFUL_NOTE, settle
from mailing.store import (
    audit,
    new_id,
    pieces,
    recipients,
    response_options,
    responses,
    review_items,
    scan_marks,
    scans,
    waves,
)
from scanning.results import BoxReading, CouponReading, PageReading

log = get_logger(__name__)

OUTCOMES = ("matched", "duplicate", "unknown", "invalid", "unreadable", "returned")
_STATE_VALUE = {"ticked": True, "empty": False, "doubtful": None}


@dataclass
class Outcome:
    """One line of `scan --json`."""

    source: str
    page: int
    status: str
    reason: str | None = None
    code: str | None = None
    campaign: str | None = None
    wave: int | None = None
    customer_id: str | None = None
    options: dict[str, bool | None] = field(default_factory=dict)
    needs_review: bool = False
    repeated: bool = False  # the same image was scanned before; nothing changed
    run: int | None = None  # the scan run that recorded it (for a repeated image: its first run)
    recorded: bool = True  # False: nothing was written (a print file's page)
    bitonal_doubt: bool = False  # doubtful boxes on a page scanned black and white (scan in grey: README)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "page": self.page, "status": self.status, "reason": self.reason,
            "code": self.code, "campaign": self.campaign, "wave": self.wave, "customer_id": self.customer_id,
            "options": self.options, "needs_review": self.needs_review, "run": self.run,
        }


@dataclass
class _PieceInfo:
    piece_id: int
    campaign: Campaign
    campaign_name: str
    wave: int
    recipient_id: int
    customer_id: str | None
    undeliverable: bool


class Matcher:
    """Records readings; caches campaign files so a stack of thousands of pages parses each once."""

    def __init__(self, *, returned_mail: bool = False, received_on: date | None = None,
                 run_id: int | None = None) -> None:
        self.returned_mail = returned_mail
        self.received_on = received_on or date.today()
        self.run_id = run_id
        self._campaigns: dict[int, Campaign] = {}

    # ----------------------------------------------------------------------------------- lookup
    def _campaign(self, conn: Connection, campaign_id: int) -> Campaign:
        if campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = load_by_id(conn, campaign_id)
        return self._campaigns[campaign_id]

    def piece(self, conn: Connection, code: str) -> _PieceInfo | None:
        """The piece a code belongs to, with its campaign (parsed once per run), or None."""
        row = conn.execute(
            select(pieces.c.id, pieces.c.undeliverable, pieces.c.recipient_id, waves.c.number,
                   waves.c.campaign_id, recipients.c.customer_id)
            .join(waves, waves.c.id == pieces.c.wave_id)
            .join(recipients, recipients.c.id == pieces.c.recipient_id)
            .where(pieces.c.code == code)
        ).first()
        if row is None:
            return None
        campaign = self._campaign(conn, row.campaign_id)
        return _PieceInfo(row.id, campaign, campaign.name, row.number, row.recipient_id, row.customer_id,
                          bool(row.undeliverable))

    # ---------------------------------------------------------------------------------- record
    def record(self, conn: Connection, reading: PageReading) -> list[Outcome]:
        """Record one page (call inside one transaction per page)."""
        previous = self._previous(conn, reading)
        if previous is not None:
            return previous
        if reading.vector:
            printed = self._print_file_page(conn, reading)
            if printed is not None:
                return printed
        if not reading.coupons:
            reason = reading.reason or "no code found"
            scan_id = self._insert_scan(conn, reading, 0, "unreadable", reason, None, None, reading.snippet_png)
            self._review(conn, scan_id, "unreadable", reason)
            return [Outcome(reading.source, reading.page, "unreadable", reason, needs_review=True, run=self.run_id)]
        return [self._record_coupon(conn, reading, i, c) for i, c in enumerate(reading.coupons)]

    def _print_file_page(self, conn: Connection, reading: PageReading) -> list[Outcome] | None:
        """A vector page carrying one of our codes is a page of a print file: invalid, nothing recorded."""
        for c in reading.coupons:
            if not c.code or c.reason:
                continue
            try:
                info = self.piece(conn, codes.parse(c.code))
            except codes.CodeError:
                continue
            if info is not None:
                reason = print_file_reason(info.campaign_name, info.wave)
                return [Outcome(reading.source, reading.page, "invalid", reason, campaign=info.campaign_name,
                                wave=info.wave, run=self.run_id, recorded=False)]
        return None

    def _previous(self, conn: Connection, reading: PageReading) -> list[Outcome] | None:
        rows = conn.execute(
            select(scans).where(scans.c.image_hash == reading.image_hash).order_by(scans.c.coupon_index)
        ).all()
        if not rows:
            return None
        out = []
        for row in rows:
            o = self._outcome_from_row(conn, row)
            o.source, o.page, o.repeated, o.run = reading.source, reading.page, True, row.run_id
            out.append(o)
        return out

    def _outcome_from_row(self, conn: Connection, row: Any) -> Outcome:
        o = Outcome(row.source, row.page, row.status, row.reason, row.code)
        open_review = conn.execute(
            select(review_items.c.id).where(review_items.c.scan_id == row.id, review_items.c.status == "open")
        ).first()
        o.needs_review = open_review is not None
        if row.piece_id is not None:
            info = self.piece(conn, row.code)
            if info is not None:
                o.campaign, o.wave, o.customer_id = info.campaign_name, info.wave, info.customer_id
                marks = {m.key: _STATE_VALUE[m.state] for m in
                         conn.execute(select(scan_marks).where(scan_marks.c.scan_id == row.id))}
                o.options = {k: marks.get(k) for k in info.campaign.option_keys}
        return o

    def _record_coupon(self, conn: Connection, reading: PageReading, index: int, c: CouponReading) -> Outcome:
        o = self._record_one(conn, reading, index, c)
        o.run = self.run_id
        return o

    def _record_one(self, conn: Connection, reading: PageReading, index: int, c: CouponReading) -> Outcome:
        src, page = reading.source, reading.page
        snippet = c.snippet_png or reading.snippet_png
        if c.reason:  # someone else's QR code (a vCard, a shop's link): nothing of it is stored
            scan_id = self._insert_scan(conn, reading, index, "invalid", c.reason, None, None, snippet, c.decoder)
            self._review(conn, scan_id, "invalid", c.reason)
            return Outcome(src, page, "invalid", c.reason, needs_review=True)
        if not c.code:
            reason = "no code found"
            scan_id = self._insert_scan(conn, reading, index, "unreadable", reason, None, None, snippet, c.decoder)
            self._review(conn, scan_id, "unreadable", reason)
            return Outcome(src, page, "unreadable", reason, needs_review=True)
        code = codes.normalise(c.code)
        try:
            code = codes.parse(code)
        except codes.CodeError as exc:
            scan_id = self._insert_scan(conn, reading, index, "invalid", exc.reason, code, None, snippet, c.decoder)
            self._review(conn, scan_id, "invalid", exc.reason)
            return Outcome(src, page, "invalid", exc.reason, code, needs_review=True)
        info = self.piece(conn, code)
        if info is None:
            reason = "no such code"
            scan_id = self._insert_scan(conn, reading, index, "unknown", reason, code, None, snippet, c.decoder)
            self._review(conn, scan_id, "unknown", reason)
            return Outcome(src, page, "unknown", reason, code, needs_review=True)

        c = strict_objections(info.campaign, c)
        options = self._options(info.campaign, c)
        base = Outcome(src, page, "matched", None, code, info.campaign_name, info.wave, info.customer_id, options)
        if self.returned_mail:
            base.status = "returned"
            scan_id = self._insert_scan(conn, reading, index, "returned", None, code, info.piece_id, snippet, c.decoder)
            self.mark_returned(conn, info, scan_id)
            return base

        existing = conn.execute(select(responses.c.id).where(responses.c.piece_id == info.piece_id)).first()
        status = "duplicate" if existing else "matched"
        scan_id = self._insert_scan(conn, reading, index, status, None, code, info.piece_id, snippet, c.decoder)
        self._insert_marks(conn, scan_id, info.campaign, c.boxes)
        base.status = status
        if existing:
            # A second copy: kept, not counted. If it ticks something the first did not (an opt-out on a
            # photocopy, say), a person must decide: an objection must never be lost.
            recorded = {r.key: r.ticked for r in
                        conn.execute(select(response_options).where(response_options.c.response_id == existing.id))}
            # a clearer copy (a grey rescan of a black-and-white page) decides the boxes the first left doubtful
            settled = settle(conn, info.campaign, existing.id, recorded, options, scan_id)
            if settled is not None:
                base.reason = settled.note
                conn.execute(update(scans).where(scans.c.id == scan_id).values(reason=settled.note))
                recorded.update({k: options[k] for k in settled.keys})
            added = [k for k, v in options.items() if v and not recorded.get(k)]
            if added:
                # an objection on the copy is honoured at once all the same; the person decides the rest
                apply_objection(conn, info.piece_id, info.campaign, {k: True for k in added}, scan_id)
                self._review(conn, scan_id, "conflict", "duplicate ticks " + ", ".join(added))
                base.needs_review = True
            return base
        conflict = call_optout_conflict(info.campaign, options)
        if conflict:
            call_keys, _ = conflict
            if info.campaign.coupon.conflict == "optout-wins":
                options.update(dict.fromkeys(call_keys, False))
            else:
                options.update(dict.fromkeys(call_keys, None))  # no call until a person decides
        record_response(conn, info.piece_id, options, scan_id, self.received_on, "scan")
        apply_objection(conn, info.piece_id, info.campaign, options, scan_id)
        base.options = dict(options)
        if conflict and info.campaign.coupon.conflict != "optout-wins":
            self._review(conn, scan_id, "conflict", "both ticked: " + ", ".join(conflict[0] + conflict[1])
                         + "; the objection is on the suppression list, decide the call")
            base.needs_review = True
        elif any(v is None for v in options.values()):
            doubtful = [k for k, v in options.items() if v is None]
            self._review(conn, scan_id, "doubtful", DOUBTFUL_NOTE + ", ".join(doubtful))
            base.needs_review = True
            base.bitonal_doubt = reading.bitonal
        return base

    def _options(self, campaign: Campaign, c: CouponReading) -> dict[str, bool | None]:
        by_slot: dict[int, BoxReading] = {b.slot: b for b in c.boxes} if c.registered else {}
        return {key: (_STATE_VALUE[by_slot[i].state] if i in by_slot else None)
                for key, i in campaign.option_slots.items()}

    def mark_returned(self, conn: Connection, info: _PieceInfo, scan_id: int | None) -> None:
        """Flag the piece undeliverable and suppress its address (reason undeliverable)."""
        from mailing import suppression

        conn.execute(update(pieces).where(pieces.c.id == info.piece_id).values(undeliverable=True))
        if info.undeliverable:
            return
        rec = conn.execute(select(recipients).where(recipients.c.id == info.recipient_id)).one()
        entry = suppression.add_entry(conn, "undeliverable", "returned-mail", f"scan {scan_id}",
                                      recipient_row=dict(rec._mapping), campaign_id=_campaign_id(conn, info.piece_id))
        if scan_id is not None:
            conn.execute(update(scans).where(scans.c.id == scan_id).values(suppression_id=entry))
        audit(conn, "piece.returned", "piece", info.piece_id, f"scan {scan_id}")

    # ------------------------------------------------------------------------------- inserts
    def _insert_scan(self, conn: Connection, reading: PageReading, index: int, status: str, reason: str | None,
                     code: str | None, piece_id: int | None, snippet: bytes, decoder: str = "") -> int:
        return new_id(conn.execute(insert(scans).values(
            image_hash=reading.image_hash, coupon_index=index, source=reading.source, page=reading.page,
            status=status, reason=reason, code=code, piece_id=piece_id, returned_mail=self.returned_mail,
            decoder=decoder or None, snippet=snippet or None, run_id=self.run_id, bitonal=reading.bitonal,
            phone_snippet=(reading.coupons[index].phone_jpeg or None) if index < len(reading.coupons) else None,
        )))

    def _insert_marks(self, conn: Connection, scan_id: int, campaign: Campaign, boxes: tuple[BoxReading, ...]) -> None:
        keys = {slot: key for key, slot in campaign.option_slots.items()}
        rows = [{"scan_id": scan_id, "key": keys[b.slot], "score": float(b.score), "state": b.state,
                 "snippet": b.snippet_png or None} for b in boxes if b.slot in keys]
        if rows:
            conn.execute(insert(scan_marks), rows)

    def _review(self, conn: Connection, scan_id: int, kind: str, note: str) -> None:
        conn.execute(insert(review_items).values(scan_id=scan_id, kind=kind, note=note))


def _campaign_id(conn: Connection, piece_id: int) -> int:
    return int(conn.execute(select(waves.c.campaign_id).join(pieces, pieces.c.wave_id == waves.c.id)
                            .where(pieces.c.id == piece_id)).scalar_one())


def record_response(conn: Connection, piece_id: int, options: Mapping[str, bool | None], scan_id: int | None,
                    received_on: date, source: str) -> int:
    """The one counted response of a piece, with its options (None = doubtful, waiting for review)."""
    rid = new_id(conn.execute(insert(responses).values(
        piece_id=piece_id, scan_id=scan_id, received_on=received_on, source=source)))
    if options:
        conn.execute(insert(response_options),
                     [{"response_id": rid, "key": k, "ticked": v} for k, v in options.items()])
    audit(conn, "response.record", "piece", piece_id, f"{source} scan={scan_id} " +
          " ".join(f"{k}={v}" for k, v in options.items()))
    return rid


def print_file_reason(campaign: str, wave: int) -> str:
    return f"print file of campaign {campaign} wave {wave}, not a scan"


def optout_keys(campaign: Campaign) -> list[str]:
    """Options whose tick is an objection: those of the campaign's `suppress` rules."""
    return [r.option for r in campaign.rules if r.action == "suppress" and r.when == "ticked" and r.option]


def strict_objections(campaign: Campaign, c: CouponReading) -> CouponReading:
    """The coupon with every objection box (an opt-out) that reads empty but holds any ink at all made
    doubtful. A missed objection keeps mailing a person who said no, the worst error a reading can make; an
    empty box scores 0 (99 % of them in bench/ticks.py), and what a light pen a copier or a stain nearly
    erased leaves of a tick scores a little more (a corner check at 0.03, second pen, coffee)."""
    slots = {campaign.option_slots[k] for k in optout_keys(campaign) if k in campaign.option_slots}
    doubt = [b.slot in slots and b.state == "empty" and b.score > 0 for b in c.boxes]
    if not any(doubt):
        return c
    return replace(c, boxes=tuple(replace(b, state="doubtful") if d else b for b, d in zip(c.boxes, doubt, strict=True)))


def call_keys(campaign: Campaign) -> list[str]:
    return [r.option for r in campaign.rules if r.action == "call" and r.when == "ticked" and r.option]


def call_optout_conflict(campaign: Campaign, options: Mapping[str, bool | None]) -> tuple[list[str], list[str]] | None:
    """(call keys, opt-out keys) both ticked on one coupon, or None."""
    calls = [k for k in call_keys(campaign) if options.get(k)]
    outs = [k for k in optout_keys(campaign) if options.get(k)]
    return (calls, outs) if calls and outs else None


def apply_objection(conn: Connection, piece_id: int, campaign: Campaign, options: Mapping[str, bool | None],
                    scan_id: int | None, source: str = "scan") -> int | None:
    """An opt-out ticked on a response: on the suppression list now, in the caller's transaction.

    Returns the entry (new or already in force) or None when nothing was objected to. The scan remembers
    the entry, so `runs undo` can take back what this scan added.
    """
    from mailing.suppression import suppress_response

    if not any(options.get(k) for k in optout_keys(campaign)):
        return None
    rec = conn.execute(select(recipients).join(pieces, pieces.c.recipient_id == recipients.c.id)
                       .where(pieces.c.id == piece_id)).one()
    ref = f"scan {scan_id}" if scan_id is not None else f"piece {piece_id}"
    entry = suppress_response(conn, dict(rec._mapping), _campaign_id(conn, piece_id), source, ref)
    if scan_id is not None:
        conn.execute(update(scans).where(scans.c.id == scan_id, scans.c.suppression_id.is_(None))
                     .values(suppression_id=entry))
    audit(conn, "suppression.objection", "piece", piece_id, f"{source} {ref}: entry {entry}")
    return entry
