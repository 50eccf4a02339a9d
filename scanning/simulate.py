"""Simulated returns: pen ticks on rasterised coupons and the damage a scanner, fax or phone does.

Used by `mailing demo` (simulated returns from the real print PDFs), the round-trip tests and the scan
benchmark. Every function takes and returns a greyscale uint8 numpy image (white = 255) and draws its
randomness from the `random.Random` it is given, so a corpus is reproducible.
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np

from layouts import geometry as g


def mm_to_px(mm: float, dpi: float) -> int:
    return int(round(mm * dpi / g.MM_PER_INCH))


def box_px(box: g.Box, dpi: float, origin_y_mm: float = 0.0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in pixels of a box in mm; origin_y_mm shifts page coordinates to a crop."""
    return (mm_to_px(box.x_mm, dpi), mm_to_px(box.y_mm - origin_y_mm, dpi),
            mm_to_px(box.right_mm, dpi), mm_to_px(box.bottom_mm - origin_y_mm, dpi))


def render_pdf_page(pdf: str | Path, page: int, dpi: float = 200) -> np.ndarray:
    """Rasterise one page (1-based) of a PDF to greyscale, as a scanner would see the printed sheet."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        bitmap = doc[page - 1].render(scale=dpi / 72, grayscale=True)
        return np.array(bitmap.to_pil().convert("L"))
    finally:
        doc.close()


# ------------------------------------------------------------------------------------ pen marks
def _pen(img: np.ndarray, pts: list[tuple[float, float]], width: int, ink: int) -> None:
    arr = np.array([[int(x), int(y)] for x, y in pts], dtype=np.int32)
    cv2.polylines(img, [arr], False, ink, thickness=max(1, width), lineType=cv2.LINE_AA)


def tick(img: np.ndarray, box: tuple[int, int, int, int], rng: random.Random, style: str | None = None) -> str:
    """Mark a tick box the way people do: a tick, a cross, a filled box or a stroke that spills over."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    style = style or rng.choice(["tick", "tick", "cross", "cross", "fill", "spill"])
    pen = max(2, int(round(w * rng.uniform(0.08, 0.14))))
    ink = rng.randint(10, 70)
    jx = lambda f: x0 + w * (f + rng.uniform(-0.06, 0.06))  # noqa: E731
    jy = lambda f: y0 + h * (f + rng.uniform(-0.06, 0.06))  # noqa: E731
    if style == "tick":
        _pen(img, [(jx(0.15), jy(0.55)), (jx(0.42), jy(0.85)), (jx(0.9), jy(0.12))], pen, ink)
    elif style == "cross":
        _pen(img, [(jx(0.12), jy(0.12)), (jx(0.88), jy(0.88))], pen, ink)
        _pen(img, [(jx(0.88), jy(0.12)), (jx(0.12), jy(0.88))], pen, ink)
    elif style == "fill":
        for k in range(8):
            f = 0.12 + k * 0.1
            _pen(img, [(jx(0.12), jy(f)), (jx(0.88), jy(f + 0.05))], pen, ink)
    else:  # a tick whose long stroke runs far beyond the box
        _pen(img, [(jx(0.2), jy(0.5)), (jx(0.45), jy(0.8)), (x0 + w * 1.8, y0 - h * 0.9)], pen, ink)
    return style


