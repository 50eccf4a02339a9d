"""Objections that arrive after a wave was planned: taken out before printing, or pulled at the lettershop.

The suppression list is applied when a wave is planned (mailing/waves.py). An objection (coupon tick,
review, online or phone answer, an imported objection or Robinson file, a returned letter, `person erase`)
can arrive later; the design says it takes effect at once, so:

- **planned wave** (no files handed over yet): `take_out` runs when `produce` starts and again in the
  transaction that marks the wave produced. It deletes the pieces of everyone now suppressed, erased or
  undeliverable (the same rule as planning: same client binding, `suppression.suppressed_recipients`),
  records the entries it applied in `wave_suppressions` (as planning does), adds them to the wave's
  `suppressed` count, marks their follow-up `skipped`, and numbers the remaining pieces 1..n again, so the
  lettershop's sequence numbers have no gaps. Batches already recorded by an interrupted run are planned
  anew (their files are rendered again). A wave left without a printed letter is removed (as `runs undo`
  removes an emptied wave); `produce` then says so and exits 1.
- **produced wave not yet posted** (status `produced`, drop date today or later: the lettershop still has
  the letters): `pull_rows` lists the pieces whose person is on the suppression list now (the
  "Aussteuerliste": batch file, page, sequence number, code, postal code; no name: the sequence number and
  page find the sheet in the PLZ-sorted stack, the code printed on it confirms it). `confirm_pulled`
  records the pieces of a worked-through list as pulled: a `wave_suppressions` row for a piece of the same
  wave. A pulled piece is printed but not sent (mailing/figures.py counts it as pulled, not sent).
- **posted** (`mark_posted`, `mailing posted`): the lettershop handed the wave to the post; its status
  becomes `dropped` and it is past pulling. A wave with letters still to pull is refused unless the
  operator posts them anyway (`--with-pending`), which the audit log records.

Nothing here writes personal data into the audit log: counts and reasons only.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from mailing.errors import MailingError, NotFoundError
from mailing.store import (
    Store,
    audit,
    batches,
    followups,
    in_chunks,
    pieces,
    recipients,
    suppression,
    wave_suppressions,
    waves,
)

log = logging.getLogger(__name__)

PULL_COLUMNS = ["wave", "file", "batch", "page", "last_page", "seq", "code", "postal_code"]


# ----------------------------------------------------------------------------------- planned waves
@dataclass
class TakeOut:
    """What `take_out` did to one planned wave."""

    wave: int
    removed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # objection | robinson | ... | erased | undeliverable
    emptied: bool = False  # no printed letter was left: the wave was removed
    forgotten: list[str] = field(default_factory=list)  # batch files an earlier run wrote, no longer valid

    def describe(self) -> str:
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
        return f"{self.removed} piece(s) taken out before printing ({why})"


def _undeliverable_ids(conn: Connection, campaign_id: int, wave_id: int) -> set[int]:
    """Recipients of the wave with a piece of the campaign flagged undeliverable (planning's rule)."""
    other = aliased(pieces)
    flagged = (select(other.c.recipient_id).join(waves, waves.c.id == other.c.wave_id)
               .where(waves.c.campaign_id == campaign_id, other.c.undeliverable.is_(True)))
    return {int(r[0]) for r in conn.execute(
        select(pieces.c.recipient_id).where(pieces.c.wave_id == wave_id, pieces.c.recipient_id.in_(flagged)))}


def _late_pieces(conn: Connection, w: Any) -> dict[int, tuple[int, int, int | None, str]]:
    """piece id → (recipient id, seq, suppression entry or None, reason) for the wave's pieces whose person
    must not get the letter any more."""
    from mailing.suppression import suppressed_recipients

    suppressed = suppressed_recipients(conn, w.campaign_id, as_of=w.drop_date or date.today())
    p = pieces.c
    found: dict[int, tuple[int, int, int | None, str]] = {}
    for chunk in in_chunks(sorted(suppressed)):
        for pid, rid, seq in conn.execute(select(p.id, p.recipient_id, p.seq)
                                          .where(p.wave_id == w.id, p.recipient_id.in_(chunk))):
            found[int(pid)] = (int(rid), int(seq), suppressed[int(rid)], "")
    erased = select(recipients.c.id).where(recipients.c.erased_at.is_not(None))
    for pid, rid, seq in conn.execute(select(p.id, p.recipient_id, p.seq)
                                      .where(p.wave_id == w.id, p.recipient_id.in_(erased))):
        if int(pid) not in found:
            found[int(pid)] = (int(rid), int(seq), None, "erased")
    undeliverable = _undeliverable_ids(conn, w.campaign_id, w.id)
    if undeliverable:
        for pid, rid, seq in conn.execute(select(p.id, p.recipient_id, p.seq)
                                          .where(p.wave_id == w.id, p.recipient_id.in_(sorted(undeliverable)))):
            if int(pid) not in found:
                found[int(pid)] = (int(rid), int(seq), None, "undeliverable")
    entries = sorted({e for _, _, e, _ in found.values() if e is not None})
    reason_of: dict[int, str] = {}
    for chunk in in_chunks(entries):
        reason_of.update((int(i), str(r)) for i, r in conn.execute(
            select(suppression.c.id, suppression.c.reason).where(suppression.c.id.in_(chunk))))
    return {pid: (rid, seq, e, reason or reason_of.get(e or 0, "objection"))
            for pid, (rid, seq, e, reason) in found.items()}


def _renumber(conn: Connection, wave_id: int, removed_seqs: Sequence[int]) -> None:
    """Close the gaps the removed pieces left in the wave's print order: each later piece moves up by the
    number of removed pieces before it (one UPDATE per removed piece, each over a range of seq)."""
    gaps = sorted(removed_seqs)
    for i, start in enumerate(gaps, start=1):
        end = gaps[i] if i < len(gaps) else None
        cond = and_(pieces.c.wave_id == wave_id, pieces.c.seq > start)
        if end is not None:
            cond = and_(cond, pieces.c.seq < end)
        conn.execute(update(pieces).where(cond).values(seq=pieces.c.seq - i))


def _forget_batches(conn: Connection, wave_id: int) -> list[str]:
    """Batches an interrupted run recorded: planned again (their pieces changed), files rendered again.
    Returns their file names (the caller removes them: a batch fewer must not leave an old file behind)."""
    files = [str(f) for f in conn.execute(select(batches.c.file).where(batches.c.wave_id == wave_id))]
    if files:
        conn.execute(update(pieces).where(pieces.c.wave_id == wave_id).values(batch_id=None, first_page=None))
        conn.execute(delete(batches).where(batches.c.wave_id == wave_id))
    return files


def take_out(conn: Connection, wave_id: int) -> TakeOut:
    """Take everyone who is now suppressed, erased or undeliverable out of a wave whose files were not handed
    over yet (planned, or being marked produced in the caller's transaction; see the module docstring)."""
    w = conn.execute(select(waves).where(waves.c.id == wave_id)).one()
    result = TakeOut(int(w.number))
    late = _late_pieces(conn, w)
    if not late:
        return result
    result.removed = len(late)
    result.reasons.update(reason for _, _, _, reason in late.values())
    ids = sorted(late)
    rids = sorted({rid for rid, _, _, _ in late.values()})
    for chunk in in_chunks(ids):
        conn.execute(delete(pieces).where(pieces.c.id.in_(chunk)))
    applied = [{"wave_id": wave_id, "recipient_id": rid, "suppression_id": e}
               for rid, _, e, _ in late.values() if e is not None]
    if applied:
        conn.execute(insert(wave_suppressions), applied)
    for chunk in in_chunks(rids):
        conn.execute(update(followups).where(followups.c.wave_id == wave_id, followups.c.recipient_id.in_(chunk))
                     .values(status="skipped", wave_id=None,
                             note="suppressed, erased or undeliverable before the wave was printed"))
    conn.execute(update(waves).where(waves.c.id == wave_id).values(suppressed=waves.c.suppressed + len(late)))
    result.forgotten = _forget_batches(conn, wave_id)
    printed = conn.execute(select(pieces.c.id).where(pieces.c.wave_id == wave_id, pieces.c.control.is_(False))
                           .limit(1)).first()
    if printed is None:
        result.emptied = True
        conn.execute(delete(pieces).where(pieces.c.wave_id == wave_id))
        conn.execute(update(followups).where(followups.c.wave_id == wave_id).values(wave_id=None))
        conn.execute(delete(wave_suppressions).where(wave_suppressions.c.wave_id == wave_id))
        conn.execute(delete(waves).where(waves.c.id == wave_id))
        audit(conn, "wave.cancel", "wave", wave_id,
              f"wave {w.number}: {result.describe()}; no letter left, the planned wave was removed")
        return result
    _renumber(conn, wave_id, [seq for _, seq, _, _ in late.values()])
    audit(conn, "wave.take-out", "wave", wave_id, f"wave {w.number}: {result.describe()}")
    log.info("wave %d: %s", w.number, result.describe())
    return result


# ----------------------------------------------------------------------------- produced, not posted
def pulled() -> Any:
    """SQL condition on `pieces`: the piece was pulled at the lettershop (a wave_suppressions row of its own
    wave for its recipient)."""
    ws = wave_suppressions.c
    return exists().where(ws.wave_id == pieces.c.wave_id, ws.recipient_id == pieces.c.recipient_id)


def at_lettershop(as_of: date | None = None) -> Any:
    """SQL condition on `waves`: produced and not yet posted (no drop date, or the drop date is `as_of`,
    default today, or later). A wave posted is past pulling: `mailing posted` marks it dropped, and a wave
    whose drop date has passed is taken as posted."""
    day = as_of or date.today()
    return and_(waves.c.status == "produced", or_(waves.c.drop_date.is_(None), waves.c.drop_date >= day))


@dataclass
class PullRow:
    wave: int
    file: str
    batch: int
    page: int  # first page of the piece within its file, 1-based
    last_page: int
    seq: int
    code: str
    postal_code: str


def pull_rows(conn: Connection, campaign_id: int, wave: int | None = None, as_of: date | None = None,
              suppressed: dict[int, int] | None = None) -> list[PullRow]:
    """The printed pieces of the campaign's waves at the lettershop (only wave `wave` when given) whose
    person is on the suppression list now and that were not pulled yet, in file and page order."""
    from mailing.suppression import suppressed_recipients

    if suppressed is None:
        suppressed = suppressed_recipients(conn, campaign_id, as_of=as_of)
    if not suppressed:
        return []
    p, b = pieces.c, batches.c
    cond = and_(waves.c.campaign_id == campaign_id, at_lettershop(as_of), p.control.is_(False), ~pulled())
    if wave is not None:
        cond = and_(cond, waves.c.number == wave)
    rows: list[PullRow] = []
    for chunk in in_chunks(sorted(suppressed)):
        for r in conn.execute(
                select(waves.c.number, b.file, b.number.label("batch"), b.pages, b.pieces, p.first_page, p.seq,
                       p.code, recipients.c.postal_code)
                .select_from(pieces.join(waves, waves.c.id == p.wave_id).join(batches, b.id == p.batch_id)
                             .join(recipients, recipients.c.id == p.recipient_id))
                .where(cond, p.recipient_id.in_(chunk))):
            per_piece = (r.pages or 0) // (r.pieces or 1) or 1
            rows.append(PullRow(int(r.number), r.file, int(r.batch), int(r.first_page),
                                int(r.first_page) + per_piece - 1, int(r.seq), r.code, r.postal_code or ""))
    rows.sort(key=lambda x: (x.wave, x.batch, x.page))
    return rows


def to_pull_counts(conn: Connection, campaign_id: int, suppressed: dict[int, int],
                   as_of: date | None = None) -> dict[int, int]:
    """Wave number → pieces to pull (see `pull_rows`), for waves with any."""
    return dict(Counter(r.wave for r in pull_rows(conn, campaign_id, as_of=as_of, suppressed=suppressed)))


@dataclass
class PullResult:
    campaign: str
    rows: list[PullRow]
    out: str | None = None
    confirmed: int = 0  # pieces recorded as pulled (--confirm)
    not_pending: list[str] = field(default_factory=list)  # codes of the confirmed list no longer to pull

    def as_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "to_pull": len(self.rows), "pieces": [asdict(r) for r in self.rows],
                "out": self.out, "confirmed": self.confirmed, "not_pending": self.not_pending}


