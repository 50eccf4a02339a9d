"""The writer: page model → print PDF (reportlab), one batch at a time, a pure function of plain data.

`render_batch(job, out_path)` knows nothing of the database: it gets the campaign and a list of
`PieceData` and writes one PDF atomically (temporary file + os.replace). The wave's static page and each
variant's static text blocks are drawn once per PDF as Form XObjects; per piece only what varies is
written (address, customer number, greeting, merge paragraphs, name, code, QR as one merged path), as raw
content-stream operators. All text and marks are 100 % K in CMYK; fonts are embedded as subsets.

Every file is PDF/X-1a:2001 (docs/print-production.md says why): PDF 1.3, the output intent FOGRA39 by its
ICC registry name, TrimBox = MediaBox on every page (nothing bleeds), Trapped /False, the GTS_PDFX version
keys, a real title and subject, the wave's production time as creation date, a document ID derived from
campaign, wave, batch and that time, and font subset tags derived from the font and the document ID (so no
two files or fonts share a tag, yet the same batch always gets the same one). Nothing depends on the clock:
the same batch renders to the same bytes, which is what makes a reprint byte-identical. With `[production]
inserter` set, each sheet's front carries the inserter's control marks (layouts.inserter). reportlab keeps
a PDF's pages in memory until it is saved, so memory grows with the batch size, never with the size of the
wave.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from layouts import assets, fonts, inserter
from layouts import geometry as g
from layouts.letter import LetterLayout, PieceData
from layouts.model import Element, Image, Line, QRSymbol, Rect, Text
from layouts.postcard import PostcardLayout, layout_for
from mailing.config import Campaign, example_campaign_path, load_campaign
from mailing.package import PDFX, pdf_subject, pdf_title

K = g.PT_PER_MM
PAGE_H_PT = g.PAGE_HEIGHT_MM * K
CMYK_BLACK = "0 0 0 1 k 0 0 0 1 K"

__all__ = ["BatchJob", "BatchResult", "PieceData", "render_batch", "render_batch_data", "render_sample_pdf", "sample_pieces"]


@dataclass(frozen=True)
class BatchJob:
    """One print PDF's worth of pieces, all of one wave (same campaign, letter text and date)."""

    campaign: Campaign
    pieces: Sequence[PieceData]
    letter: str | None = None  # key of campaign.letters for a follow-up wave; None = the main letter
    letter_date: date | None = None
    wave: int = 1
    batch: int = 1
    produced_at: datetime | None = None  # the wave's production time: the files' creation date


@dataclass
class BatchResult:
    path: str
    pieces: int
    pages: int
    pages_per_piece: int
    first_pages: list[int] = field(default_factory=list)  # 1-based, in the order of job.pieces
    sha256: str = ""
    bytes: int = 0
    shrunk_addresses: int = 0
    truncated_addresses: int = 0
    seconds: float = 0.0


def _fp(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # creation date of files that belong to no wave (samples)
_SUBSETN_DIGITS = "ABCDEFGIJK"  # reportlab's ttfonts.SUBSETN writes subset n as six of these "digits"


class _PdfxInfo(pdfdoc.PDFInfo):
    """The document information dictionary with the PDF/X version keys."""

    def format(self, document: Any) -> bytes:
        d = {
            "Title": pdfdoc.PDFString(self.title), "Subject": pdfdoc.PDFString(self.subject),
            "Author": pdfdoc.PDFString(self.author), "Creator": pdfdoc.PDFString(self.creator),
            "Producer": pdfdoc.PDFString(self.producer),
            "CreationDate": pdfdoc.PDFDate(ts=document._timeStamp), "ModDate": pdfdoc.PDFDate(ts=document._timeStamp),
            "Trapped": pdfdoc.PDFName(PDFX["trapped"]),
            "GTS_PDFXVersion": pdfdoc.PDFString(PDFX["version"]),
            "GTS_PDFXConformance": pdfdoc.PDFString(PDFX["conformance"]),
        }
        return pdfdoc.PDFDictionary(d).format(document)  # type: ignore[no-any-return]


class FixedTimeStamp:
    """A reportlab time stamp for a fixed moment (UTC)."""

    def __init__(self, when: datetime) -> None:
        when = when.astimezone(UTC) if when.tzinfo else when
        self.t = when.replace(tzinfo=UTC).timestamp()
        self.YMDhms = (when.year, when.month, when.day, when.hour, when.minute, when.second)
        self.dhh = self.dmm = 0
        self.tzname = "UTC"


def document_id(title: str, created: datetime) -> str:
    """The file's ID (32 hex digits): the same batch of the same production gets the same ID."""
    return hashlib.md5(f"{title}\n{created.isoformat()}".encode(), usedforsecurity=False).hexdigest()


def subset_tag(doc_id: str, font_name: str, subset: int) -> str:
    """Six capitals that differ per font, subset and file (ISO 32000 §9.6.4), where reportlab's invariant
    mode writes AAAAAA+ for every first subset of every font in every file."""
    digest = hashlib.sha256(f"{doc_id}/{font_name}/{subset}".encode()).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])


