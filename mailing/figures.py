"""A campaign's figures, counted in one place: `status`, the response report and the demo summary read them.

`collect(conn, campaign_id, campaign)` turns the store into plain numbers (`Figures`); `reports/` only
writes them, `status` only prints them. Every figure is a GROUP BY in SQL (portable SQLAlchemy Core, SQLite
and PostgreSQL); only grouped rows (waves × variants, postal codes, days, options) reach Python.

Counting rules (where the design leaves room):
- Event invitations (a counted option and/or a date choice on the coupon): `rsvp` holds the replies, the
  persons they announce and the persons per date, read as mailing/rsvp.py says; `status --json` shows it
  (null for a campaign without such options).
- Waves have states: planned → produced → dropped. Only produced (or dropped) waves are sent; a planned
  wave's letters are counted as planned, never as sent, and cost nothing yet; a follow-up pooled until its
  rule's minimum volume is reached is not a wave at all (`pooled`).
- "pieces" = letters of every recorded wave; "sent" = letters of sent waves. Control-group pieces get no
  letter: they are neither (counted as `control`).
- Late objections (mailing/lateobjections.py): a piece taken out of a planned wave before printing is gone
  and counts in the wave's `suppressed`; a piece printed and then pulled at the lettershop is neither a
  piece nor sent (`pulled`, and in `suppressed`; no cost counted, as for the control group); a printed piece
  whose person objected while the wave waits for its drop date is `to_pull` (still counted as sent until
  the pull is confirmed).
- "responses" = counted responses (one per piece) to sent letters; a duplicate coupon is not counted again
  (`duplicates`). Responses to control-group pieces are counted apart (Varianten sheet only).
- Channels: a response arrives on paper (a scanned coupon, or one typed in from review), online or by
  phone; the store's response source says which.
- Rücklaufquote = responses / sent; a second rate relative to delivered letters (sent − undeliverable).
  Rates are per piece: a reminder wave's pieces count as sent pieces of their own.
- Costs = sent × (print + postage + inserts per piece) from the campaign file; undeliverable letters were
  paid for, control-group pieces and planned waves were not.
- Open review items: the campaign's own and those no piece could be found for (any campaign).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from mailing.config import Campaign
from mailing.dedupe import DuplicateSummary, duplicate_summary
from mailing.lateobjections import pulled, to_pull_counts
from mailing.store import (
    followups,
    pieces,
    recipients,
    response_options,
    responses,
    review_items,
    scans,
    suppression,
    waves,
)
from mailing.waves import SENT_STATES, leitregion

CHANNELS = ("paper", "online", "phone")
_CHANNEL_OF_SOURCE = {"scan": "paper", "review": "paper", "paper": "paper", "online": "online", "web": "online",
                      "phone": "phone"}


def channel_of(source: str | None) -> str:
    """The channel a response came in on, from its source in the store."""
    return _CHANNEL_OF_SOURCE.get(source or "", source or "paper")


@dataclass
class Group:
    """Counts of one set of pieces (a wave, a variant, a region, everything)."""

    pieces: int = 0
    undeliverable: int = 0
    responses: int = 0
    first: date | None = None
    last: date | None = None

    def add(self, pieces_: int, undeliverable: int, responses_: int, first: date | None = None,
            last: date | None = None) -> None:
        self.pieces += pieces_
        self.undeliverable += undeliverable
        self.responses += responses_
        if first is not None:
            self.first = first if self.first is None else min(self.first, first)
        if last is not None:
            self.last = last if self.last is None else max(self.last, last)

    def merge(self, other: Group) -> None:
        self.add(other.pieces, other.undeliverable, other.responses, other.first, other.last)

    @property
    def rate(self) -> float | None:
        return self.responses / self.pieces if self.pieces else None

    @property
    def delivered(self) -> int:
        return self.pieces - self.undeliverable

    @property
    def delivered_rate(self) -> float | None:
        return self.responses / self.delivered if self.delivered > 0 else None


@dataclass
class WaveFigures:
    id: int
    number: int
    kind: str
    rule: str | None
    status: str
    drop_date: date | None
    suppressed: int
    letters: Group = field(default_factory=Group)  # every non-control piece, sent or only planned
    control: Group = field(default_factory=Group)
    letter_variants: dict[str, Group] = field(default_factory=dict)  # letters by variant
    duplicates: int = 0
    capped: int = 0  # held back by the contact cap when it was planned (mailing.contacts)
    pulled: int = 0  # printed, then pulled at the lettershop after a late objection: not sent
    to_pull: int = 0  # printed, not posted yet, whose person objected since: on the pull list

    @property
    def is_sent(self) -> bool:
        return self.status in SENT_STATES

    @property
    def sent(self) -> Group:
        """The wave's sent letters: none while it is only planned."""
        return self.letters if self.is_sent else Group()

    @property
    def planned(self) -> int:
        """Letters planned but not produced yet."""
        return 0 if self.is_sent else self.letters.pieces

    @property
    def variants(self) -> dict[str, Group]:
        """Sent letters by variant (none while planned)."""
        return self.letter_variants if self.is_sent else {}

    @property
    def label(self) -> str:
        return f"Welle {self.number}"


