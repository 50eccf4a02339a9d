"""`produce`: a wave → the lettershop package (batch PDFs, manifest CSV + XLSX, job ticket JSON + text).

Steps: find or plan the wave (wave 1 is planned on the first produce; a campaign with nothing to mail is
refused and no wave recorded); check the folder (files of another wave or campaign there: refused; stray
`.part` files: removed); split its printed pieces (control pieces get no letter) into batches in print
order (campaign batch size; optionally a new batch where the Leitregion changes) and record them; render
the pending batches through a `concurrent.futures` executor (pure `layouts.render.render_batch`, one
process per batch; at most twice as many batches in flight as there are workers, so memory stays flat
for a wave of a million letters; on a Dask cluster, `mailing.cluster`, the workers send each PDF back and
this process writes it); record each finished batch in its own transaction; when all are done write manifest
and job ticket (each named after the wave, `mailing.package`) and mark the wave produced.

Everything a wave's files say is fixed when its production starts: the campaign text it was planned with
(waves.config_toml; a campaign file changed since never reaches it), its drop date (the letter date) and
its production time (waves.produced_at, the job ticket's `produced_at` and the workbook's dates). PDFs are
reproducible (reportlab `invariant=1`), so the same wave always gives the same bytes.

Resuming: a batch is recorded `done` with its SHA-256 only after its PDF was renamed into place. A second
run trusts an existing file only when its SHA-256 matches the recorded one; everything else is rendered
again, and a batch rendered again must give the recorded SHA-256. A produced wave is never produced again;
`reprint=True` writes its files, byte-identical, into any folder, and changes nothing in the store.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from layouts.letter import LayoutError, LetterLayout, PieceData
from layouts.postcard import PostcardLayout, layout_for
from layouts.render import BatchJob, BatchResult, _umask, render_batch, render_batch_data, write_atomic
from mailing import waves as wave_planning
from mailing.addressing import address_lines, display_name, greeting, salutation_kind
from mailing.campaigns import load
from mailing.cluster import is_remote
from mailing.config import Campaign, parse_campaign, read_assets
from mailing.errors import MailingError, NotFoundError
from mailing.jobticket import lettershop_sections, summary_lines
from mailing.lateobjections import take_out
from mailing.package import (
    MANIFEST_COLUMNS,
    batch_file_name,
    docket_name,
    foreign_files,
    manifest_csv_name,
    manifest_title,
    manifest_xlsx_name,
    stray_parts,
    summary_name,
    ticket_name,
)
from mailing.store import Store, audit, batches, new_id, pieces, recipients, utcnow, waves
from mailing.waves import NothingToMail, leitregion, plan_wave

log = logging.getLogger(__name__)

__all__ = ["MANIFEST_COLUMNS", "ProduceResult", "batch_file_name", "produce", "result_json", "wave_campaign"]


@dataclass
class ProduceResult:
    campaign: str
    wave: int
    wave_id: int
    out_dir: str
    pieces: int  # printed pieces
    control: int  # control-group pieces (no letter)
    pages: int
    pages_per_piece: int
    files: list[str] = field(default_factory=list)  # batch PDFs, in order
    rendered: int = 0  # batches rendered in this run
    reused: int = 0  # batches already complete from an earlier run
    manifest: str = ""
    manifest_xlsx: str = ""
    job_ticket: str = ""
    summary: str = ""
    docket: str = ""  # the one-page PDF for the lettershop floor
    leitregions: dict[str, int] = field(default_factory=dict)
    truncated_addresses: int = 0
    reprint: bool = False
    taken_out: int = 0  # letters taken out since planning: suppressed, erased or undeliverable (lateobjections)
    removed_parts: list[str] = field(default_factory=list)  # stray temporary files removed


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------- wave choice
def wave_campaign(wrow: Any, current: Campaign) -> Campaign:
    """The campaign as the wave was planned with it (the current one for waves planned before that was kept)."""
    if wrow.config_toml is None:
        return current
    base = Path(current.source_file).parent if current.source_file else None
    return parse_campaign(wrow.config_toml, f"campaign text of wave {wrow.number}", base_dir=base)


def _check_assets(conn: Connection, wrow: Any, campaign: Campaign, reprint: bool) -> Campaign:
    """Read the logo, signature and enclosure files; the first production stores their SHA-256 with the
    wave, and a resume or reprint refuses to run when one of them has changed since (it would not give
    the same files)."""
    campaign = read_assets(campaign)
    digests = {kind: hashlib.sha256(data).hexdigest() for kind, data in campaign.assets.data}
    if wrow.assets_sha256 is None:
        if not reprint:
            conn.execute(update(waves).where(waves.c.id == wrow.id).values(assets_sha256=json.dumps(digests)))
        return campaign
    kept = json.loads(wrow.assets_sha256)
    for kind in sorted(set(kept) | set(digests)):
        if kept.get(kind) != digests.get(kind):
            path = dict(campaign.assets.paths()).get(kind.split(":")[0], kind)
            raise MailingError(
                f"wave {wrow.number} was produced with another {kind.split(':')[0]} file than {path} holds now "
                f"(SHA-256 {str(kept.get(kind, 'none'))[:12]}… then, {str(digests.get(kind, 'none'))[:12]}… now); "
                "put the original file back to print the wave again")
    return campaign


def _choose_wave(conn: Connection, cid: int, campaign: Campaign, wave: int | None, drop_date: date | None,
                 reprint: bool) -> Any:
    w = waves.c
    name = campaign.name
    rows = conn.execute(select(waves).where(w.campaign_id == cid).order_by(w.number)).all()
    if wave is None:
        if reprint:
            raise MailingError(f"--reprint needs the wave to print again: `mailing produce {name} --wave N "
                               "--reprint --out DIR`")
        planned = [r for r in rows if r.status == "planned"]
        if planned:
            return planned[0]
        if rows:
            numbers = ", ".join(str(r.number) for r in rows)
            raise MailingError(f"all waves of campaign {name!r} are produced ({numbers}); to print one again use "
                               f"`mailing produce {name} --wave N --reprint --out DIR`; new waves come from "
                               f"`mailing followup {name}`")
        return _plan_first(conn, cid, campaign, drop_date)
    row = next((r for r in rows if r.number == wave), None)
    if row is None and wave == 1 and not rows and not reprint:
        return _plan_first(conn, cid, campaign, drop_date)
    if row is None:
        known = ", ".join(str(r.number) for r in rows) or "none"
        raise NotFoundError(f"campaign {name!r} has no wave {wave}; waves: {known}")
    if reprint and row.status == "planned":
        raise MailingError(f"wave {wave} of {name!r} is not produced yet; nothing to reprint: produce it with "
                           f"`mailing produce {name} --wave {wave} --out DIR`")
    if not reprint and row.status != "planned":
        when = row.produced_at.strftime("%Y-%m-%d %H:%M") + " UTC" if row.produced_at else "earlier"
        into = f" into {row.out_dir}" if row.out_dir else ""
        raise MailingError(f"wave {wave} of {name!r} was produced {when}{into}; to print it again use "
                           f"`mailing produce {name} --wave {wave} --reprint --out DIR`")
    return row


def _plan_first(conn: Connection, cid: int, campaign: Campaign, drop_date: date | None) -> Any:
    wave_id = plan_wave(conn, cid, campaign, drop_date=drop_date)
    return conn.execute(select(waves).where(waves.c.id == wave_id)).one()


def _start(conn: Connection, wrow: Any, drop_date: date | None, out: Path) -> Any:
    """Fix what the wave's files will say (drop date, production time) on its first production run."""
    values: dict[str, Any] = {"out_dir": str(out.absolute())}
    if wrow.produced_at is None:
        values["produced_at"] = utcnow().replace(microsecond=0)
        values["drop_date"] = drop_date or wrow.drop_date or date.today()
    elif drop_date is not None and drop_date != wrow.drop_date:
        raise MailingError(
            f"wave {wrow.number} is already being produced with drop date {wrow.drop_date}, the date its letters "
            "carry; resume without --drop-date (or with the same date)")
    conn.execute(update(waves).where(waves.c.id == wrow.id).values(**values))
    return conn.execute(select(waves).where(waves.c.id == wrow.id)).one()


