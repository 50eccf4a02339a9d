"""Save corpus cases as a scanner would deliver them: multi-page PDF, multi-page TIFF G4, JPEG, PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.scanning.corpus import Case


def _bitonal(img: np.ndarray) -> Image.Image:
    import cv2

    _, bw = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return Image.fromarray(bw).convert("1")


def save_stack(cases: list[Case], folder: Path) -> dict[tuple[str, int], Case]:
    """Cases spread over one PDF, one G4 TIFF and single JPEG/PNG files; (path, page) → case."""
    folder.mkdir(parents=True, exist_ok=True)
    where: dict[tuple[str, int], Case] = {}
    pdf = [c for i, c in enumerate(cases) if i % 4 == 0]
    tif = [c for i, c in enumerate(cases) if i % 4 == 1]
    single = [c for i, c in enumerate(cases) if i % 4 >= 2]
    if pdf:
        path = folder / "stack.pdf"
        ims = [Image.fromarray(c.image) for c in pdf]
        ims[0].save(path, save_all=True, append_images=ims[1:], resolution=pdf[0].dpi)
        # Pillow writes one resolution for all pages: pages of other dpi get a wrong page size, as some
        # scanner software does; the scanner takes its scale from the QR code, not from the file
        where.update({(str(path), n + 1): c for n, c in enumerate(pdf)})
    if tif:
        path = folder / "stack.tif"
        ims = [_bitonal(c.image) for c in tif]
        ims[0].save(path, save_all=True, append_images=ims[1:], compression="group4", dpi=(tif[0].dpi, tif[0].dpi))
        where.update({(str(path), n + 1): c for n, c in enumerate(tif)})
    for n, c in enumerate(single):
        if n % 2:
            p = folder / f"single-{n:03d}.png"
            Image.fromarray(c.image).save(p, dpi=(c.dpi, c.dpi))
        else:
            p = folder / f"single-{n:03d}.jpg"
            Image.fromarray(c.image).save(p, dpi=(c.dpi, c.dpi), quality=75)
        where[(str(p), 1)] = c
    return where
