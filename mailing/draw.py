"""Prize draw among a campaign's respondents (`mailing draw`).

Who may win: everyone with a counted response to the campaign (paper or online, opt-outs included: taking
part must not depend on consent or a purchase) received up to the deadline, whose record was not erased.
The eligible list is ordered by customer id (then coupon code, for records without one), so it does not
depend on the random codes the letters happened to get; the winners are drawn from it with
``random.Random(seed)``, so the same seed over the same respondents draws the same winners. Every draw is
written to the audit log with the seed, the deadline, the number eligible, the SHA-256 of the sorted codes
and the winners' codes, so anyone can repeat it. The winners can get a letter wave of their own
(``letter``): planned like a follow-up wave, the suppression list applies (an objector who won is left
out of the letter and must be told another way; the result counts them).

One winners' wave per campaign. A draw is the same draw when seed, deadline, number of winners and the
eligible list (its SHA-256) are the same: it draws the same winners, and repeating it with ``letter`` plans
no second wave but names the one planned before (`repeated`). The wave is linked to its draw by a
``draw.wave`` line in the audit log (entity: the wave; detail: the draw's key and the letter), so no table
changes. Any other draw with ``letter`` once a winners' wave exists (another seed, deadline or count, or the
respondents changed since) is refused: it would tell other people they won. Drawing without ``letter`` is
always allowed and only recorded.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from mailing.campaigns import load
from mailing.errors import MailingError
from mailing.store import Store, audit, audit_log, pieces, recipients, responses, waves


@dataclass
class Winner:
    code: str
    customer_id: str
    name: str
    recipient_id: int

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "customer_id": self.customer_id, "name": self.name}


@dataclass
class DrawResult:
    campaign: str
    seed: int
    deadline: date | None
    eligible: int
    sha256: str
    winners: list[Winner] = field(default_factory=list)
    wave: int | None = None  # the winners' letter wave
    left_out: int = 0  # winners the letter wave left out (suppressed or undeliverable)
    repeated: bool = False  # the same draw planned the winners' wave before; nothing new was planned

    def as_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "seed": self.seed,
                "deadline": self.deadline.isoformat() if self.deadline else None, "eligible": self.eligible,
                "sha256": self.sha256, "winners": [w.as_json() for w in self.winners], "wave": self.wave,
                "left_out": self.left_out, "repeated": self.repeated}

    @property
    def key(self) -> str:
        """What makes two draws the same draw (written to the audit log with the winners' wave)."""
        return (f"seed={self.seed} deadline={self.deadline.isoformat() if self.deadline else '-'} "
                f"winners={len(self.winners)} eligible={self.eligible} sha256={self.sha256}")


def eligible_digest(codes: list[str]) -> str:
    """SHA-256 of the sorted eligible codes, one per line (UTF-8, no trailing newline)."""
    return hashlib.sha256("\n".join(sorted(codes)).encode("utf-8")).hexdigest()


def draw(store: Store, campaign_name: str, winners: int, *, seed: int | None = None,
         deadline: date | None = None, letter: str | None = None) -> DrawResult:
    """Draw `winners` among the campaign's respondents up to `deadline` (see the module docstring)."""
    if winners < 1:
        raise MailingError(f"--winners {winners}: draw at least one winner")
    if seed is None:
        seed = secrets.randbelow(2**31)
    from mailing.addressing import display_name

    with store.begin() as conn:
        cid, campaign = load(conn, campaign_name)
        if letter is not None and letter not in campaign.letters:
            raise MailingError(f"letter {letter!r} is not defined in campaign {campaign_name!r}; add "
                               f"[letters.{letter}] to the campaign file or leave out --letter")
        stmt = (select(recipients, pieces.c.code)
                .select_from(responses.join(pieces, pieces.c.id == responses.c.piece_id)
                             .join(waves, waves.c.id == pieces.c.wave_id)
                             .join(recipients, recipients.c.id == pieces.c.recipient_id))
                .where(waves.c.campaign_id == cid, recipients.c.erased_at.is_(None)))
        if deadline is not None:
            stmt = stmt.where(responses.c.received_on <= deadline)
        by_code: dict[str, Any] = {}
        seen: set[int] = set()
        for row in sorted(conn.execute(stmt), key=lambda r: r.code):
            if row.id not in seen:  # one chance per person, even with responses to several waves
                seen.add(row.id)
                by_code[row.code] = row
        codes = sorted(by_code, key=lambda c: (by_code[c].customer_id or "", c))  # the draw's order
        until = f" up to {deadline.isoformat()}" if deadline else ""
        if winners > len(codes):
            raise MailingError(f"campaign {campaign_name!r} has {len(codes)} respondent(s){until}; "
                               f"cannot draw {winners} winner(s): lower --winners")
        chosen = random.Random(seed).sample(codes, winners)
        result = DrawResult(campaign_name, seed, deadline, len(codes), eligible_digest(codes))
        for code in chosen:
            row = by_code[code]
            result.winners.append(Winner(code, row.customer_id or "", display_name(row._mapping), row.id))
        audit(conn, "draw", "campaign", cid,
              f"seed={seed} deadline={deadline.isoformat() if deadline else '-'} eligible={len(codes)} "
              f"sha256={result.sha256} winners={','.join(chosen)}")
        if letter is not None:
            from mailing.waves import NothingToMail, plan_wave

            ids = [w.recipient_id for w in result.winners]
            earlier = _winners_wave(conn, cid)
            if earlier is not None:
                wave_id, number, detail = earlier
                if detail != f"{result.key} letter={letter}":
                    raise MailingError(_refusal(campaign_name, number, detail))
                in_wave = conn.execute(select(pieces.c.id).where(pieces.c.wave_id == wave_id)).all()
                result.wave, result.left_out, result.repeated = number, len(ids) - len(in_wave), True
                return result
            try:
                wave_id = plan_wave(conn, cid, campaign, kind=f"letter:{letter}", recipient_ids=ids,
                                    letter=letter, rule="draw")
            except NothingToMail:
                result.left_out = len(ids)
            else:
                number, in_wave = conn.execute(select(waves.c.number).where(waves.c.id == wave_id)).scalar_one(), \
                    conn.execute(select(pieces.c.id).where(pieces.c.wave_id == wave_id)).all()
                result.wave = int(number)
                result.left_out = len(ids) - len(in_wave)
                audit(conn, "draw.wave", "wave", wave_id, f"{result.key} letter={letter}")
    return result


def _winners_wave(conn: Any, campaign_id: int) -> tuple[int, int, str] | None:
    """(wave id, number, draw key and letter) of the campaign's winners' wave, if a draw planned one."""
    row = conn.execute(
        select(waves.c.id, waves.c.number, audit_log.c.detail)
        .select_from(audit_log.join(waves, waves.c.id == audit_log.c.entity_id))
        .where(audit_log.c.action == "draw.wave", audit_log.c.entity == "wave", waves.c.campaign_id == campaign_id)
        .order_by(audit_log.c.id)).first()
    return (int(row.id), int(row.number), str(row.detail or "")) if row is not None else None


def _refusal(campaign: str, wave: int, detail: str) -> str:
    """One line: which draw's winners have their wave, and what to do instead."""
    f = dict(re.findall(r"(\w+)=(\S+)", detail))
    until = f", deadline {f['deadline']}" if f.get("deadline", "-") != "-" else ""
    return (f"campaign {campaign!r}: the winners of an earlier draw (seed {f.get('seed', '?')}{until}, "
            f"{f.get('winners', '?')} winner(s) among {f.get('eligible', '?')}, letter {f.get('letter', '?')}) "
            f"already have their letter wave {wave}; a second winners' wave would tell other people they won. "
            "Repeat that very draw (same --winners, --seed, --deadline and --letter) to see it again, or draw "
            "without --letter")