@dataclass
class Figures:
    campaign_id: int
    campaign: Campaign
    waves: list[WaveFigures]
    recipients: int = 0
    suppressed: int = 0
    channels: dict[str, int] = field(default_factory=dict)  # channel → counted responses to sent letters
    options_ticked: dict[str, int] = field(default_factory=dict)  # option key → ticked (sent letters)
    review_open: int = 0
    review_open_unassigned: int = 0
    pooled: dict[str, int] = field(default_factory=dict)  # follow-up rule → recipients waiting (no wave yet)
    import_duplicates: DuplicateSummary = field(default_factory=lambda: DuplicateSummary(0, 0, 0, 0))
    # details for the report (collect(..., detail=True))
    regions: list[tuple[str, str, Group, int]] = field(default_factory=list)  # (kind "0"/"1", key, sent, control)
    days: dict[date, dict[int, int]] = field(default_factory=dict)  # received_on → wave number → responses
    options: dict[str, dict[Any, dict[str, int]]] = field(default_factory=dict)  # key → ticked → variant → n
    suppression_counts: list[tuple[str, str, int]] = field(default_factory=list)  # (source, reason, entries)
    # event invitation (mailing/rsvp.py): replies, persons, persons per date, replies in review; None: no event
    rsvp: dict[str, Any] | None = None

    @property
    def sent(self) -> Group:
        g = Group()
        for w in self.waves:
            g.merge(w.sent)
        return g

    @property
    def pieces(self) -> int:
        """Letters of every recorded wave (sent or planned)."""
        return sum(w.letters.pieces for w in self.waves)

    @property
    def planned(self) -> int:
        return sum(w.planned for w in self.waves)

    @property
    def pulled(self) -> int:
        return sum(w.pulled for w in self.waves)

    @property
    def to_pull(self) -> int:
        return sum(w.to_pull for w in self.waves)

    @property
    def capped(self) -> int:
        """Recipients the contact cap held back, over all waves (Zurückgehalten wegen Kontaktobergrenze)."""
        return sum(w.capped for w in self.waves)

    @property
    def control_pieces(self) -> int:
        return sum(w.control.pieces for w in self.waves)

    @property
    def duplicates(self) -> int:
        return sum(w.duplicates for w in self.waves)

    @property
    def responses(self) -> int:
        return self.sent.responses

    @property
    def per_piece_cost(self) -> float | None:
        costs = self.campaign.costs
        return None if costs is None else costs.per_piece

    def cost(self, sent_pieces: int) -> float | None:
        """What sent_pieces letters cost (None without [costs] in the campaign file)."""
        per = self.per_piece_cost
        return None if per is None else sent_pieces * per

    def wave_cost(self, w: WaveFigures) -> float | None:
        """What the wave's letters cost; None while it is only planned (nothing paid yet) or without costs."""
        return self.cost(w.sent.pieces) if w.is_sent else None

    @property
    def total_cost(self) -> float | None:
        return self.cost(self.sent.pieces)

    def cost_per_response_of(self, g: Group) -> float | None:
        """What one response of the group's letters cost (None without costs or responses)."""
        cost = self.cost(g.pieces)
        return cost / g.responses if cost is not None and g.responses else None

    @property
    def cost_per_response(self) -> float | None:
        return self.cost_per_response_of(self.sent)


