"""Follow-up rules: responses → suppression entries, call lists and new letter waves.

Rules run in a fixed order so that one run is consistent: ``suppress`` first (an opt-out read today keeps
that person out of today's reminder), then ``call``, then letter rules. Every action is recorded in the
``followups`` table with a unique (campaign, rule, recipient), so running the rules twice creates nothing
new and nobody gets the same follow-up twice. Letter rules create a wave through `mailing.waves.plan_wave`,
which applies the suppression list again and leaves out undeliverable addresses. A rule's ``min_volume``
pools pieces (status ``pending``) until enough are waiting. Doubtful ticks (None) are not acted upon until a
person resolves them in the review queue. A ``responded`` rule (a letter) thanks everyone with a counted
response who did not object, once per campaign; a ``call`` rule keeps each call's consent on record
(mailing.consent) and leaves out whoever withdrew it.

Two runs of one campaign at the same time (two operators, a cron job and a person): the later transaction
fails on one of those unique constraints (on SQLite: on a stale snapshot) and is run again, and then finds
what the first recorded. Call lists are written only after the run's transaction is committed, so a run
that was rolled back and repeated never leaves a call list naming people another run also listed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from mailing.campaigns import load
from mailing.config import Campaign, Rule
from mailing.errors import StoreError
from mailing.log import get_logger
from mailing.store import (
    Store,
    audit,
    followups,
    in_chunks,
    pieces,
    recipients,
    response_options,
    responses,
    retryable,
    scans,
    waves,
)
from mailing.waves import SENT_STATES

log = get_logger(__name__)

_ORDER = {"suppress": 0, "call": 1, "letter": 2}
RUN_TRIES = 8  # another `followup` of the same campaign committing first costs one retry


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


@dataclass
class RuleResult:
    rule: str
    action: str
    recipients: list[str] = field(default_factory=list)  # display names (for --dry-run listings)
    count: int = 0
    wave: int | None = None  # the wave a letter rule created
    pending: int = 0  # pooled, waiting for min_volume
    skipped: int = 0  # suppressed or undeliverable since the response
    files: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "action": self.action, "count": self.count, "wave": self.wave,
                "pending": self.pending, "skipped": self.skipped, "files": self.files,
                "recipients": self.recipients}


@dataclass
class FollowupResult:
    campaign: str
    as_of: date
    dry_run: bool
    rules: list[RuleResult]

    def as_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "as_of": self.as_of.isoformat(), "dry_run": self.dry_run,
                "rules": [r.as_json() for r in self.rules]}


def run_followups(store: Store, campaign_name: str, *, as_of: date | None = None, dry_run: bool = False,
                  out_dir: str | Path | None = None) -> FollowupResult:
    """Run the campaign's rules as of a day. With dry_run nothing is written (store or files)."""
    day = as_of or date.today()
    out = Path(out_dir) if out_dir else Path(f"followup-{campaign_name}")
    for attempt in range(RUN_TRIES):
        runners: list[_Run] = []
        try:
            with store.begin() as conn:
                cid, campaign = load(conn, campaign_name)
                for rule in sorted(campaign.rules, key=lambda r: _ORDER[r.action]):
                    runner = _Run(conn, cid, campaign, rule, day, dry_run, out)
                    runner.run()
                    runners.append(runner)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        except (IntegrityError, OperationalError) as exc:
            if attempt + 1 == RUN_TRIES or not retryable(exc):
                orig = str(getattr(exc, "orig", exc)).strip()
                raise StoreError(f"cannot record the follow-ups of {campaign_name!r} in the store: "
                                 f"{orig.splitlines()[0] if orig else type(exc).__name__}") from exc
            log.debug("follow-ups of %s: another run recorded first, running again", campaign_name)
            time.sleep(0.05 * (attempt + 1))
            continue
        for runner in runners:  # files only for what the store now holds: a run rolled back wrote none
            runner.write_files()
        return FollowupResult(campaign_name, day, dry_run, [r.result for r in runners])
    raise AssertionError("unreachable")  # pragma: no cover


