"""The scanning pipeline: files → page images → symbols → registered coupons → tick boxes → PageReading.

`read_page` is a pure function of one page image; `read_files` runs it over a stack of files and folders,
in input order, in worker processes when jobs > 1. Every page yields exactly one PageReading: with its
coupons, or with the reason none was found ("blank page", "no code found", "corrupt file", ...); an
exception on one page becomes that page's reason ("decoding failed (...)"). A QR code that cannot be one of
ours (a vCard, larger than any coupon's symbol, or a payload outside the code alphabet) is a coupon reading
with a `reason` ("foreign QR code ...") and nothing of its content kept. Paths are shown with `display_name`
(file names that are not UTF-8 as backslash escapes). Worker processes keep a parsed PDF between chunks
(`intake._pdf_reader`): a 5,000-page stack is read in 4 s with jobs 2, where parsing it per chunk took 88 s
for its first 2,000 pages. Workers on other machines (a Dask cluster, `mailing.cluster`) do not see the
files: each goes to them as bytes, once, and their readings carry the file's name as given here.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import multiprocessing as mp
import os
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from layouts import geometry as g
from mailing.cluster import is_remote
from mailing.codes import CodeError, code_from_payload, normalise, parse
from mailing.log import get_logger
from scanning import intake
from scanning.decode import Symbol, locate
from scanning.ocr import read_printed_codes
from scanning.register import MAX_VERSION, register
from scanning.results import CouponReading, PageReading
from scanning.snippets import coupon_snippet, page_snippet, phone_snippet
from scanning.ticks import is_bitonal, read_boxes

log = get_logger(__name__)

CHUNK_PAGES = 8  # pages per worker task: enough to amortise pickling, small enough to keep order cheap


MAX_CODE_CHARS = 24  # a response code is 12 symbols (+ hyphens); a longer payload is someone else's QR code
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # our payloads never leave this set


def foreign_reason(symbol: Symbol, code: str) -> str | None:
    """Why a decoded symbol cannot be one of our coupons (a vCard, a shop's URL, ...), or None."""
    if symbol.version is not None and symbol.version > MAX_VERSION:
        return f"foreign QR code (version {symbol.version}, oversized for a coupon)"
    if len(code) > MAX_CODE_CHARS or not set(code) <= QR_ALPHANUMERIC:
        return "foreign QR code (not a response code)"
    return None


def _coupon(image: np.ndarray, symbol: Symbol, crops: bool = False, slots: int = g.CHECKBOX_SLOTS) -> CouponReading:
    code = normalise(code_from_payload(symbol.text))
    foreign = foreign_reason(symbol, code)
    if foreign:
        # nothing of its content is kept: a business card's QR code carries personal data
        return CouponReading(payload=None, code=None, check_ok=False, decoder=symbol.decoder, boxes=(),
                             registered=False, reason=foreign)
    try:
        parse(code)
        check_ok = True
    except CodeError:
        check_ok = False
    reg = register(image, symbol)
    if reg is None:
        log.debug("symbol %r read but not registered", symbol.text)
        return CouponReading(payload=symbol.text, code=code, check_ok=check_ok, decoder=symbol.decoder,
                             boxes=(), registered=False)
    return CouponReading(
        payload=symbol.text, code=code, check_ok=check_ok, decoder=symbol.decoder,
        boxes=read_boxes(image, reg, crops, slots), registered=True,
        snippet_png=coupon_snippet(image, reg.homography),
        phone_jpeg=phone_snippet(image, reg.homography),
        marks_found=reg.marks_found, residual_mm=round(reg.residual_mm, 3),
    )


def unreadable_hash(source: str, page: int, reason: str) -> str:
    """Identity of a page that could not be decoded: its file's bytes, page number and reason. Two broken
    files differ; the same broken file scanned again is recognised as such (and changes nothing)."""
    h = hashlib.sha256(f"unreadable:{page}:{reason}:".encode())
    try:
        with open(source, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        h.update(os.fsencode(source))
    return h.hexdigest()


def read_page(source: str, page: int, image: np.ndarray | None, dpi: float,
              error: str | None = None, crops: bool = False, slots: int = g.CHECKBOX_SLOTS,
              vector: bool = False) -> PageReading:
    """Read one page image (grey, white = 255, square pixels). Pure; never raises for a bad image.

    Box crops are kept for doubtful boxes only, unless `crops` asks for all (the tuning gallery). `slots`
    tick boxes are measured per coupon: as many as the most options any campaign in question has.
    """
    start = time.perf_counter()
    name = intake.display_name(source)
    if image is None:
        why = error or "unreadable image"
        return PageReading(source=name, page=page, image_hash=unreadable_hash(source, page, why),
                           reason=why, seconds=time.perf_counter() - start)
    image = np.ascontiguousarray(image, dtype=np.uint8)
    digest = intake.image_hash(image)
    blank = False
    try:
        located = locate(image, dpi)  # the page as it is, its negative only when that gives nothing
        image, symbols, blank = located.image, located.symbols, located.blank
        coupons = tuple(_coupon(image, s, crops, slots) for s in symbols)
        if not symbols and not blank:  # no QR code read: its printed code (docs/measurements.md §OCR)
            coupons = read_printed_codes(image, crops, slots)
        for crop, _, _ in located.unread:  # a further coupon found by its marks whose QR code no decoder read
            coupons += read_printed_codes(crop, crops, slots)
    except cv2.error as exc:  # an OpenCV failure on a strange image is that page's problem only
        log.warning("%s, page %d: decoding failed (%s)", name, page, exc)
        symbols, coupons = [], ()
    except Exception as exc:  # noqa: BLE001 - whatever one page throws, it gets an outcome and the run goes on
        log.warning("%s, page %d: decoding failed (%s: %s)", name, page, type(exc).__name__, exc)
        return PageReading(source=name, page=page, image_hash=digest, reason=f"decoding failed ({type(exc).__name__})",
                           snippet_png=_safe_snippet(image), seconds=round(time.perf_counter() - start, 4), dpi=dpi)
    reason = None
    if not coupons:
        reason = "blank page" if blank else "no code found"  # judged after every decoder had its try
    # the page picture is for review of pages without a straightened coupon picture; registered coupons
    # carry their own (PNG encoding is the largest single cost of a page otherwise)
    need_page = not coupons or any(not c.registered for c in coupons)
    return PageReading(source=name, page=page, image_hash=digest, coupons=coupons, reason=reason,
                       snippet_png=_safe_snippet(image) if need_page else b"", seconds=round(time.perf_counter() - start, 4),
                       dpi=dpi, vector=vector, bitonal=bool(coupons) and is_bitonal(image))


def _safe_snippet(image: np.ndarray) -> bytes:
    """The review picture of a page; none (rather than no outcome) when even that fails on a strange image."""
    try:
        return page_snippet(image)
    except Exception as exc:  # noqa: BLE001 - a missing picture must not cost the page its outcome
        log.debug("no page picture (%s)", exc)
        return b""


def _read_chunk(source: str, pages: list[int] | None, crops: bool = False,
                slots: int = g.CHECKBOX_SLOTS) -> list[PageReading]:
    """Worker task: pages of one file (all when None), read in order."""
    cv2.setNumThreads(1)
    out = []
    for item in intake.iter_file(source, pages):
        out.append(read_page(item.source, item.page, item.image, item.dpi, item.error, crops, slots, item.vector))
    return out


_SHIPPED: OrderedDict[str, str] = OrderedDict()  # a worker's copies of files sent to it: SHA-256 → temp path
_SHIPPED_LOCK = threading.Lock()  # a Dask worker runs tasks in threads


def _read_chunk_data(name: str, data: bytes, pages: list[int] | None, crops: bool = False,
                     slots: int = g.CHECKBOX_SLOTS) -> list[PageReading]:
    """Worker task on another machine: as `_read_chunk`, for a file sent as bytes (named as on the caller).
    The bytes go to a temporary file kept for the next chunks of the same file (`intake` reads files)."""
    digest = hashlib.sha256(data).hexdigest()
    with _SHIPPED_LOCK:
        path = _SHIPPED.get(digest)
        if path is None or not os.path.exists(path):
            fd, path = tempfile.mkstemp(prefix="mailing-scan-", suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            _SHIPPED[digest] = path
            while len(_SHIPPED) > intake.PDF_CACHE_FILES + 1:
                Path(_SHIPPED.popitem(last=False)[1]).unlink(missing_ok=True)
        _SHIPPED.move_to_end(digest)
    return [dataclasses.replace(r, source=name) for r in _read_chunk(path, pages, crops, slots)]


@atexit.register
def _drop_shipped() -> None:
    for path in _SHIPPED.values():
        Path(path).unlink(missing_ok=True)


def _page_by_page(tasks: Sequence[tuple[str, list[int] | None]], crops: bool, slots: int) -> Iterator[PageReading]:
    pool: ProcessPoolExecutor | None = None
    try:
        for source, pages in tasks:
            for page in pages or range(1, intake.count_pages(source) + 1):
                pool = pool or ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
                try:
                    yield from pool.submit(_read_chunk, source, [page], crops, slots).result()
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
                    log.warning("%s, page %d: the decoder crashed on this page", intake.display_name(source), page)
                    yield PageReading(source=intake.display_name(source), page=page, reason="decoder crashed",
                                      image_hash=unreadable_hash(source, page, "decoder crashed"))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def read_files(paths: Sequence[str], jobs: int = 1, executor: Executor | None = None,
               crops: bool = False, slots: int = g.CHECKBOX_SLOTS,
               on_skip: Callable[[intake.Skipped], None] | None = None) -> Iterator[PageReading]:
    """PageReadings for every page of every file (folders expanded, sorted), in input order.

    With jobs > 1 (or an executor given) pages are read in worker processes, a few pages per task. What
    is not read (a FIFO, a device, a text file in a folder) goes to `on_skip`, else to the log, one line each.
    """
    files, skipped = intake.collect(paths)
    for item in skipped:
        if on_skip is not None:
            on_skip(item)
        else:
            log.warning("%s: skipped, %s", item.path, item.why)
    if jobs <= 1 and executor is None:
        cv2.setNumThreads(1)
        for source in files:
            yield from _read_chunk(source, None, crops, slots)
        return
    tasks: list[tuple[str, list[int] | None]] = []
    for source in files:
        n = intake.count_pages(source)
        if n <= CHUNK_PAGES:
            tasks.append((source, None))
        else:
            tasks.extend((source, list(range(a, min(n, a + CHUNK_PAGES - 1) + 1)))
                         for a in range(1, n + 1, CHUNK_PAGES))
    if executor is None and len(tasks) <= 1:  # one task: starting worker processes would only cost time
        cv2.setNumThreads(1)
        for s, p in tasks:
            yield from _read_chunk(s, p, crops, slots)
        return
    if executor is None or is_remote(executor):
        intake.forget_pdfs()  # the pages are counted; workers elsewhere parse the files, not this process
    own = executor is None
    # spawn, not fork: a forked child of a process whose OpenCV thread pool is running can deadlock
    pool: Executor = executor or ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=mp.get_context("spawn"))
    lost = (BrokenProcessPool, *getattr(pool, "lost_errors", ()))  # a worker died (a crashing decoder)
    submit = _remote_submit(pool, crops, slots) if is_remote(pool) else \
        (lambda s, p: pool.submit(_read_chunk, s, p, crops, slots))
    try:
        window = max(2, 2 * (jobs if jobs > 1 else (os.cpu_count() or 2)), 2 * getattr(pool, "max_workers", 1))
        pending = deque(submit(s, p) for s, p in tasks[:window])
        nxt = len(pending)
        while pending:
            try:
                done = pending.popleft().result()
            except lost:
                # A worker died (a decoder crashing on some page). Nothing is lost: the task that failed
                # and everything after it are read again page by page, each page that kills its worker
                # again becomes "decoder crashed".
                log.warning("a scanning worker stopped; reading the rest page by page")
                rest = [tasks[i] for i in range(nxt - len(pending) - 1, len(tasks))]
                yield from _page_by_page(rest, crops, slots)
                return
            if nxt < len(tasks):
                s, p = tasks[nxt]
                pending.append(submit(s, p))
                nxt += 1
            yield from done
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _remote_submit(pool: Executor, crops: bool, slots: int) -> Callable[[str, list[int] | None], Future[list[PageReading]]]:
    """Submitting to workers that do not see this machine's files: each file goes out as bytes, once
    (`share`, when the executor offers it), with the name it has here. A file this process cannot read
    gets its error item here, as a local run gives it."""
    share = getattr(pool, "share", lambda data: data)
    current: list[Any] = [None, None]  # the file being sent and its shared bytes (tasks come in file order)

    def submit(source: str, pages: list[int] | None) -> Future[list[PageReading]]:
        if current[0] != source:
            try:
                data = Path(source).read_bytes()
            except OSError:
                here: Future[list[PageReading]] = Future()
                here.set_result(_read_chunk(source, pages, crops, slots))
                return here
            current[:] = [source, share(data)]
        return pool.submit(_read_chunk_data, intake.display_name(source), current[1], pages, crops, slots)

    return submit