def _check_folder(out: Path, campaign: Campaign, wave: int) -> None:
    if out.exists() and not out.is_dir():
        raise MailingError(f"{out} is a file, not a folder; give --out a folder for the print package")
    foreign = foreign_files(out, campaign.name, wave)
    if foreign:
        more = f" (and {len(foreign) - 1} more file(s))" if len(foreign) > 1 else ""
        raise MailingError(f"{foreign[0].describe()}{more}; produce wave {wave} of {campaign.name!r} into a "
                           "folder of its own (--out)")


def _plan_batches(conn: Connection, wave_row: Any, campaign: Campaign, pages_per_piece: int) -> None:
    """Split the wave's printed pieces, in print order, into consecutive batches of at most the campaign's
    batch size (optionally a new batch where the Leitregion changes) and record them. The pieces are
    streamed and only their ids kept (8 bytes each), so a wave of a million letters plans in flat memory."""
    if conn.execute(select(batches.c.id).where(batches.c.wave_id == wave_row.id)).first() is not None:
        return
    size, at_region = campaign.production.batch_size, campaign.production.break_at_leitregion
    runs: list[array[int]] = []
    cur: array[int] = array("q")
    last = None
    for r in conn.execute(
            select(pieces.c.id, recipients.c.postal_code, recipients.c.country)
            .select_from(pieces.join(recipients, recipients.c.id == pieces.c.recipient_id))
            .where(pieces.c.wave_id == wave_row.id, pieces.c.control.is_(False)).order_by(pieces.c.seq)
            .execution_options(yield_per=wave_planning.STREAM_ROWS)):
        region = leitregion(r.postal_code, r.country)
        if cur and (len(cur) >= size or (at_region and region != last)):
            runs.append(cur)
            cur = array("q")
        cur.append(r.id)
        last = region
    if cur:
        runs.append(cur)
    for number, chunk in enumerate(runs, start=1):
        bid = new_id(conn.execute(batches.insert().values(
            wave_id=wave_row.id, number=number, file=batch_file_name(wave_row.number, number),
            pieces=len(chunk), pages=len(chunk) * pages_per_piece, status="pending")))
        conn.execute(
            update(pieces).where(pieces.c.id == bindparam("_id"))
            .values(batch_id=bindparam("_b"), first_page=bindparam("_p")),
            [{"_id": pid, "_b": bid, "_p": i * pages_per_piece + 1} for i, pid in enumerate(chunk)])


