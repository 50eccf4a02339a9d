"""`mailing scan` as runs: page images from files → readings (parallel, pure) → outcomes (one transaction
per page), every run recorded so that it can be listed (`list_runs`) and taken back (`undo_run`).

A page that cannot be read never stops the run; it is recorded as `unreadable` with its reason and a
picture for the review queue. Only a store that cannot be written stops the run. Several scanners may
work on one store at once: a page another process recorded first (same image, or the same coupon's
response) is simply read again from the store (`_record` retries its transaction).

Our own print files are refused at intake, by their SHA-256 (known from the batches of every produced
wave) or by their PDF information (the renderer writes Creator "mailing" and a title naming campaign, wave
and file): each of their pages gets `invalid`, "print file of campaign X wave N, not a scan", and nothing
is recorded. A print page that is not recognised so (re-saved by another program) is still caught page by
page: a vector page carrying one of our codes is refused by the matcher.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from mailing.campaigns import load_by_id
from mailing.errors import MailingError, NotFoundError, StoreError
from mailing.log import get_logger
from mailing.matching import Matcher, Outcome, print_file_reason
from mailing.settle import unsettle
from mailing.store import (
    Store,
    audit,
    batches,
    campaigns,
    consents,
    followups,
    new_id,
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

log = get_logger(__name__)

RECORD_TRIES = 8  # another scanner committing the same page first costs one retry; 8 covers any real stack


def max_options(store: Store) -> int:
    """The tick-box slots to read: one past the highest slot any registered campaign uses (all slots when
    there is none; a number of persons or a date choice uses grid slots, layouts.geometry.BOX_SLOTS)."""
    from layouts.geometry import CHECKBOX_SLOTS

    with store.connect() as conn:
        rows = conn.execute(select(campaigns.c.id)).all()
        counts = [max(load_by_id(conn, r.id).option_slots.values(), default=-1) + 1 for r in rows]
    return max(counts, default=CHECKBOX_SLOTS)


@dataclass(frozen=True)
class PrintFile:
    """A file of ours that was given as a scan."""

    source: str
    campaign: str
    wave: int
    pages: int

    @property
    def reason(self) -> str:
        return print_file_reason(self.campaign, self.wave)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_print_files(store: Store, files: Sequence[str]) -> dict[str, PrintFile]:
    """Files among `files` that are our print files: by SHA-256 of a produced batch, or by PDF information."""
    from scanning import intake

    with store.connect() as conn:
        known = {r.sha256: (r.name, int(r.number)) for r in conn.execute(
            select(batches.c.sha256, waves.c.number, campaigns.c.name)
            .join(waves, waves.c.id == batches.c.wave_id).join(campaigns, campaigns.c.id == waves.c.campaign_id)
            .where(batches.c.sha256.is_not(None)))}
    out: dict[str, PrintFile] = {}
    for f in files:
        try:
            with open(f, "rb") as fh:
                if b"%PDF" not in fh.read(1024):
                    continue
            digest = _sha256(f)
        except OSError:
            continue
        hit = known.get(digest)
        if hit is None:
            info = intake.pdf_info(f)
            from mailing.package import parse_pdf_title

            parsed = parse_pdf_title(info.get("/Title", ""))
            if info.get("/Creator") == "mailing" and parsed:
                hit = (parsed[0], parsed[1])
        if hit is not None:
            out[f] = PrintFile(intake.display_name(f), hit[0], hit[1], intake.count_pages(f))
    return out


def scan(
    store: Store,
    paths: Sequence[str],
    *,
    returned_mail: bool = False,
    jobs: int = 1,
    received_on: date | None = None,
    executor: Executor | None = None,
    on_page: Callable[[], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> Iterator[Outcome]:
    """Scan files and folders as one run; yield one Outcome per coupon found, or one per page without one.

    `on_notice` gets one line for each path skipped (a FIFO, a device, a non-image) and each print file
    refused; without it they go to the log as warnings.
    """
    from scanning import intake
    from scanning.pipeline import read_files  # OpenCV and the decoders load only when scanning

    def notice(line: str) -> None:
        if on_notice is not None:
            on_notice(line)
        else:
            log.warning("%s", line)

    run_id = start_run(store, paths, returned_mail)
    files, skipped = intake.collect(paths)
    for item in skipped:
        notice(f"{item.path}: skipped, {item.why}")
    printed = find_print_files(store, files)
    pages = 0
    for pf in printed.values():
        notice(f"{pf.source}: refused, print file of campaign {pf.campaign} wave {pf.wave} ({pf.pages} pages), "
               "not a scan; scan the returned coupons instead")
        for page in range(1, pf.pages + 1):
            pages += 1
            yield Outcome(pf.source, page, "invalid", pf.reason, campaign=pf.campaign, wave=pf.wave, run=run_id,
                          recorded=False)
        if on_page:
            on_page()
    _count_pages(store, run_id, pages)
    matcher = Matcher(returned_mail=returned_mail, received_on=received_on, run_id=run_id)
    # Coupons of any campaign may be mixed in one stack: measure as many tick boxes as the widest has.
    slots = max_options(store)
    rest = [f for f in files if f not in printed]
    for reading in read_files(rest, jobs=jobs, executor=executor, slots=slots, on_skip=lambda s: None):
        outcomes = _record(store, matcher, reading, run_id)
        for o in outcomes:
            if o.status in ("unreadable", "invalid", "unknown"):
                log.info("%s, page %d: %s (%s)", o.source, o.page, o.status, o.reason)
            yield o
        if on_page:
            on_page()
    finish_run(store, run_id)


def _record(store: Store, matcher: Matcher, reading: Any, run_id: int) -> list[Outcome]:
    """One page in one transaction. Another scanner committing the same image or the same coupon's response
    first makes this transaction fail on a unique constraint (or, on SQLite, on a stale snapshot); it is
    then run again and finds what the other one recorded."""
    for attempt in range(RECORD_TRIES):
        try:
            with store.begin() as conn:
                outcomes = matcher.record(conn, reading)
                conn.execute(update(scan_runs).where(scan_runs.c.id == run_id)
                             .values(pages=scan_runs.c.pages + 1))
            return outcomes
        except (IntegrityError, OperationalError) as exc:
            if attempt + 1 == RECORD_TRIES or not retryable(exc):
                raise _store_error(reading, exc) from exc
            log.debug("%s page %d: recorded concurrently, reading again (%s)", reading.source, reading.page,
                      type(exc.orig).__name__)
            time.sleep(0.05 * (attempt + 1))
        except SQLAlchemyError as exc:
            raise _store_error(reading, exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _store_error(reading: Any, exc: SQLAlchemyError) -> StoreError:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return StoreError(f"cannot record {reading.source} page {reading.page} in the store: {first}")


# ------------------------------------------------------------------------------------------------ runs
def start_run(store: Store, paths: Sequence[str], returned_mail: bool) -> int:
    from scanning.intake import display_name

    try:
        with store.begin() as conn:
            rid = new_id(conn.execute(insert(scan_runs).values(
                started_at=utcnow(), actor=os.environ.get("USER", "mailing"), returned_mail=returned_mail,
                sources="\n".join(display_name(p) for p in paths), pages=0)))
            audit(conn, "run.start", "scan_run", rid, f"{len(paths)} path(s)")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot start a scan run in the store: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc
    return rid


def _count_pages(store: Store, run_id: int, pages: int) -> None:
    if pages:
        with store.begin() as conn:
            conn.execute(update(scan_runs).where(scan_runs.c.id == run_id).values(pages=scan_runs.c.pages + pages))


def finish_run(store: Store, run_id: int) -> None:
    with store.begin() as conn:
        conn.execute(update(scan_runs).where(scan_runs.c.id == run_id).values(finished_at=utcnow()))


@dataclass
class RunInfo:
    run: int
    started: datetime
    finished: datetime | None
    returned_mail: bool
    sources: list[str]
    pages: int
    counts: dict[str, int] = field(default_factory=dict)  # outcomes it recorded, by status
    undone: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"run": self.run, "started": self.started.isoformat(timespec="seconds"),
                "finished": self.finished.isoformat(timespec="seconds") if self.finished else None,
                "returned_mail": self.returned_mail, "sources": self.sources, "pages": self.pages,
                "counts": self.counts, "undone": self.undone.isoformat(timespec="seconds") if self.undone else None}


def list_runs(store: Store) -> list[RunInfo]:
    """Every scan run, oldest first, with the outcomes it recorded (repeated images belong to their first run)."""
    with store.connect() as conn:
        counts: dict[int, Counter[str]] = {}
        for rid, status, n in conn.execute(select(scans.c.run_id, scans.c.status, func.count())
                                           .where(scans.c.run_id.is_not(None))
                                           .group_by(scans.c.run_id, scans.c.status)):
            counts.setdefault(int(rid), Counter())[status] = int(n)
        return [RunInfo(r.id, r.started_at, r.finished_at, bool(r.returned_mail),
                        [s for s in (r.sources or "").split("\n") if s], int(r.pages),
                        dict(counts.get(r.id, Counter())), r.undone_at)
                for r in conn.execute(select(scan_runs).order_by(scan_runs.c.id))]


@dataclass
class UndoResult:
    run: int
    scans: int
    responses: int
    review_items: int
    suppression_removed: int
    suppression_kept: list[str]  # entries a wave already applied: kept, named
    returned_cleared: int
    unsettled: int = 0  # boxes of earlier responses its clearer copies had settled, doubtful again
    reopened: int = 0  # review items those settlements had closed, open again

    def summary(self) -> str:
        text = (f"run {self.run} undone: {self.scans} scan(s), {self.responses} response(s), "
                f"{self.review_items} review item(s), {self.suppression_removed} suppression entr"
                f"{'y' if self.suppression_removed == 1 else 'ies'} removed")
        if self.returned_cleared:
            text += f", {self.returned_cleared} returned letter(s) unflagged"
        if self.unsettled:
            text += (f", {self.unsettled} box(es) it had settled doubtful again ({self.reopened} review item(s) "
                     "reopened)")
        if self.suppression_kept:
            text += "; kept (already applied by a wave): " + ", ".join(self.suppression_kept)
        return text


def undo_run(store: Store, run_id: int) -> UndoResult:
    """Take back everything a scan run recorded, in one transaction, with an audit entry.

    Refused (nothing changes) while a follow-up letter made from one of its responses is in a produced wave,
    or in a planned wave whose production has started (its batches are fixed): a letter sent cannot be
    recalled. Letters only planned are taken out of their wave with the response (a wave left empty goes).
    """
    with store.begin() as conn:
        run = conn.execute(select(scan_runs).where(scan_runs.c.id == run_id)).first()
        if run is None:
            raise NotFoundError(f"no scan run {run_id}; `mailing runs` lists them")
        if run.undone_at is not None:
            raise MailingError(f"scan run {run_id} was already undone on {run.undone_at:%Y-%m-%d %H:%M}")
        scan_ids = [int(r.id) for r in conn.execute(select(scans.c.id).where(scans.c.run_id == run_id))]
        resp_ids = [int(r.id) for r in conn.execute(select(responses.c.id).where(responses.c.scan_id.in_(scan_ids)))] \
            if scan_ids else []
        made = [int(r.id) for r in conn.execute(select(followups.c.id).where(followups.c.response_id.in_(resp_ids)))] \
            if resp_ids else []
        unsettled = unsettle(conn, scan_ids)  # boxes its scans of clearer copies decided: doubtful again
        made += unsettled.followup_ids
        _refuse_letters(conn, run_id, made)
        _unplan_letters(conn, made)
        kept, removed_entries = _entries_to_remove(conn, run_id, scan_ids)
        cleared = _unflag_returned(conn, run_id, scan_ids)
        n_review = 0
        if made:
            conn.execute(delete(followups).where(followups.c.id.in_(made)))
        if resp_ids:
            conn.execute(delete(consents).where(consents.c.response_id.in_(resp_ids)))  # the call consent it read
            conn.execute(delete(response_options).where(response_options.c.response_id.in_(resp_ids)))
            conn.execute(delete(responses).where(responses.c.id.in_(resp_ids)))
        if scan_ids:
            n_review = conn.execute(delete(review_items).where(review_items.c.scan_id.in_(scan_ids))).rowcount
            conn.execute(delete(scan_marks).where(scan_marks.c.scan_id.in_(scan_ids)))
            conn.execute(delete(scans).where(scans.c.id.in_(scan_ids)))
        if removed_entries:
            conn.execute(delete(suppression).where(suppression.c.id.in_(removed_entries)))
        conn.execute(update(scan_runs).where(scan_runs.c.id == run_id).values(undone_at=utcnow()))
        result = UndoResult(run_id, len(scan_ids), len(resp_ids), int(n_review or 0), len(removed_entries), kept,
                            cleared, unsettled.boxes, unsettled.reopened)
        audit(conn, "run.undo", "scan_run", run_id, result.summary())
    return result


def _refuse_letters(conn: Connection, run_id: int, made: list[int]) -> None:
    """Refuse the undo when one of the follow-ups `made` (ids) is a letter already produced or in production."""
    if not made:
        return
    rows = conn.execute(
        select(pieces.c.code, waves.c.id.label("wave_id"), waves.c.number, waves.c.status, campaigns.c.name)
        .select_from(followups.join(waves, waves.c.id == followups.c.wave_id)
                     .join(campaigns, campaigns.c.id == waves.c.campaign_id)
                     .join(responses, responses.c.id == followups.c.response_id)
                     .join(pieces, pieces.c.id == responses.c.piece_id))
        .where(followups.c.id.in_(made), followups.c.action == "letter")
        .order_by(pieces.c.code)
    ).all()
    if not rows:
        return
    from mailing.codes import format_code

    started = {int(r[0]) for r in conn.execute(select(batches.c.wave_id).where(
        batches.c.wave_id.in_({int(r.wave_id) for r in rows})))}
    produced = [r for r in rows if r.status != "planned" or int(r.wave_id) in started]
    if not produced:
        return  # only planned letters: taken out of their waves by _unplan_letters
    where = sorted({f"{r.name} wave {r.number}" for r in produced})
    codes = ", ".join(format_code(r.code) for r in produced[:10]) + (
        f" and {len(produced) - 10} more" if len(produced) > 10 else "")
    raise MailingError(f"scan run {run_id} cannot be undone: follow-up letters were already produced (or are in "
                       f"production) from its responses ({'; '.join(where)}: {codes}); nothing was changed "
                       "(a letter sent cannot be recalled)")


def _unplan_letters(conn: Connection, made: list[int]) -> None:
    """Take the follow-up letters `made` (ids) out of their (planned, not started) waves; a wave left without
    letters is removed: a planned wave never holds letters for answers that are gone."""
    if not made:
        return
    rows = conn.execute(select(followups.c.wave_id, followups.c.recipient_id).where(
        followups.c.id.in_(made), followups.c.action == "letter", followups.c.wave_id.is_not(None))).all()
    for wave_id, recipient_id in rows:
        conn.execute(delete(pieces).where(pieces.c.wave_id == wave_id, pieces.c.recipient_id == recipient_id))
    for wave_id in {int(r.wave_id) for r in rows}:
        if conn.execute(select(pieces.c.id).where(pieces.c.wave_id == wave_id).limit(1)).first() is None:
            conn.execute(update(followups).where(followups.c.wave_id == wave_id).values(wave_id=None))
            conn.execute(delete(wave_suppressions).where(wave_suppressions.c.wave_id == wave_id))
            conn.execute(delete(waves).where(waves.c.id == wave_id))
            audit(conn, "wave.drop-empty", "wave", wave_id, "planned wave left without letters by a scan run's undo")


def _entries_to_remove(conn: Connection, run_id: int, scan_ids: list[int]) -> tuple[list[str], list[int]]:
    """Suppression entries this run's scans added (not merely reused), and not also relied on by a scan
    of another run; those a wave already applied are kept and named."""
    if not scan_ids:
        return [], []
    rows = conn.execute(
        select(scans.c.id, scans.c.suppression_id, suppression.c.source_ref)
        .join(suppression, suppression.c.id == scans.c.suppression_id)
        .where(scans.c.id.in_(scan_ids))
    ).all()
    mine = {int(r.suppression_id) for r in rows if r.source_ref == f"scan {r.id}"}
    if not mine:
        return [], []
    shared = {int(r.suppression_id) for r in conn.execute(
        select(scans.c.suppression_id).where(scans.c.suppression_id.in_(mine), scans.c.run_id != run_id))}
    applied = {int(r.suppression_id): int(r.number) for r in conn.execute(
        select(wave_suppressions.c.suppression_id, waves.c.number)
        .join(waves, waves.c.id == wave_suppressions.c.wave_id)
        .where(wave_suppressions.c.suppression_id.in_(mine)))}
    kept = [f"entry {e} (wave {applied[e]})" for e in sorted(mine) if e in applied]
    remove = sorted(e for e in mine if e not in applied and e not in shared)
    # the scans are deleted; entries kept lose only the pointer
    conn.execute(update(scans).where(scans.c.id.in_(scan_ids)).values(suppression_id=None))
    return kept, remove


def _unflag_returned(conn: Connection, run_id: int, scan_ids: list[int]) -> int:
    """Pieces this run flagged undeliverable, unless a scan of another run flagged them too."""
    if not scan_ids:
        return 0
    piece_ids = {int(r.piece_id) for r in conn.execute(
        select(scans.c.piece_id).where(scans.c.id.in_(scan_ids), scans.c.status == "returned",
                                       scans.c.piece_id.is_not(None)))}
    if not piece_ids:
        return 0
    others = {int(r.piece_id) for r in conn.execute(
        select(scans.c.piece_id).where(scans.c.piece_id.in_(piece_ids), scans.c.status == "returned",
                                       scans.c.id.not_in(scan_ids)))}
    clear = sorted(piece_ids - others)
    if clear:
        conn.execute(update(pieces).where(pieces.c.id.in_(clear)).values(undeliverable=False))
    return len(clear)
