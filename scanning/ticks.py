"""Tick boxes: a registered coupon → one reading per box slot (score, state, crop).

Each box is resampled from the image into a patch at `PATCH_PX_PER_MM` through the coupon's mapping, so
the measurement is the same at 150, 200 or 300 dpi, with room around it for marks that leave the box (a
circle around it, an "X" beside it). The printed border is then located within ±`TICK_ALIGN_SEARCH_MM`
(SDAPS-style correlation search), which absorbs what the mapping gets wrong on crumpled paper. Then:

1. **Border as evidence of place.** Each of the four sides must be found dark along most of its length
   where the border search put it; a box that lands on label text or blank paper (a registration gone
   wrong) is doubtful, never empty or ticked.
2. **Per-coupon calibration.** Ink is a pixel darker than the local paper (the box's surroundings, so a
   coffee stain or grey recycled paper shifts it too) by a threshold set per coupon: the emptiest box of the
   same coupon (the blank paper beside them) shows how dark paper texture, fibres and scanner noise get
   (the 99th percentile), and the threshold sits above that, between `TICK_INK_LEVEL_MIN` and `TICK_INK_LEVEL` of the paper-to-border
   contrast. A light ballpoint is ink on a clean scan; fibres on recycled paper are not.
3. **Score**: the share of the interior within `TICK_STROKE_REACH_MM` of a stroke (specks removed), so a
   thin slash counts by its length, not its 0.2 mm width.
4. **Strokes through the border** (a check mark running over it, a cross larger than the box): ink on both
   sides of the border at the same place lets a smaller interior score count as ticked.
5. **A circle around the box**: ink all round in the ring just outside the border is a tick.
6. **A correction** (a filled box with an "X" beside it; any marked box with one): doubtful, for a person to decide.

7. **A bitonal scan** (a fax, a black-and-white scanner setting): a light ballpoint can vanish under the
   threshold without a trace. The coupon's boxes are believed only on the evidence of the same coupon's pen:
   a confidently ticked box whose strokes are solid (TICK_BITONAL_PEN_MIN_MM wide on average) or came
   through whole (`unbroken`) shows the pen survives the threshold. Without such a tick every box is
   doubtful: an empty-looking one may hold a mark that vanished, a ticked one may be a correction whose "X"
   vanished. An empty-looking box holding dots (what is left of a stroke) is doubtful too.
8. **Stains**: ink running across the box's patch (a coffee rim, a crease) is never a tick, only doubt, and
   a lone rim band across an empty box leaves it empty; a blot under the box is judged against the paper
   just outside its four sides; what is darker than a stain gets near the box (a pen touching the rim) stays
   ink.

A coupon whose registration is not trusted (fewer than three marks, or a poor fit: Registration.trusted)
gets only doubtful boxes. Thresholds and why they have their values: layouts.geometry, tick-box section.
All CHECKBOX_SLOTS slots can be measured; matching keeps the first n.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import cv2
import numpy as np

from layouts import geometry as g
from scanning.register import Registration, quantile
from scanning.results import BoxReading, TickState
from scanning.snippets import png_bytes, warp

PATCH_PX_PER_MM = 10.0  # 0.1 mm per patch pixel: finer than any scan we read, so nothing is lost
PATCH_MARGIN_MM = 4.0  # context around the box (paper level, circles around it, the crop people see)
PATCH_LEFT_MM = 9.0  # more on the left, where an "X" beside a corrected box goes (the label is on the right)
K = PATCH_PX_PER_MM


def classify(score: float) -> TickState:
    """The state by interior score alone (no border, circle or correction evidence)."""
    if score <= g.TICK_EMPTY_MAX:
        return "empty"
    if score >= g.TICK_TICKED_MIN:
        return "ticked"
    return "doubtful"


@dataclass
class _Box:
    """One box's patch and what is measured before the coupon's calibration is known."""

    slot: int
    patch: np.ndarray  # grey, the box at (x0, y0) px
    dark: np.ndarray  # float32 paper level minus the (median-smoothed) patch, >= 0
    x0: int
    y0: int
    contrast: float  # paper to printed border, grey levels
    border_ok: bool
    noise: float  # 99th percentile darkness of the blank paper beside the box: paper and scanner noise


def _patch(image: np.ndarray, reg: Registration, slot: int) -> np.ndarray:
    box = g.checkbox_box(slot)
    ox, oy = box.x_mm - PATCH_LEFT_MM, box.y_mm - PATCH_MARGIN_MM
    w = int(round((box.width_mm + PATCH_LEFT_MM + PATCH_MARGIN_MM) * K))
    h = int(round((box.height_mm + 2 * PATCH_MARGIN_MM) * K))
    # patch px → coupon mm → image px
    to_mm = np.array([[1 / K, 0, ox], [0, 1 / K, oy], [0, 0, 1]], np.float64)
    m = reg.homography @ to_mm
    if reg.px_per_mm <= K * 1.3:
        return warp(image, m, (w, h), border=None)
    # the image is finer than the patch (300 dpi = 11.8 px/mm): warp at native scale, then reduce (antialiased)
    f = reg.px_per_mm / K
    m = m @ np.diag([1 / f, 1 / f, 1.0])
    big = warp(image, m, (int(round(w * f)), int(round(h * f))), border=None)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)


def _geometry() -> tuple[int, int, int, int]:
    """(box x0, box y0, side, border width) in patch px, box where the mapping puts it."""
    return (int(round(PATCH_LEFT_MM * K)), int(round(PATCH_MARGIN_MM * K)), int(round(g.CHECKBOX_SIZE_MM * K)),
            max(2, int(round(g.CHECKBOX_LINE_MM * K))))


def _align(dark: np.ndarray) -> tuple[int, int]:
    """Top-left (px) of the printed border that best explains the patch: border dark, interior light.

    The correlation with a zero-mean ring template (1 on the border, -k inside) is computed from an
    integral image, as sum(square) - (1 + k) * sum(inner square): the same response as cv2.matchTemplate
    with that template, in less than half its time (0.04 instead of 0.1 ms a box)."""
    bx, by, s, lw = _geometry()
    r = int(round(g.TICK_ALIGN_SEARCH_MM * K))
    inner = s - 2 * lw
    k = (s * s - inner * inner) / (inner * inner)
    region = dark[by - r:by + s + r, bx - r:bx + s + r].astype(np.float64)
    ii = cv2.integral(region)
    n = 2 * r + 1

    def box(off: int, size: int) -> np.ndarray:
        a, b = off, off + size
        return ii[b:b + n, b:b + n] - ii[a:a + n, b:b + n] - ii[b:b + n, a:a + n] + ii[a:a + n, a:a + n]

    resp = box(0, s) - (1 + k) * box(lw, inner)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    resp = resp - 0.02 * resp.max() * np.hypot(xx, yy) / max(r, 1)  # prefer the predicted place on ties
    _, best, _, loc = cv2.minMaxLoc(resp)
    if best <= 0:
        return bx, by
    return bx + loc[0] - r, by + loc[1] - r


def _sides_dark(dark: np.ndarray, x0: int, y0: int) -> list[float]:
    """Median darkness along each of the four printed sides (the darkest line across the side's width)."""
    _, _, s, lw = _geometry()
    p = 2  # the border may sit a pixel or two off after alignment on a warped or resampled scan
    top = dark[y0 - p:y0 + lw + p, x0:x0 + s].max(axis=0)
    bottom = dark[y0 + s - lw - p:y0 + s + p, x0:x0 + s].max(axis=0)
    left = dark[y0:y0 + s, x0 - p:x0 + lw + p].max(axis=1)
    right = dark[y0:y0 + s, x0 + s - lw - p:x0 + s + p].max(axis=1)
    return [quantile(v, 50) for v in (top, bottom, left, right)]


@functools.lru_cache(maxsize=8)
def _outside(shape: tuple[int, int]) -> np.ndarray:
    """Mask (uint8) of the patch without the box and 0.6 mm around it: where the paper level is taken."""
    bx, by, s, _ = _geometry()
    out = np.ones(shape, np.uint8)
    pad = int(0.6 * K)
    out[by - pad:by + s + pad, bx - pad:bx + s + pad] = 0
    out.flags.writeable = False
    return out


def _paper_level(smooth: np.ndarray) -> float:
    """The 75th percentile of the patch around the box, from a histogram (the same value as sorting the
    pixels out, in a fraction of the time)."""
    mask = _outside(smooth.shape)
    hist = cv2.calcHist([smooth], [0], mask, [256], [0, 256]).ravel()
    counts = np.cumsum(hist)
    n = int(counts[-1])
    k = min(n - 1, max(0, int(round(0.75 * (n - 1)))))
    return float(np.searchsorted(counts, k, side="right"))


def _measure(image: np.ndarray, reg: Registration, slot: int) -> _Box:
    patch = _patch(image, reg, slot)
    smooth = cv2.medianBlur(patch, 3)  # speckle, salt and pepper, JPEG mosquito noise
    bx, by, s, lw = _geometry()
    paper = _paper_level(smooth)
    dark = np.clip(paper - smooth.astype(np.float32), 0, None)
    x0, y0 = _align(dark)
    _stain_under(dark, smooth, paper, x0, y0)
    sides = sorted(_sides_dark(dark, x0, y0))
    contrast = max(sides[2], g.TICK_MIN_CONTRAST)  # the printed border's darkness (a stroke may hide a side)
    border_ok = sides[1] >= g.TICK_BORDER_MIN_DARK  # three of four sides found where the search put them
    # the blank paper just left of the box: the same paper and scanner, and no mark lands there except a
    # cross larger than the box (the "X" of a correction goes further out)
    a, b = int(round(g.TICK_NOISE_STRIP_MM[0] * K)), int(round(g.TICK_NOISE_STRIP_MM[1] * K))
    noise = quantile(dark[y0:y0 + s, max(0, x0 - b):x0 - a], 99)
    return _Box(slot, patch, dark, x0, y0, contrast, border_ok, noise)


def _stain_under(dark: np.ndarray, smooth: np.ndarray, paper: float, x0: int, y0: int) -> None:
    """Take out of the box's interior (in `dark`, in place) what the paper all round it explains: a coffee
    blot darkens the paper inside and outside the printed border alike, and a box near its centre would
    otherwise read as filled. The paper level there is that of the lightest of four strips just outside the
    sides (TICK_STAIN_STRIP_MM off, each its 90th percentile): a blot under the box darkens all four, a rim
    or a stroke along one side or a circle around the box leaves at least one light. A pen's mark stops at
    the border or crosses it as a thin line, so it stays ink. Only ever less ink, and only where all four
    strips are darker than the patch's own paper level."""
    _, _, s, lw = _geometry()
    inner = (slice(y0 + lw, y0 + s - lw), slice(x0 + lw, x0 + s - lw))
    if dark[inner].max() <= g.TICK_INK_LEVEL_MIN * g.TICK_MIN_CONTRAST:
        return  # nothing inside could be ink at any level: most boxes, at no cost
    a, b = int(round(g.TICK_STAIN_STRIP_MM[0] * K)), int(round(g.TICK_STAIN_STRIP_MM[1] * K))
    strips = (smooth[y0 - b:y0 - a, x0:x0 + s], smooth[y0 + s + a:y0 + s + b, x0:x0 + s],
              smooth[y0:y0 + s, x0 - b:x0 - a], smooth[y0:y0 + s, x0 + s + a:x0 + s + b])
    local = max(quantile(v, 90) for v in strips)
    if local >= paper:
        return
    np.minimum(dark[inner], np.clip(local - smooth[inner].astype(np.float32), 0, None), out=dark[inner])


def _clean(ink: np.ndarray, strong: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(strokes, passing, loose): ink without specks (toner dust, salt and pepper, fibres' dots: components below
    TICK_SPECK_MM2) and without straight lines along the coupon's axes longer than TICK_LINE_MM (a fold or
    crease, a scanner streak: no pen stroke near a box runs that far exactly level or upright); and apart,
    the ink that runs from one edge of the patch to the opposite one, which is no mark on this box (every
    mark stays within ~5 mm of its box; the patch reaches 4-9 mm out): a coffee ring's rim, a crease, a line
    of text. Edge to edge is judged before the lines are cut: a rim's level stretch cut away first split it
    into pieces that no longer spanned the patch, and a piece through the box read as a tick (bench/ticks.py,
    first pen, coffee). Of ink running across, what is `strong` (darker than a stain gets, in and around the
    box: a pen stroke that touches the rim) stays ink; the rest is never evidence of a tick, only of doubt
    (`evidence`). Ink that runs out of the patch by two edges and is nowhere strong is `loose`, apart too: a
    rim's arc through a corner of the patch meets two neighbouring edges, and nothing but its shape tells it
    from a light pen's circle around the box that leaves the patch (only the circle test looks at it)."""
    u8 = ink.astype(np.uint8)
    h, w = ink.shape
    passing = np.zeros(ink.shape, bool)
    loose = np.zeros(ink.shape, bool)
    spans = False
    labelled = None
    edges = (ink[:, 0].any(), ink[:, -1].any(), ink[0].any(), ink[-1].any())
    if (edges[0] and edges[1]) or (edges[2] and edges[3]) or (strong is not None and any(edges)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(u8, connectivity=8)
        x, y, bw, bh = (stats[:, i] for i in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH,
                                              cv2.CC_STAT_HEIGHT))
        span = ((x <= 0) & (x + bw >= w)) | ((y <= 0) & (y + bh >= h))
        span[0] = False
        if strong is not None:
            # two edges at least: a check mark's long arm leaves the patch by one
            touches = ((x <= 0).astype(int) + (y <= 0) + (x + bw >= w) + (y + bh >= h)) >= 2
            dark = np.zeros(count, bool)
            dark[labels[strong & (labels > 0)]] = True
            out = touches & ~dark & ~span
            out[0] = False
            if out.any():
                loose = out[labels]
                u8[loose] = 0
        spans = bool(span.any())
        if spans:
            passing = span[labels]
            if strong is not None:  # a pen's stroke that touches the rim, in or around the box, stays ink
                passing &= ~strong
            u8[passing] = 0
        if not spans and not loose.any():
            labelled = (labels, stats)
    if _cut_lines(u8):
        labelled = None
    if spans:  # a crease running across the patch is a line, not a stain's rim: only what is left of it passes
        p8 = passing.astype(np.uint8)
        if _cut_lines(p8):
            passing = p8 > 0
    if labelled is None:  # the labelling above still holds when nothing was taken out since
        _, labels, stats, _ = cv2.connectedComponentsWithStats(u8, connectivity=8)
    else:
        labels, stats = labelled
    keep = stats[:, cv2.CC_STAT_AREA] >= g.TICK_SPECK_MM2 * K * K
    keep[0] = False
    return keep[labels], passing, loose


def _cut_lines(u8: np.ndarray) -> bool:
    """Take straight level or upright lines longer than TICK_LINE_MM out of `u8` (in place); whether any were.

    The erosion counts beyond the patch's edges as ink (a line running out of the patch needs half the
    length), so only rows (columns) with n/2 ink pixels can hold such a line: only those are eroded, which
    is the same erosion (a level kernel treats each row alone) at a fraction of its cost."""
    n = int(round(g.TICK_LINE_MM * K))
    cut = False
    for axis, kernel in ((1, np.ones((1, n), np.uint8)), (0, np.ones((n, 1), np.uint8))):
        lines = np.flatnonzero(u8.sum(axis=axis) >= n // 2)
        if not len(lines):
            continue
        core = np.zeros_like(u8)
        if axis == 1:
            core[lines] = cv2.erode(u8[lines], kernel)
        else:
            core[:, lines] = cv2.erode(np.ascontiguousarray(u8[:, lines]), kernel)
        if core.any():  # rare: an opening only where the erosion left something
            u8[cv2.dilate(cv2.dilate(core, kernel), np.ones((3, 3), np.uint8)) > 0] = 0
            cut = True
    return cut


def _crossings(ink: np.ndarray, x0: int, y0: int) -> int:
    """Places where a stroke runs through the border: ink just inside and just outside at the same place."""
    _, _, s, _ = _geometry()
    a, b = int(round(0.25 * K)), int(round(0.9 * K))  # band from 0.25 to 0.9 mm off the border line
    h, w = ink.shape
    count = 0
    for side in range(4):
        if side == 0:  # top: inside below, outside above
            inner = ink[y0 + a:y0 + b, x0:x0 + s].any(axis=0)
            outer = ink[max(0, y0 - b):y0 - a, x0:x0 + s].any(axis=0)
        elif side == 1:
            inner = ink[y0 + s - b:y0 + s - a, x0:x0 + s].any(axis=0)
            outer = ink[y0 + s + a:min(h, y0 + s + b), x0:x0 + s].any(axis=0)
        elif side == 2:
            inner = ink[y0:y0 + s, x0 + a:x0 + b].any(axis=1)
            outer = ink[y0:y0 + s, max(0, x0 - b):x0 - a].any(axis=1)
        else:
            inner = ink[y0:y0 + s, x0 + s - b:x0 + s - a].any(axis=1)
            outer = ink[y0:y0 + s, x0 + s + a:min(w, x0 + s + b)].any(axis=1)
        both = np.convolve((inner & outer).astype(np.int8), np.ones(5, np.int8), "same") > 0
        edges = np.diff(np.concatenate([[0], both.astype(np.int8), [0]]))
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        # a pen stroke crosses the border over a short stretch; a stain's rim or a shadow runs along it
        count += int(np.count_nonzero(runs <= g.TICK_CROSSING_RUN_MAX_MM * K))
    return count


def _circle(ink: np.ndarray, x0: int, y0: int) -> float:
    """How completely ink surrounds the box in the ring just outside its border: of 16 directions, the
    share covered on the box's least covered side (0: some side has none, 1: all round)."""
    _, _, s, _ = _geometry()
    r = int(np.ceil(g.TICK_CIRCLE_RING_MM[1] * K)) + 1
    ink = ink[max(0, y0 - r):y0 + s + r, max(0, x0 - r):x0 + s + r]  # the ring's bounding square
    x0, y0 = min(x0, r), min(y0, r)
    band, sector = _ring(ink.shape, x0, y0)
    ring = band & ink
    if not ring.any():
        return 0.0
    covered = np.bincount(sector[ring], minlength=16) >= 0.08 * K * K  # 0.08 mm²: a 0.2 mm line 0.4 mm long
    # all round: every side (four sectors centred on it) must show ink; a neighbour's stroke passing
    # along one side is no circle
    sides = np.roll(covered, 2).reshape(4, 4).sum(axis=1)
    return float(sides.min()) / 4


@functools.lru_cache(maxsize=64)
def _ring(shape: tuple[int, int], x0: int, y0: int) -> tuple[np.ndarray, np.ndarray]:
    """The ring around a box at (x0, y0) in a square of `shape` (TICK_CIRCLE_RING_MM off its border) and each
    pixel's direction from the box's centre (16 sectors): the same few geometries on every coupon, so kept."""
    _, _, s, _ = _geometry()
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = x0 + s / 2, y0 + s / 2
    dx, dy = np.abs(xx - cx) - s / 2, np.abs(yy - cy) - s / 2
    out = np.hypot(np.clip(dx, 0, None), np.clip(dy, 0, None)) + np.minimum(np.maximum(dx, dy), 0)
    band = (out >= g.TICK_CIRCLE_RING_MM[0] * K) & (out <= g.TICK_CIRCLE_RING_MM[1] * K)
    ang = np.arctan2(yy - cy, xx - cx)
    sector = ((ang + np.pi) / (2 * np.pi) * 16).astype(int) % 16
    band.flags.writeable = False
    sector.flags.writeable = False
    return band, sector


@dataclass(frozen=True)
class Evidence:
    """What a box shows, once the coupon's ink level is known (kept for the benchmark and the tests)."""

    score: float  # share of the interior within TICK_STROKE_REACH_MM of a stroke
    circle: float  # share of directions with ink in the ring just outside the border
    crossings: int  # strokes through the border
    beside: float  # ink share of the strip left of the box where an "X" beside it goes
    border_ok: bool
    passing: float = 0.0  # share of the interior under ink that runs across the whole patch (a stain's rim)
    hidden: float = 0.0  # `circle` with that ink's thin parts too: a circle around the box that touches the rim


def _ink_near(raw: np.ndarray, x0: int, y0: int) -> bool:
    """Any ink where a mark is looked for: the box's interior (TICK_INTERIOR_INSET_MM in) or the ring around
    it where a circle is looked for. An empty box has none, and then every measure is 0 without cleaning
    the patch (the same result: cleaning only takes ink away)."""
    _, _, s, _ = _geometry()
    i = int(round(g.TICK_INTERIOR_INSET_MM * K))
    if raw[y0 + i:y0 + s - i, x0 + i:x0 + s - i].any():
        return True
    r = int(np.ceil(g.TICK_CIRCLE_RING_MM[1] * K)) + 1
    square = raw[max(0, y0 - r):y0 + s + r, max(0, x0 - r):x0 + s + r]
    band, _ = _ring(square.shape, min(x0, r), min(y0, r))
    return bool((square & band).any())


def evidence(m: _Box, level: float) -> Evidence:
    _, _, s, lw = _geometry()
    x0, y0 = m.x0, m.y0
    # strokes are looked for within PATCH_MARGIN_MM of the box (the patch's wider left part is for the
    # noise strip and the "X" beside a correction)
    cut = max(0, x0 - int(round(PATCH_MARGIN_MM * K)))
    raw = m.dark > level
    if not _ink_near(raw, x0, y0):
        return Evidence(0.0, 0.0, 0, 0.0, m.border_ok)
    band = int(round(0.2 * K))  # the printed border itself (± alignment error) is never a stroke
    x0 -= cut
    border = _border_band(raw[:, cut:].shape, x0, y0, band)
    # what is darker than a stain gets, in and around the box (not the printed border, blurred by the scan,
    # nor a neighbour's or the label, which a rim may touch): a pen's stroke
    r = int(np.ceil(g.TICK_CIRCLE_RING_MM[1] * K))
    strong = np.zeros(border.shape, bool)
    strong[max(0, y0 - r):y0 + s + r, max(0, x0 - r):x0 + s + r] = True
    strong &= ~_border_band(border.shape, x0, y0, int(round(g.TICK_BITONAL_BORDER_MM * K)))
    strong &= m.dark[:, cut:] > g.TICK_STAIN_MAX_DARK * m.contrast
    ink, passing, loose = _clean(raw[:, cut:], strong)
    strokes = ink & ~border
    i = int(round(g.TICK_INTERIOR_INSET_MM * K))
    interior = (slice(y0 + i, y0 + s - i), slice(x0 + i, x0 + s - i))
    inside = np.zeros(strokes.shape, np.uint8)
    inside[interior] = strokes[interior]
    r = int(round(g.TICK_STROKE_REACH_MM * K))
    reach = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    score = float(reach[interior].mean())
    through = (passing | loose) & ~border  # a rim through a corner of the patch, across the box: doubt too
    crossed = float(through[interior].mean()) if through.any() else 0.0
    if crossed > g.TICK_EMPTY_MAX and score <= g.TICK_EMPTY_MAX and _band_alone(through[interior]):
        crossed = 0.0  # a rim's band across an empty box, nothing joined to it: the box is empty
    # each further piece of evidence only where it can change the state
    decided = score >= g.TICK_TICKED_MIN
    crossings = _crossings(strokes, x0, y0) if not decided and score >= g.TICK_CROSSING_SCORE_MIN else 0
    circle = hidden = 0.0
    if not decided:  # of what is no darker than a stain gets, only a pen's thin line can be a circle
        dark = m.dark[:, cut:] > g.TICK_STAIN_MAX_DARK * m.contrast
        circle = _circle((strokes & dark) | _thin(strokes & ~dark), x0, y0)
        if circle < g.TICK_CIRCLE_MIN and through.any():
            # a light pen's circle that touches a stain's rim runs across the patch with it: with the rim's
            # thin parts a circle, the box is doubtful (the rim alone, or with a neighbour's mark, may be one)
            with_rim = strokes | through
            hidden = _circle((with_rim & dark) | _thin(with_rim & ~dark), x0, y0)
    beside = 0.0
    # (left column only: left of a grid box is the previous column's label, printed ink, not an X)
    if score >= g.TICK_BESIDE_SCORE_MIN and m.slot < g.CHECKBOX_SLOTS:
        bl, br = int(round(g.TICK_BESIDE_MM[1] * K)), int(round(g.TICK_BESIDE_MM[0] * K))
        side_ink, side_passing, _ = _clean(raw[:, :m.x0 - br])  # the whole left part: blots are seen whole
        # an "X" drawn over a stain's rim runs across with it: of that, what is darker than a stain gets counts
        # (a light X over a rim is lost with it; counting all such ink made every marked box with a rim left
        # of it doubtful: 1.5 % of the first pen's coffee boxes)
        strong_side = m.dark[:, :m.x0 - br] > g.TICK_STAIN_MAX_DARK * m.contrast
        side = (side_ink | (side_passing & strong_side)).astype(np.uint8)
        # pen strokes are at most 1 mm wide: what an opening wider than that keeps is a stain's blot
        wide = int(round(g.TICK_BLOT_MM * K)) | 1
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (wide, wide))
        # (only a pixel's rim added back: where a thick X's strokes cross is as wide as a blot)
        blot = cv2.dilate(cv2.morphologyEx(side, cv2.MORPH_OPEN, disk), np.ones((3, 3), np.uint8))
        beside = float((side & (blot == 0))[y0:y0 + s, max(0, m.x0 - bl):].mean())
    return Evidence(score, circle, crossings, beside, m.border_ok, crossed, hidden)


def _border_band(shape: tuple[int, ...], x0: int, y0: int, e: int) -> np.ndarray:
    """The printed border of the box at (x0, y0) ± e pixels, as a mask of `shape`."""
    _, _, s, lw = _geometry()
    band = np.zeros(shape[:2], bool)
    band[max(0, y0 - e):y0 + s + e, max(0, x0 - e):x0 + s + e] = True
    band[y0 + lw + e:y0 + s - lw - e, x0 + lw + e:x0 + s - lw - e] = False
    return band


def _band_alone(ink: np.ndarray) -> bool:
    """Whether the ink across a box's interior is one band and nothing else: a coffee rim (a circle of 9 mm
    radius and more bends by under 1 mm over the box) with no stroke joined to it. The band's line is fitted
    to its pixels; its spread (the 75th percentile distance) must be a rim's, no wider than a pen's line, and
    whatever lies further from it than twice that and TICK_RIM_BEND_MM is a pen's stroke that touched the rim
    and ran across the patch with it."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 2:
        return True
    pts = np.column_stack([xs, ys]).astype(np.float32)
    vx, vy, px, py = (float(v) for v in cv2.fitLine(pts, cv2.DIST_L2, 0, 0.01, 0.01).ravel())
    dist = np.abs((pts[:, 0] - px) * vy - (pts[:, 1] - py) * vx)
    spread = float(np.percentile(dist, 75))
    if spread > g.TICK_PEN_MAX_MM / 2 * K:
        return False  # wider than a rim: a fill, or a stain's blot
    return int(np.count_nonzero(dist > 2 * spread + g.TICK_RIM_BEND_MM * K)) < g.TICK_SPECK_MM2 * K * K


def _thin(ink: np.ndarray) -> np.ndarray:
    """`ink` without what is wider than a pen (TICK_PEN_MAX_MM): a stain's blot around a box is no circle."""
    if not ink.any():
        return ink
    u8 = ink.astype(np.uint8)
    wide = int(round(g.TICK_PEN_MAX_MM * K)) | 1
    blot = cv2.morphologyEx(u8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (wide, wide)))
    return ink & (cv2.dilate(blot, np.ones((3, 3), np.uint8)) == 0)


