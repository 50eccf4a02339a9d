"""The writer: page model → print PDF (reportlab), one batch at a time, a pure function of plain data.

`render_batch(job, out_path)` knows nothing of the database: it gets the campaign and a list of
`PieceData` and writes one PDF atomically (temporary file + os.replace). The wave's static page and each
variant's static text blocks are drawn once per PDF as Form XObjects; per piece only what varies is
written (address, customer number, greeting, merge paragraphs, name, code, QR as one merged path), as raw
content-stream operators. All text and marks are 100 % K in CMYK; fonts are embedded as subsets;
`invariant=1` makes the bytes reproducible (a fixed creation date, no random document id): the same
batch renders to the same bytes, which is what makes a reprint byte-identical. reportlab keeps a PDF's pages in memory until it is saved,
so memory grows with the batch size, never with the size of the wave.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfgen.canvas import Canvas

from layouts import fonts
from layouts import geometry as g
from layouts.letter import LetterLayout, PieceData
from layouts.model import Element, Line, QRSymbol, Rect, Text
from mailing.config import Campaign, example_campaign_path, load_campaign
from mailing.package import pdf_title

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


class PdfWriter:
    """Turns page-model elements into content-stream operators on one reportlab canvas."""

    def __init__(self, path_for_title: str, layout: LetterLayout, title: str) -> None:
        fonts.register_fonts()
        rl_config.useA85 = 0  # binary (zlib) streams: no ASCII85 step, 20 % smaller
        self.layout = layout
        self.canv = Canvas(path_for_title, pagesize=A4, pageCompression=1, invariant=1,
                           initialFontName=fonts.REGULAR)
        self.canv.setTitle(title)
        self.canv.setCreator("mailing")
        self.canv.setAuthor(layout.campaign.sender.name)
        self.doc = self.canv._doc
        self.fonts = {name: fonts.font(name) for name in (fonts.REGULAR, fonts.BOLD, fonts.MONO)}
        self.pages = 0
        self._define_forms()

    # ------------------------------------------------------------------------------ operators
    def text_ops(self, t: Text, out: list[str]) -> None:
        f = self.fonts[t.font]
        out.append(f"BT 1 0 0 1 {_fp(t.x_mm * K)} {_fp(PAGE_H_PT - t.baseline_mm * K)} Tm")
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
                xywh = f"{_fp(b.x_mm * K)} {_fp(PAGE_H_PT - b.bottom_mm * K)} {_fp(b.width_mm * K)} {_fp(b.height_mm * K)}"
                if e.fill:
                    out.append(f"{xywh} re f")
                if e.stroke_mm:
                    dash = f"[{_fp(e.dash_mm[0] * K)} {_fp(e.dash_mm[1] * K)}] 0 d " if e.dash_mm else ""
                    out.append(f"{_fp(e.stroke_mm * K)} w {dash}{xywh} re S" + (" [] 0 d" if dash else ""))
            elif isinstance(e, Line):
                dash = f"[{_fp(e.dash_mm[0] * K)} {_fp(e.dash_mm[1] * K)}] 0 d " if e.dash_mm else ""
                out.append(f"{_fp(e.width_mm * K)} w {dash}{_fp(e.x1_mm * K)} {_fp(PAGE_H_PT - e.y1_mm * K)} m "
                           f"{_fp(e.x2_mm * K)} {_fp(PAGE_H_PT - e.y2_mm * K)} l S" + (" [] 0 d" if dash else ""))
            elif isinstance(e, QRSymbol):
                self.qr_ops(e, out)

    def qr_ops(self, q: QRSymbol, out: list[str]) -> None:
        from layouts.qr import path_ops

        m = _fp(g.QR_MODULE_MM * K)
        out.append(f"q {m} 0 0 -{m} {_fp(q.rect.x_mm * K)} {_fp(PAGE_H_PT - q.rect.y_mm * K)} cm")
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
        self._form("page", lay.static)
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
        c.doForm("page")
        code = c._code
        for key, dy in placements:
            if self._block_has_form[key]:
                code.append(f"q 1 0 0 1 0 {_fp(-dy * K)} cm")
                c.doForm("b" + key)
                code.append("Q")
        out = [CMYK_BLACK]
        self.ops(dynamic, out)
        code.append("\n".join(out))
        c.showPage()
        self.pages += 1
        if self.layout.back:
            c.doForm("back")
            c.showPage()
            self.pages += 1
        return first

    def pdf_bytes(self) -> bytes:
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
    layout = LetterLayout(job.campaign, job.letter, job.letter_date)
    writer = PdfWriter(str(out_path), layout, pdf_title(job.campaign.name, job.wave, job.batch))
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
