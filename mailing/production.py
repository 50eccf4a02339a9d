"""`produce`: a wave → the lettershop package (batch PDFs, manifest CSV + XLSX, job ticket JSON + text).

Steps: find or plan the wave (wave 1 is planned on the first produce); split its printed pieces (control
pieces get no letter) into batches in print order (campaign batch size; optionally a new batch where the
Leitregion changes) and record them; render the pending batches through a `concurrent.futures` executor
(pure `layouts.render.render_batch`, one process per batch); record each finished batch in its own
transaction; when all are done write manifest and job ticket and mark the wave produced.

Resuming: a batch is recorded `done` only after its PDF was renamed into place, and a PDF exists under its
final name only when complete (temporary file + os.replace). A second run renders only the batches whose
file is missing or does not match the recorded SHA-256; a complete file left by an interrupted run before
it was recorded is adopted, not rendered again. Codes and page positions are fixed at planning time, so
a resumed run never changes a code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from layouts.letter import LayoutError, LetterLayout, PieceData
from layouts.render import BatchJob, BatchResult, render_batch, write_atomic
from mailing.addressing import address_lines, display_name, greeting
from mailing.campaigns import load
from mailing.config import Campaign
from mailing.errors import MailingError, NotFoundError
from mailing.store import Store, audit, batches, new_id, pieces, recipients, waves
from mailing.waves import leitregion, plan_wave

log = logging.getLogger(__name__)

MANIFEST_CSV = "manifest.csv"
MANIFEST_XLSX = "manifest.xlsx"
JOB_TICKET = "auftrag.json"
JOB_SUMMARY = "auftrag.txt"
MANIFEST_COLUMNS = ("file", "page", "code", "customer_id", "postal_code", "country", "wave", "variant",
                    "leitregion", "batch", "seq")


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
    leitregions: dict[str, int] = field(default_factory=dict)
    truncated_addresses: int = 0


def batch_file_name(wave: int, batch: int) -> str:
    """No personal data in file names: wave and batch numbers only."""
    return f"welle-{wave:02d}-teil-{batch:03d}.pdf"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------- wave choice
def _choose_wave(conn: Connection, cid: int, campaign: Campaign, wave: int | None, drop_date: date | None) -> Any:
    w = waves.c
    if wave is not None:
        row = conn.execute(select(waves).where(w.campaign_id == cid, w.number == wave)).first()
        if row is None and wave == 1 and conn.execute(select(w.id).where(w.campaign_id == cid)).first() is None:
            plan_wave(conn, cid, campaign, drop_date=drop_date)
            row = conn.execute(select(waves).where(w.campaign_id == cid, w.number == 1)).first()
        if row is None:
            known = [str(r[0]) for r in conn.execute(select(w.number).where(w.campaign_id == cid).order_by(w.number))]
            raise NotFoundError(f"campaign {campaign.name!r} has no wave {wave}; waves: {', '.join(known) or 'none'}")
        return row
    row = conn.execute(select(waves).where(w.campaign_id == cid, w.status != "produced")
                       .order_by(w.number.desc())).first()
    if row is None:
        row = conn.execute(select(waves).where(w.campaign_id == cid, w.number == 1)).first()
    if row is None:
        plan_wave(conn, cid, campaign, drop_date=drop_date)
        row = conn.execute(select(waves).where(w.campaign_id == cid, w.number == 1)).first()
    return row


def split_batches(rows: list[Any], size: int, break_at_leitregion: bool) -> list[list[Any]]:
    """Consecutive runs of at most `size` pieces; optionally a new run where the Leitregion changes."""
    out: list[list[Any]] = []
    cur: list[Any] = []
    last = None
    for row in rows:
        region = leitregion(row.postal_code, row.country)
        if cur and (len(cur) >= size or (break_at_leitregion and region != last)):
            out.append(cur)
            cur = []
        cur.append(row)
        last = region
    if cur:
        out.append(cur)
    return out


def _plan_batches(conn: Connection, wave_row: Any, campaign: Campaign, pages_per_piece: int) -> None:
    if conn.execute(select(batches.c.id).where(batches.c.wave_id == wave_row.id)).first() is not None:
        return
    rows = conn.execute(
        select(pieces.c.id, recipients.c.postal_code, recipients.c.country)
        .select_from(pieces.join(recipients, recipients.c.id == pieces.c.recipient_id))
        .where(pieces.c.wave_id == wave_row.id, pieces.c.control.is_(False)).order_by(pieces.c.seq)).all()
    for number, chunk in enumerate(split_batches(list(rows), campaign.production.batch_size,
                                                 campaign.production.break_at_leitregion), start=1):
        bid = new_id(conn.execute(batches.insert().values(
            wave_id=wave_row.id, number=number, file=batch_file_name(wave_row.number, number),
            pieces=len(chunk), pages=len(chunk) * pages_per_piece, status="pending")))
        conn.execute(
            update(pieces).where(pieces.c.id == bindparam("_id"))
            .values(batch_id=bindparam("_b"), first_page=bindparam("_p")),
            [{"_id": r.id, "_b": bid, "_p": i * pages_per_piece + 1} for i, r in enumerate(chunk)])


# -------------------------------------------------------------------------------------- piece data
_MERGE_COLUMNS = {"vorname": "first_name", "nachname": "last_name", "titel": "title", "firma": "company",
                  "plz": "postal_code", "ort": "city", "kundennummer": "customer_id"}


def piece_data(code: str, variant: str, r: Any) -> PieceData:
    """A recipients row (Mapping) → the plain data the renderer needs."""
    merge = {k: (r[col] or "") for k, col in _MERGE_COLUMNS.items()}
    merge["strasse"] = f"Postfach {r['postbox']}" if r["postbox"] and not r["street"] else \
        " ".join(x for x in (r["street"] or "", r["house_number"] or "") if x)
    return PieceData(code=code, variant=variant, address_lines=tuple(address_lines(r)), greeting=greeting(r),
                     display_name=display_name(r), customer_id=r["customer_id"] or "", merge=merge)


def _batch_pieces(conn: Connection, batch_id: int) -> list[Any]:
    return conn.execute(
        select(pieces.c.code, pieces.c.variant, pieces.c.seq, pieces.c.first_page, recipients)
        .select_from(pieces.join(recipients, recipients.c.id == pieces.c.recipient_id))
        .where(pieces.c.batch_id == batch_id).order_by(pieces.c.seq)).mappings().all()  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ produce
def produce(store: Store, campaign_name: str, out_dir: str | Path, *, wave: int | None = None, jobs: int = 1,
            drop_date: date | None = None, progress: Callable[[int, int], None] | None = None,
            executor: Executor | None = None) -> ProduceResult:
    """Produce (or finish producing) one wave's print package in out_dir. See the module docstring.

    `executor` replaces the local process pool (e.g. a Dask cluster's concurrent.futures executor).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with store.begin() as conn:
        cid, campaign = load(conn, campaign_name)
        wrow = _choose_wave(conn, cid, campaign, wave, drop_date)
        if drop_date is not None or wrow.drop_date is None:
            conn.execute(update(waves).where(waves.c.id == wrow.id).values(drop_date=drop_date or date.today()))
        wrow = conn.execute(select(waves).where(waves.c.id == wrow.id)).one()
        try:
            layout = LetterLayout(campaign, wrow.letter, wrow.drop_date)
            layout.check_fit()
        except LayoutError as exc:
            raise MailingError(str(exc)) from exc
        _plan_batches(conn, wrow, campaign, layout.pages_per_piece)
    with store.connect() as conn:
        brows = conn.execute(select(batches).where(batches.c.wave_id == wrow.id).order_by(batches.c.number)).all()
    total = sum(b.pieces for b in brows)
    done_pieces = 0
    todo = []
    reused = 0
    for b in brows:
        path = out / b.file
        if path.exists() and b.status == "done" and b.sha256 and sha256_file(path) == b.sha256:
            done_pieces += b.pieces
            reused += 1
        elif path.exists() and b.status == "pending" and _complete_pdf(path, b.pages):
            _record_batch(store, b.id, path, b.pages, sha256_file(path))  # finished before an interruption
            done_pieces += b.pieces
            reused += 1
        else:
            todo.append(b)
    if progress:
        progress(done_pieces, total)
    truncated = 0
    prepared: list[_Manifest] = []

    def prepare() -> None:
        prepared.append(_prepare_manifest(store, campaign, wrow))

    if todo:
        truncated = _render(store, campaign, wrow, todo, out, jobs, executor, progress, done_pieces, total,
                            while_waiting=prepare)
    if not prepared:
        prepare()
    result = _finish(store, cid, campaign, wrow, out, layout, prepared[0])
    result.rendered, result.reused, result.truncated_addresses = len(todo), reused, truncated
    return result


def _complete_pdf(path: Path, pages: int) -> bool:
    try:
        from pypdf import PdfReader

        return len(PdfReader(str(path)).pages) == pages
    except Exception:  # noqa: BLE001 - any unreadable file is simply rendered again
        return False


def _record_batch(store: Store, batch_id: int, path: Path, pages: int, sha: str) -> None:
    with store.begin() as conn:
        conn.execute(update(batches).where(batches.c.id == batch_id).values(status="done", pages=pages, sha256=sha))


def render_rows(campaign: Campaign, rows: list[dict[str, Any]], letter: str | None, letter_date: date | None,
                wave: int, batch: int, path: str) -> BatchResult:
    """Worker: recipients rows → piece data (address block, greeting) → PDF. Runs in the pool, so the
    addressing work is parallel too."""
    job = BatchJob(campaign, [piece_data(r["code"], r["variant"], r) for r in rows], letter=letter,
                   letter_date=letter_date, wave=wave, batch=batch)
    return render_batch(job, path)


def _jobs_for(store: Store, campaign: Campaign, wrow: Any, todo: Iterable[Any],
              out: Path) -> Iterable[tuple[Any, tuple[Any, ...]]]:
    for b in todo:
        with store.connect() as conn:
            rows = [dict(r) for r in _batch_pieces(conn, b.id)]
        yield b, (campaign, rows, wrow.letter, wrow.drop_date, wrow.number, b.number, str(out / b.file))


def _render(store: Store, campaign: Campaign, wrow: Any, todo: list[Any], out: Path, jobs: int,
            executor: Executor | None, progress: Callable[[int, int], None] | None, done: int, total: int,
            while_waiting: Callable[[], None] | None = None) -> int:
    """Render the pending batches; in parallel, `while_waiting` runs in this process meanwhile."""
    truncated = 0

    def record(b: Any, res: BatchResult) -> None:
        nonlocal done, truncated
        if res.pages != b.pages:
            raise MailingError(f"{b.file}: rendered {res.pages} pages, expected {b.pages}")
        _record_batch(store, b.id, Path(res.path), res.pages, res.sha256)
        done += res.pieces
        truncated += res.truncated_addresses
        if progress:
            progress(done, total)

    if executor is None and (jobs <= 1 or len(todo) == 1):
        for b, args in _jobs_for(store, campaign, wrow, todo, out):
            record(b, render_rows(*args))
        return truncated
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=min(jobs, len(todo)))
    try:
        futures: dict[Future[BatchResult], Any] = {}
        for b, args in _jobs_for(store, campaign, wrow, todo, out):
            futures[pool.submit(render_rows, *args)] = b
        if while_waiting:
            while_waiting()
        for fut in as_completed(futures):
            record(futures[fut], fut.result())
    finally:
        if own:
            pool.shutdown(cancel_futures=True)
    return truncated