def campaign_pieces(cid: int) -> Any:
    """pieces joined to the campaign's waves (a FROM clause)."""
    return pieces.join(waves, and_(waves.c.id == pieces.c.wave_id, waves.c.campaign_id == cid))


def _sent() -> Any:
    return and_(waves.c.status.in_(SENT_STATES), pieces.c.control.is_(False), ~pulled())


def _n(value: Any) -> int:
    return int(value or 0)


def region_key(country: str | None, postal_code: str | None) -> tuple[str, str]:
    """Sort key and group: ("0", "50") for a German Leitregion, ("1", "AT") for another country."""
    key = leitregion(postal_code or "", country or "DE")
    return ("0" if (country or "DE").upper() == "DE" else "1", key)


def review_from() -> Any:
    return (review_items.join(scans, scans.c.id == review_items.c.scan_id)
            .outerjoin(pieces, pieces.c.id == scans.c.piece_id)
            .outerjoin(waves, waves.c.id == pieces.c.wave_id))


def review_where(cid: int) -> Any:
    """Open items of this campaign's pieces, and open items no piece could be found for (any campaign)."""
    return and_(review_items.c.status == "open", or_(waves.c.campaign_id == cid, scans.c.piece_id.is_(None)))


def collect(conn: Connection, cid: int, campaign: Campaign, *, detail: bool = True) -> Figures:
    """Every figure of the campaign; `detail` adds what only the report shows (regions, days, options by
    variant, suppression entries)."""
    from mailing.suppression import suppressed_recipients

    f = Figures(cid, campaign, _waves(conn, cid))
    f.recipients = _n(conn.execute(select(func.count()).select_from(recipients).where(
        recipients.c.campaign_id == cid, recipients.c.active.is_(True))).scalar_one())
    suppressed = suppressed_recipients(conn, cid)
    f.suppressed = len(suppressed)
    to_pull = to_pull_counts(conn, cid, suppressed)
    for w in f.waves:
        w.to_pull = to_pull.get(w.number, 0)
    f.channels = dict.fromkeys(CHANNELS, 0)
    for source, n in conn.execute(
            select(responses.c.source, func.count(responses.c.id))
            .select_from(responses.join(campaign_pieces(cid), pieces.c.id == responses.c.piece_id))
            .where(_sent()).group_by(responses.c.source)):
        f.channels[channel_of(source)] = f.channels.get(channel_of(source), 0) + _n(n)
    f.options_ticked = {k: 0 for k in campaign.option_keys}
    for key, n in conn.execute(
            select(response_options.c.key, func.count())
            .select_from(response_options.join(responses, responses.c.id == response_options.c.response_id)
                         .join(campaign_pieces(cid), pieces.c.id == responses.c.piece_id))
            .where(_sent(), response_options.c.ticked.is_(True)).group_by(response_options.c.key)):
        f.options_ticked[key] = _n(n)
    f.review_open = _n(conn.execute(select(func.count(review_items.c.id)).select_from(review_from())
                                    .where(review_where(cid))).scalar_one())
    f.review_open_unassigned = _n(conn.execute(
        select(func.count(review_items.c.id)).select_from(review_items.join(scans, scans.c.id == review_items.c.scan_id))
        .where(review_items.c.status == "open", scans.c.piece_id.is_(None))).scalar_one())
    f.pooled = {str(k): _n(v) for k, v in conn.execute(
        select(followups.c.rule, func.count()).where(followups.c.campaign_id == cid, followups.c.status == "pending")
        .group_by(followups.c.rule))}
    f.import_duplicates = duplicate_summary(conn, cid)
    from mailing.rsvp import is_event, rsvp_list

    if is_event(campaign):
        f.rsvp = rsvp_list(conn, cid, campaign).as_json()
    if detail:
        _details(conn, f)
    return f


