"""A reproducible round-trip corpus: render letters → rasterise → tick → degrade → (save) → truth.

`letter_pages` renders real letters with the project's renderer (layouts.render) and rasterises them with
pypdfium2, exactly as a printed letter would look to a scanner before any damage. The corpus then varies
resolution (150/200/300 dpi), cut-off or whole-page returns, tick styles, paper damage, geometry and
scanner damage; every case carries its truth (code and ticked slots).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layouts import geometry as g
from tests.scanning import degrade as d


@dataclass
class Case:
    image: np.ndarray
    dpi: float
    truths: list[d.Truth]
    label: str


def rasterise(pdf: Path, dpi: float) -> list[np.ndarray]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [np.asarray(doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")).copy()
                for i in range(len(doc))]
    finally:
        doc.close()


def coupon_pages(codes: list[str], dpi: float, workdir: Path) -> list[tuple[np.ndarray, int]]:
    """(page image, page index of the coupon) per code: the coupon sits on that page of the letter."""
    from layouts.render import render_sample_pdf

    out = workdir / f"letters-{int(dpi)}.pdf"
    result = render_sample_pdf(out, codes)
    pages = rasterise(out, dpi)
    # the coupon is on the first page of each piece (layouts.geometry: bottom third of page 1)
    return [(pages[p - 1], p - 1) for p in result.first_pages]


def code_for(rng: random.Random) -> str:
    from mailing.codes import check_symbol

    data = "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(11))
    return data + check_symbol(data)


def build(n: int, seed: int, workdir: Path, dpis: tuple[int, ...] = (150, 200, 300)) -> Iterator[Case]:
    """n single-coupon cases cycling through every damage (and a few multi-coupon flatbed pages)."""
    rng = random.Random(seed)
    codes = [code_for(rng) for _ in range(n)]
    by_dpi: dict[int, list[int]] = {dpi: [] for dpi in dpis}
    for i in range(n):
        by_dpi[dpis[i % len(dpis)]].append(i)
    workdir.mkdir(parents=True, exist_ok=True)
    for dpi, idx in by_dpi.items():
        if not idx:
            continue
        pages = coupon_pages([codes[i] for i in idx], dpi, workdir)
        for k, i in enumerate(idx):
            page = pages[k][0].copy()
            truth = d.Truth(codes[i])
            slots = [s for s in range(3) if rng.random() < 0.45]
            d.tick_boxes(page, dpi, g.COUPON_TOP_MM, slots, rng, truth)
            pk = d.PAPER_KINDS[i % len(d.PAPER_KINDS)]
            page = d.paper(page, pk, dpi, g.COUPON_TOP_MM, rng)
            whole = i % 4 == 0
            img = page if whole else d.cut_coupon(page, dpi)
            gk = d.GEOMETRY_KINDS[(i // 2) % len(d.GEOMETRY_KINDS)]
            img = d.geometry(img, gk, rng)
            sk = d.SCANNER_KINDS[(i // 3) % len(d.SCANNER_KINDS)]
            img = d.scanner(img, sk, dpi, rng)
            out_dpi = 204.0 if sk == "fax" else float(dpi)
            truth.damage = [pk, gk, sk, "page" if whole else "coupon"]
            yield Case(img, out_dpi, [truth], f"{dpi}dpi/{'/'.join(truth.damage)}")
