"""Registration: a decoded QR symbol → the coupon's mapping from coupon millimetres to image pixels.

1. The symbol's corner order (which corner is its top-left) and its version are found by sampling the
   module grid for every corner order and version and scoring the finder, separator and timing patterns;
   this also checks corners from decoders that do not report an orientation (WeChat, zbar).
2. An affine map from the four QR corners predicts where the four registration marks lie.
3. Each mark is looked for near its prediction (a dark solid square of the right size that fills its convex
   hull, closest wins);
   a missing, torn-off or stained mark is simply not found, and a mark that disagrees with the others by
   more than `MARK_OUTLIER_MM` is dropped.
4. The final mapping is an affine fit over QR corners and marks; a homography (perspective of a phone
   photo or an open lid) only when all four marks are found and it fits them clearly better.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from layouts import geometry as g
from mailing.log import get_logger
from scanning.decode import Symbol

log = get_logger(__name__)

MAX_VERSION = 10  # our payloads (12-symbol code, or a response URL) need version 1-4
MIN_PATTERN_SCORE = 0.80  # fraction of finder/separator/timing modules that agree; wrong orders score ~0.5
MARK_SEARCH_MM = 7.0  # the QR-only prediction is off by up to ~2-3 mm at the far marks (measured on skew/warp)
MARK_HALF_RES_PPM = 5.0  # above ~127 dpi the marks are searched at half resolution
MARK_OUTLIER_MM = 1.2  # a mark further than this from the fit of the others is a stain or a scribble
MARK_MIN_SOLIDITY = 0.8  # a mark's blob fills this share of its convex hull at least (bench/ticks.py, phone)
MARK_SEARCH_FAR_MM = 16.0  # second search, around the prediction of the refitted mapping: a phone photo's
# perspective puts the far marks up to ~15 mm from where the QR code alone predicts them


@dataclass(frozen=True)
class Registration:
    """Coupon mm → image px for one coupon."""

    homography: np.ndarray  # 3x3
    marks_found: int  # registration marks that agreed with the fit (0-4)
    px_per_mm: float
    residual_mm: float  # RMS disagreement of the points used for the fit
    version: int
    corners: np.ndarray  # the QR symbol's corners, TL TR BR BL, image px

    @property
    def trusted(self) -> bool:
        """Enough marks that agree for box positions to be believed: else every box is doubtful."""
        return self.marks_found >= g.REG_MIN_MARKS and self.residual_mm <= g.REG_MAX_RESIDUAL_MM

    def to_px(self, pts_mm: np.ndarray) -> np.ndarray:
        pts = np.asarray(pts_mm, np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.homography).reshape(-1, 2)


# --------------------------------------------------------------------------------- symbol orientation

def quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile (0..100) by partial sort: np.percentile costs ~10x more on the small arrays here."""
    flat = values.ravel()
    k = min(flat.size - 1, max(0, int(round(q / 100 * (flat.size - 1)))))
    return float(np.partition(flat, k)[k])

