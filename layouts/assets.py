"""Pictures and pages a letter takes from files: logo, signature image (SVG, PDF, PNG, JPEG) and
enclosure pages (PDF), all kept as vector where the source is vector.

`natural_size_pt(kind, data)` gives the layout a picture's size; `draw_form(canvas, name, data)` defines
it once per print PDF as a Form XObject of that size (SVG through svglib, PDF pages through pdfrw,
bitmaps through reportlab), so every piece refers to the same object and a logo costs bytes once per
file, not once per letter. `enclosure_pages(data)` turns an enclosure PDF into one form per page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from mailing.errors import MailingError

A4_PT = (595.28, 841.89)


class AssetError(MailingError):
    """A logo, signature or enclosure file that cannot be used; the message names it and what to do."""


def _kind_of(data: bytes) -> str:
    head = data[:512].lstrip()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8"):
        return "bitmap"
    if b"<svg" in data[:4096] or head.startswith(b"<?xml"):
        return "svg"
    raise AssetError("not an SVG, PDF, PNG or JPEG file")


def _to_black(node: Any) -> None:
    """Every fill and stroke colour → its grey value as CMYK black only (the print files are 100 % K), opaque:
    PDF/X-1a allows no transparency, so a half-transparent colour becomes the grey it shows on white paper."""
    from reportlab.lib.colors import CMYKColor, Color

    for attr, opacity in (("fillColor", "fillOpacity"), ("strokeColor", "strokeOpacity")):
        c = getattr(node, attr, None)
        alpha = getattr(c, "alpha", 1.0) if c is not None else 1.0
        if getattr(node, opacity, None) is not None:
            alpha *= float(getattr(node, opacity))
            setattr(node, opacity, None)
        alpha = 1.0 if alpha is None else float(alpha)
        if isinstance(c, Color) and not isinstance(c, CMYKColor):
            grey = 0.299 * c.red + 0.587 * c.green + 0.114 * c.blue
            setattr(node, attr, CMYKColor(0, 0, 0, round((1 - grey) * alpha, 4), alpha=None))  # no alpha: no /ca
        elif isinstance(c, CMYKColor):
            k = min(1.0, c.black + (c.cyan + c.magenta + c.yellow) / 3)
            setattr(node, attr, CMYKColor(0, 0, 0, round(k * alpha, 4), alpha=None))
    for child in getattr(node, "contents", ()) or ():
        _to_black(child)


@lru_cache(maxsize=16)
def _svg(data: bytes) -> Any:
    from svglib.svglib import svg2rlg

    drawing = svg2rlg(io.BytesIO(data))
    if drawing is None or not drawing.width or not drawing.height:
        raise AssetError("SVG without a size (width/height or viewBox); give the file a viewBox")
    _to_black(drawing)
    return drawing


def _grey_bitmap(data: bytes) -> Any:
    """A PNG/JPEG as a greyscale image on white (DeviceGray prints as black only; transparency → white)."""
    from PIL import Image as PILImage
    from reportlab.lib.utils import ImageReader

    img: PILImage.Image = PILImage.open(io.BytesIO(data))
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        img = PILImage.alpha_composite(PILImage.new("RGBA", img.size, (255, 255, 255, 255)), rgba)
    return ImageReader(img.convert("L"))


@lru_cache(maxsize=16)
def _pdf_pages(data: bytes) -> tuple[Any, ...]:
    from pdfrw import PdfReader
    from pdfrw.buildxobj import pagexobj

    try:
        reader = PdfReader(fdata=data)
    except Exception as exc:  # pdfrw raises its own errors and plain ones for broken files
        raise AssetError(f"not a readable PDF ({exc})") from None
    return tuple(pagexobj(p) for p in reader.pages)


def _box(xobj: Any) -> tuple[float, float]:
    x0, y0, x1, y1 = (float(v) for v in xobj.BBox)
    return x1 - x0, y1 - y0


@lru_cache(maxsize=16)
def natural_size_pt(data: bytes) -> tuple[float, float]:
    """Width and height of the picture (first page of a PDF) in points."""
    kind = _kind_of(data)
    if kind == "svg":
        d = _svg(data)
        return float(d.width), float(d.height)
    if kind == "pdf":
        pages = _pdf_pages(data)
        if not pages:
            raise AssetError("PDF without pages")
        return _box(pages[0])
    from reportlab.lib.utils import ImageReader

    w, h = ImageReader(io.BytesIO(data)).getSize()
    return float(w), float(h)


def retag_fonts(xobj: Any, tag_for: Callable[[str], str]) -> None:
    """Give the font subsets inside an imported PDF page the tags of the file it goes into (tag_for(name) →
    six capitals), so that no two files of a package share a subset tag (ISO 32000 §9.6.4)."""
    from pdfrw import PdfName

    seen: set[int] = set()

    def rename(font: Any) -> None:
        if font is None or id(font) in seen:
            return
        seen.add(id(font))
        base = str(font.BaseFont or "")[1:]
        if len(base) > 7 and base[6] == "+" and base[:6].isalpha() and base[:6].isupper():
            new = PdfName(f"{tag_for(base[7:])}+{base[7:]}")
            font.BaseFont = new
            if font.FontDescriptor is not None:
                font.FontDescriptor.FontName = new
        for child in font.DescendantFonts or ():
            rename(child)

    def walk(resources: Any) -> None:
        if resources is None or id(resources) in seen:
            return
        seen.add(id(resources))
        for font in (resources.Font or {}).values():
            rename(font)
        for inner in (resources.XObject or {}).values():
            walk(inner.Resources)

    walk(xobj.Resources)


def draw_form(canvas: Any, name: str, data: bytes,
              tag_for: Callable[[str], str] | None = None) -> tuple[float, float]:
    """Define form `name` holding the picture at its natural size; returns that size in points."""
    from pdfrw.toreportlab import makerl
    from reportlab.graphics import renderPDF

    w, h = natural_size_pt(data)
    kind = _kind_of(data)
    inner = None
    if kind == "pdf":
        page = _pdf_pages(data)[0]
        if tag_for is not None:
            retag_fonts(page, tag_for)
        inner = makerl(canvas, page)
    canvas.beginForm(name, 0, 0, w, h)
    if kind == "svg":
        # the renderer starts every drawing with Helvetica and RGB black selected, which would put an unembedded
        # font and RGB operators into the file; start it with our embedded font and CMYK black instead
        from reportlab.graphics.shapes import STATE_DEFAULTS
        from reportlab.lib.colors import CMYKColor

        from layouts import fonts

        saved = dict(STATE_DEFAULTS)
        STATE_DEFAULTS.update(fontName=fonts.REGULAR, fillColor=CMYKColor(0, 0, 0, 1, alpha=None),
                              strokeColor=CMYKColor(0, 0, 0, 1, alpha=None))
        try:
            renderPDF.draw(_svg(data), canvas, 0, 0)
        finally:
            STATE_DEFAULTS.clear()
            STATE_DEFAULTS.update(saved)
    elif inner is not None:
        canvas.doForm(inner)
    else:
        canvas.drawImage(_grey_bitmap(data), 0, 0, w, h)
    canvas.endForm()
    return w, h


def enclosure_page_count(data: bytes) -> int:
    if _kind_of(data) != "pdf":
        raise AssetError("an enclosure must be a PDF")
    pages = _pdf_pages(data)
    for i, p in enumerate(pages, 1):
        w, h = _box(p)
        if abs(w - A4_PT[0]) > 3 or abs(h - A4_PT[1]) > 3:
            raise AssetError(f"enclosure page {i} is {w / 2.8346:.0f} × {h / 2.8346:.0f} mm; enclosure pages "
                             "must be A4 portrait (210 × 297 mm)")
    return len(pages)


def enclosure_forms(canvas: Any, data: bytes, tag_for: Callable[[str], str] | None = None) -> list[str]:
    """One reportlab form name per enclosure page, defined in this canvas's document (font subsets retagged
    for this file when tag_for is given)."""
    from pdfrw.toreportlab import makerl

    names = []
    for page in _pdf_pages(data):
        if tag_for is not None:
            retag_fonts(page, tag_for)
        names.append(makerl(canvas, page))
    return names