class PdfWriter:
    """Turns page-model elements into content-stream operators on one reportlab canvas."""

    def __init__(self, path_for_title: str, layout: LetterLayout | PostcardLayout, title: str, *,
                 subject: str = "", created: datetime | None = None, wave: int = 1, batch: int = 1) -> None:
        fonts.register_fonts()
        rl_config.useA85 = 0  # binary (zlib) streams: no ASCII85 step, 20 % smaller
        self.layout = layout
        # an A4 letter, or a DIN A6 postcard (layouts.postcard)
        w, h = (layout.page_size_mm[0] * K, layout.page_size_mm[1] * K) if layout.postcard else A4
        self.page_h_pt = layout.page_size_mm[1] * K if layout.postcard else PAGE_H_PT
        self.canv = Canvas(path_for_title, pagesize=(w, h), pageCompression=1, invariant=1,
                           initialFontName=fonts.REGULAR, pdfVersion=(1, 3), trimBox=(0, 0, w, h))
        self.doc = self.canv._doc
        info = _PdfxInfo()
        info.title, info.subject, info.creator = title, subject or title, "mailing"
        info.author = layout.campaign.sender.name
        info.producer = "mailing (ReportLab)"
        self.doc.info = info
        created = created or EPOCH
        self.doc._timeStamp = FixedTimeStamp(created)
        self.doc_id = document_id(title, created)
        self.doc._ID = f"\n[<{self.doc_id}><{self.doc_id}>]\n".encode("ascii")
        self._output_intent()
        self.fonts = {name: fonts.font(name) for name in fonts.register_fonts()}
        self.pictures: dict[str, tuple[str, float, float]] = {}  # asset → (form name, w pt, h pt)
        self.pages = 0
        self.wave, self.batch = wave, batch
        self.sheets = 0
        c = layout.campaign
        self.inserter = "none" if layout.postcard else c.production.inserter  # a card is not enclosed
        self.duplex = layout.pages_per_piece == 2 and (c.layout.duplex_back or layout.postcard)
        self.pages_per_sheet = 2 if self.duplex else 1
        self.sheets_per_piece = -(-layout.pages_per_piece // self.pages_per_sheet)
        self._define_forms()

    def _output_intent(self) -> None:
        cat = self.doc.Catalog
        cat.__NoDefault__ = [*type(cat).__NoDefault__, "OutputIntents"]
        cat.OutputIntents = pdfdoc.PDFArray([pdfdoc.PDFDictionary({
            "Type": pdfdoc.PDFName("OutputIntent"), "S": pdfdoc.PDFName("GTS_PDFX"),
            "OutputConditionIdentifier": pdfdoc.PDFString(PDFX["output_condition_identifier"]),
            "OutputCondition": pdfdoc.PDFString(PDFX["output_condition"]),
            "RegistryName": pdfdoc.PDFString(PDFX["registry_name"]),
            "Info": pdfdoc.PDFString(PDFX["output_condition"]),
        })])

    def _tag_subsets(self) -> None:
        """Give every font subset its own tag (see subset_tag); must run before the document is formatted."""
        doc = self.doc
        for fnt in doc.delayedFonts:
            fnt.addObjects(doc)
        doc.delayedFonts = []
        for obj in list(doc.idToObject.values()):
            if not isinstance(obj, pdfdoc.PDFTrueTypeFont):
                continue
            old = str(obj.BaseFont)
            if len(old) < 8 or old[6] != "+":
                continue
            name = old[7:]
            if any(ch not in _SUBSETN_DIGITS for ch in old[:6]):
                continue
            subset = int("".join(str(_SUBSETN_DIGITS.index(ch)) for ch in old[:6]))
            new = f"{subset_tag(self.doc_id, name, subset)}+{name}"
            obj.BaseFont = new
            desc = doc.idToObject.get("fontDescriptor:" + old)
            if desc is not None:
                desc.dict["FontName"] = pdfdoc.PDFName(new)
            cmap = doc.idToObject.get("toUnicodeCMap:" + old)
            if cmap is not None:
                cmap.content = cmap.content.replace(old, new)

    # ------------------------------------------------------------------------------ operators
    def text_ops(self, t: Text, out: list[str]) -> None:
        f = self.fonts[t.font]
        out.append(f"BT 1 0 0 1 {_fp(t.x_mm * K)} {_fp(self.page_h_pt - t.baseline_mm * K)} Tm")
        size = _fp(t.size_pt)
        for subset, chunk in f.splitString(t.text, self.doc):
            out.append(f"{f.getSubsetInternalName(subset, self.doc)} {size} Tf ({escapePDF(chunk)}) Tj")
        out.append("ET")

    def ops(self, elements: Sequence[Element], out: list[str]) -> None:
        for e in elements:
            if isinstance(e, Text):
                self.text_ops(e, out)
            elif isinstance(e, Rect):
                b = e.rect
                xywh = f"{_fp(b.x_mm * K)} {_fp(self.page_h_pt - b.bottom_mm * K)} {_fp(b.width_mm * K)} {_fp(b.height_mm * K)}"
                if e.fill:
                    out.append(f"{xywh} re f")
                if e.stroke_mm:
                    dash = f"[{_fp(e.dash_mm[0] * K)} {_fp(e.dash_mm[1] * K)}] 0 d " if e.dash_mm else ""
                    out.append(f"{_fp(e.stroke_mm * K)} w {dash}{xywh} re S" + (" [] 0 d" if dash else ""))
            elif isinstance(e, Line):
                dash = f"[{_fp(e.dash_mm[0] * K)} {_fp(e.dash_mm[1] * K)}] 0 d " if e.dash_mm else ""
                out.append(f"{_fp(e.width_mm * K)} w {dash}{_fp(e.x1_mm * K)} {_fp(self.page_h_pt - e.y1_mm * K)} m "
                           f"{_fp(e.x2_mm * K)} {_fp(self.page_h_pt - e.y2_mm * K)} l S" + (" [] 0 d" if dash else ""))
            elif isinstance(e, QRSymbol):
                self.qr_ops(e, out)
            elif isinstance(e, Image):
                name, w, h = self.pictures[e.asset]
                self.canv._formsinuse.append(name)  # so the enclosing form or page lists it in its resources
                b = e.rect
                out.append(f"q {_fp(b.width_mm * K / w)} 0 0 {_fp(b.height_mm * K / h)} {_fp(b.x_mm * K)} "
                           f"{_fp(self.page_h_pt - b.bottom_mm * K)} cm /{self.doc.getXObjectName(name)} Do Q")

    def qr_ops(self, q: QRSymbol, out: list[str]) -> None:
        from layouts.qr import path_ops

        m = _fp(g.QR_MODULE_MM * K)
        out.append(f"q {m} 0 0 -{m} {_fp(q.rect.x_mm * K)} {_fp(self.page_h_pt - q.rect.y_mm * K)} cm")
        out.append(path_ops(q.matrix))
        out.append("Q")

    # ---------------------------------------------------------------------------------- forms
    def _form(self, name: str, elements: Sequence[Element]) -> None:
        self.canv.beginForm(name)
        out = [CMYK_BLACK]
        self.ops(elements, out)
        self.canv._code.append("\n".join(out))
        self.canv.endForm()

    def _define_forms(self) -> None:
        lay = self.layout
        for kind, data in lay.asset_data.items():
            if not kind.startswith("enclosure"):
                w, h = assets.draw_form(self.canv, "asset_" + kind, data, self._foreign_tag)
                self.pictures[kind] = ("asset_" + kind, w, h)
        self.enclosure_forms = (assets.enclosure_forms(self.canv, lay.enclosure, self._foreign_tag)
                                if lay.enclosure else [])
        self._form("page", lay.static)
        for k, elements in lay.follow.items():
            self._form(f"follow{k}", elements)
        if lay.back:
            self._form("back", lay.back)
        for blocks in lay.blocks.values():
            for b in blocks:
                if b.template is None and b.elements:
                    self._form("b" + b.key, b.elements)
        self._block_has_form = {b.key: bool(b.elements) for bl in lay.blocks.values() for b in bl if b.template is None}

    # ---------------------------------------------------------------------------------- pages
    def piece(self, piece: PieceData) -> int:
        """Write one piece (all its pages); returns its first page number (1-based)."""
        first = self.pages + 1
        dynamic, placements = self.layout.compose_piece(piece)
        c = self.canv
        n = 0  # page within the piece: the inserter marks the front of every sheet
        for page in range(1, self.layout.letter_pages + 1):
            c.doForm("page" if page == 1 else f"follow{page}")
            code = c._code
            for key, dy, on in placements:
                if on == page and self._block_has_form[key]:
                    code.append(f"q 1 0 0 1 0 {_fp(-dy * K)} cm")
                    c.doForm("b" + key)
                    code.append("Q")
            out = [CMYK_BLACK]
            self.ops([e for e in dynamic if e.page == page], out)
            n += 1
            self._marks(n, out)
            code.append("\n".join(out))
            c.showPage()
            self.pages += 1
            if page == 1 and self.layout.back:
                c.doForm("back")
                on_back = [e for e in dynamic if e.page == 2]  # a postcard's address
                if on_back:
                    back_ops = [CMYK_BLACK]
                    self.ops(on_back, back_ops)
                    c._code.append("\n".join(back_ops))
                n += 1
                self._page_marks(n)  # nothing on the back of a duplex sheet; a second sheet gets its marks
                c.showPage()
                self.pages += 1
        for name in self.enclosure_forms:
            c.doForm(name)
            n += 1
            self._page_marks(n)
            c.showPage()
            self.pages += 1
        return first

    def _foreign_tag(self, font_name: str) -> str:
        """The subset tag of a font inside an imported PDF (logo, enclosure) in this file."""
        return subset_tag(self.doc_id, "imported/" + font_name, 0)

    def _page_marks(self, page_in_piece: int) -> None:
        """The inserter's marks on a page drawn from a form (a duplex back, an enclosure page)."""
        marks: list[str] = []
        self._marks(page_in_piece, marks)
        if marks:
            self.canv._code.append("\n".join([CMYK_BLACK, *marks]))

    def _marks(self, page_in_piece: int, out: list[str]) -> None:
        """The inserter's control marks, on the front page of each sheet (page_in_piece is 1-based)."""
        if self.inserter == "none" or (page_in_piece - 1) % self.pages_per_sheet:
            return
        self.sheets += 1
        sheet = inserter.Sheet(self.wave, self.batch, (self.pages - page_in_piece + 1) // self.layout.pages_per_piece
                               + 1, (page_in_piece - 1) // self.pages_per_sheet + 1, self.sheets_per_piece,
                               self.sheets)
        if self.inserter == "omr":
            self.ops([Rect(b, "inserter", fill=True) for b in inserter.omr_boxes(self.layout.campaign.production.omr,
                                                                                  sheet)], out)
        else:
            matrix = inserter.datamatrix_matrix(inserter.datamatrix_payload(sheet))
            out.append(inserter.image_mask_ops(matrix, inserter.datamatrix_box(matrix.shape[0])))

    def pdf_bytes(self) -> bytes:
        self._tag_subsets()
        data = self.canv.getpdfdata()
        return data if isinstance(data, bytes) else data.encode("latin-1")


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: never a half file under `path`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; as any new file (the CLI's umask is 077)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_batch(job: BatchJob, out_path: str | Path) -> BatchResult:
    """Render the job's pieces into one PDF at out_path (atomically). Pure: no database access."""
    result, data = render_batch_data(job, out_path)
    write_atomic(out_path, data)
    return result


def render_batch_data(job: BatchJob, out_path: str | Path) -> tuple[BatchResult, bytes]:
    """The PDF `render_batch` would write at out_path, as bytes, without writing anything (a worker on
    another machine renders so; the caller writes the file)."""
    t0 = time.perf_counter()
    layout = layout_for(job.campaign, job.letter, job.letter_date)
    c = job.campaign
    writer = PdfWriter(str(out_path), layout, pdf_title(c.name, job.wave, job.batch, c.title),
                       subject=pdf_subject(c, job.wave, job.batch, len(job.pieces), job.letter),
                       created=job.produced_at, wave=job.wave, batch=job.batch)
    first_pages = [writer.piece(p) for p in job.pieces]
    data = writer.pdf_bytes()
    return BatchResult(
        path=str(out_path), pieces=len(job.pieces), pages=writer.pages, pages_per_piece=layout.pages_per_piece,
        first_pages=first_pages, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data),
        shrunk_addresses=layout.shrunk, truncated_addresses=layout.truncated, seconds=time.perf_counter() - t0,
    ), data


# ---------------------------------------------------------------------------------- samples
_SAMPLE_PEOPLE = (
    ("female", "Dr.", "Anna", "Müller", "Hauptstraße", "12", "50667", "Köln"),
    ("male", "", "Łukasz", "Wiśniewski", "Gartenweg", "3a", "10115", "Berlin"),
    ("male", "Prof. Dr.", "Ondřej", "Dvořák", "Am Weißen Stein", "7", "80331", "München"),
    ("female", "", "Zoë", "Ñúñez", "Lindenallee", "101", "20095", "Hamburg"),
    ("none", "", "Alex", "Meyer", "Schillerstraße", "44", "01067", "Dresden"),
)
_ADDRESS_WORD = {"female": "Frau", "male": "Herrn", "none": ""}
_GREETING = {"female": "Sehr geehrte Frau {t}{n},", "male": "Sehr geehrter Herr {t}{n},", "none": "Guten Tag, {f} {n},"}


def sample_pieces(codes: Sequence[str], campaign: Campaign) -> list[PieceData]:
    """Synthetic recipients (with Latin Extended names) for the given codes, variants in turn."""
    variants = [v.key for v in campaign.variants]
    out = []
    for i, code in enumerate(codes):
        sal, title, first, last, street, no, plz, city = _SAMPLE_PEOPLE[i % len(_SAMPLE_PEOPLE)]
        name = " ".join(x for x in (title, first, last) if x)
        top = "Professor " if title.startswith("Prof") and sal == "male" else ("Dr. " if "Dr." in title else "")
        lines = tuple(x for x in (_ADDRESS_WORD[sal], name, f"{street} {no}", f"{plz} {city}") if x)
        out.append(PieceData(
            code=code, variant=variants[i % len(variants)], address_lines=lines,
            greeting=_GREETING[sal].format(t=top, n=last, f=first), display_name=name,
            customer_id=f"K-{100000 + i}",
            merge={"vorname": first, "nachname": last, "titel": title, "firma": "", "strasse": f"{street} {no}",
                   "plz": plz, "ort": city, "kundennummer": f"K-{100000 + i}"},
        ))
    return out


def render_sample_pdf(out_path: str | Path, codes: Sequence[str], campaign: Campaign | None = None, *,
                      letter: str | None = None, letter_date: date | None = None) -> BatchResult:
    """Render one letter per code with synthetic recipients (for round-trip tests and previews).

    campaign defaults to the bundled example campaign; letter picks a follow-up letter text.
    """
    c = campaign or load_campaign(example_campaign_path())
    return render_batch(BatchJob(c, sample_pieces(codes, c), letter=letter, letter_date=letter_date), out_path)