def _pattern(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Module centres (col, row) of finders, separators and timing of an n-module symbol, and dark flags."""
    pts: list[tuple[float, float]] = []
    dark: list[bool] = []
    for r0, c0 in ((0, 0), (0, n - 7), (n - 7, 0)):
        for dr in range(7):
            for dc in range(7):
                ring = max(abs(dr - 3), abs(dc - 3))
                pts.append((c0 + dc + 0.5, r0 + dr + 0.5))
                dark.append(ring != 2)
    for i in range(8):  # separators
        for c, r in ((i, 7), (7, i), (n - 1 - i, 7), (n - 8, i), (i, n - 8), (7, n - 1 - i)):
            pts.append((c + 0.5, r + 0.5))
            dark.append(False)
    for i in range(8, n - 8):  # timing patterns
        pts.append((i + 0.5, 6.5))
        dark.append(i % 2 == 0)
        pts.append((6.5, i + 0.5))
        dark.append(i % 2 == 0)
    return np.array(pts, np.float32), np.array(dark, bool)


_PATTERNS = {v: _pattern(g.qr_modules(v)) for v in range(1, MAX_VERSION + 1)}


def _orders(corners: np.ndarray, oriented: bool) -> list[np.ndarray]:
    """Candidate corner orders TL TR BR BL. The finder layout is symmetric under a mirror about the
    diagonal, so only clockwise orders (as printed; y points down) are tried."""
    if oriented:
        return [corners]
    a, b, c = corners[0], corners[1], corners[2]
    cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    seq = corners if cross > 0 else corners[::-1]
    return [np.roll(seq, -k, axis=0) for k in range(4)]


def orient(image: np.ndarray, symbol: Symbol) -> tuple[np.ndarray, int, float] | None:
    """(corners TL TR BR BL, version, pattern score) of a decoded symbol, or None when no order fits."""
    if symbol.corners is None:
        return None
    corners = symbol.corners.astype(np.float32)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 4
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 4
    h, w = image.shape
    crop = image[max(0, y0):min(h, y1), max(0, x0):min(w, x1)]
    if crop.size == 0:
        return None
    ox, oy = max(0, x0), max(0, y0)
    crop = cv2.GaussianBlur(crop, (3, 3), 0)
    if symbol.version is not None and symbol.version not in _PATTERNS:
        return None  # larger than any coupon's symbol: someone else's QR code
    versions = [symbol.version] if symbol.version else list(range(1, MAX_VERSION + 1))
    best: tuple[float, np.ndarray, int] | None = None
    # try the reported order first; other orders only when it does not fit (WeChat/zbar or a bad corner)
    for pass_oriented in ((True, False) if symbol.oriented else (False,)):
        for quad in _orders(corners, pass_oriented):
            for v in versions:
                n = g.qr_modules(v)
                pts, dark = _PATTERNS[v]
                src = np.array([[0, 0], [n, 0], [n, n], [0, n]], np.float32)
                m = cv2.getPerspectiveTransform(src, quad - np.array([ox, oy], np.float32))
                px = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), m).reshape(-1, 2)
                xi = np.clip(np.round(px[:, 0]).astype(int), 0, crop.shape[1] - 1)
                yi = np.clip(np.round(px[:, 1]).astype(int), 0, crop.shape[0] - 1)
                vals = crop[yi, xi].astype(np.float32)
                lo, hi = quantile(vals, 10), quantile(vals, 90)
                if hi - lo < 20:
                    continue
                score = float(np.mean((vals < (lo + hi) / 2) == dark))
                if best is None or score > best[0]:
                    best = (score, quad, v)
        if best is not None and best[0] >= MIN_PATTERN_SCORE:
            break
    if best is None or best[0] < MIN_PATTERN_SCORE:
        return None
    return best[1], best[2], best[0]


# ----------------------------------------------------------------------------------------- the coupon
def _qr_mm(version: int) -> np.ndarray:
    b = g.qr_box(version)
    return np.array([[b.x_mm, b.y_mm], [b.right_mm, b.y_mm], [b.right_mm, b.bottom_mm], [b.x_mm, b.bottom_mm]], np.float64)


def _mark_centres_mm() -> np.ndarray:
    s = g.REG_MARK_SIZE_MM / 2
    return np.array([[x + s, y + s] for x, y in g.REG_MARKS_MM], np.float64)


def _affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    a = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return np.vstack([sol.T, [0.0, 0.0, 1.0]])


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(np.asarray(pts, np.float64).reshape(-1, 1, 2), h).reshape(-1, 2)


def _local_ppm(h: np.ndarray, pt_mm: np.ndarray) -> float:
    """Image pixels per coupon mm around `pt_mm` under the mapping h (perspective: far parts are smaller)."""
    d = 0.5
    p = _apply(h, np.array([pt_mm, pt_mm + [d, 0.0], pt_mm + [0.0, d]]))
    jac = np.array([p[1] - p[0], p[2] - p[0]]) / d
    return float(np.sqrt(abs(np.linalg.det(jac))))


def _solid(blob: np.ndarray) -> bool:
    """Whether a dark blob fills its convex hull as a printed square does (MARK_MIN_SOLIDITY; 0.92-0.96 on
    phone photos, any rotation and perspective). A letter of the coupon's heading that a phone photo's blur
    has half filled in (the "J" of "Ja,": 0.52-0.61) is taken for a far mark the first search missed, and put
    the boxes 5 mm off, onto the labels."""
    contours, _ = cv2.findContours(blob.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return False
    outline = max(contours, key=cv2.contourArea)
    hull = cv2.contourArea(cv2.convexHull(outline))
    return hull > 0 and cv2.contourArea(outline) >= MARK_MIN_SOLIDITY * hull


def _find_mark(image: np.ndarray, centre: np.ndarray, ppm: float, search_mm: float = MARK_SEARCH_MM) -> np.ndarray | None:
    """Centre (px) of the dark solid square nearest `centre` within `search_mm`, or None. `ppm` is the
    scale expected at the mark (under perspective a far mark is smaller than the QR code suggests)."""
    r = int(search_mm * ppm + g.REG_MARK_SIZE_MM * ppm)
    cx, cy = int(round(centre[0])), int(round(centre[1]))
    h, w = image.shape
    x0, y0, x1, y1 = max(0, cx - r), max(0, cy - r), min(w, cx + r), min(h, cy + r)
    if x1 - x0 < ppm * g.REG_MARK_SIZE_MM or y1 - y0 < ppm * g.REG_MARK_SIZE_MM:
        return None
    win = image[y0:y1, x0:x1]
    f = 1.0
    if ppm > MARK_HALF_RES_PPM:  # a 5 mm mark is >= 20 px at half resolution: found as surely, 4x cheaper
        f = 0.5
        win = cv2.resize(win, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    win = cv2.medianBlur(win, 3)
    paper = quantile(win, 90)
    darkest = quantile(win, 1)
    if paper - darkest < 40:
        return None
    thr = paper - 0.5 * (paper - darkest)
    mask = (win < thr).astype(np.uint8)
    n, labels, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    side = g.REG_MARK_SIZE_MM * ppm * f
    best, best_d = None, float("inf")
    for i in range(1, n):
        area = stats[i, cv2.CC_STAT_AREA]
        # `side` is where the mapping puts the mark; perspective it does not yet know shrinks or stretches
        # a far mark by up to ~25 %, hence the tolerances
        if not 0.4 * side * side <= area <= 2.0 * side * side:
            continue
        x, y = stats[i, cv2.CC_STAT_LEFT], stats[i, cv2.CC_STAT_TOP]
        bw, bh = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]
        if max(bw, bh) > 2.0 * side or min(bw, bh) < 0.5 * side:  # 45° rotated square: 1.41 x side
            continue
        if area < 0.4 * bw * bh:
            continue
        if not _solid(labels[y:y + bh, x:x + bw] == i):
            continue
        c = (cents[i] + 0.5) / f - 0.5 + np.array([x0, y0], np.float64)
        d = float(np.linalg.norm(c - centre))
        if d < best_d and d <= search_mm * ppm:
            best, best_d = c, d
    return best


def register(image: np.ndarray, symbol: Symbol) -> Registration | None:
    """The coupon around a decoded symbol, or None when the symbol's corners make no sense."""
    found = orient(image, symbol)
    if found is None:
        return None
    corners, version, _ = found
    qr_mm = _qr_mm(version)
    qr_px = corners.astype(np.float64)
    h_qr = _affine(qr_mm, qr_px)
    ppm = float(np.sqrt(abs(np.linalg.det(h_qr[:2, :2]))))
    if ppm <= 0.5:
        return None
    centres = _mark_centres_mm()
    qr_centre = qr_mm.mean(axis=0)
    # nearest marks first: each mark found sharpens the prediction of the next. A second search, wider and
    # with the mapping refitted on the marks found (perspective included), finds the far marks a phone
    # photo's foreshortening puts beyond the first search (issue 10: extrapolated ~10 mm off).
    order = sorted(range(len(centres)), key=lambda i: float(np.linalg.norm(centres[i] - qr_centre)))
    got: dict[int, np.ndarray] = {}
    hom = h_qr
    for i in order:  # first every mark where the QR code alone puts it (a flatbed scan: all four, one fit)
        c = _find_mark(image, _apply(h_qr, centres[i:i + 1])[0], ppm, MARK_SEARCH_MM)
        if c is not None:
            got[i] = c
    if got and len(got) < len(centres):
        hom = _fit_marks(qr_mm, qr_px, got)
    for search_mm in ((MARK_SEARCH_MM, MARK_SEARCH_FAR_MM, MARK_SEARCH_FAR_MM) if len(got) < len(centres) else ()):
        for i in order:
            if i in got:
                continue
            # the affine prediction first (crumpled paper, a skewed scan); the perspective one when that
            # finds nothing (a phone photo), which rests on few points until three marks are known
            for h in (hom, _fit_marks(qr_mm, qr_px, got, perspective=True)) if got else (hom,):
                c = _find_mark(image, _apply(h, centres[i:i + 1])[0], _local_ppm(h, centres[i]), search_mm)
                if c is not None:  # kept for now: marks that disagree are dropped below, on the final fit
                    got[i] = c
                    hom = _fit_marks(qr_mm, qr_px, got)
                    break
    # drop marks that disagree with the rest (a stain or scribble that happens to look like a square)
    hom = _fit_marks(qr_mm, qr_px, got)
    while got:
        worst, err = _worst_mm(hom, qr_mm, qr_px, got, ppm)
        if err <= MARK_OUTLIER_MM or worst < 0:
            break
        log.debug("registration mark %d dropped (%.2f mm off)", worst, err)
        del got[worst]
        hom = _fit_marks(qr_mm, qr_px, got)
    src = np.vstack([qr_mm, *[centres[i] for i in sorted(got)]])
    dst = np.vstack([qr_px, *[got[i] for i in sorted(got)]])
    res = np.linalg.norm(_apply(hom, src) - dst, axis=1) / ppm
    return Registration(hom, len(got), ppm, float(np.sqrt(np.mean(res ** 2))), version, corners)


def _fit_marks(qr_mm: np.ndarray, qr_px: np.ndarray, got: dict[int, np.ndarray],
               perspective: bool = False) -> np.ndarray:
    """The mapping from the QR corners and the marks found: `_fit`'s choice, or a homography when asked
    (for predicting far marks only; it needs two marks besides the QR corners)."""
    centres = _mark_centres_mm()
    keys = sorted(got)
    src = np.vstack([qr_mm, *[centres[i] for i in keys]])
    dst = np.vstack([qr_px, *[got[i] for i in keys]])
    if perspective and len(keys) >= 2:
        hom, _ = cv2.findHomography(src, dst, 0)
        if hom is not None:
            return np.asarray(hom, np.float64)
    return _fit(src, dst, len(keys))


def _worst_mm(h: np.ndarray, qr_mm: np.ndarray, qr_px: np.ndarray, got: dict[int, np.ndarray],
              ppm: float) -> tuple[int, float]:
    """(mark, mm) of the found mark furthest from where the mapping puts it; QR corners count as -1."""
    centres = _mark_centres_mm()
    worst, err = -1, float(np.max(np.linalg.norm(_apply(h, qr_mm) - qr_px, axis=1)) / ppm)
    for i, c in got.items():
        e = float(np.linalg.norm(_apply(h, centres[i:i + 1])[0] - c)) / _local_ppm(h, centres[i])
        if e > err:
            worst, err = i, e
    return worst, err


def _fit(src: np.ndarray, dst: np.ndarray, marks: int) -> np.ndarray:
    """Affine unless three or more marks are there and perspective explains them clearly better (a phone
    photo, an open lid). With fewer the perspective terms rest on the QR corners and the marks on one side,
    and swing the far boxes by millimetres (and such a coupon is not trusted for confident ticks)."""
    aff = _affine(src, dst)
    if marks < 3:
        return aff
    hom, _ = cv2.findHomography(src, dst, 0)
    if hom is None:
        return aff
    hom = np.asarray(hom, np.float64)
    rms_a = float(np.sqrt(np.mean(np.sum((_apply(aff, src) - dst) ** 2, axis=1))))
    rms_h = float(np.sqrt(np.mean(np.sum((_apply(hom, src) - dst) ** 2, axis=1))))
    return hom if rms_h < g.REG_PERSPECTIVE_GAIN * rms_a else aff