def pull_csv(rows: Iterable[PullRow]) -> bytes:
    """The list as CSV (UTF-8, CRLF); an imported postal code never becomes a spreadsheet formula."""
    from reports.calllist import csv_safe

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=PULL_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows({**asdict(r), "postal_code": csv_safe(r.postal_code)} for r in rows)
    return buf.getvalue().encode("utf-8")


def _check_wave(conn: Connection, campaign_id: int, name: str, number: int, as_of: date | None) -> None:
    row = conn.execute(select(waves).where(waves.c.campaign_id == campaign_id, waves.c.number == number)).first()
    if row is None:
        raise NotFoundError(f"campaign {name!r} has no wave {number}")
    if row.status == "planned":
        raise MailingError(f"wave {number} of {name!r} is not produced yet: `mailing produce` leaves out whoever "
                           "objected since planning; nothing to pull")
    if row.status != "produced" or (row.drop_date is not None and row.drop_date < (as_of or date.today())):
        raise MailingError(f"wave {number} of {name!r} was posted ({row.drop_date}); its letters cannot be pulled "
                           "any more")


def _read_codes(path: Path) -> list[str]:
    from mailing.codes import normalise

    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if "code" not in (reader.fieldnames or []):
                raise MailingError(f"{path}: no column 'code'; give the pull list `mailing pull-list` wrote")
            return [normalise(row["code"] or "") for row in reader if (row.get("code") or "").strip()]
    except OSError as exc:
        raise MailingError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MailingError(f"{path}: not a UTF-8 CSV file; give the pull list `mailing pull-list` wrote") from exc


