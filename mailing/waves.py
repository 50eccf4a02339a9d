"""Wave planning: a campaign's recipients → one wave of pieces (codes, variants, control group, order).

`plan_wave` applies the suppression list (and earlier undeliverable returns) before any code is assigned,
records which entries it applied (wave_suppressions) and the suppression state it used (highest entry id
and the number of entries in force), gives every piece a fresh code unique in the whole store, assigns
variants by the campaign's shares and the control group with a seeded random generator (the same seed,
wave number and recipients give the same assignment), leaves out whoever a contact cap holds back
(mailing.contacts; counted in waves.capped), and numbers the pieces in print order: country,
then postal code. It keeps the campaign text the wave was planned with (waves.config_toml), so a changed
campaign file never changes a planned or produced wave. A wave without a printed piece is refused
(`NothingToMail`) and nothing is recorded. It writes inside the caller's transaction.

Wave states: planned → produced (its package was written completely; only produced waves count as sent)
→ dropped. A wave whose production started but did not finish is still planned (produced_at is set: the
production time its files carry, kept for a resume and for reprints).
"""

from __future__ import annotations

import logging
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.engine import Connection

from mailing.codes import new_code
from mailing.config import Campaign
from mailing.contacts import CAPPED_KINDS, ContactCalendar
from mailing.errors import MailingError
from mailing.store import (
    audit,
    campaigns,
    in_chunks,
    new_id,
    pieces,
    recipients,
    suppression,
    wave_suppressions,
    waves,
)

log = logging.getLogger(__name__)


WAVE_STATES = ("planned", "produced", "dropped")
SENT_STATES = ("produced", "dropped")  # a wave in one of these states was printed: its letters are sent
# Planning and production stream rows in chunks so memory stays flat however large the wave (docs/scale.md):
STREAM_ROWS = 10_000  # rows fetched from the store at a time
INSERT_ROWS = 5_000  # pieces given codes and inserted at a time


class NothingToMail(MailingError):
    """A wave would hold no printed piece: it is not recorded (an empty wave would block the campaign)."""


def leitregion(postal_code: str, country: str = "DE") -> str:
    """Deutsche Post Leitregion: the first two digits of a German postal code ("??" without them); for
    other countries the country code."""
    c = (country or "DE").upper()
    if c != "DE":
        return c
    code = (postal_code or "").strip()
    return code[:2] if len(code) >= 2 and code[:2].isdigit() else "??"


def sort_key(country: str, postal_code: str, recipient_id: int) -> tuple[int, str, str, int]:
    """Print order: German addresses first, then by country; by postal code within a country."""
    c = (country or "DE").upper()
    return (0 if c == "DE" else 1, c, postal_code or "", recipient_id)


