"""A second, independent pen model: how other people tick a box, for tests and benchmarks only.

The tick reader's thresholds are tuned on the first pen (`scanning.simulate.tick`: thick dark strokes well
inside the box). This model is held apart from tuning and only measured on, so a threshold that merely fits
the first pen shows here. Strokes are drawn in coupon millimetres on an upright page image, supersampled
4x and area-averaged, so a 0.2 mm ballpoint line at 150 dpi is a faint grey line as a scanner sees it.

- stroke shapes (`STYLES`): a single slash; a check mark whose long arm runs over the border; a small check
  in a corner; a cross larger than the box; a filled box; a circle around the box; a correction (a filled
  box with an "X" written beside it);
- pens: ballpoint, gel or felt tip, 0.2-1.0 mm wide, black or blue ink, sometimes light pressure (paler,
  thinner, with skips where the ball did not roll).

`intended(style)` is what a careful person reading the coupon would decide: "ticked" for every mark except
the correction, whose meaning ("I take this back" or "this one") a machine must not decide: "doubtful".
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import cv2
import numpy as np

from layouts import geometry as g
from scanning.results import TickState

STYLES = ("slash", "check_over", "corner_check", "big_cross", "filled", "circle", "correction")
SUPERSAMPLE = 4
ROI_MARGIN_MM = 12.0  # every mark stays within this distance of its box


@dataclass(frozen=True)
class Pen:
    width_mm: float  # 0.2-1.0
    grey: int  # ink as a greyscale scanner sees it: black 20-60, blue 70-120
    pressure: float  # 0.45-1.0: how much of the ink's darkness reaches the paper
    skips: float  # fraction of the stroke length where a light ballpoint left no ink
    colour: str  # "black" or "blue"


def random_pen(rng: random.Random) -> Pen:
    colour = rng.choice(["black", "blue"])
    grey = rng.randint(20, 60) if colour == "black" else rng.randint(70, 120)
    light = rng.random() < 0.35
    width = rng.uniform(0.2, 0.45) if light else rng.uniform(0.2, 1.0)
    pressure = rng.uniform(0.5, 0.75) if light else rng.uniform(0.8, 1.0)
    skips = rng.uniform(0.05, 0.2) if light else 0.0
    return Pen(round(width, 3), grey, round(pressure, 3), round(skips, 3), colour)


def intended(style: str) -> TickState:
    return "doubtful" if style == "correction" else "ticked"


@dataclass(frozen=True)
class Mark:
    style: str
    pen: Pen
    want: TickState


def _curve(pts: list[tuple[float, float]], rng: random.Random, wobble: float, n: int = 12) -> list[tuple[float, float]]:
    """A hand-drawn polyline through `pts` (box units): straight segments bent a little, resampled."""
    out: list[tuple[float, float]] = []
    for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
        bend = rng.uniform(-wobble, wobble)
        nx, ny = -(by - ay), bx - ax
        for i in range(n):
            t = i / n
            s = math.sin(math.pi * t) * bend
            out.append((ax + (bx - ax) * t + nx * s, ay + (by - ay) * t + ny * s))
    out.append(pts[-1])
    return out


def _shapes(style: str, rng: random.Random) -> list[list[tuple[float, float]]]:
    """Strokes in box units: (0, 0) the box's top-left, (1, 1) its bottom-right; may leave the box."""
    u = rng.uniform
    if style == "slash":
        a, b = (u(0.15, 0.4), u(0.7, 0.92)), (u(0.6, 0.88), u(0.08, 0.3))
        if rng.random() < 0.3:
            a, b = (u(0.1, 0.3), u(0.1, 0.3)), (u(0.7, 0.9), u(0.7, 0.9))
        return [_curve([a, b], rng, 0.05)]
    if style == "check_over":
        return [_curve([(u(0.1, 0.3), u(0.4, 0.6)), (u(0.35, 0.5), u(0.75, 0.95)),
                        (u(1.2, 1.8), u(-0.8, -0.25))], rng, 0.08)]
    if style == "corner_check":
        s = u(0.25, 0.42)
        cx, cy = rng.choice([(0.08, 0.08), (0.92 - s, 0.08), (0.08, 0.92 - s), (0.92 - s, 0.92 - s)])
        cx, cy = cx + u(-0.03, 0.03), cy + u(-0.03, 0.03)
        return [_curve([(cx, cy + 0.5 * s), (cx + 0.35 * s, cy + s), (cx + s, cy)], rng, 0.06, 6)]
    if style == "big_cross":
        e = u(0.15, 0.45)
        return [_curve([(-e + u(-0.1, 0.1), -e), (1 + e, 1 + e + u(-0.1, 0.1))], rng, 0.05),
                _curve([(1 + e + u(-0.1, 0.1), -e), (-e, 1 + e + u(-0.1, 0.1))], rng, 0.05)]
    if style in ("filled", "correction"):
        strokes = []
        y, n = u(0.08, 0.15), rng.randint(9, 14)
        step = (0.92 - y) / n
        pts = []
        for i in range(n + 1):
            pts.append((u(0.02, 0.12), y + i * step) if i % 2 == 0 else (u(0.88, 0.98), y + i * step))
        strokes.append(_curve(pts, rng, 0.02, 4))
        if style == "correction":  # the "X" beside the box, in the margin on its left
            cx, cy, s = u(-1.0, -0.75), u(0.2, 0.5), u(0.4, 0.6)
            strokes.append(_curve([(cx - s / 2, cy - s / 2), (cx + s / 2, cy + s / 2)], rng, 0.05, 6))
            strokes.append(_curve([(cx + s / 2, cy - s / 2), (cx - s / 2, cy + s / 2)], rng, 0.05, 6))
        return strokes
    if style == "circle":
        r = u(0.75, 0.9)  # box units from the centre: the box's corners are at 0.71
        sx, sy = r * u(0.95, 1.1), r * u(0.9, 1.05)
        start, sweep = u(0, 2 * math.pi), u(1.9, 2.15) * math.pi
        pts = []
        for i in range(49):
            ang = start + sweep * i / 48
            grow = 1 + 0.06 * i / 48
            pts.append((0.5 + sx * grow * math.cos(ang), 0.5 + sy * grow * math.sin(ang)))
        return [pts]
    raise ValueError(f"unknown pen style {style!r}")