# -------------------------------------------------------------------------------------- piece data
_MERGE_COLUMNS = {"vorname": "first_name", "nachname": "last_name", "titel": "title", "firma": "company",
                  "plz": "postal_code", "ort": "city", "kundennummer": "customer_id"}


def piece_data(code: str, variant: str, r: Any) -> PieceData:
    """A recipients row (Mapping) → the plain data the renderer needs."""
    merge = {k: (r[col] or "") for k, col in _MERGE_COLUMNS.items()}
    merge["strasse"] = f"Postfach {r['postbox']}" if r["postbox"] and not r["street"] else \
        " ".join(x for x in (r["street"] or "", r["house_number"] or "") if x)
    return PieceData(code=code, variant=variant, address_lines=tuple(address_lines(r)), greeting=greeting(r),
                     display_name=display_name(r), customer_id=r["customer_id"] or "", merge=merge,
                     salutation=salutation_kind(r))


def _batch_pieces(conn: Connection, batch_id: int) -> list[Any]:
    return conn.execute(
        select(pieces.c.code, pieces.c.variant, pieces.c.seq, pieces.c.first_page, recipients)
        .select_from(pieces.join(recipients, recipients.c.id == pieces.c.recipient_id))
        .where(pieces.c.batch_id == batch_id).order_by(pieces.c.seq)).mappings().all()  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ produce
class _WaveChanged(Exception):
    """Objections arrived while the wave was rendered; they were taken out, the batches must be rendered again."""

    def __init__(self, removed: int) -> None:
        super().__init__(removed)
        self.removed = removed


_ATTEMPTS = 3  # renderings of one produce run while objections keep arriving during rendering