# ----------------------------------------------------------------------------- manifest and ticket
@dataclass
class _Manifest:
    """The manifest is fixed once batches are planned, so it is built while the workers render."""

    rows: list[dict[str, Any]]
    control: int
    csv_bytes: bytes
    xlsx_bytes: bytes


def _prepare_manifest(store: Store, campaign: Campaign, wrow: Any) -> _Manifest:
    with store.connect() as conn:
        brows = conn.execute(select(batches).where(batches.c.wave_id == wrow.id).order_by(batches.c.number)).all()
        rows = conn.execute(
            select(pieces.c.code, pieces.c.variant, pieces.c.seq, pieces.c.first_page, pieces.c.control,
                   pieces.c.batch_id, recipients.c.customer_id, recipients.c.postal_code, recipients.c.country)
            .select_from(pieces.join(recipients, recipients.c.id == pieces.c.recipient_id))
            .where(pieces.c.wave_id == wrow.id).order_by(pieces.c.seq)).all()
    by_batch = {b.id: b for b in brows}
    manifest: list[dict[str, Any]] = []
    control = 0
    for r in rows:
        if r.control:
            control += 1
            continue
        b = by_batch[r.batch_id]
        manifest.append({"file": b.file, "page": r.first_page, "code": r.code, "customer_id": r.customer_id or "",
                         "postal_code": r.postal_code, "country": r.country, "wave": wrow.number,
                         "variant": r.variant, "leitregion": leitregion(r.postal_code, r.country),
                         "batch": b.number, "seq": r.seq})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows(manifest)
    from reports.manifest import manifest_xlsx_bytes

    xlsx_bytes = manifest_xlsx_bytes(manifest, MANIFEST_COLUMNS, f"{campaign.name} Welle {wrow.number}")
    return _Manifest(manifest, control, buf.getvalue().encode("utf-8"), xlsx_bytes)


