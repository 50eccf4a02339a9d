"""`preflight DIR`: prove a print package printable before it goes to the lettershop.

Checks, each problem one line naming the file (and page or manifest row):
- the folder holds one wave's package: every package file belongs to the wave and campaign of its job
  ticket (`mailing.package` reads that from the file itself), no second ticket, no stray `.part` file;
- the job ticket and the manifest are there and agree with each other (pieces, files, waves);
- every batch PDF exists, its SHA-256 matches the job ticket, its page count matches ticket and manifest,
  every page has the job ticket's page size (A4; a postcard wave's DIN A6, `layout.page_mm`);
- the manifest: first pages 1, 1 + n, 1 + 2n, ... per file (n = pages per piece), codes valid and unique;
- every font is embedded; no RGB colour operators (everything is CMYK black);
- every QR code is read back from a rasterised copy (pypdfium2, 200 dpi, the area of the coupon's
  keep-clear frame on each piece's first page) with the scanning package's decoder
  (`scanning.decode.find_symbols`, the one that reads returned coupons) and compared with the manifest's
  code for that page;
- PDF/X-1a:2001 (for tickets of version 2): PDF 1.3, the GTS_PDFX version keys, the output intent, Trapped,
  a document ID, the title naming campaign, wave and file, the wave's production time as creation date,
  TrimBox on every page inside the MediaBox (BleedBox between them where present), and font subset tags
  that are not reportlab's AAAAAA and differ between fonts and between files;
- the inserter's control marks (the ticket's `enclosing.inserter_marks`): read back from the rasterised zone
  of every sheet's front (200 dpi) and checked against the sheet's place in the file: OMR bars (start,
  start/end of set, sequence, parity) or the DataMatrix (wave, file, piece, sheet i of n).
- postcards (`layout.format` "postkarte"): on every card's address side (its page 2) the manifest's postal
  code is printed inside the address zone, and no text lies right of the separating line outside that zone
  (franking zone, coding zone, right of or below the address): read from the PDF's text positions (pypdfium2).
Names, columns and the ticket's schema come from `mailing.package`. An empty list means the package is fine.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from layouts import geometry as g
from layouts import inserter
from mailing.codes import CodeError, code_from_payload, parse
from mailing.config import OmrProfile
from mailing.package import (
    MANIFEST_CONTRACT,
    PDFX,
    manifest_for_ticket,
    package_files,
    parse_pdf_title,
    stray_parts,
    ticket_files,
    ticket_problems,
)

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
    tickets_found = ticket_files(out)
    if not tickets_found:
        return [f"{out}: job ticket (welle-NN-auftrag.json) missing; run `mailing produce` to finish the package"]
    problems = [f"{p}: temporary file left by an interrupted run; run `mailing produce` again to finish"
                for p in stray_parts(out)]
    tickets: list[tuple[Path, dict[str, Any]]] = []
    for path in tickets_found:
        try:
            tickets.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not a valid job ticket ({exc})")
    if len(tickets_found) > 1:
        problems.append(f"{out}: holds the job tickets of {len(tickets_found)} packages "
                        f"({', '.join(p.name for p in tickets_found)}); each wave needs a folder of its own")
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
    problems: list[str] = ticket_problems(ticket, ticket_path.name)
    manifest = manifest_for_ticket(ticket_path, ticket)
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
        facts = _print_facts(ticket)
        if ticket.get("layout", {}).get("format") == "postkarte" and facts:
            facts["postcard"] = {row["code"]: row.get("postal_code", "") for _, row in entries}
        tasks.append((str(out / name), info, [(i, row["page"], row["code"]) for i, row in entries], qr, facts))
    tags: dict[str, str] = {}
    results: Any
    if jobs > 1 and len(tasks) > 1:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)))
        results = pool.map(check_file_report, tasks)
    else:
        pool, results = None, map(check_file_report, tasks)
    try:
        for n, (found, file_tags) in enumerate(results, start=1):
            problems.extend(found)
            for tag in file_tags:
                name = tasks[n - 1][0]
                if tag in tags:
                    problems.append(f"{Path(name).name}: font subset tag {tag} also used in {tags[tag]}; "
                                    "merged files would mix up glyphs")
                tags.setdefault(tag, Path(name).name)
            if progress:
                progress(n, len(tasks))
    finally:
        if pool is not None:
            pool.shutdown()
    return problems


def _print_facts(ticket: dict[str, Any]) -> dict[str, Any]:
    """What the batch PDFs of a version-2 ticket must show: PDF/X, creation date, inserter marks."""
    version = ticket.get("ticket_version", 1)
    if not isinstance(version, int) or version < 2:
        return {}
    pr, marks = ticket.get("print", {}), ticket.get("enclosing", {}).get("inserter_marks", {})
    return {"campaign": ticket.get("campaign"), "wave": ticket.get("wave"), "produced_at": ticket.get("produced_at"),
            "page_mm": _page_mm(ticket),
            "pages_per_piece": int(ticket.get("pages_per_piece", 1)),
            "sheets_per_piece": int(pr.get("sheets_per_piece", 1)), "duplex": bool(pr.get("duplex")),
            "marks": marks.get("kind", "none"), "omr": marks.get("omr")}


Task = tuple[str, dict[str, Any], list[tuple[int, str, str]], int | None, dict[str, Any]]


def check_file(task: Task) -> list[str]:
    """All checks of one batch PDF."""
    return check_file_report(task)[0]


def check_file_report(task: Task) -> tuple[list[str], list[str]]:
    """All checks of one batch PDF (runs in a worker process): the problems, and its font subset tags."""
    path_s, info, entries, qr_version, facts = task
    path = Path(path_s)
    name = path.name
    if not path.exists():
        return [f"{name}: file missing; run `mailing produce` again to finish the package"], []
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
        return problems + [f"{name}: not a readable PDF ({exc})"], []
    if pages != info["pages"]:
        problems.append(f"{name}: {pages} pages, job ticket says {info['pages']}")
    fonts_seen: set[int] = set()
    forms_seen: set[int] = set()
    tags: dict[str, str] = {}
    want_mm = facts.get("page_mm") or [g.PAGE_WIDTH_MM, g.PAGE_HEIGHT_MM]
    want_pt = (want_mm[0] * g.PT_PER_MM, want_mm[1] * g.PT_PER_MM)
    size_name = "A4" if want_mm == [g.PAGE_WIDTH_MM, g.PAGE_HEIGHT_MM] else f"{want_mm[0]:g} x {want_mm[1]:g} mm"
    if facts:
        try:
            problems.extend(_check_pdfx(reader, data, name, int(info.get("batch", 0)), facts))
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{name}: PDF/X keys cannot be read ({exc})")
    for n, page in enumerate(reader.pages, start=1):
        try:
            w, h = float(page.mediabox.width), float(page.mediabox.height)
            if abs(w - want_pt[0]) > SIZE_TOLERANCE_PT or abs(h - want_pt[1]) > SIZE_TOLERANCE_PT:
                problems.append(f"{name}, page {n}: size {w / g.PT_PER_MM:.0f} x {h / g.PT_PER_MM:.0f} mm, "
                                f"not {size_name}")
            content = page.get_contents()
            if content is not None and _has_rgb(content.get_data()):
                problems.append(f"{name}, page {n}: RGB colour operator in the page content")
            problems.extend(_check_resources(page.get("/Resources"), name, n, fonts_seen, forms_seen, tags))
            if facts:
                problems.extend(_check_boxes(page, name, n))
        except (PyPdfError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{name}, page {n}: cannot be read ({exc})")
    if facts:
        problems.extend(_check_tags(tags, name))
    if qr_version:
        problems.extend(_check_codes(path, entries, int(qr_version), pages))
    if facts.get("postcard") is not None:
        problems.extend(_check_postcard_addresses(path, entries, facts["postcard"], pages))
    if facts and facts["marks"] != "none":
        problems.extend(_check_marks(path, entries, facts, int(info.get("batch", 0)), pages))
    return problems, sorted(tags)


def _has_rgb(stream: bytes) -> bool:
    return bool(_RGB_OP.search(_STRINGS.sub(b"", stream)))


def _check_resources(res: Any, name: str, page: int, fonts_seen: set[int], forms_seen: set[int],
                     tags: dict[str, str] | None = None) -> list[str]:
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
        base = str(font.get("/BaseFont", ""))
        if tags is not None and len(base) > 8 and base[7] == "+":
            tag, face = base[1:7], base[8:]
            if tags.setdefault(tag, face) != face and face not in tags[tag].split(SHARED):
                tags[tag] += SHARED + face  # two different fonts under one tag: flagged by _check_tags
    for ref in (res.get("/XObject") or {}).values():
        ident = getattr(ref, "idnum", None) or id(ref)
        if ident in forms_seen:
            continue
        forms_seen.add(ident)
        xo = ref.get_object()
        if xo.get("/Subtype") == "/Form":
            if _has_rgb(xo.get_data()):
                problems.append(f"{name}, page {page}: RGB colour operator in a form XObject")
            problems.extend(_check_resources(xo.get("/Resources"), name, page, fonts_seen, forms_seen, tags))
    return problems


# ------------------------------------------------------------------------------------------- PDF/X
def _pdf_date(iso: str | None) -> str | None:
    from datetime import UTC, datetime

    if not iso:
        return None
    d = datetime.fromisoformat(iso).astimezone(UTC)
    return d.strftime("D:%Y%m%d%H%M%S+00'00'")


def _check_pdfx(reader: Any, data: bytes, name: str, batch: int, facts: dict[str, Any]) -> list[str]:
    """The document-level PDF/X-1a:2001 keys (docs/print-production.md §PDF/X)."""
    problems = []
    want = f"PDF/X-1a:2001 ({facts['campaign']}, wave {facts['wave']})"
    header = data[:8].decode("latin-1", "replace")
    if header != f"%PDF-{PDFX['pdf_version']}":
        problems.append(f"{name}: header {header!r}, {PDFX['conformance']} needs %PDF-{PDFX['pdf_version']}")
    meta = reader.trailer.get("/Info")
    meta = meta.get_object() if meta is not None else {}
    for key, value in (("/GTS_PDFXVersion", PDFX["version"]), ("/GTS_PDFXConformance", PDFX["conformance"])):
        if str(meta.get(key, "")) != value:
            problems.append(f"{name}: {key} is {meta.get(key)!r}, not {value!r} (the file is not {want})")
    if str(meta.get("/Trapped", "")) not in ("/True", "/False"):
        problems.append(f"{name}: /Trapped is {meta.get('/Trapped')!r}; PDF/X needs /True or /False")
    title = parse_pdf_title(str(meta.get("/Title", "")))
    if title is None or title[0] != facts["campaign"] or title[1] != facts["wave"] or (batch and title[2] != batch):
        problems.append(f"{name}: title {str(meta.get('/Title', ''))!r} does not name campaign {facts['campaign']!r}, "
                        f"wave {facts['wave']}, file {batch}")
    created = _pdf_date(facts.get("produced_at"))
    for key in ("/CreationDate", "/ModDate"):
        if created and str(meta.get(key, "")) != created:
            problems.append(f"{name}: {key} {meta.get(key)!r}, the wave was produced {created}")
    ids = reader.trailer.get("/ID")
    if not ids or len(ids) != 2 or not all(len(bytes(x.original_bytes)) >= 16 for x in ids):
        problems.append(f"{name}: no document ID in the trailer")
    root = reader.trailer["/Root"].get_object()
    intents = root.get("/OutputIntents")
    intents = [i.get_object() for i in intents.get_object()] if intents is not None else []
    pdfx = [i for i in intents if i.get("/S") == "/GTS_PDFX"]
    if len(pdfx) != 1:
        problems.append(f"{name}: {len(pdfx)} PDF/X output intents, needs exactly one")
    elif str(pdfx[0].get("/OutputConditionIdentifier", "")) != PDFX["output_condition_identifier"] or \
            "/DestOutputProfile" not in pdfx[0] and str(pdfx[0].get("/RegistryName", "")) != PDFX["registry_name"]:
        problems.append(f"{name}: output intent {pdfx[0].get('/OutputConditionIdentifier')!r} is not "
                        f"{PDFX['output_condition_identifier']} from {PDFX['registry_name']}")
    return problems


def _box(page: Any, key: str) -> tuple[float, ...] | None:
    value = page.get(key)
    return tuple(float(v) for v in value.get_object()) if value is not None else None


def _inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    e = 0.01
    return (inner[0] >= outer[0] - e and inner[1] >= outer[1] - e and inner[2] <= outer[2] + e
            and inner[3] <= outer[3] + e)


def _check_boxes(page: Any, name: str, n: int) -> list[str]:
    media, trim, bleed = _box(page, "/MediaBox"), _box(page, "/TrimBox"), _box(page, "/BleedBox")
    if trim is None:
        return [f"{name}, page {n}: no TrimBox (PDF/X needs one on every page)"]
    if media is not None and not _inside(trim, media):
        return [f"{name}, page {n}: TrimBox {trim} outside the MediaBox {media}"]
    if bleed is not None and not (_inside(trim, bleed) and (media is None or _inside(bleed, media))):
        return [f"{name}, page {n}: BleedBox {bleed} not between TrimBox and MediaBox"]
    return []


SHARED = " / "  # joins the fonts found under one subset tag


def _check_tags(tags: dict[str, str], name: str) -> list[str]:
    """Subset tags of one file: none is reportlab's fixed AAAAAA, no two fonts share one. (One font may have
    several subsets, e.g. its own and an enclosure's: each has its own tag.)"""
    problems = [f"{name}: font {font} has reportlab's fixed subset tag AAAAAA" for tag, font in tags.items()
                if tag == "AAAAAA"]
    problems += [f"{name}: fonts {font} share one subset tag {tag}" for tag, font in tags.items() if SHARED in font]
    return problems