def produce(store: Store, campaign_name: str, out_dir: str | Path, *, wave: int | None = None, reprint: bool = False,
            jobs: int = 1, drop_date: date | None = None, progress: Callable[[int, int], None] | None = None,
            executor: Executor | None = None) -> ProduceResult:
    """Produce (or finish producing, or with `reprint` print again) one wave's package in out_dir. See the
    module docstring.

    Late objections (mailing/lateobjections.py): whoever is suppressed, erased or undeliverable since the wave
    was planned is taken out before the batches are planned, and again in the transaction that marks the
    wave produced; when that last check finds someone, the changed batches are rendered again.

    `executor` replaces the local process pool (e.g. a Dask cluster's concurrent.futures executor).
    """
    if reprint and drop_date is not None:
        raise MailingError("--drop-date cannot be used with --reprint: a reprint keeps the wave's drop date")
    taken = 0
    for _ in range(_ATTEMPTS):
        try:
            result = _produce_once(store, campaign_name, Path(out_dir), wave, reprint, jobs, drop_date, progress,
                                   executor)
        except _WaveChanged as changed:
            taken += changed.removed
            continue
        result.taken_out += taken
        return result
    raise MailingError(f"objections kept arriving while the wave of {campaign_name!r} was rendered ({taken} letter(s) "
                       "taken out so far); run the same `mailing produce` again")


def _planned_row(conn: Connection, cid: int, wave: int | None) -> Any:
    """The planned wave `produce` would take (None when it would plan wave 1 or refuse)."""
    w = waves.c
    cond = [w.campaign_id == cid, w.status == "planned"]
    if wave is not None:
        cond.append(w.number == wave)
    return conn.execute(select(waves).where(*cond).order_by(w.number).limit(1)).first()


def _take_out_early(store: Store, campaign_name: str, wave: int | None) -> int:
    """Before anything is rendered: take the late objections out of the planned wave (own transaction, so
    that a wave left empty is removed for good), and refuse when nothing is left to print."""
    with store.begin() as conn:
        cid, _ = load(conn, campaign_name)
        row = _planned_row(conn, cid, wave)
        if row is None:
            return 0
        done = take_out(conn, row.id)
    if row.out_dir:  # an interrupted run's files: rendered again, and one batch fewer leaves no old file
        for name in done.forgotten:
            (Path(row.out_dir) / name).unlink(missing_ok=True)
    if done.emptied:
        raise NothingToMail(
            f"wave {done.wave} of {campaign_name!r}: {done.describe()}: everyone in it objected, was erased or is "
            "undeliverable since it was planned; nothing to print, the wave was removed")
    return done.removed


def _produce_once(store: Store, campaign_name: str, out: Path, wave: int | None, reprint: bool, jobs: int,
                  drop_date: date | None, progress: Callable[[int, int], None] | None,
                  executor: Executor | None) -> ProduceResult:
    taken = 0 if reprint else _take_out_early(store, campaign_name, wave)
    with store.begin() as conn:
        cid, current = load(conn, campaign_name)
        wrow = _choose_wave(conn, cid, current, wave, drop_date, reprint)
        campaign = wave_campaign(wrow, current)
        _check_folder(out, campaign, wrow.number)  # inside the transaction: a refusal plans nothing
        if not reprint:
            wrow = _start(conn, wrow, drop_date, out)
        campaign = _check_assets(conn, wrow, campaign, reprint)
        try:
            layout = layout_for(campaign, wrow.letter, wrow.drop_date)
            layout.check_fit()
        except LayoutError as exc:
            raise MailingError(str(exc)) from exc
        if not reprint:
            _plan_batches(conn, wrow, campaign, layout.pages_per_piece)
    out.mkdir(parents=True, exist_ok=True)
    removed = []
    for part in stray_parts(out):
        part.unlink(missing_ok=True)
        removed.append(part.name)
        log.info("removed %s, left by an interrupted run", part)
    with store.connect() as conn:
        brows = conn.execute(select(batches).where(batches.c.wave_id == wrow.id).order_by(batches.c.number)).all()
    total = sum(b.pieces for b in brows)
    done_pieces = 0
    todo = []
    for b in brows:
        path = out / b.file
        if b.status == "done" and b.sha256 and path.is_file() and sha256_file(path) == b.sha256:
            done_pieces += b.pieces
        else:
            todo.append(b)
    if progress:
        progress(done_pieces, total)
    truncated = 0
    prepared: list[_Manifest] = []

    def prepare() -> None:
        prepared.append(_prepare_manifest(store, campaign, wrow, out))

    try:
        if todo:
            truncated = _render(store, campaign, wrow, todo, out, jobs, executor, progress, done_pieces, total,
                                while_waiting=prepare)
        if not prepared:
            prepare()
        result = _finish(store, campaign, wrow, out, layout, prepared[0], reprint)
    except BaseException:
        for m in prepared:  # the manifest's temporary files: a failed run leaves no half package behind
            m.discard()
        raise
    result.rendered, result.reused, result.truncated_addresses = len(todo), len(brows) - len(todo), truncated
    result.removed_parts = removed
    result.taken_out = taken
    return result