def _finish(store: Store, cid: int, campaign: Campaign, wrow: Any, out: Path, layout: LetterLayout,
            prepared: _Manifest) -> ProduceResult:
    pages_per_piece = layout.pages_per_piece
    with store.connect() as conn:
        brows = conn.execute(select(batches).where(batches.c.wave_id == wrow.id).order_by(batches.c.number)).all()
    manifest, control = prepared.rows, prepared.control
    csv_bytes, xlsx_bytes = prepared.csv_bytes, prepared.xlsx_bytes
    write_atomic(out / MANIFEST_CSV, csv_bytes)
    write_atomic(out / MANIFEST_XLSX, xlsx_bytes)
    regions = dict(sorted(Counter(m["leitregion"] for m in manifest).items()))
    ticket = {
        "campaign": campaign.name, "title": campaign.title, "wave": wrow.number, "kind": wrow.kind,
        "letter": wrow.letter, "drop_date": wrow.drop_date.isoformat() if wrow.drop_date else None,
        "produced_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "pieces": len(manifest), "control_pieces": control, "pages_per_piece": pages_per_piece,
        "duplex": pages_per_piece == 2, "sheets": len(manifest), "pages": len(manifest) * pages_per_piece,
        "layout": {"form": campaign.layout.form, "envelope": campaign.layout.envelope,
                   "qr_ecc": campaign.layout.qr_ecc, "paper": "A4", "colour": "CMYK, 100 % K",
                   "coupon": layout.has_coupon, "qr_version": layout.qr_version if layout.has_coupon else None},
        "variants": dict(sorted(Counter(m["variant"] for m in manifest).items())),
        "countries": dict(sorted(Counter(m["country"] for m in manifest).items())),
        "leitregions": regions,
        "suppression": {"max_entry_id": wrow.suppression_max_id, "entries_in_force": wrow.suppression_count,
                        "recipients_left_out": wrow.suppressed},
        "files": [{"file": b.file, "batch": b.number, "pieces": b.pieces, "pages": b.pages, "sha256": b.sha256}
                  for b in brows],
        "manifest": [{"file": MANIFEST_CSV, "sha256": hashlib.sha256(csv_bytes).hexdigest()},
                     {"file": MANIFEST_XLSX, "sha256": hashlib.sha256(xlsx_bytes).hexdigest()}],
    }
    write_atomic(out / JOB_TICKET, json.dumps(ticket, ensure_ascii=False, indent=2).encode("utf-8"))
    write_atomic(out / JOB_SUMMARY, summary_text(ticket).encode("utf-8"))
    with store.begin() as conn:
        conn.execute(update(waves).where(waves.c.id == wrow.id).values(
            status="produced", produced_at=datetime.now(UTC).replace(tzinfo=None)))
        audit(conn, "wave.produce", "wave", wrow.id, f"{campaign.name} wave {wrow.number} → {out}")
    return ProduceResult(
        campaign=campaign.name, wave=wrow.number, wave_id=wrow.id, out_dir=str(out), pieces=len(manifest),
        control=control, pages=len(manifest) * pages_per_piece, pages_per_piece=pages_per_piece,
        files=[str(out / b.file) for b in brows], manifest=str(out / MANIFEST_CSV),
        manifest_xlsx=str(out / MANIFEST_XLSX), job_ticket=str(out / JOB_TICKET), summary=str(out / JOB_SUMMARY),
        leitregions=regions,
    )


def summary_text(t: dict[str, Any]) -> str:
    """The job ticket for people (German, plain text)."""
    lines = [
        f"Druckauftrag {t['title']} ({t['campaign']}), Welle {t['wave']} ({t['kind']})",
        f"Einlieferung (Drop): {t['drop_date']}    erstellt: {t['produced_at']}",
        "",
        f"Sendungen: {t['pieces']}   Kontrollgruppe (nicht gedruckt): {t['control_pieces']}",
        f"Seiten je Sendung: {t['pages_per_piece']} ({'duplex' if t['duplex'] else 'simplex'})   "
        f"Blatt: {t['sheets']}   Seiten gesamt: {t['pages']}",
        f"Format: A4, DIN 5008 Form {t['layout']['form']}, Fensterumschlag {t['layout']['envelope']}, "
        f"Farbe: {t['layout']['colour']}",
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


def result_json(result: ProduceResult) -> dict[str, Any]:
    return asdict(result)