def mark(img: np.ndarray, dpi: float, box: g.Box, top_mm: float, rng: random.Random,
         style: str | None = None, pen: Pen | None = None) -> Mark:
    """Draw one mark on the box (coupon coordinates; the coupon's top at `top_mm` on the image), in place."""
    style = style or rng.choice(STYLES)
    pen = pen or random_pen(rng)
    k = dpi / g.MM_PER_INCH
    x0 = max(0, int((box.x_mm - ROI_MARGIN_MM) * k))
    y0 = max(0, int((top_mm + box.y_mm - ROI_MARGIN_MM) * k))
    x1 = min(img.shape[1], int(math.ceil((box.right_mm + ROI_MARGIN_MM) * k)))
    y1 = min(img.shape[0], int(math.ceil((top_mm + box.bottom_mm + ROI_MARGIN_MM) * k)))
    ss = SUPERSAMPLE
    cover = np.zeros(((y1 - y0) * ss, (x1 - x0) * ss), np.uint8)
    width_px = max(1, int(round(pen.width_mm * k * ss)))
    for stroke in _shapes(style, rng):
        pts = [((box.x_mm + px * box.width_mm) * k - x0, (top_mm + box.y_mm + py * box.height_mm) * k - y0)
               for px, py in stroke]
        arr = (np.array(pts) * ss).astype(np.int32)
        for a, b in zip(arr, arr[1:], strict=False):
            if pen.skips and rng.random() < pen.skips:
                continue
            cv2.line(cover, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 255, width_px, cv2.LINE_AA)
    alpha = cv2.resize(cover, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    alpha *= pen.pressure
    roi = img[y0:y1, x0:x1].astype(np.float32)
    # subtractive ink: where the pen covers, the paper's brightness is multiplied down towards the ink's
    img[y0:y1, x0:x1] = np.clip(roi * (1 - alpha * (1 - pen.grey / 255.0)), 0, 255).astype(np.uint8)
    return Mark(style, pen, intended(style))
