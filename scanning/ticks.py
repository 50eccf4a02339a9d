"""Tick boxes: a registered coupon → one reading per box slot (ink fraction of the interior, state, crop).

Each box is resampled from the image into a patch at `PATCH_PX_PER_MM` through the coupon's mapping, so
the measurement is the same at 150, 200 or 300 dpi. The printed border is then located within
±`TICK_ALIGN_SEARCH_MM` (SDAPS-style small correlation search: maximum of border darkness minus interior
darkness), which absorbs what the mapping gets wrong on crumpled paper. Ink is a pixel darker than half-way
between the local paper level (the surroundings of the box, so a coffee stain or a grey recycled paper
shifts it too) and the printed border's own ink level. The score is the ink fraction of the interior,
inset by TICK_INTERIOR_INSET_MM from the box's outer edge; states follow the thresholds in
layouts.geometry. All CHECKBOX_SLOTS slots are measured; matching keeps the first n.
"""

from __future__ import annotations

import cv2
import numpy as np

from layouts import geometry as g
from scanning.register import Registration, quantile
from scanning.results import BoxReading, TickState
from scanning.snippets import png_bytes

PATCH_PX_PER_MM = 10.0  # 0.1 mm per patch pixel: finer than any scan we read, so nothing is lost
PATCH_MARGIN_MM = 3.0  # context around the box: paper level and the crop people see in review


def classify(score: float) -> TickState:
    if score <= g.TICK_EMPTY_MAX:
        return "empty"
    if score >= g.TICK_TICKED_MIN:
        return "ticked"
    return "doubtful"


def _patch(image: np.ndarray, reg: Registration, slot: int) -> np.ndarray:
    box = g.checkbox_box(slot)
    k = PATCH_PX_PER_MM
    ox, oy = box.x_mm - PATCH_MARGIN_MM, box.y_mm - PATCH_MARGIN_MM
    size = int(round((box.width_mm + 2 * PATCH_MARGIN_MM) * k))
    # patch px → coupon mm → image px
    to_mm = np.array([[1 / k, 0, ox], [0, 1 / k, oy], [0, 0, 1]], np.float64)
    m = reg.homography @ to_mm
    if reg.px_per_mm <= k * 1.3:
        return cv2.warpPerspective(image, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_REPLICATE)
    # the image is finer than the patch (300 dpi = 11.8 px/mm): warp at native scale, then reduce (antialiased)
    f = reg.px_per_mm / k
    native = int(round(size * f))
    m = m @ np.diag([1 / f, 1 / f, 1.0])
    big = cv2.warpPerspective(image, m, (native, native), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def _masks(size: int, shift: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(border ring, interior, outside) masks of the box in a patch, box moved by `shift` px."""
    k = PATCH_PX_PER_MM
    m0 = int(round(PATCH_MARGIN_MM * k))
    s = int(round(g.CHECKBOX_SIZE_MM * k))
    lw = max(2, int(round(g.CHECKBOX_LINE_MM * k)))
    inset = int(round(g.TICK_INTERIOR_INSET_MM * k))
    dx, dy = shift
    ring = np.zeros((size, size), bool)
    x0, y0 = m0 + dx, m0 + dy
    ring[y0:y0 + s, x0:x0 + s] = True
    ring[y0 + lw:y0 + s - lw, x0 + lw:x0 + s - lw] = False
    inner = np.zeros((size, size), bool)
    inner[y0 + inset:y0 + s - inset, x0 + inset:x0 + s - inset] = True
    outside = np.ones((size, size), bool)
    pad = int(0.6 * k)
    outside[max(0, y0 - pad):y0 + s + pad, max(0, x0 - pad):x0 + s + pad] = False
    return ring, inner, outside


def _align(dark: np.ndarray) -> tuple[int, int]:
    """Shift (px) of the printed border that best explains the patch: border dark, interior light."""
    k = PATCH_PX_PER_MM
    m0 = int(round(PATCH_MARGIN_MM * k))
    s = int(round(g.CHECKBOX_SIZE_MM * k))
    lw = max(2, int(round(g.CHECKBOX_LINE_MM * k)))
    r = int(round(g.TICK_ALIGN_SEARCH_MM * k))
    ring_t = np.zeros((s, s), np.float32)
    ring_t[:, :] = 1.0
    ring_t[lw:s - lw, lw:s - lw] = -(ring_t.sum() - (s - 2 * lw) ** 2) / ((s - 2 * lw) ** 2)  # zero-mean
    region = dark[m0 - r:m0 + s + r, m0 - r:m0 + s + r].astype(np.float32)
    resp = cv2.matchTemplate(region, ring_t, cv2.TM_CCORR)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    resp = resp - 0.02 * resp.max() * np.hypot(xx, yy) / max(r, 1)  # prefer the predicted place on ties
    _, best, _, loc = cv2.minMaxLoc(resp)
    if best <= 0:
        return 0, 0
    return loc[0] - r, loc[1] - r


def read_box(image: np.ndarray, reg: Registration, slot: int, crop: bool = False) -> BoxReading:
    """One slot. The crop (PNG) is kept for doubtful boxes, which go to review, or when `crop` asks."""
    patch = _patch(image, reg, slot)
    size = patch.shape[0]
    smooth = cv2.medianBlur(patch, 3)  # speckle, salt and pepper, JPEG mosquito noise
    _, _, outside0 = _masks(size, (0, 0))
    paper = quantile(smooth[outside0], 75)
    dark = np.clip(paper - smooth.astype(np.float32), 0, None)
    shift = _align(dark)
    ring, inner, _ = _masks(size, shift)
    border_ink = quantile(smooth[ring], 30)
    contrast = max(paper - border_ink, g.TICK_MIN_CONTRAST)
    ink = smooth.astype(np.float32) < paper - g.TICK_INK_LEVEL * contrast
    score = float(ink[inner].mean())
    state = classify(score)
    snippet = png_bytes(patch) if crop or state == "doubtful" else b""
    return BoxReading(slot=slot, score=round(score, 4), state=state, snippet_png=snippet)


def read_boxes(image: np.ndarray, reg: Registration, crops: bool = False,
               slots: int = g.CHECKBOX_SLOTS) -> tuple[BoxReading, ...]:
    """The first `slots` tick boxes (a store whose campaigns offer three options needs three; grid boxes of a
    number of persons or a date choice follow the left column, layouts.geometry.BOX_SLOTS)."""
    return tuple(read_box(image, reg, slot, crops) for slot in range(min(slots, g.BOX_SLOTS)))
