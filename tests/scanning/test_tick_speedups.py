"""The tick reader's shortcuts (issue 10, scan speed) give the same measures as the plain computations they
replace, on real rendered coupons degraded like scans: the border search by integral image, the paper level
by histogram, the line search on candidate rows only, warpAffine for an affine mapping, and the empty-box
shortcut."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from layouts import geometry as g
from scanning import simulate as sim
from scanning import ticks as T
from scanning.decode import locate
from scanning.register import quantile, register
from tests.scanning import degrade as d
from tests.scanning.corpus import code_for, coupon_pages


@pytest.fixture(scope="module")
def boxes(tmp_path_factory) -> list[tuple[T._Box, float]]:
    """Measured boxes (with their ink levels) of a few real coupons: clean, noisy, JPEG, bitonal, ticked."""
    rng = random.Random(3)
    codes = [code_for(rng) for _ in range(4)]
    out = []
    for (page, _), kind in zip(coupon_pages(codes, 200, tmp_path_factory.mktemp("r")), ["clean", "noise", "jpeg30",
                                                                                        "bitonal"], strict=True):
        page = page.copy()
        d.tick_boxes(page, 200, g.COUPON_TOP_MM, [1], rng, d.Truth(""))
        img = d.scanner(sim.rotate(d.cut_coupon(page, 200), 2.0), kind, 200, rng)
        loc = locate(img, 200)
        reg = register(loc.image, loc.symbols[0])
        assert reg is not None
        measured, levels = T.measure(loc.image, reg, 3)
        out.extend(zip(measured, levels, strict=True))
    return out


def _align_by_template(dark: np.ndarray) -> tuple[int, int]:
    bx, by, s, lw = T._geometry()
    r = int(round(g.TICK_ALIGN_SEARCH_MM * T.K))
    ring = np.ones((s, s), np.float32)
    ring[lw:s - lw, lw:s - lw] = -(ring.sum() - (s - 2 * lw) ** 2) / ((s - 2 * lw) ** 2)
    resp = cv2.matchTemplate(dark[by - r:by + s + r, bx - r:bx + s + r].astype(np.float32), ring, cv2.TM_CCORR)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    resp = resp - 0.02 * resp.max() * np.hypot(xx, yy) / max(r, 1)
    _, best, _, loc = cv2.minMaxLoc(resp)
    return (bx, by) if best <= 0 else (bx + loc[0] - r, by + loc[1] - r)


def test_border_search_by_integral_image_finds_what_template_matching_finds(boxes) -> None:
    for m, _ in boxes:
        assert T._align(m.dark) == _align_by_template(m.dark)


def test_paper_level_by_histogram_is_the_percentile(boxes) -> None:
    for m, _ in boxes:
        smooth = cv2.medianBlur(m.patch, 3)
        assert T._paper_level(smooth) == quantile(smooth[T._outside(smooth.shape).astype(bool)], 75)


def test_line_search_on_candidate_rows_is_the_whole_erosion(boxes) -> None:
    n = int(round(g.TICK_LINE_MM * T.K))
    for m, level in boxes:
        ink = (m.dark > level).astype(np.uint8)
        ink[40, :] = 1  # a crease right across, and one running out of the patch
        ink[:, 150:] = 0
        ink[:70, 160] = 1
        whole = ink.copy()
        for kernel in (np.ones((1, n), np.uint8), np.ones((n, 1), np.uint8)):
            core = cv2.erode(whole, kernel)
            if core.any():
                whole[cv2.dilate(cv2.dilate(core, kernel), np.ones((3, 3), np.uint8)) > 0] = 0
        rows = ink.copy()
        T._cut_lines(rows)
        assert np.array_equal(rows, whole)


def test_warp_affine_gives_the_pixels_of_warp_perspective(boxes) -> None:
    from scanning.snippets import warp

    img = np.random.default_rng(1).integers(0, 256, (400, 600)).astype(np.uint8)
    m = np.array([[1.27, 0.03, 20.5], [-0.02, 1.26, 11.25], [0, 0, 1]], np.float64)
    plain = cv2.warpPerspective(img, m, (300, 200), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderValue=255)
    assert np.abs(warp(img, m, (300, 200)).astype(int) - plain).max() <= 1


def test_a_box_without_ink_near_has_no_stroke_after_cleaning_either(boxes) -> None:
    """Where the shortcut is taken, cleaning the patch leaves no stroke in the interior or the ring: the
    score, circle, crossings and passing ink it would measure are all 0, as the shortcut says."""
    _, _, s, _ = T._geometry()
    i = int(round(g.TICK_INTERIOR_INSET_MM * T.K))
    r = int(np.ceil(g.TICK_CIRCLE_RING_MM[1] * T.K)) + 1
    shortcut = 0
    for m, level in boxes:
        raw = m.dark > level
        if T._ink_near(raw, m.x0, m.y0):
            continue
        shortcut += 1
        ink, passing, _ = T._clean(raw)
        assert not ink[m.y0 + i:m.y0 + s - i, m.x0 + i:m.x0 + s - i].any()
        assert not passing[m.y0 + i:m.y0 + s - i, m.x0 + i:m.x0 + s - i].any()
        square = ink[m.y0 - r:m.y0 + s + r, m.x0 - r:m.x0 + s + r]
        band, _ = T._ring(square.shape, r, r)
        assert not (square & band).any()
        assert T.evidence(m, level).score == 0.0
    assert shortcut >= 4  # the empty boxes of the four coupons at least