def _waves(conn: Connection, cid: int) -> list[WaveFigures]:
    undeliv = func.sum(case((pieces.c.undeliverable.is_(True), 1), else_=0))
    wave_list = [WaveFigures(w.id, w.number, w.kind, w.rule, w.status, w.drop_date, _n(w.suppressed),
                             capped=_n(w.capped))
                 for w in conn.execute(select(waves).where(waves.c.campaign_id == cid).order_by(waves.c.number))]
    by_id = {w.id: w for w in wave_list}
    groups = conn.execute(
        select(pieces.c.wave_id, pieces.c.variant, pieces.c.control, func.count(pieces.c.id), undeliv,
               func.count(responses.c.id), func.min(responses.c.received_on), func.max(responses.c.received_on))
        .select_from(campaign_pieces(cid).outerjoin(responses, responses.c.piece_id == pieces.c.id))
        .where(~pulled()).group_by(pieces.c.wave_id, pieces.c.variant, pieces.c.control))
    for wave_id, variant, control, n, und, resp, first, last in groups:
        w = by_id[wave_id]
        if control:
            w.control.add(_n(n), _n(und), _n(resp), first, last)
        else:
            w.letters.add(_n(n), _n(und), _n(resp), first, last)
            w.letter_variants.setdefault(variant, Group()).add(_n(n), _n(und), _n(resp), first, last)
    for wave_id, n in conn.execute(select(pieces.c.wave_id, func.count(pieces.c.id))
                                   .select_from(campaign_pieces(cid)).where(pulled()).group_by(pieces.c.wave_id)):
        by_id[wave_id].pulled = _n(n)
    dup = conn.execute(
        select(pieces.c.wave_id, func.count(scans.c.id))
        .select_from(scans.join(campaign_pieces(cid), pieces.c.id == scans.c.piece_id))
        .where(scans.c.status == "duplicate").group_by(pieces.c.wave_id))
    for wave_id, n in dup:
        by_id[wave_id].duplicates = _n(n)
    return wave_list