def pull_list(store: Store, campaign_name: str, *, wave: int | None = None, out: str | Path | None = None,
              confirm: str | Path | None = None, as_of: date | None = None) -> PullResult:
    """The pull list of the campaign's waves at the lettershop (optionally written to `out` as CSV); with
    `confirm` (a pull list the lettershop worked through), its pieces are recorded as pulled, and the list
    returned is what is still to pull."""
    from layouts.render import write_atomic
    from mailing.campaigns import load

    codes = _read_codes(Path(confirm)) if confirm is not None else None
    with store.begin() as conn:
        cid, campaign = load(conn, campaign_name)
        if wave is not None:
            _check_wave(conn, cid, campaign.name, wave, as_of)
        rows = pull_rows(conn, cid, wave, as_of)
        result = PullResult(campaign.name, rows)
        if codes is not None:
            _confirm(conn, cid, rows, codes, result, as_of)
            result.rows = pull_rows(conn, cid, wave, as_of)
        if out is not None:
            write_atomic(out, pull_csv(result.rows))
            result.out = str(out)
    return result


def _confirm(conn: Connection, cid: int, rows: list[PullRow], codes: list[str], result: PullResult,
             as_of: date | None) -> None:
    from mailing.suppression import suppressed_recipients

    pending = {r.code for r in rows}
    result.not_pending = [c for c in codes if c not in pending]
    chosen = [c for c in dict.fromkeys(codes) if c in pending]
    if not chosen:
        return
    suppressed = suppressed_recipients(conn, cid, as_of=as_of)
    per_wave: Counter[tuple[int, int]] = Counter()
    for chunk in in_chunks(chosen):
        for pid_wave, rid, number in conn.execute(
                select(pieces.c.wave_id, pieces.c.recipient_id, waves.c.number)
                .join(waves, waves.c.id == pieces.c.wave_id).where(pieces.c.code.in_(chunk))):
            conn.execute(insert(wave_suppressions).values(wave_id=pid_wave, recipient_id=rid,
                                                          suppression_id=suppressed[int(rid)]))
            per_wave[(int(pid_wave), int(number))] += 1
    for (wave_id, number), n in sorted(per_wave.items()):
        conn.execute(update(waves).where(waves.c.id == wave_id).values(suppressed=waves.c.suppressed + n))
        audit(conn, "wave.pull", "wave", wave_id, f"wave {number}: {n} piece(s) pulled at the lettershop "
                                                 "(suppressed after production)")
    result.confirmed = sum(per_wave.values())