def decide(e: Evidence, trusted: bool) -> TickState:
    if not trusted or not e.border_ok:
        return "doubtful"  # the box is not where it was looked for: nothing confident about it
    if e.score >= g.TICK_BESIDE_SCORE_MIN and e.beside >= g.TICK_BESIDE_MIN:
        return "doubtful"  # a marked box with an X beside it: a correction, a person decides what it means
    if e.score >= g.TICK_TICKED_MIN or e.circle >= g.TICK_CIRCLE_MIN or e.crossings >= 1:
        return "ticked"
    if e.score <= g.TICK_EMPTY_MAX and e.circle <= g.TICK_CIRCLE_EMPTY_MAX:
        if e.passing > g.TICK_EMPTY_MAX or e.hidden >= g.TICK_CIRCLE_MIN:
            return "doubtful"  # a stain's rim or a crease runs through the box, or may hide a circle round it
        return "empty"
    return "doubtful"


def _reading(m: _Box, level: float, trusted: bool, crop: bool, dust: float | None) -> BoxReading:
    """`dust`: on a bitonal scan the coupon's dotted share of blank paper, else None."""
    e = evidence(m, level)
    state = decide(e, trusted)
    if state == "empty" and dust is not None and _specks(m, level) > max(g.TICK_SPECK_NOISE_FACTOR * dust,
                                                                         g.TICK_SPECK_MIN_SHARE):
        # what is left of a light stroke after a bitonal scan's threshold: dots, more than the coupon's paper
        # shows beside its boxes (a photocopy's toner dust, a bitonal scan's salt)
        state = "doubtful"
    shown = max(e.score, e.circle if e.circle > g.TICK_CIRCLE_EMPTY_MAX else 0.0)
    # (a crop too for an empty box holding any ink: matching makes such an opt-out box doubtful)
    snippet = png_bytes(m.patch) if crop or state == "doubtful" or (state == "empty" and shown > 0) else b""
    return BoxReading(slot=m.slot, score=round(shown, 4), state=state, snippet_png=snippet)


