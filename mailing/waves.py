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
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.engine import Connection

from mailing.codes import new_code
from mailing.config import Campaign
from mailing.contacts import CAPPED_KINDS, over_cap
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


def plan_wave(conn: Connection, campaign_id: int, campaign: Campaign, *, kind: str = "initial",
              recipient_ids: Sequence[int] | None = None, letter: str | None = None, rule: str | None = None,
              drop_date: date | None = None) -> int:
    """Plan the next wave of the campaign and return its id (see the module docstring)."""
    if letter is not None and letter not in campaign.letters:
        raise MailingError(f"letter {letter!r} is not defined in campaign {campaign.name!r}; add [letters.{letter}]")
    number = int(conn.execute(select(func.coalesce(func.max(waves.c.number), 0))
                              .where(waves.c.campaign_id == campaign_id)).scalar_one()) + 1
    r = recipients.c
    cols = (r.id, r.country, r.postal_code, r.customer_id, r.match_key, r.first_name)
    base = and_(r.campaign_id == campaign_id, r.active.is_(True), r.erased_at.is_(None))  # erased: never mailed
    rows: list[Any] = []
    if recipient_ids is None:
        rows = list(conn.execute(select(*cols).where(base)).all())
    else:
        for chunk in in_chunks(sorted(set(recipient_ids))):
            rows.extend(conn.execute(select(*cols).where(base, r.id.in_(chunk))).all())
    as_of = drop_date or date.today()
    from mailing.clients import client_of_campaign
    from mailing.suppression import binding, suppressed_recipients

    suppressed = suppressed_recipients(conn, campaign_id, as_of=as_of)
    undeliverable = {int(x[0]) for x in conn.execute(
        select(pieces.c.recipient_id).select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id))
        .where(waves.c.campaign_id == campaign_id, pieces.c.undeliverable.is_(True)))}
    keep = [row for row in rows if row.id not in suppressed and row.id not in undeliverable]
    left_out = [row.id for row in rows if row.id in suppressed]
    capped: set[int] = set()
    cap = campaign.production.contact_cap
    if cap is not None and kind in CAPPED_KINDS:  # letters in the last days, across campaigns: one too many
        capped = over_cap(conn, keep, cap, as_of, client_of_campaign(conn, campaign_id))
        keep = [row for row in keep if row.id not in capped]
    # Seeded assignment over recipients in id order, so the print order does not change it.
    seed = campaign.production.seed
    rng = random.Random(f"{seed}:{campaign_id}:{number}")
    by_id = sorted(keep, key=lambda x: x.id)
    control: set[int] = set()
    if kind == "initial" and campaign.production.control_share > 0:
        n_control = round(len(by_id) * campaign.production.control_share / 100.0)
        control = {x.id for x in rng.sample(by_id, n_control)}
    mailed = [x for x in by_id if x.id not in control]
    if not mailed:
        raise NothingToMail(_nothing_to_mail(campaign.name, len(rows), len(keep), len(capped)))
    s = suppression.c
    in_force = or_(s.expires_at.is_(None), s.expires_at > as_of)
    max_id = int(conn.execute(select(func.coalesce(func.max(s.id), 0))).scalar_one())
    count = int(conn.execute(select(func.count()).select_from(suppression)
                             .where(in_force, binding(client_of_campaign(conn, campaign_id)))).scalar_one())
    text = conn.execute(select(campaigns.c.config_toml).where(campaigns.c.id == campaign_id)).scalar_one()
    wave_id = new_id(conn.execute(insert(waves).values(
        campaign_id=campaign_id, number=number, kind=kind, rule=rule, letter=letter, status="planned",
        drop_date=drop_date, seed=seed, suppression_max_id=max_id, suppression_count=count,
        suppressed=len(rows) - len(keep) - len(capped), capped=len(capped), config_toml=text,
    )))
    if left_out:
        conn.execute(insert(wave_suppressions), [
            {"wave_id": wave_id, "recipient_id": rid, "suppression_id": suppressed[rid]} for rid in left_out])

    # A follow-up letter has one text for everybody; its variants still split by share, which keeps the
    # A/B labels comparable in reports.
    labels = _variants(campaign, len(mailed), rng)
    variant_of = {x.id: v for x, v in zip(mailed, labels, strict=True)}
    control_labels = _variants(campaign, len(control), rng)
    for x, v in zip(sorted(control), control_labels, strict=True):
        variant_of[x] = v
    ordered = sorted(keep, key=lambda x: sort_key(x.country, x.postal_code, x.id))
    codes = unique_codes(conn, len(ordered))
    values: list[dict[str, Any]] = []  # inserted 5,000 at a time: a million rows never sit in memory at once
    for i, (x, code) in enumerate(zip(ordered, codes, strict=True)):
        values.append({"wave_id": wave_id, "recipient_id": x.id, "code": code, "variant": variant_of[x.id],
                       "control": x.id in control, "seq": i + 1})
        if len(values) == 5000 or i + 1 == len(ordered):
            conn.execute(insert(pieces), values)
            values = []
    audit(conn, "wave.plan", "wave", wave_id,
          f"{campaign.name} wave {number} ({kind}): {len(ordered)} pieces, {len(control)} control, "
          f"{len(rows) - len(keep) - len(capped)} suppressed/undeliverable"
          + (f", {len(capped)} held back by the contact cap" if capped else ""))
    log.info("planned wave %d of %s: %d pieces", number, campaign.name, len(ordered))
    return int(wave_id)


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


def _variants(campaign: Campaign, n: int, rng: random.Random) -> list[str]:
    parts = quotas(n, [v.share for v in campaign.variants])
    labels = [v.key for v, k in zip(campaign.variants, parts, strict=True) for _ in range(k)]
    rng.shuffle(labels)
    return labels