# ---------------------------------------------------------------------------------- inserter marks
def _check_marks(path: Path, entries: list[tuple[int, str, str]], facts: dict[str, Any], batch: int,
                 pages: int) -> list[str]:
    """Read every sheet's inserter marks back (inserter.READ_DPI) and check them against the sheet's place in the file."""
    import numpy as np
    import pypdfium2 as pdfium

    per_sheet = 2 if facts["duplex"] else 1
    n_sheets = facts["sheets_per_piece"]
    profile = None
    if facts["marks"] == "omr":
        profile = _omr_profile(facts["omr"])
        if profile is None:
            return [f"{path.name}: the job ticket's enclosing.inserter_marks.omr is not a valid OMR profile; "
                    "run `mailing produce` again"]
    z, k = inserter.read_area(facts["marks"], profile), g.PT_PER_MM
    crop = (z.x_mm * k, (g.PAGE_HEIGHT_MM - z.bottom_mm) * k, (g.PAGE_WIDTH_MM - z.right_mm) * k, z.y_mm * k)
    problems: list[str] = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for piece, (row, page_s, _code) in enumerate(entries, start=1):
            try:
                first = int(page_s)
            except ValueError:
                continue
            for i in range(1, n_sheets + 1):
                page_no = first + (i - 1) * per_sheet
                if not 1 <= page_no <= pages:
                    continue
                sheet = inserter.Sheet(int(facts["wave"]), batch, piece, i, n_sheets, (piece - 1) * n_sheets + i)
                page = pdf[page_no - 1]
                img = np.asarray(page.render(scale=inserter.READ_DPI / 72.0, crop=crop, grayscale=True).to_pil())
                page.close()
                where = f"{path.name}, page {page_no} (manifest row {row})"
                if profile is not None:
                    read = inserter.read_omr(profile, img, (z.x_mm, z.y_mm))
                    problems.extend(f"{where}: {p}" for p in inserter.omr_problems(profile, read, sheet))
                else:
                    problems.extend(_check_datamatrix(img, sheet, where))
    finally:
        pdf.close()
    return problems