def measure(image: np.ndarray, reg: Registration, slots: int) -> tuple[list[_Box], list[float]]:
    """Every box's patch and the coupon-calibrated ink level for each."""
    measured = [_measure(image, reg, slot) for slot in range(min(slots, g.BOX_SLOTS))]
    # per-coupon calibration: the paper beside the boxes shows the paper's and the scanner's own darkness
    # (the quietest of them, in case a stroke reaches one); ink must be clearly darker than that
    quiet = [m.noise for m in measured if m.border_ok]
    floor = min(quiet) if quiet else 0.0
    levels = [min(max(floor * g.TICK_NOISE_FACTOR, g.TICK_INK_LEVEL_MIN * m.contrast), g.TICK_INK_LEVEL * m.contrast)
              for m in measured]
    return measured, levels


def read_boxes(image: np.ndarray, reg: Registration, crops: bool = False,
               slots: int = g.CHECKBOX_SLOTS) -> tuple[BoxReading, ...]:
    """The first `slots` tick boxes (a store whose campaigns offer three options needs three; grid boxes of a
    number of persons or a date choice follow the left column, layouts.geometry.BOX_SLOTS)."""
    measured, levels = measure(image, reg, slots)
    two = is_bitonal(image)
    # per-coupon calibration on a bitonal scan: the dots the paper beside the boxes shows (median of the strips)
    dust = float(np.median([_strip_dots(m, level) for m, level in zip(measured, levels, strict=True)])) if two else None
    boxes = tuple(_reading(m, level, reg.trusted, crops, dust) for m, level in zip(measured, levels, strict=True))
    if two and not _pen_survives(measured, levels, boxes):
        # scanned bitonal, and nothing on the coupon shows its pen survives the threshold: a light ballpoint may
        # have left no trace at all, so no box is confidently empty (layouts.geometry.TICK_BITONAL_PEN_MIN_MM),
        # and none confidently ticked: the "X" beside a box that makes it a correction may have vanished
        boxes = tuple(b if b.state == "doubtful" else
                      dataclasses.replace(b, state="doubtful", snippet_png=b.snippet_png or png_bytes(m.patch))
                      for b, m in zip(boxes, measured, strict=True))
    return boxes


