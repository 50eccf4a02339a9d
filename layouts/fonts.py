"""The fonts every print file embeds (shipped in layouts/fonts; never system fonts).

Letter text uses a typeface family (`[letter] typeface`, `FAMILIES`): Carlito by default (SIL Open Font
Licence, from Debian's fonts-crosextra-carlito; a humanist sans metric-compatible with Calibri, with the
German and Latin Extended letters), DejaVu Sans as the fallback. The address block, return line and the
coupon stay in DejaVu Sans: its capitals (0.729 em, 2.57 mm at 10 pt) meet Deutsche Post's 2.5 mm where
Carlito's (0.644 em, 2.27 mm) would not (docs/domain-standards.md §Address field).
DejaVu covers Latin Extended (Łukasz Wiśniewski, Ondřej Dvořák, Zoë, Ñúñez). `register_fonts()` is
idempotent and cheap after the first call; reportlab embeds only the glyphs used (subsets).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).with_name("fonts")
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
MONO = "DejaVuSansMono"
CARLITO, CARLITO_BOLD = "Carlito", "Carlito-Bold"
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf", MONO: "DejaVuSansMono.ttf",
          CARLITO: "Carlito-Regular.ttf", CARLITO_BOLD: "Carlito-Bold.ttf"}
# [letter] typeface → (regular, bold) font names
FAMILIES: dict[str, tuple[str, str]] = {"carlito": (CARLITO, CARLITO_BOLD), "dejavu": (REGULAR, BOLD)}
MM_PER_PT = 25.4 / 72.0


@cache
def register_fonts() -> tuple[str, ...]:
    for name, file in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    return tuple(_FILES)


def font(name: str) -> TTFont:
    register_fonts()
    f = pdfmetrics.getFont(name)
    assert isinstance(f, TTFont)  # noqa: S101 - only our TrueType fonts are registered under these names
    return f


def width_mm(text: str, name: str, size_pt: float) -> float:
    register_fonts()
    return float(pdfmetrics.stringWidth(text, name, size_pt)) * MM_PER_PT


# Accented capitals (Ñ, Ö, Ł with marks) reach about 0.93 em in DejaVu, above the font's nominal ascent
# (0.76); layout checks use the taller figure so an accent never peeks out of a box.
ACCENTED_CAP_EM = 0.93


@cache
def ascent_descent(name: str) -> tuple[float, float]:
    """Ascent and descent (positive) in em: the box every glyph of the font stays inside."""
    face = font(name).face
    return max(face.ascent / 1000.0, ACCENTED_CAP_EM), -face.descent / 1000.0


def missing_glyphs(text: str, name: str = REGULAR) -> set[str]:
    """Characters the font cannot print (they would come out as empty boxes)."""
    cmap = font(name).face.charToGlyph
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}