def scribble(img: np.ndarray, region: tuple[int, int, int, int], rng: random.Random, strokes: int = 3) -> None:
    """Handwriting-like strokes inside a region (beside the code, or across it for an unreadable one)."""
    x0, y0, x1, y1 = region
    for _ in range(strokes):
        pts = [(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(6)]
        _pen(img, pts, rng.randint(2, 4), rng.randint(20, 80))


# -------------------------------------------------------------------------------- scanner damage
def rotate(img: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate about the centre, growing the canvas so nothing is cut off; white fill."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def noise(img: np.ndarray, rng: random.Random, sigma: float) -> np.ndarray:
    gen = np.random.default_rng(rng.randrange(2**32))
    return np.clip(img.astype(np.float32) + gen.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
    return img if decoded is None else np.asarray(decoded, dtype=np.uint8)


def bitonal(img: np.ndarray) -> np.ndarray:
    _, out = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return out


def low_contrast(img: np.ndarray, lo: int = 90, hi: int = 230) -> np.ndarray:
    return (lo + img.astype(np.float32) * (hi - lo) / 255.0).astype(np.uint8)


def coffee_stain(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A translucent brown ring and blot, as grey."""
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    r = rng.uniform(0.08, 0.18) * min(h, w) + 10
    cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
    yy, xx = np.ogrid[:h, :w]
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    blot = np.clip(1 - d / r, 0, 1) * rng.uniform(0.15, 0.3)
    ring = np.exp(-((d - r) ** 2) / (2 * (r * 0.04) ** 2)) * 0.35
    out *= 1 - np.clip(blot + ring, 0, 0.6)
    return np.clip(out, 0, 255).astype(np.uint8)


def fold(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A fold line: a dark crease with a shadow on one side."""
    h, w = img.shape[:2]
    y = int(rng.uniform(0.2, 0.8) * h)
    out = img.astype(np.float32)
    for dy in range(-6, 7):
        yy = y + dy
        if 0 <= yy < h:
            out[yy] *= 0.75 + 0.25 * min(1.0, abs(dy) / 6)
    return out.astype(np.uint8)


def crumple(img: np.ndarray, dpi: float, rng: random.Random, cell_mm: float = 12.0,
            amplitude_mm: float | None = None) -> np.ndarray:
    """A crumpled sheet flattened on the glass: a smooth elastic warp, cells of ~half a QR code
    (as in docs/measurements.md §Degradation classes, crumple_*), up to ~0.45 mm displacement."""
    amp = (amplitude_mm if amplitude_mm is not None else rng.uniform(0.15, 0.45)) * dpi / g.MM_PER_INCH
    h, w = img.shape[:2]
    gen = np.random.default_rng(rng.randrange(2**32))
    cell = max(4, mm_to_px(cell_mm, dpi))
    small = (max(2, h // cell + 2), max(2, w // cell + 2))
    dx = cv2.resize(gen.uniform(-1, 1, small).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(gen.uniform(-1, 1, small).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + dx * amp, ys + dy * amp, cv2.INTER_LINEAR, borderValue=255)


def photocopy(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Higher contrast, toner speckle, a slight shift in scale."""
    out = cv2.convertScaleAbs(img, alpha=1.4, beta=-60)
    gen = np.random.default_rng(rng.randrange(2**32))
    speckle = gen.random(out.shape) < 0.002
    out[speckle] = 0
    scale = rng.uniform(0.97, 1.03)
    return cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def fax(img: np.ndarray, dpi: float) -> np.ndarray:
    """Standard fax: 204 x 98 dpi bitonal, then back to square pixels at 204 dpi as a fax server would."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (int(w * 204 / dpi), int(h * 98 / dpi)), interpolation=cv2.INTER_AREA)
    small = bitonal(small)
    return cv2.resize(small, (small.shape[1], int(small.shape[0] * 204 / 98)), interpolation=cv2.INTER_NEAREST)


def scanner(img: np.ndarray, rng: random.Random, kind: str | None = None,
            dpi: float = 200) -> tuple[np.ndarray, str]:
    """One plausible scanner result; returns the image and the name of what was done."""
    kind = kind or rng.choice(["clean", "skew", "rotate", "jpeg", "noise", "bitonal", "lowcontrast",
                               "coffee", "fold", "crumple", "photocopy", "blur"])
    if kind == "skew":
        img = rotate(img, rng.uniform(-5, 5))
    elif kind == "rotate":
        img = rotate(img, rng.choice([90, 180, 270]) + rng.uniform(-2, 2))
    elif kind == "jpeg":
        img = jpeg(img, 30)
    elif kind == "noise":
        img = noise(img, rng, 18)
    elif kind == "bitonal":
        img = bitonal(rotate(img, rng.uniform(-2, 2)))
    elif kind == "lowcontrast":
        img = low_contrast(img)
    elif kind == "coffee":
        img = coffee_stain(img, rng)
    elif kind == "fold":
        img = fold(img, rng)
    elif kind == "crumple":
        img = crumple(img, dpi, rng)
    elif kind == "photocopy":
        img = photocopy(img, rng)
    elif kind == "blur":
        img = blur(img, 1.2)
    return img, kind