def _pen_survives(measured: list[_Box], levels: list[float], boxes: tuple[BoxReading, ...]) -> bool:
    """Whether the coupon's own ticks show that its pen survives a bitonal threshold: a box confidently
    ticked whose strokes are solid (TICK_BITONAL_PEN_MIN_MM wide on average inside the box) or came through
    whole (`unbroken`, a circle around the box too). A person fills in a coupon with one pen: where one of
    its marks is whole, the others show too. A light pen half gone leaves broken lines and crumbs, which
    show nothing about its other marks."""
    return any(b.state == "ticked" and (unbroken(m, level) or stroke_width_mm(m, level) >= g.TICK_BITONAL_PEN_MIN_MM)
               for m, level, b in zip(measured, levels, boxes, strict=True))


def unbroken(m: _Box, level: float) -> bool:
    """Whether the mark on and around the box came through a bitonal threshold whole. The ink within
    PATCH_MARGIN_MM of the box (a circle around it included; the printed border, the crumbs its band cut off
    strokes' tips, and whatever runs out of that square left out: a neighbour's border, the label's text)
    must hold at least TICK_BITONAL_STROKE_MM of stroke, no crumb (a piece smaller than TICK_SPECK_MM2), and
    no two pieces closer than TICK_BITONAL_GAP_MM to each other. A pen darker than the threshold by a margin leaves unbroken lines however thin; one near it
    breaks into dashes and dots where the stroke's darkness dips."""
    _, _, s, _ = _geometry()
    r = int(round(PATCH_MARGIN_MM * K))
    ya, xa = max(0, m.y0 - r), max(0, m.x0 - r)
    ink = (m.dark[ya:m.y0 + s + r, xa:m.x0 + s + r] > level).astype(np.uint8)
    # the printed border, as a bitonal scan thickens it
    band = _border_band(ink.shape, m.x0 - xa, m.y0 - ya, int(round(g.TICK_BITONAL_BORDER_MM * K)))
    ink[band] = 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = ink.shape
    x, y, cw, ch = (stats[:, i] for i in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    out = (x == 0) | (y == 0) | (x + cw >= w) | (y + ch >= h)
    # a crumb touching the band is the tip of a stroke the band cut off (a slash ending near the border), not
    # a break of the threshold's: left out like the border
    edge = cv2.dilate(band.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    tips = np.zeros(count, bool)
    tips[np.unique(labels[edge])] = True
    out |= tips & (stats[:, cv2.CC_STAT_AREA] < g.TICK_SPECK_MM2 * K * K)
    out[0] = True
    ink[out[labels]] = 0
    areas = stats[~out, cv2.CC_STAT_AREA]
    if not len(areas) or areas.min() < g.TICK_SPECK_MM2 * K * K:
        return False
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if sum(cv2.arcLength(c, True) for c in contours) / 2 < g.TICK_BITONAL_STROKE_MM * K:
        return False  # half the outline: a thin stroke's length
    # pieces closer than the gap to each other merge when each grows by half of it: a stroke the threshold
    # broke (the printed border's band is wider than the gap: a stroke crossing it is not joined across)
    gap = int(round(g.TICK_BITONAL_GAP_MM * K)) | 1
    grown = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (gap, gap)))
    return cv2.connectedComponents(grown, connectivity=8)[0] == len(areas) + 1


