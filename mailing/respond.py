"""Answers that arrive online (the answer page behind the QR code) or on the phone (a call-centre agent, or
`mailing respond`): recorded like a paper coupon, with their channel as the response's source.

The rules are the paper ones (mailing/matching.py): the first answer of a piece counts, on whatever channel;
a later one is a duplicate and is not counted again, but an objection in it is honoured all the same; an
opt-out is on the suppression list in the transaction that records it; follow-up rules read these responses
like any other. Where a person is there to ask, they are asked instead of guessed for: an answer that ticks
both a "call me" option and an opt-out is refused with a message (paper sends it to review), and an online
answer must tick at least one option (an empty form sent by mistake is not a response).

Only letters that were sent can be answered: a code of a planned (not printed) wave or of a control-group
piece (no letter) is treated like a code that does not exist.
"""

from __future__ import annotations

import string
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from mailing import codes
from mailing.addressing import greeting
from mailing.config import Campaign, Option, parse_campaign
from mailing.errors import MailingError, NotFoundError, StoreError
from mailing.matching import apply_objection, call_keys, optout_keys, record_response
from mailing.store import Store, audit, campaigns, pieces, recipients, responses, retryable, waves
from mailing.waves import SENT_STATES

CHANNELS = ("online", "phone")  # the store's responses.source for each (mailing/figures.py maps them)
RECORD_TRIES = 5  # a transaction that lost a race is run again this often (see answer_letter)
DEFAULT_ANSWER_PATH = "/antwort"  # where a campaign without a response_url is answered online
# merge fields the answer page may fill in a subject: names only, never an address (whoever holds the
# paper sees the page)
_SUBJECT_FIELDS = ("anrede", "vorname", "nachname", "titel", "firma")


class AnswerError(MailingError):
    """An answer that cannot be recorded as given; `reason`: unknown-option | conflict | nothing | search."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Letter:
    """What may be shown of a piece to whoever has its code: subject, greeting and the coupon's options."""

    piece_id: int
    code: str  # normalised
    campaign: str
    campaign_id: int
    campaign_title: str
    sender: str  # who wrote the letter (the page's heading)
    wave: int
    subject: str
    greeting: str
    options: tuple[Option, ...]
    optout: tuple[str, ...]  # option keys whose tick is an objection
    answer_path: str  # the path the answer page answers this code at (without the code), e.g. "/r"
    definition: Campaign = field(repr=False, compare=False)  # the campaign text the wave was planned with
    answered_on: date | None = None  # the counted response's day, if any
    answered_source: str | None = None  # its source (scan, review, online, phone)
    customer_id: str | None = None

    @property
    def answered(self) -> bool:
        return self.answered_on is not None


@dataclass
class Answer:
    """What `respond` did."""

    status: str  # matched (counted) | duplicate (the piece had a response already)
    code: str
    campaign: str
    wave: int
    channel: str
    customer_id: str | None
    options: dict[str, bool] = field(default_factory=dict)
    objection: bool = False  # an opt-out was (or already is) on the suppression list
    first_source: str | None = None  # for a duplicate: the counted response's source

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "campaign": self.campaign, "wave": self.wave,
                "channel": self.channel, "customer_id": self.customer_id, "options": self.options,
                "objection": self.objection, "first_source": self.first_source}


def answer_path(campaign: Campaign) -> str:
    """The path of the campaign's response URL ("" when it is the host alone), or DEFAULT_ANSWER_PATH."""
    if not campaign.coupon.response_url:
        return DEFAULT_ANSWER_PATH
    return urlsplit(campaign.coupon.response_url).path.rstrip("/")


@lru_cache(maxsize=64)
def _parsed(text: str, where: str) -> Campaign:
    """Campaign texts parsed once per process (a wave's text never changes; the key is the text itself)."""
    return parse_campaign(text, where)


def _letter_rows(conn: Connection) -> Any:
    return (select(pieces.c.id, pieces.c.code, pieces.c.variant, pieces.c.control, waves.c.number, waves.c.status,
                   waves.c.letter, waves.c.config_toml.label("wave_toml"), campaigns.c.id.label("campaign_id"),
                   campaigns.c.name.label("campaign_name"), campaigns.c.config_toml, campaigns.c.source_file,
                   recipients.c.salutation, recipients.c.title, recipients.c.first_name, recipients.c.last_name,
                   recipients.c.company, recipients.c.salutation_override, recipients.c.customer_id,
                   responses.c.received_on, responses.c.source.label("response_source"))
            .select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id)
                         .join(campaigns, campaigns.c.id == waves.c.campaign_id)
                         .join(recipients, recipients.c.id == pieces.c.recipient_id)
                         .outerjoin(responses, responses.c.piece_id == pieces.c.id)))