def _record_batch(store: Store, batch_id: int, path: Path, pages: int, sha: str) -> None:
    with store.begin() as conn:
        conn.execute(update(batches).where(batches.c.id == batch_id).values(status="done", pages=pages, sha256=sha))


def render_rows(campaign: Campaign, rows: list[dict[str, Any]], letter: str | None, letter_date: date | None,
                wave: int, batch: int, path: str, produced_at: datetime | None = None) -> BatchResult:
    """Worker: recipients rows → piece data (address block, greeting) → PDF. Runs in the pool, so the
    addressing work is parallel too. produced_at (the wave's production time) is the files' creation date."""
    job = BatchJob(campaign, [piece_data(r["code"], r["variant"], r) for r in rows], letter=letter,
                   letter_date=letter_date, wave=wave, batch=batch, produced_at=produced_at)
    return render_batch(job, path)


def render_rows_data(campaign: Campaign, rows: list[dict[str, Any]], letter: str | None,
                     letter_date: date | None, wave: int, batch: int, path: str,
                     produced_at: datetime | None = None) -> tuple[BatchResult, bytes]:
    """Worker on another machine: as `render_rows`, but the PDF comes back as bytes for the caller to write."""
    job = BatchJob(campaign, [piece_data(r["code"], r["variant"], r) for r in rows], letter=letter,
                   letter_date=letter_date, wave=wave, batch=batch, produced_at=produced_at)
    return render_batch_data(job, path)


def _jobs_for(store: Store, campaign: Campaign, wrow: Any, todo: Iterable[Any],
              out: Path) -> Iterable[tuple[Any, tuple[Any, ...]]]:
    for b in todo:
        with store.connect() as conn:
            rows = [dict(r) for r in _batch_pieces(conn, b.id)]
        produced = wrow.produced_at.replace(tzinfo=UTC) if wrow.produced_at else None
        yield b, (campaign, rows, wrow.letter, wrow.drop_date, wrow.number, b.number, str(out / b.file), produced)


def _render(store: Store, campaign: Campaign, wrow: Any, todo: list[Any], out: Path, jobs: int,
            executor: Executor | None, progress: Callable[[int, int], None] | None, done: int, total: int,
            while_waiting: Callable[[], None] | None = None) -> int:
    """Render the pending batches; in parallel, `while_waiting` runs in this process meanwhile.

    A batch rendered before (its SHA-256 recorded) must give the same bytes again; a file that does not is
    removed, and once every batch is through the run fails naming it (nothing differing is left behind)."""
    truncated = 0
    differing: list[str] = []

    def record(b: Any, res: BatchResult) -> None:
        nonlocal done, truncated
        if res.pages != b.pages:
            raise MailingError(f"{b.file}: rendered {res.pages} pages, expected {b.pages}")
        if b.status == "done":
            if res.sha256 != b.sha256:
                Path(res.path).unlink(missing_ok=True)
                differing.append(res.path)
                return
        else:
            _record_batch(store, b.id, Path(res.path), res.pages, res.sha256)
        done += res.pieces
        truncated += res.truncated_addresses
        if progress:
            progress(done, total)

    if executor is None and (jobs <= 1 or len(todo) == 1):
        for b, args in _jobs_for(store, campaign, wrow, todo, out):
            record(b, render_rows(*args))
    else:
        own = executor is None
        pool = executor or ProcessPoolExecutor(max_workers=min(jobs, len(todo)))
        remote = is_remote(executor)  # workers elsewhere send the PDF back; this process writes it
        # a bounded number of batches in flight, so that memory stays flat however large the wave
        window = 2 * max(jobs, getattr(pool, "max_workers", 1))
        queue = iter(_jobs_for(store, campaign, wrow, todo, out))
        pending: dict[Future[Any], Any] = {}

        def fill() -> None:
            for b, args in queue:
                pending[pool.submit(render_rows_data if remote else render_rows, *args)] = b
                if len(pending) >= window:
                    return

        try:
            fill()
            if while_waiting:
                while_waiting()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    b, res = pending.pop(fut), fut.result()
                    if remote:
                        res, data = res
                        write_atomic(res.path, data)
                    record(b, res)
                fill()
        finally:
            if own:
                pool.shutdown(cancel_futures=True)
    if differing:
        more = f" (and {len(differing) - 1} more file(s))" if len(differing) > 1 else ""
        raise MailingError(
            f"{differing[0]}{more}: rendered again, it differs from the file recorded at production (SHA-256); "
            "the recipients' data changed since (e.g. an erasure); use the original files")
    return truncated