def stroke_width_mm(m: _Box, level: float) -> float:
    """The mean width of the ink inside the box (printed border left out): 2 x area / perimeter, which for
    a stroke much longer than wide is its width; 0 where the interior holds no ink."""
    _, _, s, _ = _geometry()
    i = int(round(g.TICK_INTERIOR_INSET_MM * K))
    ink = (m.dark[m.y0 + i:m.y0 + s - i, m.x0 + i:m.x0 + s - i] > level).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return float(2 * int(ink.sum()) / perimeter / K) if perimeter else 0.0


def _specks(m: _Box, level: float) -> float:
    """The share of the box's interior under ink, specks included (the printed border left out)."""
    _, _, s, _ = _geometry()
    i = int(round(g.TICK_INTERIOR_INSET_MM * K))
    return float((m.dark[m.y0 + i:m.y0 + s - i, m.x0 + i:m.x0 + s - i] > level).mean())


def _strip_dots(m: _Box, level: float) -> float:
    """The share of the blank paper left of the box (TICK_NOISE_STRIP_MM) under ink: the paper's dots."""
    _, _, s, _ = _geometry()
    a, b = int(round(g.TICK_NOISE_STRIP_MM[0] * K)), int(round(g.TICK_NOISE_STRIP_MM[1] * K))
    return float((m.dark[m.y0:m.y0 + s, max(0, m.x0 - b):m.x0 - a] > level).mean())


def is_bitonal(image: np.ndarray) -> bool:
    """Black and white only (a bitonal scan, a fax): nearly every pixel on one of two far-apart levels. On
    such a scan a light ballpoint (grey ~180) falls above the threshold and leaves nothing at all."""
    sample = image[::13, ::13]
    hist = np.bincount(sample.ravel(), minlength=256)
    top = np.argsort(hist)[-2:]
    return bool(hist[top].sum() >= g.TICK_BITONAL_SHARE * sample.size and abs(int(top[0]) - int(top[1])) >= 128)
