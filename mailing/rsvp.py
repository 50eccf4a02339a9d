"""Event invitations: coupon answers with a number of persons and a date choice → the RSVP list.

A campaign invites to an event with a counted option (`count = 4`: boxes 1-4, "we come with N persons")
and, if it likes, a choice option (`choices = ["12.09.", "13.09."]`); see mailing/config.py `Option`.
`rsvp_list(conn, campaign_id, campaign)` reads the counted responses to sent letters (the counting rules of
mailing/figures.py) and gives one row per reply that ticked a box of such a row, and the totals `status`
and the report show.

Reading a reply (where the issue leaves room):
- persons = the number beside the ticked box; several numbers ticked: the highest counts, and the row says
  so (people correct a 2 to a 3 by ticking both more often than they mean 5);
- a reply with a date ticked but no number counts as 1 person (the one who answered);
- a doubtful box (waiting in review) is not counted until it is resolved; the row says "in Prüfung";
- several dates ticked: the persons count for each date ticked (they may come twice), the row says so;
- a campaign with more than one counted option: the first is the number of persons.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from mailing.config import Campaign, Option
from mailing.figures import _sent, campaign_pieces
from mailing.store import pieces, recipients, response_options, responses, waves


@dataclass(frozen=True)
class RsvpRow:
    received_on: date
    wave: int
    code: str
    customer_id: str | None
    salutation: str
    title: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    postal_code: str
    city: str
    email: str | None
    phone: str | None
    persons: int  # counted persons (0: only a doubtful box so far)
    choices: tuple[str, ...]  # the labels of the dates (choices) ticked
    note: str  # why a reader should look twice ("" when the reply is plain)


@dataclass
class Rsvp:
    """The RSVP list and its totals."""

    count_label: str = ""  # the counted option's label ("Wir kommen mit")
    choice_labels: tuple[str, ...] = ()  # every choice offered, in coupon order
    rows: list[RsvpRow] = field(default_factory=list)
    persons: int = 0
    by_choice: dict[str, int] = field(default_factory=dict)  # choice label → persons
    in_review: int = 0  # replies with a doubtful event box

    @property
    def replies(self) -> int:
        return sum(1 for r in self.rows if r.persons)

    def as_json(self) -> dict[str, Any]:
        return {"replies": self.replies, "persons": self.persons, "by_choice": dict(self.by_choice),
                "in_review": self.in_review}


def event_options(campaign: Campaign) -> tuple[Option | None, list[Option]]:
    """(the counted option, the choice options) of the campaign's coupon."""
    counted = [o for o in campaign.coupon.options if o.count]
    return (counted[0] if counted else None), [o for o in campaign.coupon.options if o.choices]


def is_event(campaign: Campaign) -> bool:
    counted, choices = event_options(campaign)
    return counted is not None or bool(choices)


def rsvp_list(conn: Connection, cid: int, campaign: Campaign) -> Rsvp:
    """Every reply to the event's boxes (module docstring), in order of arrival."""
    counted, choice_options = event_options(campaign)
    labels = {o.key: o for o in ([counted] if counted else []) + choice_options}
    out = Rsvp(count_label=counted.label if counted else "",
               choice_labels=tuple(c for o in choice_options for c in o.choices))
    out.by_choice = dict.fromkeys(out.choice_labels, 0)
    if not labels:
        return out
    box_of: dict[str, tuple[Option, str]] = {}  # box key → (option, its box label)
    for o in labels.values():
        box_of.update({k: (o, b) for k, b in zip(o.box_keys, o.box_labels, strict=True)})
    marks: dict[int, dict[str, bool | None]] = defaultdict(dict)
    for response_id, key, ticked in conn.execute(
            select(response_options.c.response_id, response_options.c.key, response_options.c.ticked)
            .select_from(response_options.join(responses, responses.c.id == response_options.c.response_id)
                         .join(campaign_pieces(cid), pieces.c.id == responses.c.piece_id))
            .where(_sent(), response_options.c.key.in_(list(box_of)), _ticked_or_doubtful())):
        marks[int(response_id)][str(key)] = None if ticked is None else bool(ticked)
    if not marks:
        return out
    rc = recipients.c
    stmt = (select(responses.c.id, responses.c.received_on, waves.c.number, pieces.c.code, rc.customer_id,
                   rc.salutation, rc.title, rc.first_name, rc.last_name, rc.company, rc.postal_code, rc.city,
                   rc.email, rc.phone)
            .select_from(responses.join(campaign_pieces(cid), pieces.c.id == responses.c.piece_id)
                         .join(recipients, recipients.c.id == pieces.c.recipient_id))
            .where(and_(_sent(), responses.c.id.in_(list(marks))))
            .order_by(responses.c.received_on, responses.c.id))
    for r in conn.execute(stmt):
        row = _row(r, marks[int(r.id)], box_of, counted)
        out.rows.append(row)
        out.persons += row.persons
        for choice in row.choices:
            out.by_choice[choice] = out.by_choice.get(choice, 0) + row.persons
        if any(v is None for v in marks[int(r.id)].values()):
            out.in_review += 1
    return out


def _ticked_or_doubtful() -> Any:
    """A box that was ticked, or is doubtful (None): an empty box says nothing."""
    return (response_options.c.ticked.is_(True)) | (response_options.c.ticked.is_(None))


def _row(r: Any, marks: dict[str, bool | None], box_of: dict[str, tuple[Option, str]],
         counted: Option | None) -> RsvpRow:
    numbers = sorted(int(box_of[k][1]) for k, v in marks.items() if v and counted and box_of[k][0] is counted)
    chosen = tuple(box_of[k][1] for k in box_of if marks.get(k) and box_of[k][0] is not counted)
    doubtful = [box_of[k][1] for k, v in marks.items() if v is None]
    notes = []
    persons = numbers[-1] if numbers else 0
    if len(numbers) > 1:
        notes.append(f"mehrere Zahlen angekreuzt ({', '.join(map(str, numbers))}), gezählt: {persons}")
    if not numbers and chosen and not any(box_of[k][0] is counted for k in marks):
        persons = 1
        notes.append("Termin ohne Personenzahl: 1 Person gezählt")
    if len(chosen) > 1:
        notes.append("mehrere Termine angekreuzt")
    if doubtful:
        notes.append(f"unklar, in Prüfung: {', '.join(doubtful)}")
    return RsvpRow(received_on=r.received_on, wave=r.number, code=r.code, customer_id=r.customer_id,
                   salutation=r.salutation, title=r.title, first_name=r.first_name, last_name=r.last_name,
                   company=r.company, postal_code=r.postal_code, city=r.city, email=r.email, phone=r.phone,
                   persons=persons, choices=chosen, note="; ".join(notes))