# ----------------------------------------------------------------------------- manifest and ticket
@dataclass
class _Manifest:
    """The manifest is fixed once batches are planned, so it is built while the workers render. Its rows
    are streamed from the store (twice: CSV, then XLSX) straight into temporary files beside the package
    (`.NAME.XXXX.part`, renamed into place by `_finish`), never all held at once: a wave of a million
    letters keeps the counts only."""

    pieces: int
    control: int
    csv_part: Path | None = None
    xlsx_part: Path | None = None
    csv_sha256: str = ""
    xlsx_sha256: str = ""
    regions: Counter[str] = field(default_factory=Counter)
    variants: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)

    def discard(self) -> None:
        for part in (self.csv_part, self.xlsx_part):
            if part is not None:
                part.unlink(missing_ok=True)


def _new_part(out: Path, name: str) -> Path:
    """An empty temporary file for `name` in `out`, named as `write_atomic` names them (`.NAME.XXXX.part`),
    so a run that stops leaves only files the next run removes."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=out)
    os.close(fd)
    return Path(tmp)


def _place(part: Path, final: Path) -> None:
    """A finished temporary file onto disk (fsync), with a new file's mode, renamed into place."""
    with part.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.chmod(part, 0o666 & ~_umask())
    os.replace(part, final)


def _manifest_rows(store: Store, wrow: Any, by_batch: dict[int, Any],
                   counts: _Manifest | None = None) -> Iterator[dict[str, Any]]:
    """The printed pieces of the wave as manifest rows, in print order (counted into `counts` when given)."""
    with store.connect() as conn:
        result = conn.execution_options(yield_per=wave_planning.STREAM_ROWS).execute(
            select(pieces.c.code, pieces.c.variant, pieces.c.seq, pieces.c.first_page, pieces.c.control,
                   pieces.c.batch_id, recipients.c.customer_id, recipients.c.postal_code, recipients.c.country)
            .select_from(pieces.join(recipients, recipients.c.id == pieces.c.recipient_id))
            .where(pieces.c.wave_id == wrow.id).order_by(pieces.c.seq))
        for r in result:
            if r.control:
                if counts is not None:
                    counts.control += 1
                continue
            b = by_batch[r.batch_id]
            m = {"file": b.file, "page": r.first_page, "code": r.code, "customer_id": r.customer_id or "",
                 "postal_code": r.postal_code, "country": r.country, "wave": wrow.number,
                 "variant": r.variant, "leitregion": leitregion(r.postal_code, r.country),
                 "batch": b.number, "seq": r.seq}
            if counts is not None:
                counts.pieces += 1
                counts.regions[m["leitregion"]] += 1
                counts.variants[m["variant"]] += 1
                counts.countries[m["country"]] += 1
            yield m