# ----------------------------------------------------------------------------------- posting a wave
@dataclass
class Posted:
    """What `mark_posted` recorded: the wave now `dropped` (handed to Deutsche Post)."""

    campaign: str
    wave: int
    sent: int  # printed letters posted (pulled and control pieces excepted)
    pending: int  # letters of objectors posted anyway (--with-pending)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def mark_posted(store: Store, campaign_name: str, number: int, *, with_pending: bool = False,
                as_of: date | None = None) -> Posted:
    """Record that the lettershop handed wave `number` to the post: status `dropped`, so it is past pulling.

    A wave with letters still on the pull list is refused unless `with_pending` (those letters are then
    posted and count as sent). The drop date stays as planned: the letters carry it and a reprint must stay
    byte-identical; the day it was posted is in the audit log."""
    from mailing.campaigns import load

    with store.begin() as conn:
        cid, campaign = load(conn, campaign_name)
        row = conn.execute(select(waves).where(waves.c.campaign_id == cid, waves.c.number == number)).first()
        if row is None:
            raise NotFoundError(f"campaign {campaign.name!r} has no wave {number}")
        if row.status == "planned":
            raise MailingError(f"wave {number} of {campaign.name!r} is not produced yet: produce it first "
                               f"(`mailing produce {campaign.name} --wave {number} --out DIR`)")
        if row.status == "dropped":
            raise MailingError(f"wave {number} of {campaign.name!r} is already recorded as posted")
        pending = pull_rows(conn, cid, number, as_of=as_of)
        if pending and not with_pending:
            raise MailingError(
                f"wave {number} of {campaign.name!r}: {len(pending)} letter(s) of people who objected are still "
                f"to pull (`mailing pull-list {campaign.name} --wave {number} --out FILE`, then `--confirm FILE`); "
                "or post them anyway with --with-pending")
        sent = int(conn.execute(
            select(func.count()).select_from(pieces)
            .where(pieces.c.wave_id == row.id, pieces.c.control.is_(False), ~pulled())).scalar_one())
        conn.execute(update(waves).where(waves.c.id == row.id).values(status="dropped"))
        day = as_of or date.today()
        audit(conn, "wave.posted", "wave", row.id,
              f"{campaign.name} wave {number} posted on {day.isoformat()} (drop date {row.drop_date}): {sent} "
              f"letters" + (f", {len(pending)} of objectors posted anyway" if pending else ""))
    return Posted(campaign.name, number, sent, len(pending))
