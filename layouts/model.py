"""The page model: what goes where, in mm from the top-left corner, before any PDF exists.

Composition (layouts.letter) produces these elements; the writer (layouts.render) turns them into PDF
operators. Layout rules ("only the address shows in the window") are tested on these plain numbers.
Every element has a `role` saying what it is (address, qr, checkbox, body, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from layouts import fonts
from layouts.geometry import Box


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text; `x_mm` is its left edge, `baseline_mm` its baseline."""

    x_mm: float
    baseline_mm: float
    text: str
    font: str
    size_pt: float
    role: str
    page: int = 1

    @property
    def width_mm(self) -> float:
        return fonts.width_mm(self.text, self.font, self.size_pt)

    @property
    def box(self) -> Box:
        asc, desc = fonts.ascent_descent(self.font)
        size_mm = self.size_pt * fonts.MM_PER_PT
        return Box(self.x_mm, self.baseline_mm - asc * size_mm, self.width_mm, (asc + desc) * size_mm, self.page)


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle: filled (`fill`) and/or outlined with a line `stroke_mm` wide (centred on the edge)."""

    rect: Box
    role: str
    fill: bool = False
    stroke_mm: float = 0.0
    dash_mm: tuple[float, float] | None = None

    @property
    def page(self) -> int:
        return self.rect.page

    @property
    def box(self) -> Box:
        h = self.stroke_mm / 2
        b = self.rect
        return Box(b.x_mm - h, b.y_mm - h, b.width_mm + 2 * h, b.height_mm + 2 * h, b.page)


@dataclass(frozen=True, slots=True)
class Line:
    x1_mm: float
    y1_mm: float
    x2_mm: float
    y2_mm: float
    width_mm: float
    role: str
    page: int = 1
    dash_mm: tuple[float, float] | None = None

    @property
    def box(self) -> Box:
        h = self.width_mm / 2
        x0, x1 = sorted((self.x1_mm, self.x2_mm))
        y0, y1 = sorted((self.y1_mm, self.y2_mm))
        return Box(x0 - h, y0 - h, x1 - x0 + 2 * h, y1 - y0 + 2 * h, self.page)


@dataclass(frozen=True, slots=True)
class QRSymbol:
    """The printed QR symbol (without quiet zone) in `rect`; `matrix` True = dark module."""

    rect: Box
    matrix: np.ndarray
    payload: str
    role: str = "qr"

    @property
    def page(self) -> int:
        return self.rect.page

    @property
    def box(self) -> Box:
        return self.rect


@dataclass(frozen=True, slots=True)
class Image:
    """A picture from a file (`asset`: "logo" or "signature_image"), scaled into `rect`."""

    rect: Box
    asset: str
    role: str

    @property
    def page(self) -> int:
        return self.rect.page

    @property
    def box(self) -> Box:
        return self.rect


Element = Text | Rect | Line | QRSymbol | Image


@dataclass
class PageModel:
    """All elements of one piece (every page), with absolute positions."""

    elements: list[Element] = field(default_factory=list)
    pages: int = 1

    def on_page(self, page: int) -> list[Element]:
        return [e for e in self.elements if e.page == page]

    def with_role(self, *roles: str) -> list[Element]:
        return [e for e in self.elements if e.role in roles]

    def texts(self, page: int | None = None) -> list[Text]:
        return [e for e in self.elements if isinstance(e, Text) and (page is None or e.page == page)]


def shifted(e: Element, dy_mm: float) -> Element:
    """The element moved down by dy (a static block placed below a text of varying length)."""
    if dy_mm == 0:
        return e
    if isinstance(e, Text):
        return Text(e.x_mm, e.baseline_mm + dy_mm, e.text, e.font, e.size_pt, e.role, e.page)
    if isinstance(e, Rect):
        return Rect(e.rect.shifted(0, dy_mm), e.role, e.fill, e.stroke_mm, e.dash_mm)
    if isinstance(e, Line):
        return Line(e.x1_mm, e.y1_mm + dy_mm, e.x2_mm, e.y2_mm + dy_mm, e.width_mm, e.role, e.page, e.dash_mm)
    if isinstance(e, Image):
        return Image(e.rect.shifted(0, dy_mm), e.asset, e.role)
    return QRSymbol(e.rect.shifted(0, dy_mm), e.matrix, e.payload, e.role)


def on_page(e: Element, page: int, dy_mm: float) -> Element:
    """The element moved down by dy onto another page of the piece (a letter that runs over)."""
    if isinstance(e, Text):
        return Text(e.x_mm, e.baseline_mm + dy_mm, e.text, e.font, e.size_pt, e.role, page)
    if isinstance(e, Image):
        r = e.rect
        return Image(Box(r.x_mm, r.y_mm + dy_mm, r.width_mm, r.height_mm, page), e.asset, e.role)
    if isinstance(e, Line):
        return Line(e.x1_mm, e.y1_mm + dy_mm, e.x2_mm, e.y2_mm + dy_mm, e.width_mm, e.role, page, e.dash_mm)
    raise TypeError(f"{type(e).__name__} does not move to another page")