def _omr_profile(data: Any) -> OmrProfile | None:
    import dataclasses

    if not isinstance(data, dict):
        return None
    names = {f.name for f in dataclasses.fields(OmrProfile)}
    values: dict[str, Any] = {k: tuple(v) if k == "tracks" else v for k, v in data.items() if k in names}
    try:
        return OmrProfile(**values)
    except (TypeError, ValueError):
        return None


def _check_datamatrix(img: Any, sheet: inserter.Sheet, where: str) -> list[str]:
    found = [p for p in (inserter.parse_datamatrix(t) for t in inserter.read_datamatrix(img)) if p]
    if not found:
        return [f"{where}: no inserter DataMatrix readable"]
    want = inserter.parse_datamatrix(inserter.datamatrix_payload(sheet))
    if found[0] != want:
        w, b, piece, i, n = found[0]
        return [f"{where}: DataMatrix says wave {w}, file {b}, piece {piece}, sheet {i} of {n}; expected piece "
                f"{sheet.piece}, sheet {sheet.index} of {sheet.of} (a sheet is missing, extra or out of order)"]
    return []


def _page_mm(ticket: dict[str, Any]) -> list[float]:
    """The page size a ticket's PDFs must have (tickets before issue 14 name none: A4)."""
    size = ticket.get("layout", {}).get("page_mm")
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int | float) for v in size):
        return [float(size[0]), float(size[1])]
    return [g.PAGE_WIDTH_MM, g.PAGE_HEIGHT_MM]