def quotas(n: int, shares: Sequence[float]) -> list[int]:
    """Split n into integer parts proportional to shares (largest remainder), summing to n."""
    total = sum(shares)
    raw = [n * s / total for s in shares]
    parts = [int(r) for r in raw]
    order = sorted(range(len(shares)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: n - sum(parts)]:
        parts[i] += 1
    return parts


def unique_codes(conn: Connection, n: int) -> list[str]:
    """n fresh codes, none already in the store (55 random bits make a clash rare; it is checked anyway)."""
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < n:
        fresh = [c for c in (new_code() for _ in range(n - len(codes))) if c not in seen]
        taken: set[str] = set()
        for chunk in in_chunks(fresh):
            taken.update(r[0] for r in conn.execute(select(pieces.c.code).where(pieces.c.code.in_(chunk))))
        for c in fresh:
            if c not in taken and c not in seen:
                seen.add(c)
                codes.append(c)
    return codes


@dataclass
class _Candidates:
    """A wave's recipients in a compact form (a few bytes each, so a million fit in some 25 MB): the kept
    ones' ids in id order, each with its place (index into `places`: print-order group = German first,
    country, postal code); the ids left out by the suppression list; how many were candidates and capped."""

    ids: array[int] = field(default_factory=lambda: array("q"))
    place: array[int] = field(default_factory=lambda: array("l"))
    places: dict[tuple[int, str, str], int] = field(default_factory=dict)
    left_out: list[int] = field(default_factory=list)
    candidates: int = 0
    capped: int = 0

    def keep(self, rid: int, country: str, postal_code: str) -> None:
        group = sort_key(country, postal_code, 0)[:3]
        self.ids.append(rid)
        self.place.append(self.places.setdefault(group, len(self.places)))  # type: ignore[arg-type]

    def print_order(self) -> array[int]:
        """Indices into `ids` in print order: by `sort_key` (its group, then the id), a counting sort over
        the groups, since the ids already come in id order."""
        rank_of = array("l", [0]) * len(self.places)
        for rank, group in enumerate(sorted(self.places)):
            rank_of[self.places[group]] = rank
        start = array("q", [0]) * (len(self.places) + 1)
        for pl in self.place:
            start[rank_of[pl] + 1] += 1
        for i in range(1, len(start)):
            start[i] += start[i - 1]
        order = array("q", [0]) * len(self.ids)
        for i, pl in enumerate(self.place):
            r = rank_of[pl]
            order[start[r]] = i
            start[r] += 1
        return order


def _candidates(conn: Connection, campaign_id: int, campaign: Campaign, kind: str,
                recipient_ids: Sequence[int] | None, as_of: date) -> tuple[_Candidates, dict[int, int]]:
    """Stream the campaign's active recipients (or those of `recipient_ids`) in id order and keep who is
    neither suppressed, undeliverable nor held back by the contact cap; (candidates, suppressed id → entry)."""
    from mailing.clients import client_of_campaign
    from mailing.suppression import suppressed_recipients

    suppressed = suppressed_recipients(conn, campaign_id, as_of=as_of)
    undeliverable = {int(x[0]) for x in conn.execute(
        select(pieces.c.recipient_id).select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id))
        .where(waves.c.campaign_id == campaign_id, pieces.c.undeliverable.is_(True)))}
    cap = campaign.production.contact_cap
    # letters in the last days, across campaigns: one too many
    calendar = (ContactCalendar(conn, cap, as_of, client_of_campaign(conn, campaign_id))
                if cap is not None and kind in CAPPED_KINDS else None)
    r = recipients.c
    base = and_(r.campaign_id == campaign_id, r.active.is_(True), r.erased_at.is_(None))  # erased: never mailed
    cols = (r.id, r.country, r.postal_code, r.customer_id, r.match_key, r.first_name)
    if recipient_ids is None:
        queries = [select(*cols).where(base).order_by(r.id)]
    else:
        queries = [select(*cols).where(base, r.id.in_(chunk)).order_by(r.id)
                   for chunk in in_chunks(sorted(set(recipient_ids)))]
    found = _Candidates()
    for query in queries:
        for row in conn.execute(query.execution_options(yield_per=STREAM_ROWS)):  # not conn's options: they stay
            found.candidates += 1
            if row.id in suppressed:
                found.left_out.append(row.id)
            elif row.id in undeliverable:
                pass
            elif calendar is not None and calendar.over(row):
                found.capped += 1
            else:
                found.keep(row.id, row.country, row.postal_code)
    return found, suppressed


