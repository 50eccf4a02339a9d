"""Tick-box corpus for the generalisation measurements: real coupons, either pen, the scan classes returns
come in. Used by tests/scanning/test_ticks_generalise.py and bench/ticks.py.

Each case is one cut-off coupon rendered by the project's renderer (three options, as the example campaign),
each box ticked with probability one half by the pen asked for — "pen1" (scanning.simulate, the pen the
thresholds are tuned on) or "pen2" (scanning.pens, held apart; one pen per coupon, as one person fills in a
form, with a stroke style drawn anew for every box) — then scanned as one of `SCAN_CLASSES`.
The truth per box is "ticked", "empty" or, for a correction, "doubtful" (a person decides).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from layouts import geometry as g
from scanning import pens
from scanning import simulate as sim
from tests.scanning import degrade as d
from tests.scanning.corpus import code_for, coupon_pages

SCAN_CLASSES = ("clean200", "clean300", "bitonal", "fax", "coffee", "photocopy", "recycled", "phone")
SLOTS = 3
RENDER_CHUNK = 100


@dataclass
class TickCase:
    image: np.ndarray
    dpi: float
    code: str
    want: dict[int, str]  # slot → "ticked" / "empty" / "doubtful"
    styles: dict[int, str] = field(default_factory=dict)  # slot → stroke style ("" for empty)
    pen: str = "pen2"
    scan: str = "clean200"
    visible: dict[int, bool] = field(default_factory=dict)  # bitonal/fax, oracle: slot → its mark left a pixel
    rescan: np.ndarray | None = None  # bitonal, `rescan`: the same marked coupon scanned again in grey (200 dpi)


def _tick(page: np.ndarray, dpi: float, slot: int, pen: str, rng: random.Random,
          hand: pens.Pen | None = None) -> tuple[str, str]:
    """Mark `slot`; `hand` is the second pen's ink for the whole coupon (one person, one pen)."""
    box = g.checkbox_box(slot)
    if pen == "pen1":
        x0, y0 = d.px(box.x_mm, dpi), d.px(g.COUPON_TOP_MM + box.y_mm, dpi)
        x1, y1 = d.px(box.right_mm, dpi), d.px(g.COUPON_TOP_MM + box.bottom_mm, dpi)
        return sim.tick(page, (x0, y0, x1, y1), rng, rng.choice(d.TICK_STYLES)), "ticked"
    m = pens.mark(page, dpi, box, g.COUPON_TOP_MM, rng, pen=hand)
    return m.style, m.want