def _prepare_manifest(store: Store, campaign: Campaign, wrow: Any, out: Path) -> _Manifest:
    with store.connect() as conn:
        brows = conn.execute(select(batches).where(batches.c.wave_id == wrow.id).order_by(batches.c.number)).all()
    by_batch = {b.id: b for b in brows}
    from reports.calllist import csv_safe
    from reports.manifest import write_manifest_xlsx

    counts = _Manifest(0, 0)
    try:
        counts.csv_part = _new_part(out, manifest_csv_name(wrow.number))
        with counts.csv_part.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
            w.writeheader()
            # imported values (customer id, postal code) must never become a formula in a spreadsheet
            w.writerows({**m, "customer_id": csv_safe(m["customer_id"]), "postal_code": csv_safe(m["postal_code"])}
                        for m in _manifest_rows(store, wrow, by_batch, counts))
        counts.csv_sha256 = sha256_file(counts.csv_part)
        counts.xlsx_part = _new_part(out, manifest_xlsx_name(wrow.number))
        write_manifest_xlsx(counts.xlsx_part, _manifest_rows(store, wrow, by_batch), MANIFEST_COLUMNS,
                            manifest_title(campaign.name, wrow.number), created=wrow.produced_at)
        counts.xlsx_sha256 = sha256_file(counts.xlsx_part)
    except BaseException:
        counts.discard()
        raise
    return counts


def _finish(store: Store, campaign: Campaign, wrow: Any, out: Path, layout: LetterLayout | PostcardLayout,
            prepared: _Manifest, reprint: bool) -> ProduceResult:
    pages_per_piece = layout.pages_per_piece
    with store.connect() as conn:
        brows = conn.execute(select(batches).where(batches.c.wave_id == wrow.id).order_by(batches.c.number)).all()
    n, control = prepared.pieces, prepared.control
    names = {"csv": manifest_csv_name(wrow.number), "xlsx": manifest_xlsx_name(wrow.number),
             "ticket": ticket_name(wrow.number), "summary": summary_name(wrow.number)}
    assert prepared.csv_part is not None and prepared.xlsx_part is not None
    produced_at = wrow.produced_at.replace(microsecond=0, tzinfo=UTC)
    regions = dict(sorted(prepared.regions.items()))
    ticket = {
        "campaign": campaign.name, "title": campaign.title, "wave": wrow.number, "kind": wrow.kind,
        "letter": wrow.letter, "drop_date": wrow.drop_date.isoformat() if wrow.drop_date else None,
        "produced_at": produced_at.isoformat(),
        "pieces": n, "control_pieces": control, "pages_per_piece": pages_per_piece,
        "duplex": pages_per_piece == 2, "sheets": n, "pages": n * pages_per_piece,
        "layout": {"form": campaign.layout.form, "envelope": None if layout.postcard else campaign.layout.envelope,
                   "qr_ecc": campaign.layout.qr_ecc, "paper": "A6" if layout.postcard else "A4",
                   "colour": "CMYK, 100 % K", "coupon": layout.has_coupon,
                   "qr_version": layout.qr_version if layout.has_coupon else None,
                   # the piece's format and page size: preflight checks every page against it
                   "format": "postkarte" if layout.postcard else "brief", "page_mm": list(layout.page_size_mm)},
        "variants": dict(sorted(prepared.variants.items())),
        "countries": dict(sorted(prepared.countries.items())),
        "leitregions": regions,
        "suppression": {"max_entry_id": wrow.suppression_max_id, "entries_in_force": wrow.suppression_count,
                        "recipients_left_out": wrow.suppressed},
        "files": [{"file": b.file, "batch": b.number, "pieces": b.pieces, "pages": b.pages, "sha256": b.sha256}
                  for b in brows],
        "manifest": [{"file": names["csv"], "sha256": prepared.csv_sha256},
                     {"file": names["xlsx"], "sha256": prepared.xlsx_sha256}],
    }
    from reports.docket import docket_pdf

    ticket.update(lettershop_sections(campaign, wrow.letter, layout.has_coupon, pages_per_piece, ticket["files"]))
    ticket["sheets"] = n * ticket["print"]["sheets_per_piece"]
    ticket_bytes = json.dumps(ticket, ensure_ascii=False, indent=2).encode("utf-8")
    summary_bytes, docket_bytes = summary_text(ticket).encode("utf-8"), docket_pdf(ticket)
    late = None
    with store.begin() as conn:
        if reprint:
            audit(conn, "wave.reprint", "wave", wrow.id, f"{campaign.name} wave {wrow.number} → {out}")
        else:
            # written first (SQLite takes the write lock here), then the last look at the suppression list in
            # the transaction that marks the wave produced: an objection recorded later is on the pull list
            conn.execute(update(waves).where(waves.c.id == wrow.id).values(status="produced"))
            late = take_out(conn, wrow.id)
            if late.removed and not late.emptied:
                conn.execute(update(waves).where(waves.c.id == wrow.id).values(status="planned"))
            elif not late.removed:
                audit(conn, "wave.produce", "wave", wrow.id, f"{campaign.name} wave {wrow.number} → {out}")
        if late is None or not late.removed:  # inside the transaction: files that fail leave the wave planned
            _place(prepared.csv_part, out / names["csv"])
            _place(prepared.xlsx_part, out / names["xlsx"])
            write_atomic(out / names["ticket"], ticket_bytes)
            write_atomic(out / names["summary"], summary_bytes)
            write_atomic(out / docket_name(wrow.number), docket_bytes)
    if late is not None and late.removed:
        prepared.discard()
        for b in brows:  # rendered again in the next round (or not at all): no stale file stays in the folder
            (out / b.file).unlink(missing_ok=True)
        if late.emptied:
            raise NothingToMail(
                f"wave {late.wave} of {campaign.name!r}: {late.describe()} while it was rendered: everyone in it "
                "objected, was erased or is undeliverable; nothing to print, the wave was removed")
        raise _WaveChanged(late.removed)
    return ProduceResult(
        campaign=campaign.name, wave=wrow.number, wave_id=wrow.id, out_dir=str(out), pieces=n,
        control=control, pages=n * pages_per_piece, pages_per_piece=pages_per_piece,
        files=[str(out / b.file) for b in brows], manifest=str(out / names["csv"]),
        manifest_xlsx=str(out / names["xlsx"]), job_ticket=str(out / names["ticket"]),
        summary=str(out / names["summary"]), docket=str(out / docket_name(wrow.number)), leitregions=regions,
        reprint=reprint,
    )