def _letter(row: Any) -> Letter:
    where = f"campaign text of {row.campaign_name} wave {row.number}"
    campaign = _parsed(row.wave_toml, where) if row.wave_toml else _parsed(row.config_toml, row.source_file)
    if row.letter and row.letter in campaign.letters:
        subject = campaign.letters[row.letter].subject
    else:
        variant = next((v for v in campaign.variants if v.key == row.variant), None)
        subject = (variant.subject if variant else "") or campaign.subject
    person = dict(row._mapping)
    values: dict[str, str] = defaultdict(str, {
        "anrede": greeting(person), "vorname": row.first_name or "", "nachname": row.last_name or "",
        "titel": row.title or "", "firma": row.company or ""})
    for f in (f for _, f, _, _ in string.Formatter().parse(subject) if f):
        if f not in _SUBJECT_FIELDS:
            values[f] = ""  # an address field in a subject: left out here
    return Letter(piece_id=row.id, code=row.code, campaign=row.campaign_name, campaign_id=row.campaign_id,
                  campaign_title=campaign.title, sender=campaign.sender.name, wave=row.number,
                  subject=" ".join(subject.format_map(values).split()),
                  greeting=greeting(person), options=campaign.box_options, optout=tuple(optout_keys(campaign)),
                  answer_path=answer_path(campaign), definition=campaign, answered_on=row.received_on,
                  answered_source=row.response_source, customer_id=row.customer_id)


def find_letter(conn: Connection, text: str) -> Letter | None:
    """The sent letter a typed or scanned code names; None for a malformed code, an unknown one and one of a
    letter never sent (all alike, so nobody can tell which codes exist)."""
    try:
        code = codes.parse(text)
    except codes.CodeError:
        code = ""  # still one query: a malformed code takes as long as an unknown one
    row = conn.execute(_letter_rows(conn).where(pieces.c.code == code)).first()
    if row is None or row.control or row.status not in SENT_STATES:
        return None
    return _letter(row)


def letter_by_piece(conn: Connection, piece_id: int) -> Letter | None:
    row = conn.execute(_letter_rows(conn).where(pieces.c.id == piece_id)).first()
    if row is None or row.control or row.status not in SENT_STATES:
        return None
    return _letter(row)


@dataclass(frozen=True)
class Found:
    """One hit of the phone desk's search by name and postal code (staff only: it shows the address)."""

    piece_id: int
    code: str
    campaign: str
    wave: int
    name: str
    street: str
    postal_code: str
    city: str
    answered_on: date | None


def _holder_rows() -> Any:
    return (select(pieces.c.id.label("piece_id"), pieces.c.code, waves.c.number, campaigns.c.name.label("campaign_name"),
                   recipients, responses.c.received_on)
            .select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id)
                         .join(campaigns, campaigns.c.id == waves.c.campaign_id)
                         .join(recipients, recipients.c.id == pieces.c.recipient_id)
                         .outerjoin(responses, responses.c.piece_id == pieces.c.id))
            .where(waves.c.status.in_(SENT_STATES), pieces.c.control.is_(False)))


def _found(r: Any) -> Found:
    from mailing.addressing import display_name

    street = " ".join(x for x in (r.street or "", r.house_number or "") if x) or \
        (f"Postfach {r.postbox}" if r.postbox else "")
    return Found(r.piece_id, r.code, r.campaign_name, r.number, display_name(dict(r._mapping)), street,
                 r.postal_code, r.city, r.received_on)


def search_letters(store: Store, name: str, postal_code: str, limit: int = 50,
                   client_ids: Collection[int] | None = None) -> list[Found]:
    """Sent letters to people at `postal_code` whose surname (or company) starts with `name`, newest wave
    first; with `client_ids`, only letters of those clients' campaigns. The postal code narrows in SQL; the
    name is compared case-folded in Python (SQLite's lower() knows no umlauts)."""
    name_key, plz = name.strip().casefold(), postal_code.strip()
    if len(name_key) < 2 or not plz:
        raise AnswerError("give a surname (at least 2 letters) and the postal code", "search")
    out: list[Found] = []
    query = _holder_rows().where(recipients.c.postal_code == plz)
    if client_ids is not None:
        query = query.where(campaigns.c.client_id.in_(sorted(client_ids)))
    with store.connect() as conn:
        for r in conn.execute(query.order_by(waves.c.id.desc(), pieces.c.id)):
            names = [(r.last_name or "").casefold(), (r.company or "").casefold()]
            if any(n.startswith(name_key) for n in names if n):
                out.append(_found(r))
                if len(out) >= limit:
                    break
    return out