# ------------------------------------------------------------------------------------------ scanning
def recycled(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Grey recycled paper: darker, uneven paper with fibres and specks; ink a little less black."""
    gen = np.random.default_rng(rng.randrange(2**32))
    h, w = img.shape
    paper = rng.uniform(195, 225)
    mottle = cv2.resize(gen.normal(0, 6, (max(2, h // 40), max(2, w // 40))).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)
    out = img.astype(np.float32) * (paper / 255.0) + mottle
    fibres = np.zeros((h, w), np.uint8)
    for _ in range(int(h * w / 4000)):
        x, y = gen.integers(0, w), gen.integers(0, h)
        a, n = gen.uniform(0, math.pi), gen.integers(3, 12)
        cv2.line(fibres, (int(x), int(y)), (int(x + n * math.cos(a)), int(y + n * math.sin(a))),
                 int(gen.integers(15, 45)), 1)
    out -= fibres
    out += gen.normal(0, 5, (h, w))
    return sim.jpeg(np.clip(out, 0, 255).astype(np.uint8), 45)


def phone(img: np.ndarray, dpi: float, rng: random.Random, tilt: float | None = None) -> tuple[np.ndarray, float]:
    """A phone photo of the coupon lying on a table: strong perspective (one edge up to a third shorter
    than the other), any orientation, 130-200 dpi at the near edge, uneven light, defocus, JPEG.
    Returns the photo and its nominal dpi."""
    h, w = img.shape
    out_dpi = rng.uniform(150, 200)
    s = out_dpi / dpi
    tilt = tilt if tilt is not None else rng.uniform(0.12, 0.3)
    cw, ch = w * s, h * s
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    # the far edge (a random one of four) is shortened by `tilt` and pulled in
    dst = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]])
    edge = rng.randrange(4)
    a, b = edge, (edge + 1) % 4
    mid = (dst[a] + dst[b]) / 2
    centre = dst.mean(axis=0)
    for i in (a, b):
        dst[i] = mid + (dst[i] - mid) * (1 - tilt)
        dst[i] = dst[i] + (centre - mid) * tilt * 0.35
    dst += np.float32([rng.uniform(-0.02, 0.02) * cw for _ in range(8)]).reshape(4, 2)
    ang = math.radians(rng.uniform(0, 360))
    rot = np.float32([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    dst = (dst - centre) @ rot.T
    pad = 0.06 * max(cw, ch)
    dst -= dst.min(axis=0) - pad
    size = (int(dst[:, 0].max() + pad), int(dst[:, 1].max() + pad))
    m = cv2.getPerspectiveTransform(src, dst)
    # a light table: a dark one makes the page look like a negative, which is issue 10 item 4, not measured here
    table = rng.randint(120, 180)
    mask = cv2.warpPerspective(np.full_like(img, 255), m, size, flags=cv2.INTER_AREA)
    photo = cv2.warpPerspective(img, m, size, flags=cv2.INTER_AREA, borderValue=0).astype(np.float32)
    photo = photo * (mask / 255.0) + table * (1 - mask / 255.0)
    gen = np.random.default_rng(rng.randrange(2**32))
    yy, xx = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
    la = rng.uniform(0, 2 * math.pi)
    light = 1 - rng.uniform(0.1, 0.3) * ((xx * math.cos(la) + yy * math.sin(la)) / max(size))
    photo = photo * light + gen.normal(0, 3, photo.shape)
    photo = cv2.GaussianBlur(np.clip(photo, 0, 255).astype(np.uint8), (0, 0), rng.uniform(0.5, 1.0))
    return sim.jpeg(photo, rng.randint(65, 85)), out_dpi


def scan(coupon300: np.ndarray, coupon200: np.ndarray, kind: str, rng: random.Random) -> tuple[np.ndarray, float]:
    """The upright ticked coupon (the same one at 300 and at 200 dpi) as a scan of class `kind`."""
    skew = rng.uniform(-1.5, 1.5)
    if kind == "clean300":
        return sim.rotate(coupon300, skew), 300.0
    if kind == "phone":
        return phone(coupon300, 300.0, rng)
    img = sim.rotate(coupon200, skew)
    if kind == "clean200":
        return img, 200.0
    if kind == "bitonal":
        return sim.bitonal(img), 200.0
    if kind == "fax":
        return sim.fax(img, 200.0), 204.0
    if kind == "coffee":
        return sim.jpeg(sim.coffee_stain(img, rng), 60), 200.0
    if kind == "photocopy":
        return sim.photocopy(img, rng), 200.0
    if kind == "recycled":
        return recycled(img, rng), 200.0
    raise ValueError(f"unknown scan class {kind!r}")


def _footprint_survives(blank: np.ndarray, marked: np.ndarray, kind: str, state: object) -> bool:
    """Whether a mark (the only difference between the two upright coupons) leaves any pixel in a bitonal or
    fax scan of class `kind`, scanned with the random `state` the case used: the oracle for "can any reader
    see it". Pixels count only within the mark's own footprint, so a shift of the whole scan's threshold
    that the mark causes elsewhere does not."""
    foot = np.where(cv2.absdiff(blank, marked) > 2, 0, 255).astype(np.uint8)
    scans = []
    for img in (blank, marked, foot):
        rng = random.Random()
        rng.setstate(state)  # type: ignore[arg-type]
        if img is foot:  # the same geometry (the skew is the first draw), no threshold
            out = sim.rotate(img, rng.uniform(-1.5, 1.5))
            if kind == "fax":
                h, w = out.shape
                small = cv2.resize(out, (int(w * 204 / 200), int(h * 98 / 200)), interpolation=cv2.INTER_AREA)
                out = cv2.resize(small, (small.shape[1], int(small.shape[0] * 204 / 98)),
                                 interpolation=cv2.INTER_NEAREST)
            scans.append(out)
        else:
            scans.append(scan(img, img, kind, rng)[0])
    before, after, where = scans
    where = cv2.dilate((where < 250).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return bool(np.count_nonzero((after < 128) & (before >= 128) & where) >= 2)


def build(n: int, seed: int, workdir: Path, pen: str = "pen2",
          classes: tuple[str, ...] = SCAN_CLASSES, oracle: bool = False, rescan: bool = False) -> Iterator[TickCase]:
    """n coupons, ticked by `pen`, cycling through `classes`; reproducible from `seed`.

    The second pen is one pen per coupon (one person fills in a form with one pen), its stroke style drawn
    anew for every box. `oracle`: on bitonal and fax scans, record per marked box whether its mark left any
    pixel at all (`TickCase.visible`; costs three more scans per mark). `rescan`: on bitonal scans, also the
    grey rescan `mailing scan` asks for (`TickCase.rescan`: the same paper as a clean 200 dpi scan, its own
    skew; the rescan's draws come after every other draw of the case, so the corpus is unchanged)."""
    rng = random.Random(seed)
    codes = [code_for(rng) for _ in range(n)]
    workdir.mkdir(parents=True, exist_ok=True)
    p300: list[tuple[np.ndarray, int]] = []
    p200: list[tuple[np.ndarray, int]] = []
    for i, code in enumerate(codes):
        if i % RENDER_CHUNK == 0:  # a chunk at a time: thousands of A4 pages at 300 dpi do not fit in memory
            p300 = coupon_pages(codes[i:i + RENDER_CHUNK], 300, workdir)
            p200 = coupon_pages(codes[i:i + RENDER_CHUNK], 200, workdir)
        blank300, blank200 = p300[i % RENDER_CHUNK][0], p200[i % RENDER_CHUNK][0]
        kind = classes[i % len(classes)]
        case_rng = random.Random(rng.randrange(2**32))
        page300, page200 = blank300.copy(), blank200.copy()
        hand = pens.random_pen(case_rng) if pen == "pen2" else None
        want: dict[int, str] = {}
        styles: dict[int, str] = {}
        drawn: dict[int, object] = {}
        for slot in range(SLOTS):
            if case_rng.random() < 0.5:
                want[slot], styles[slot] = "empty", ""
                continue
            # the same mark on both renderings: the same random draws at each resolution
            drawn[slot] = state = case_rng.getstate()
            styles[slot], want[slot] = _tick(page300, 300, slot, pen, case_rng, hand)
            case_rng.setstate(state)
            _tick(page200, 200, slot, pen, case_rng, hand)
        scan_state = case_rng.getstate()
        image, dpi = scan(d.cut_coupon(page300, 300), d.cut_coupon(page200, 200), kind, case_rng)
        visible: dict[int, bool] = {}
        if oracle and kind in ("bitonal", "fax"):
            blank = d.cut_coupon(blank200, 200)
            for slot, state in drawn.items():
                alone = blank200.copy()
                mark_rng = random.Random()
                mark_rng.setstate(state)  # type: ignore[arg-type]
                _tick(alone, 200, slot, pen, mark_rng, hand)
                visible[slot] = _footprint_survives(blank, d.cut_coupon(alone, 200), kind, scan_state)
        again = None
        if rescan and kind == "bitonal":
            again = scan(d.cut_coupon(page300, 300), d.cut_coupon(page200, 200), "clean200", case_rng)[0]
        yield TickCase(image, dpi, code, want, styles, pen, kind, visible, again)