def _details(conn: Connection, f: Figures) -> None:
    cid = f.campaign_id
    by_id = {w.id: w for w in f.waves}
    undeliv = func.sum(case((pieces.c.undeliverable.is_(True), 1), else_=0))
    # Leitregion in Python from grouped postal codes: portable, and the groups are few (≤ distinct PLZ)
    regions: dict[tuple[str, str], tuple[Group, list[int]]] = {}
    plz = conn.execute(
        select(recipients.c.country, recipients.c.postal_code, pieces.c.control, func.count(pieces.c.id), undeliv,
               func.count(responses.c.id))
        .select_from(campaign_pieces(cid).join(recipients, recipients.c.id == pieces.c.recipient_id)
                     .outerjoin(responses, responses.c.piece_id == pieces.c.id))
        .where(waves.c.status.in_(SENT_STATES), ~pulled())
        .group_by(recipients.c.country, recipients.c.postal_code, pieces.c.control))
    for country, postal_code, control, n, und, resp in plz:
        group, ctrl = regions.setdefault(region_key(country, postal_code), (Group(), [0]))
        if control:
            ctrl[0] += _n(n)
        else:
            group.add(_n(n), _n(und), _n(resp))
    f.regions = [(key[0], key[1], g, ctrl[0]) for key, (g, ctrl) in sorted(regions.items())]

    days: dict[date, dict[int, int]] = defaultdict(dict)
    for wave_id, day, n in conn.execute(
            select(pieces.c.wave_id, responses.c.received_on, func.count(responses.c.id))
            .select_from(responses.join(campaign_pieces(cid), pieces.c.id == responses.c.piece_id))
            .where(_sent()).group_by(pieces.c.wave_id, responses.c.received_on)):
        days[day][by_id[wave_id].number] = _n(n)
    f.days = dict(days)

    options: dict[str, dict[Any, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for key, ticked, variant, n in conn.execute(
            select(response_options.c.key, response_options.c.ticked, pieces.c.variant, func.count())
            .select_from(response_options.join(responses, responses.c.id == response_options.c.response_id)
                         .join(campaign_pieces(cid), pieces.c.id == responses.c.piece_id))
            .where(_sent())
            .group_by(response_options.c.key, response_options.c.ticked, pieces.c.variant)):
        options[key][None if ticked is None else bool(ticked)][variant] = _n(n)
    f.options = options
    f.suppression_counts = [(s, r, _n(n)) for s, r, n in conn.execute(
        select(suppression.c.source, suppression.c.reason, func.count(suppression.c.id))
        .where(suppression.c.campaign_id == cid)
        .group_by(suppression.c.source, suppression.c.reason).order_by(suppression.c.source, suppression.c.reason))]


def status_json(f: Figures) -> dict[str, Any]:
    """The `status --json` object (DESIGN.md's fields first, then more)."""
    sent = f.sent
    cost = f.total_cost
    return {
        "campaign": f.campaign.name,
        "recipients": f.recipients,
        "suppressed": f.suppressed,
        "pieces": f.pieces,
        "sent": sent.pieces,
        "responses": sent.responses,
        "duplicates": f.duplicates,
        "undeliverable": sent.undeliverable,
        "review_open": f.review_open,
        "options": {k: int(f.options_ticked.get(k, 0)) for k in f.campaign.option_keys},
        "waves": [{"wave": w.number, "kind": w.kind, "pieces": w.letters.pieces, "status": w.status,
                   "sent": w.sent.pieces, "control": w.control.pieces, "responses": w.sent.responses,
                   "drop_date": w.drop_date.isoformat() if w.drop_date else None, "suppressed": w.suppressed,
                   "capped": w.capped, "cost": _round(f.wave_cost(w)), "pulled": w.pulled, "to_pull": w.to_pull}
                  for w in f.waves],
        "planned": f.planned,
        "control": f.control_pieces,
        "responses_by_channel": dict(f.channels),
        "response_rate": round(sent.rate, 4) if sent.rate is not None else 0.0,
        "delivered_rate": round(sent.delivered_rate, 4) if sent.delivered_rate is not None else None,
        "cost": _round(cost),
        "cost_per_response": _round(f.cost_per_response),
        "review_open_unassigned": f.review_open_unassigned,
        "followups_waiting": dict(f.pooled),
        "import_duplicates": f.import_duplicates.as_json(),
        "capped": f.capped,
        "pulled": f.pulled,
        "to_pull": f.to_pull,
        "rsvp": f.rsvp,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def segment_groups(conn: Connection, cid: int) -> dict[str, dict[str | None, Group]]:
    """Sent letters, undeliverable and responses by segment column and value (`[import] segments`, kept in
    recipient_segments): key → value as imported → Group. Same counting as the campaign's rate (sent
    letters of sent waves, control pieces left out), so the segments' rates and the campaign's compare."""
    from mailing.store import recipient_segments

    sg = recipient_segments.c
    undeliv = func.sum(case((pieces.c.undeliverable.is_(True), 1), else_=0))
    out: dict[str, dict[str | None, Group]] = defaultdict(dict)
    for key, value, n, und, resp in conn.execute(
            select(sg.key, sg.value, func.count(pieces.c.id), undeliv, func.count(responses.c.id))
            .select_from(campaign_pieces(cid).join(recipient_segments, sg.recipient_id == pieces.c.recipient_id)
                         .outerjoin(responses, responses.c.piece_id == pieces.c.id))
            .where(_sent()).group_by(sg.key, sg.value)):
        out[str(key)].setdefault(value or None, Group()).add(_n(n), _n(und), _n(resp))
    return dict(out)