class _Run:
    def __init__(self, conn: Connection, cid: int, campaign: Campaign, rule: Rule, day: date, dry_run: bool,
                 out: Path) -> None:
        self.conn, self.cid, self.campaign, self.rule, self.day = conn, cid, campaign, rule, day
        self.dry_run, self.out = dry_run, out
        self.result = RuleResult(rule.id, rule.action)
        self.call_list: list[Any] = []  # written by `write_files` once the run's transaction is committed

    def write_files(self) -> None:
        """The call list of this run (after the commit: a run that failed and was repeated wrote nothing)."""
        if self.dry_run or not self.call_list:
            return
        from reports.calllist import write_call_list

        stem = self.out / f"anrufliste-{self.campaign.name}-{self.day.isoformat()}"
        self.out.mkdir(parents=True, exist_ok=True)
        xlsx, csv = _unique(stem.with_suffix(".xlsx")), _unique(stem.with_suffix(".csv"))
        write_call_list(self.call_list, xlsx, csv, campaign=self.campaign.title)
        self.result.files = [str(xlsx), str(csv)]

    def run(self) -> RuleResult:
        if self.rule.when == "ticked":
            candidates = self._ticked()
        elif self.rule.when == "responded":
            candidates = self._responded()
        else:
            candidates = self._no_response()
        if self.rule.action == "suppress":
            self._suppress(candidates)
        elif self.rule.action == "call":
            self._call(candidates)
        else:
            self._letter(candidates)
        return self.result

    # ----------------------------------------------------------------------------- candidates
    def _already(self):  # type: ignore[no-untyped-def]
        return exists().where(followups.c.campaign_id == self.cid, followups.c.rule == self.rule.id,
                              followups.c.recipient_id == recipients.c.id)

    def _ticked(self) -> list[Any]:
        """Responses of this campaign with the rule's option ticked, whose recipient has not had this rule."""
        stmt = (
            select(recipients, responses.c.id.label("response_id"), responses.c.received_on)
            .select_from(responses.join(pieces, pieces.c.id == responses.c.piece_id)
                         .join(waves, waves.c.id == pieces.c.wave_id)
                         .join(recipients, recipients.c.id == pieces.c.recipient_id)
                         .join(response_options, and_(response_options.c.response_id == responses.c.id,
                                                      response_options.c.key == self.rule.option)))
            .where(waves.c.campaign_id == self.cid, response_options.c.ticked.is_(True), ~self._already(),
                   recipients.c.erased_at.is_(None))  # an erased or purged record gets no follow-up
            .order_by(responses.c.received_on, responses.c.id)
        )
        seen: set[int] = set()
        rows = []
        for row in self.conn.execute(stmt):
            if row.id not in seen:  # one follow-up per person even with responses to several waves
                seen.add(row.id)
                rows.append(row)
        return rows

    def _responded(self) -> list[Any]:
        """Everyone with a counted response to this campaign who did not object: the thank-you. A response
        whose opt-out box (the option of any ``suppress`` rule) is ticked or still doubtful is left out (a
        doubtful one until review resolves it); the suppression list is applied again when the wave is
        planned, so an objection by any other channel keeps the person out too."""
        optout_keys = sorted({r.option for r in self.campaign.rules if r.action == "suppress" and r.option})
        objected = exists().where(response_options.c.response_id == responses.c.id,
                                  response_options.c.key.in_(optout_keys),
                                  or_(response_options.c.ticked.is_(True), response_options.c.ticked.is_(None)))
        stmt = (
            select(recipients, responses.c.id.label("response_id"), responses.c.received_on)
            .select_from(responses.join(pieces, pieces.c.id == responses.c.piece_id)
                         .join(waves, waves.c.id == pieces.c.wave_id)
                         .join(recipients, recipients.c.id == pieces.c.recipient_id))
            .where(waves.c.campaign_id == self.cid, ~self._already(), recipients.c.erased_at.is_(None))
            .order_by(responses.c.received_on, responses.c.id)
        )
        if optout_keys:
            stmt = stmt.where(~objected)
        seen: set[int] = set()
        return [r for r in self.conn.execute(stmt) if not (r.id in seen or seen.add(r.id))]  # type: ignore[func-returns-value]

    def _no_response(self) -> list[Any]:
        """Pieces of the campaign's main waves dropped at least `days` ago with no response."""
        cutoff = self.day - timedelta(days=self.rule.days)
        stmt = (
            select(recipients, pieces.c.id.label("piece_id"))
            .select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id)
                         .join(recipients, recipients.c.id == pieces.c.recipient_id))
            .where(waves.c.campaign_id == self.cid, waves.c.kind == "initial",
                   waves.c.status.in_(SENT_STATES),
                   waves.c.drop_date.is_not(None), waves.c.drop_date <= cutoff,
                   pieces.c.control.is_(False), pieces.c.undeliverable.is_(False),
                   ~exists().where(responses.c.piece_id == pieces.c.id), ~self._already(),
                   recipients.c.erased_at.is_(None))
            .order_by(recipients.c.id)
        )
        seen: set[int] = set()
        return [r for r in self.conn.execute(stmt) if not (r.id in seen or seen.add(r.id))]  # type: ignore[func-returns-value]

    # -------------------------------------------------------------------------------- actions
    def _record(self, row: Any, status: str, wave_id: int | None = None, note: str | None = None) -> None:
        self.conn.execute(insert(followups).values(
            campaign_id=self.cid, rule=self.rule.id, action=self.rule.action, recipient_id=row.id,
            response_id=getattr(row, "response_id", None), wave_id=wave_id, status=status, note=note))

    def _name(self, row: Any) -> str:
        from mailing.addressing import display_name

        return display_name(row._mapping)

    def _suppress(self, rows: list[Any]) -> None:
        """Opt-outs onto the suppression list, unless an entry already covers the person (the scan that read
        the tick, review or an imported list put it there): never a second entry for one objection."""
        from mailing.suppression import add_entry, suppressed_recipients

        already = suppressed_recipients(self.conn, self.cid, as_of=self.day) if rows else {}
        added = 0
        for row in rows:
            if row.id not in already:
                add_entry(self.conn, "objection", "scan", f"response {row.response_id}",
                          recipient_row=row._mapping, campaign_id=self.cid)
                added += 1
            self._record(row, "done", note=None if row.id not in already else "already on the suppression list")
            self.result.recipients.append(self._name(row))
        self.result.count = added
        self.result.skipped = len(rows) - added
        if rows:
            audit(self.conn, "followup.suppress", "campaign", self.cid,
                  f"{self.rule.id}: {added} objection(s) added, {len(rows) - added} already listed")

    def _call(self, rows: list[Any]) -> None:
        if not rows:
            return
        from mailing.consent import record_call_consents, withdrawn
        from reports.calllist import CallListRow

        gone = withdrawn(self.conn, rows)  # consent withdrawn since the answer: never on a call list again
        for r in (r for r in rows if r.id in gone):
            self._record(r, "skipped", note="call consent withdrawn")
            self.result.skipped += 1
        rows = [r for r in rows if r.id not in gone]
        if not rows:
            return
        consent = record_call_consents(self.conn, self.cid, rows)
        labels = self.campaign.option_labels  # box key → meaning (a counted row has one key per box)
        ticked = self._ticked_options([r.response_id for r in rows])
        pictures = self._phone_pictures([r.response_id for r in rows])
        entries = [CallListRow(
            name=self._name(r), customer_id=r.customer_id or "", phone=r.phone or "", email=r.email or "",
            options=", ".join(labels[k] for k in self.campaign.option_keys if k in ticked.get(r.response_id, ())),
            responded_on=r.received_on, postal_code=r.postal_code, city=r.city,
            phone_picture=pictures.get(r.response_id, b""),
            consent_on=consent[r.id].given_on, consent_via=consent[r.id].text,
        ) for r in rows]
        for r in rows:
            self._record(r, "done")
            self.result.recipients.append(self._name(r))
        self.result.count = len(rows)
        self.call_list = entries
        audit(self.conn, "followup.call", "campaign", self.cid, f"{self.rule.id}: {len(rows)} to call")

    def _phone_pictures(self, response_ids: list[int]) -> dict[int, bytes]:
        """Response id → the picture of the telephone line on its scanned coupon (none for answers given
        online, on the phone or in review without a scan)."""
        out: dict[int, bytes] = {}
        for chunk in in_chunks(response_ids):
            for r in self.conn.execute(
                    select(responses.c.id, scans.c.phone_snippet).join(scans, scans.c.id == responses.c.scan_id)
                    .where(responses.c.id.in_(chunk), scans.c.phone_snippet.is_not(None))):
                out[r.id] = bytes(r.phone_snippet)
        return out

    def _ticked_options(self, response_ids: list[int]) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for chunk in in_chunks(response_ids):
            for r in self.conn.execute(select(response_options.c.response_id, response_options.c.key).where(
                    response_options.c.response_id.in_(chunk), response_options.c.ticked.is_(True))):
                out.setdefault(r.response_id, set()).add(r.key)
        return out

    def _letter(self, rows: list[Any]) -> None:
        from mailing.waves import NothingToMail, plan_wave

        pending = self.conn.execute(select(followups.c.id, followups.c.recipient_id).where(
            followups.c.campaign_id == self.cid, followups.c.rule == self.rule.id,
            followups.c.status == "pending")).all()
        for row in rows:
            self._record(row, "pending")
            self.result.recipients.append(self._name(row))
        waiting = len(pending) + len(rows)
        if waiting == 0:
            return
        if waiting < max(self.rule.min_volume, 1):
            self.result.pending = waiting
            self.result.count = 0
            return
        ids = [p.recipient_id for p in pending] + [r.id for r in rows]
        kind = "reminder" if self.rule.when == "no_response" else f"letter:{self.rule.letter}"
        try:
            wave_id = plan_wave(self.conn, self.cid, self.campaign, kind=kind, recipient_ids=ids,
                                letter=self.rule.letter, rule=self.rule.id)
        except NothingToMail:  # everyone waiting was suppressed or returned since: no empty wave
            for chunk in in_chunks(ids):
                self.conn.execute(update(followups).where(
                    followups.c.campaign_id == self.cid, followups.c.rule == self.rule.id,
                    followups.c.recipient_id.in_(chunk)).values(
                    status="skipped", note="suppressed or undeliverable when the wave was planned"))
            self.result.skipped = len(ids)
            return
        in_wave = {r.recipient_id for r in self.conn.execute(
            select(pieces.c.recipient_id).where(pieces.c.wave_id == wave_id))}
        number = self.conn.execute(select(waves.c.number).where(waves.c.id == wave_id)).scalar_one()
        for rid in ids:
            included = rid in in_wave
            self.conn.execute(update(followups).where(
                followups.c.campaign_id == self.cid, followups.c.rule == self.rule.id,
                followups.c.recipient_id == rid).values(
                status="done" if included else "skipped", wave_id=wave_id if included else None,
                note=None if included else "suppressed or undeliverable when the wave was planned"))
        self.result.wave = int(number)
        self.result.count = len(in_wave)
        self.result.skipped = len(ids) - len(in_wave)
        audit(self.conn, "followup.letter", "wave", wave_id, f"{self.rule.id}: {len(in_wave)} piece(s)")


def _unique(path: Path) -> Path:
    """Never overwrite an earlier call list of the same day."""
    n, candidate = 2, path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate

