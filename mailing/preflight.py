"""`preflight DIR`: prove a print package printable before it goes to the lettershop.

Checks, each problem one line naming the file (and page or manifest row):
- the folder holds one wave's package: every package file belongs to the wave and campaign of its job
  ticket (`mailing.package` reads that from the file itself), no second ticket, no stray `.part` file;
- the job ticket and the manifest are there and agree with each other (pieces, files, waves);
- every batch PDF exists, its SHA-256 matches the job ticket, its page count matches ticket and manifest,
  every page is A4;
- the manifest: first pages 1, 1 + n, 1 + 2n, ... per file (n = pages per piece), codes valid and unique;
- every font is embedded; no RGB colour operators (everything is CMYK black);
- every QR code is read back from a rasterised copy (pypdfium2, 200 dpi, the area of the coupon's
  keep-clear frame on each piece's first page) with the scanning package's decoder
  (`scanning.decode.find_symbols`, the one that reads returned coupons) and compared with the manifest's
  code for that page.
An empty list means the package is fine.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from layouts import geometry as g
from mailing.codes import CodeError, code_from_payload, parse
from mailing.package import MANIFEST_CONTRACT, manifest_csv_name, package_files, stray_parts

PREFLIGHT_DPI = 200
A4_PT = (g.PAGE_WIDTH_MM * g.PT_PER_MM, g.PAGE_HEIGHT_MM * g.PT_PER_MM)
SIZE_TOLERANCE_PT = 1.0
CROP_MARGIN_MM = 3.0  # rasterised around the keep-clear frame
_STRINGS = re.compile(rb"\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>")
_RGB_OP = re.compile(rb"(?<![A-Za-z])(rg|RG)(?![A-Za-z])")


def preflight(out_dir: str | Path, *, jobs: int = 1, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Problems found in the package in out_dir; empty = OK."""
    out = Path(out_dir)
    if not out.is_dir():
        return [f"{out}: not a folder"]
    ticket_files = sorted(out.glob("welle-*-auftrag.json")) + [p for p in [out / "auftrag.json"] if p.is_file()]
    if not ticket_files:
        return [f"{out}: job ticket (welle-NN-auftrag.json) missing; run `mailing produce` to finish the package"]
    problems = [f"{p}: temporary file left by an interrupted run; run `mailing produce` again to finish"
                for p in stray_parts(out)]
    tickets: list[tuple[Path, dict[str, Any]]] = []
    for path in ticket_files:
        try:
            tickets.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not a valid job ticket ({exc})")
    if len(ticket_files) > 1:
        problems.append(f"{out}: holds the job tickets of {len(ticket_files)} packages "
                        f"({', '.join(p.name for p in ticket_files)}); each wave needs a folder of its own")
    owners = {(t.get("wave"), t.get("campaign")) for _, t in tickets}
    for f in package_files(out):
        if (f.wave, f.campaign) not in owners and not (f.campaign is None and any(f.wave == w for w, _ in owners)):
            problems.append(f"{f.describe()}; it is not part of the package of this folder's job ticket")
    for path, ticket in tickets:
        problems.extend(_check_package(out, path, ticket, jobs, progress))
    return problems


def _check_package(out: Path, ticket_path: Path, ticket: dict[str, Any], jobs: int,
                   progress: Callable[[int, int], None] | None) -> list[str]:
    """The checks of one wave's package (its job ticket, manifest and batch PDFs)."""
    problems: list[str] = []
    legacy = ticket_path.name == "auftrag.json"
    manifest = "manifest.csv" if legacy else manifest_csv_name(int(ticket.get("wave") or 0))
    try:
        with (out / manifest).open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        return [f"{out / manifest}: manifest missing"]
    missing = [c for c in MANIFEST_CONTRACT if rows and c not in rows[0]]
    if missing:
        return [f"{out / manifest}: columns missing: {', '.join(missing)}"]
    ppp = int(ticket.get("pages_per_piece", 1))
    files = {f["file"]: f for f in ticket.get("files", [])}
    for m in ticket.get("manifest", []):
        p = out / m["file"]
        if p.exists() and hashlib.sha256(p.read_bytes()).hexdigest() != m["sha256"]:
            problems.append(f"{p}: SHA-256 differs from the job ticket (changed after production)")
    if len(rows) != ticket.get("pieces"):
        problems.append(f"{manifest}: {len(rows)} rows, job ticket says {ticket.get('pieces')} pieces")
    by_file: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, start=2):
        code = row["code"]
        try:
            if parse(code) != code:
                problems.append(f"{manifest}, row {i}: code {code!r} is not normalised")
        except CodeError as exc:
            problems.append(f"{manifest}, row {i}: {exc}")
        if code in seen:
            problems.append(f"{manifest}, row {i}: code {code} already in row {seen[code]}")
        seen[code] = i
        if str(row.get("wave")) != str(ticket.get("wave")):
            problems.append(f"{manifest}, row {i}: wave {row.get('wave')}, job ticket says {ticket.get('wave')}")
        if row["file"] not in files:
            problems.append(f"{manifest}, row {i}: file {row['file']} is not in the job ticket")
        by_file[row["file"]].append((i, row))
    qr = ticket.get("layout", {}).get("qr_version")
    tasks = []
    for name, info in files.items():
        entries = by_file.get(name, [])
        if len(entries) != info["pieces"]:
            problems.append(f"{name}: manifest lists {len(entries)} pieces, job ticket {info['pieces']}")
        for k, (i, row) in enumerate(entries):
            try:
                page = int(row["page"])
            except ValueError:
                problems.append(f"{manifest}, row {i}: page {row['page']!r} is not a number")
                continue
            if page != k * ppp + 1:
                problems.append(f"{manifest}, row {i}: {name} page {page}, expected {k * ppp + 1} "
                                f"({ppp} page(s) per piece)")
        tasks.append((str(out / name), info, [(i, row["page"], row["code"]) for i, row in entries], qr))
    if jobs > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            for n, found in enumerate(pool.map(check_file, tasks), start=1):
                problems.extend(found)
                if progress:
                    progress(n, len(tasks))
    else:
        for n, task in enumerate(tasks, start=1):
            problems.extend(check_file(task))
            if progress:
                progress(n, len(tasks))
    return problems


def check_file(task: tuple[str, dict[str, Any], list[tuple[int, str, str]], int | None]) -> list[str]:
    """All checks of one batch PDF (runs in a worker process)."""
    path_s, info, entries, qr_version = task
    path = Path(path_s)
    name = path.name
    if not path.exists():
        return [f"{name}: file missing; run `mailing produce` again to finish the package"]
    data = path.read_bytes()
    problems = []
    if info.get("sha256") and hashlib.sha256(data).hexdigest() != info["sha256"]:
        problems.append(f"{name}: SHA-256 differs from the job ticket (file changed or damaged)")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        return problems + [f"{name}: not a readable PDF ({exc})"]
    if pages != info["pages"]:
        problems.append(f"{name}: {pages} pages, job ticket says {info['pages']}")
    fonts_seen: set[int] = set()
    forms_seen: set[int] = set()
    for n, page in enumerate(reader.pages, start=1):
        try:
            w, h = float(page.mediabox.width), float(page.mediabox.height)
            if abs(w - A4_PT[0]) > SIZE_TOLERANCE_PT or abs(h - A4_PT[1]) > SIZE_TOLERANCE_PT:
                problems.append(f"{name}, page {n}: size {w / g.PT_PER_MM:.0f} x {h / g.PT_PER_MM:.0f} mm, not A4")
            content = page.get_contents()
            if content is not None and _has_rgb(content.get_data()):
                problems.append(f"{name}, page {n}: RGB colour operator in the page content")
            problems.extend(_check_resources(page.get("/Resources"), name, n, fonts_seen, forms_seen))
        except (PyPdfError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{name}, page {n}: cannot be read ({exc})")
    if qr_version:
        problems.extend(_check_codes(path, entries, int(qr_version), pages))
    return problems


def _has_rgb(stream: bytes) -> bool:
    return bool(_RGB_OP.search(_STRINGS.sub(b"", stream)))


def _check_resources(res: Any, name: str, page: int, fonts_seen: set[int], forms_seen: set[int]) -> list[str]:
    problems: list[str] = []
    if res is None:
        return problems
    res = res.get_object()
    for key, ref in (res.get("/Font") or {}).items():
        ident = getattr(ref, "idnum", None) or id(ref)
        if ident in fonts_seen:
            continue
        fonts_seen.add(ident)
        font = ref.get_object()
        desc = font.get("/FontDescriptor")
        if desc is None and font.get("/DescendantFonts"):
            desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        desc = desc.get_object() if desc is not None else None
        if desc is None or not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            problems.append(f"{name}, page {page}: font {font.get('/BaseFont', key)} is not embedded")
    for ref in (res.get("/XObject") or {}).values():
        ident = getattr(ref, "idnum", None) or id(ref)
        if ident in forms_seen:
            continue
        forms_seen.add(ident)
        xo = ref.get_object()
        if xo.get("/Subtype") == "/Form":
            if _has_rgb(xo.get_data()):
                problems.append(f"{name}, page {page}: RGB colour operator in a form XObject")
            problems.extend(_check_resources(xo.get("/Resources"), name, page, fonts_seen, forms_seen))
    return problems


def _decode(img: Any) -> list[str]:
    """The payloads of every QR code on a rendered crop, read by the scanning package's decoder cascade
    (the same code that reads returned coupons, so preflight proves what the scanner will read)."""
    import numpy as np

    from scanning.decode import find_symbols

    return [s.text for s in find_symbols(np.asarray(img.convert("L"), dtype=np.uint8), PREFLIGHT_DPI)]


def _check_codes(path: Path, entries: list[tuple[int, str, str]], qr_version: int, pages: int) -> list[str]:
    import pypdfium2 as pdfium

    box = g.on_page(g.qr_keep_clear_box(qr_version))
    k = g.PT_PER_MM
    mrg = CROP_MARGIN_MM
    crop = ((box.x_mm - mrg) * k, (g.PAGE_HEIGHT_MM - box.bottom_mm - mrg) * k,
            (g.PAGE_WIDTH_MM - box.right_mm - mrg) * k, (box.y_mm - mrg) * k)
    problems = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for row, page_s, code in entries:
            try:
                page_no = int(page_s)
            except ValueError:
                continue
            if not 1 <= page_no <= pages:
                problems.append(f"{path.name}, page {page_no}: manifest row {row} points past the end of the file")
                continue
            page = pdf[page_no - 1]
            img = page.render(scale=PREFLIGHT_DPI / 72.0, crop=crop, grayscale=True).to_pil()
            page.close()
            payloads = _decode(img)
            if not payloads:
                problems.append(f"{path.name}, page {page_no}: no QR code readable (manifest row {row}, code {code})")
                continue
            read = code_from_payload(payloads[0]).upper()
            if read != code:
                problems.append(f"{path.name}, page {page_no}: QR code reads {read}, manifest row {row} says {code}")
    finally:
        pdf.close()
    return problems