def summary_text(t: dict[str, Any]) -> str:
    """The job ticket for people (German, plain text)."""
    lines = [
        f"Druckauftrag {t['title']} ({t['campaign']}), Welle {t['wave']} ({t['kind']})",
        f"Einlieferung (Drop): {t['drop_date']}    erstellt: {t['produced_at']}",
        "",
        f"Sendungen: {t['pieces']}   Kontrollgruppe (nicht gedruckt): {t['control_pieces']}",
        f"Seiten je Sendung: {t['pages_per_piece']} ({'duplex' if t['duplex'] else 'simplex'})   "
        f"{'Karten' if t['layout'].get('format') == 'postkarte' else 'Blatt'}: {t['sheets']}   "
        f"Seiten gesamt: {t['pages']}",
        _format_line(t),
        *summary_lines(t),
        f"Varianten: {', '.join(f'{k}: {v}' for k, v in t['variants'].items())}",
        f"Sperrliste: Stand bis Eintrag {t['suppression']['max_entry_id']}, "
        f"{t['suppression']['entries_in_force']} Einträge gültig, "
        f"{t['suppression']['recipients_left_out']} Empfänger ausgeschlossen",
        "",
        "Sendungen je Leitregion:",
    ]
    lines += [f"  {k}: {v}" for k, v in t["leitregions"].items()]
    lines += ["", "Dateien (SHA-256):"]
    lines += [f"  {f['file']}  {f['pieces']} Sendungen, {f['pages']} Seiten  {f['sha256']}" for f in t["files"]]
    lines += [f"  {f['file']}  {f['sha256']}" for f in t["manifest"]]
    return "\n".join(lines) + "\n"


def _format_line(t: dict[str, Any]) -> str:
    if t["layout"].get("format") == "postkarte":
        return (f"Format: Postkarte DIN A6 (148 × 105 mm), Seite 1 Text, Seite 2 Anschrift; ohne Umschlag, "
                f"Farbe: {t['layout']['colour']}")
    envelope = (t.get("enclosing", {}).get("envelope") or {}).get("name") or t["layout"]["envelope"]
    return f"Format: A4, DIN 5008 Form {t['layout']['form']}, Fensterumschlag {envelope}, Farbe: {t['layout']['colour']}"


def result_json(result: ProduceResult) -> dict[str, Any]:
    return asdict(result)