def _manifest_pages(path: Path, entries: list[tuple[int, str, str]], pages: int, problems: list[str],
                    after: int = 0) -> Iterator[tuple[int, int, str]]:
    """(manifest row, page number, code) of each entry, the page `after` pages past the one the manifest
    names (a postcard's address side is the page after its first); a page past the file's end is a problem,
    a row without a page number was named by the manifest check."""
    for row, page_s, code in entries:
        try:
            page_no = int(page_s) + after
        except ValueError:
            continue
        if not 1 <= page_no <= pages:
            problems.append(f"{path.name}, page {page_no}: manifest row {row} points past the end of the file")
            continue
        yield row, page_no, code


def _check_postcard_addresses(path: Path, entries: list[tuple[int, str, str]], postal: dict[str, str],
                              pages: int) -> list[str]:
    """Each card's address side (the page after its first): the manifest's postal code inside the address
    zone, nothing right of the separating line outside it (layouts.geometry §DIN A6 postcard)."""
    import pypdfium2 as pdfium

    k, height = g.PT_PER_MM, g.POSTCARD_HEIGHT_MM
    zone = g.POSTCARD_ADDRESS_ZONE
    right = g.POSTCARD_SEPARATOR_X_MM + g.POSTCARD_SEPARATOR_WIDTH_MM / 2

    def rect(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return x0 * k, (height - y1) * k, x1 * k, (height - y0) * k  # left, bottom, right, top in points

    keep_free = {"the franking zone": rect(right, 0.0, g.POSTCARD_WIDTH_MM, zone.y_mm),
                 "the coding zone": rect(0.0, zone.bottom_mm, g.POSTCARD_WIDTH_MM, height),
                 "right of the address zone": rect(zone.right_mm, zone.y_mm, g.POSTCARD_WIDTH_MM, zone.bottom_mm),
                 "between the line and the address": rect(right, zone.y_mm, zone.x_mm, zone.bottom_mm)}
    problems: list[str] = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for row, page_no, code in _manifest_pages(path, entries, pages, problems, after=1):
            page = pdf[page_no - 1]
            text = page.get_textpage()
            try:
                inside = text.get_text_bounded(*rect(zone.x_mm, zone.y_mm, zone.right_mm, zone.bottom_mm))
                plz = (postal.get(code) or "").strip()
                where = f"{path.name}, page {page_no} (address side, manifest row {row})"
                if plz and plz not in inside:
                    problems.append(f"{where}: postal code {plz} is not printed inside the address zone")
                for what, box in keep_free.items():
                    stray = text.get_text_bounded(*box).strip()
                    if stray:
                        problems.append(f"{where}: text {stray[:30]!r} in {what}, which must stay free")
            finally:
                text.close()
                page.close()
    finally:
        pdf.close()
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
    problems: list[str] = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for row, page_no, code in _manifest_pages(path, entries, pages, problems):
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