def plan_wave(conn: Connection, campaign_id: int, campaign: Campaign, *, kind: str = "initial",
              recipient_ids: Sequence[int] | None = None, letter: str | None = None, rule: str | None = None,
              drop_date: date | None = None) -> int:
    """Plan the next wave of the campaign and return its id (see the module docstring).

    Memory stays flat however large the wave: the recipients are streamed once into compact arrays (ids,
    print-order groups, variant and control flags), and pieces are given codes and inserted 5,000 at a time.
    """
    if letter is not None and letter not in campaign.letters:
        raise MailingError(f"letter {letter!r} is not defined in campaign {campaign.name!r}; add [letters.{letter}]")
    number = int(conn.execute(select(func.coalesce(func.max(waves.c.number), 0))
                              .where(waves.c.campaign_id == campaign_id)).scalar_one()) + 1
    as_of = drop_date or date.today()
    found, suppressed = _candidates(conn, campaign_id, campaign, kind, recipient_ids, as_of)
    kept = len(found.ids)
    # Seeded assignment over recipients in id order (indices into found.ids), so the print order does not
    # change it. random.sample and shuffle depend only on the lengths, so indices give the same choice as ids.
    seed = campaign.production.seed
    rng = random.Random(f"{seed}:{campaign_id}:{number}")
    control = bytearray(kept)
    n_control = 0
    if kind == "initial" and campaign.production.control_share > 0:
        n_control = round(kept * campaign.production.control_share / 100.0)
        for i in rng.sample(range(kept), n_control):
            control[i] = 1
    if kept - n_control == 0:
        raise NothingToMail(_nothing_to_mail(campaign.name, found.candidates, kept, found.capped))
    left = found.candidates - kept - found.capped
    wave_id = _record_wave(conn, campaign_id, campaign, number, kind, rule, letter, drop_date, as_of, left,
                           found.capped)
    for chunk in in_chunks(found.left_out, INSERT_ROWS):
        conn.execute(insert(wave_suppressions), [
            {"wave_id": wave_id, "recipient_id": rid, "suppression_id": suppressed[rid]} for rid in chunk])

    # A follow-up letter has one text for everybody; its variants still split by share, which keeps the
    # A/B labels comparable in reports.
    keys = [v.key for v in campaign.variants]
    variant = bytearray(kept)
    labels = iter(_variant_indices(campaign, kept - n_control, rng))
    for i in range(kept):
        if not control[i]:
            variant[i] = next(labels)
    control_labels = iter(_variant_indices(campaign, n_control, rng))
    for i in range(kept):
        if control[i]:
            variant[i] = next(control_labels)
    order = found.print_order()
    for first in range(0, kept, INSERT_ROWS):  # a million rows never sit in memory at once
        chunk = order[first:first + INSERT_ROWS]
        codes = unique_codes(conn, len(chunk))  # checked against the store, this wave's earlier chunks included
        conn.execute(insert(pieces), [
            {"wave_id": wave_id, "recipient_id": found.ids[i], "code": code, "variant": keys[variant[i]],
             "control": bool(control[i]), "seq": first + k + 1}
            for k, (i, code) in enumerate(zip(chunk, codes, strict=True))])
    audit(conn, "wave.plan", "wave", wave_id,
          f"{campaign.name} wave {number} ({kind}): {kept} pieces, {n_control} control, "
          f"{left} suppressed/undeliverable"
          + (f", {found.capped} held back by the contact cap" if found.capped else ""))
    log.info("planned wave %d of %s: %d pieces", number, campaign.name, kept)
    return int(wave_id)


def _record_wave(conn: Connection, campaign_id: int, campaign: Campaign, number: int, kind: str,
                 rule: str | None, letter: str | None, drop_date: date | None, as_of: date, suppressed: int,
                 capped: int) -> int:
    """The waves row, with the suppression state it used (highest entry id, entries in force) and the
    campaign text it was planned with."""
    from mailing.clients import client_of_campaign
    from mailing.suppression import binding

    s = suppression.c
    in_force = or_(s.expires_at.is_(None), s.expires_at > as_of)
    max_id = int(conn.execute(select(func.coalesce(func.max(s.id), 0))).scalar_one())
    count = int(conn.execute(select(func.count()).select_from(suppression)
                             .where(in_force, binding(client_of_campaign(conn, campaign_id)))).scalar_one())
    text = conn.execute(select(campaigns.c.config_toml).where(campaigns.c.id == campaign_id)).scalar_one()
    return new_id(conn.execute(insert(waves).values(
        campaign_id=campaign_id, number=number, kind=kind, rule=rule, letter=letter, status="planned",
        drop_date=drop_date, seed=campaign.production.seed, suppression_max_id=max_id, suppression_count=count,
        suppressed=suppressed, capped=capped, config_toml=text,
    )))


def _nothing_to_mail(name: str, candidates: int, kept: int, capped: int = 0) -> str:
    if kept == 0 and capped:
        return (f"campaign {name!r}: of {candidates} recipient(s), {capped} would exceed the contact cap "
                "([production] contact_cap) and the rest are suppressed or undeliverable; nothing to mail, "
                "no wave was recorded")
    if candidates == 0:
        return (f"campaign {name!r} has no recipients to mail; import them first "
                f"(`mailing import {name} FILE`); no wave was recorded")
    if kept == 0:
        return (f"campaign {name!r}: all {candidates} recipient(s) are suppressed or undeliverable; "
                "nothing to mail, no wave was recorded")
    return f"campaign {name!r}: every recipient is in the control group; nothing to print, no wave was recorded"


def _variant_indices(campaign: Campaign, n: int, rng: random.Random) -> bytearray:
    """n variant numbers (index into campaign.variants) split by the variants' shares, shuffled."""
    parts = quotas(n, [v.share for v in campaign.variants])
    labels = bytearray()
    for index, k in enumerate(parts):
        labels.extend(bytes([index]) * k)
    rng.shuffle(labels)  # type: ignore[arg-type]  # a mutable sequence; the same swaps as on a list
    return labels