def holder(store: Store, piece_id: int) -> Found | None:
    """Who a sent letter went to (staff only)."""
    with store.connect() as conn:
        row = conn.execute(_holder_rows().where(pieces.c.id == piece_id)).first()
    return _found(row) if row is not None else None


def check_answer(letter: Letter, options: Mapping[str, bool], channel: str) -> dict[str, bool]:
    """All of the campaign's options (unnamed ones not ticked); refuses unknown keys, a call together with
    an opt-out, and (online) nothing ticked at all."""
    keys = [o.key for o in letter.options]
    unknown = [k for k in options if k not in keys]
    if unknown:
        raise AnswerError(f"unknown option {unknown[0]!r}; the campaign's options are {', '.join(keys)}",
                          "unknown-option")
    values = {k: bool(options.get(k, False)) for k in keys}
    return values


def respond(store: Store, code_text: str, options: Mapping[str, bool], channel: str, *,
            actor: str | None = None, received_on: date | None = None) -> Answer:
    """Record an answer given online or on the phone for the letter with this code (see the module
    docstring for the rules). Raises NotFoundError for a code that names no sent letter, AnswerError for
    an answer that cannot be recorded as given."""
    if channel not in CHANNELS:
        raise MailingError(f"channel {channel!r}: use one of {', '.join(CHANNELS)}")
    try:
        code = codes.parse(code_text)
    except codes.CodeError as exc:
        raise NotFoundError(f"{exc}; read the code printed under the QR code again") from None
    answer = answer_letter(store, lambda conn: find_letter(conn, code), options, channel, actor=actor,
                           received_on=received_on)
    if answer is None:
        raise NotFoundError(f"no letter was sent with code {codes.format_code(code)}; read the code printed "
                            "under the QR code again, or search by name and postal code")
    return answer


def answer_letter(store: Store, find: Callable[[Connection], Letter | None], options: Mapping[str, bool],
                  channel: str, *, actor: str | None = None, received_on: date | None = None) -> Answer | None:
    """Look the letter up with `find` and record the answer, in one transaction; None when `find` finds none.

    Two answers to one letter at the same moment (two channels, a double tap): the later transaction fails
    on the one-response-per-piece constraint (or, on SQLite, on a stale snapshot) and is run again, and
    then finds the first answer: it becomes a duplicate.
    """
    for attempt in range(RECORD_TRIES):
        try:
            with store.begin() as conn:
                letter = find(conn)
                if letter is None:
                    return None
                return record_answer(conn, letter, options, channel, actor=actor, received_on=received_on)
        except (IntegrityError, OperationalError) as exc:
            if attempt + 1 == RECORD_TRIES or not retryable(exc):
                raise StoreError(f"cannot record the answer in the store: {_first_line(exc)}") from exc
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig).strip()
    return text.splitlines()[0] if text else type(exc.orig).__name__


def record_answer(conn: Connection, letter: Letter, options: Mapping[str, bool], channel: str, *,
                  actor: str | None = None, received_on: date | None = None) -> Answer:
    """`respond` inside the caller's transaction, for a letter already looked up in it."""
    values = check_answer(letter, options, channel)
    campaign = letter.definition
    existing = conn.execute(select(responses.c.id, responses.c.source)
                            .where(responses.c.piece_id == letter.piece_id)).first()
    answer = Answer("duplicate" if existing else "matched", letter.code, letter.campaign, letter.wave, channel,
                    letter.customer_id, values, first_source=existing.source if existing else None)
    objection = {k: values[k] for k in letter.optout}
    if existing:
        # first answer wins; an objection in a later one is honoured all the same
        answer.objection = apply_objection(conn, letter.piece_id, campaign, objection, None, channel) is not None
        audit(conn, "response.duplicate", "piece", letter.piece_id,
              f"{channel}: already answered ({existing.source}); " + _ticks(values), actor=actor)
        return answer
    calls = [k for k in call_keys(campaign) if values.get(k)]
    outs = [k for k in letter.optout if values.get(k)]
    if calls and outs:
        raise AnswerError("both " + ", ".join(calls + outs) + " are ticked: a call and no more advertising "
                          "exclude each other; ask which one is meant", "conflict")
    if channel == "online" and not any(values.values()):
        raise AnswerError("nothing is ticked; tick at least one option", "nothing")
    record_response(conn, letter.piece_id, values, None, received_on or date.today(), channel)
    answer.objection = apply_objection(conn, letter.piece_id, campaign, values, None, channel) is not None
    if actor:
        audit(conn, "response.answer", "piece", letter.piece_id, f"{channel} by {actor}: " + _ticks(values),
              actor=actor)
    return answer


def _ticks(values: Mapping[str, bool]) -> str:
    return " ".join(f"{k}={'yes' if v else 'no'}" for k, v in values.items())
