"""Shared degradation for the scanning tests and the benchmark: what people, paper, scanners and faxes do.

Three stages, in the order they happen to a returned coupon:
1. on the paper (upright, coupon coordinates known): pen ticks, a scribble beside the code, coffee
   stains, a fold line, crumpling;
2. geometry: cut the coupon off or leave it on the letter, skew, any rotation, a flatbed page with
   the coupon at a random place;
3. the scanner: blur, JPEG q 30, Gaussian and salt-and-pepper noise, bitonal (Otsu), standard fax
   (204 x 98 dpi bitonal), low contrast, photocopy look.
Everything is drawn from the `random.Random` given, so a corpus is reproducible. Images are grey uint8
numpy arrays, white = 255. Pen marks and most paper damage reuse scanning.simulate (the demo's simulator).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import cv2
import numpy as np

from layouts import geometry as g
from scanning import simulate as sim

TICK_STYLES = ("tick", "cross", "fill", "spill")
SCANNER_KINDS = ("clean", "blur", "jpeg30", "noise", "saltpepper", "bitonal", "fax", "lowcontrast", "photocopy")
PAPER_KINDS = ("none", "coffee", "scribble", "fold", "crumple")
GEOMETRY_KINDS = ("upright", "skew", "rotate90", "any_angle")


@dataclass
class Truth:
    code: str
    ticked: set[int] = field(default_factory=set)  # slots ticked
    styles: dict[int, str] = field(default_factory=dict)
    damage: list[str] = field(default_factory=list)


def px(v_mm: float, dpi: float) -> int:
    return int(round(v_mm * dpi / g.MM_PER_INCH))


# ------------------------------------------------------------------------------------------ paper
def tick_boxes(img: np.ndarray, dpi: float, top_mm: float, slots: list[int], rng: random.Random,
               truth: Truth, style: str | None = None) -> None:
    for slot in slots:
        box = g.checkbox_box(slot)
        x0, y0 = px(box.x_mm, dpi), px(top_mm + box.y_mm, dpi)
        x1, y1 = px(box.right_mm, dpi), px(top_mm + box.bottom_mm, dpi)
        chosen = sim.tick(img, (x0, y0, x1, y1), rng, style or rng.choice(TICK_STYLES))
        truth.ticked.add(slot)
        truth.styles[slot] = chosen


def scribble_beside(img: np.ndarray, dpi: float, top_mm: float, rng: random.Random) -> None:
    """Handwriting between the labels and the code, never across the code's keep-clear frame or a box."""
    x0, x1 = px(95, dpi), px(140, dpi)
    y0, y1 = px(top_mm + 44, dpi), px(top_mm + 70, dpi)
    sim.scribble(img, (x0, y0, x1, y1), rng, strokes=rng.randint(2, 4))


def paper(img: np.ndarray, kind: str, dpi: float, top_mm: float, rng: random.Random) -> np.ndarray:
    if kind == "coffee":
        return sim.coffee_stain(img, rng)
    if kind == "scribble":
        scribble_beside(img, dpi, top_mm, rng)
        return img
    if kind == "fold":
        return sim.fold(img, rng)
    if kind == "crumple":
        return sim.crumple(img, dpi, rng)
    return img


# --------------------------------------------------------------------------------------- geometry
def cut_coupon(page: np.ndarray, dpi: float) -> np.ndarray:
    return page[px(g.COUPON_TOP_MM, dpi):].copy()


def geometry(img: np.ndarray, kind: str, rng: random.Random) -> np.ndarray:
    if kind == "skew":
        return sim.rotate(img, rng.uniform(-5, 5))
    if kind == "rotate90":
        return sim.rotate(img, rng.choice([90, 180, 270]) + rng.uniform(-1.5, 1.5))
    if kind == "any_angle":
        return sim.rotate(img, rng.uniform(0, 360))
    return img


def flatbed(coupons: list[np.ndarray], dpi: float, rng: random.Random) -> np.ndarray:
    """Several cut coupons laid on one A4 flatbed page, each slightly skewed."""
    page = np.full((px(297, dpi), px(210, dpi)), 250, np.uint8)
    y = px(4, dpi)
    for c in coupons:
        c = sim.rotate(c, rng.uniform(-3, 3))
        h, w = c.shape
        h, w = min(h, page.shape[0] - y), min(w, page.shape[1])
        if h <= 0:
            break
        page[y:y + h, :w] = np.minimum(page[y:y + h, :w], c[:h, :w])
        y += h + px(3, dpi)
    return page


# --------------------------------------------------------------------------------------- scanner
def salt_pepper(img: np.ndarray, rng: random.Random, fraction: float = 0.02) -> np.ndarray:
    gen = np.random.default_rng(rng.randrange(2**32))
    out = img.copy()
    r = gen.random(img.shape)
    out[r < fraction / 2] = 0
    out[r > 1 - fraction / 2] = 255
    return out


def fax_raw(img: np.ndarray, dpi: float) -> np.ndarray:
    """Standard fax as a fax server stores it: 204 x 98 dpi bitonal, non-square pixels (save with that dpi)."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (int(w * 204 / dpi), int(h * 98 / dpi)), interpolation=cv2.INTER_AREA)
    return sim.bitonal(small)


def scanner(img: np.ndarray, kind: str, dpi: float, rng: random.Random) -> np.ndarray:
    """Signal damage; `fax` here returns square pixels at 204 dpi (fax_raw keeps them non-square)."""
    if kind == "blur":
        return sim.blur(img, rng.uniform(0.8, 1.5) * dpi / 200)
    if kind == "jpeg30":
        return sim.jpeg(img, 30)
    if kind == "noise":
        return sim.noise(img, rng, rng.uniform(10, 25))
    if kind == "saltpepper":
        return salt_pepper(img, rng, rng.uniform(0.005, 0.02))
    if kind == "bitonal":
        return sim.bitonal(img)
    if kind == "fax":
        return sim.fax(img, dpi)
    if kind == "lowcontrast":
        return sim.low_contrast(img, rng.randint(80, 110), rng.randint(200, 235))
    if kind == "photocopy":
        return sim.photocopy(img, rng)
    return img


# ------------------------------------------------------------------ phone photos and odd stacks (issue 10)
PHONE_PX_PER_MM = (5.0, 8.0)  # a phone held over a sheet: 130-200 px per inch on the paper


def phone_photo(img: np.ndarray, dpi: float, rng: random.Random, table: tuple[int, int] = (20, 70)) -> np.ndarray:
    """A phone photo of a sheet (a coupon or a whole letter) lying on a dark table: the sheet fills 60-80 %
    of the frame, seen at a tilt (perspective: corners up to 7 % off a rectangle), turned by up to ±12°, a
    soft shadow of the phone over part of it, uneven light, slight defocus, sensor noise and phone JPEG."""
    gen = np.random.default_rng(rng.randrange(2**32))
    ppm = rng.uniform(*PHONE_PX_PER_MM)
    f = ppm * g.MM_PER_INCH / dpi
    sheet = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    sh, sw = sheet.shape
    fill = rng.uniform(0.6, 0.8)
    fw, fh = int(max(sw, sh) / fill), int(max(sw, sh) / fill * 0.75)
    if sh > sw:  # a letter: portrait frame
        fw, fh = fh, fw
    fw, fh = max(fw, int(sw * 1.15)), max(fh, int(sh * 1.15))
    angle = np.deg2rad(rng.uniform(-12, 12))
    c, s = np.cos(angle), np.sin(angle)
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    centred = src - np.array([sw / 2, sh / 2], np.float32)
    rot = centred @ np.array([[c, s], [-s, c]], np.float32)
    jitter = np.array([[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(4)], np.float32)
    dst = rot + jitter * 0.07 * np.float32(min(sw, sh)) + np.array([fw / 2, fh / 2], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    base = rng.randint(*table)
    frame = cv2.warpPerspective(sheet, m, (fw, fh), flags=cv2.INTER_LINEAR, borderValue=base)
    mask = cv2.warpPerspective(np.full((sh, sw), 255, np.uint8), m, (fw, fh), flags=cv2.INTER_NEAREST)
    wood = cv2.GaussianBlur(gen.normal(0, 12, (fh, fw)).astype(np.float32), (0, 0), 6)
    out = frame.astype(np.float32)
    out[mask == 0] = np.clip(base + wood[mask == 0], 0, 255)
    # uneven light and the phone's shadow over one side of the sheet
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    light = 0.85 + 0.15 * (np.cos(rng.uniform(0, 6.3)) * xx / fw + np.sin(rng.uniform(0, 6.3)) * yy / fh)
    theta = rng.uniform(0, 2 * np.pi)
    d = (xx - fw / 2) * np.cos(theta) + (yy - fh / 2) * np.sin(theta) - rng.uniform(0.15, 0.35) * max(fw, fh)
    shadow = 1.0 - rng.uniform(0.25, 0.45) / (1.0 + np.exp(-d / (0.03 * max(fw, fh))))
    out *= light * shadow
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.0))
    out += gen.normal(0, rng.uniform(2, 5), out.shape)
    return sim.jpeg(np.clip(out, 0, 255).astype(np.uint8), rng.randint(70, 88))


def fax100(img: np.ndarray, dpi: float) -> np.ndarray:
    """A fax kept at 100 x 100 dpi (a fax server's 'low' setting): bitonal at a fixed threshold, about 3 px
    per QR module. Returned at 100 dpi."""
    f = 100 / dpi
    small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return np.where(small < 150, 0, 255).astype(np.uint8)


def light_toner(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A printer running out of toner: black prints as a faint grey (ink 9-14 grey levels below the
    paper), paper slightly off-white, a little noise. zxing-cpp gives up on most; WeChat reads them."""
    paper = rng.randint(238, 250)
    depth = rng.uniform(9, 14)
    out = paper - (255.0 - img.astype(np.float32)) * depth / 255.0
    return sim.noise(np.clip(out, 0, 255).astype(np.uint8), rng, 2.0)


def hide_qr(coupon: np.ndarray, dpi: float, rng: random.Random) -> np.ndarray:
    """A dark blot of coffee over the QR code of a cut coupon (three quarters of the light taken, soft
    edge): zxing-cpp mostly no longer even locates the code, WeChat and the retries still read it."""
    box = g.qr_keep_clear_box(2)
    x0, y0, x1, y1 = px(box.x_mm, dpi), px(box.y_mm, dpi), px(box.right_mm, dpi), px(box.bottom_mm, dpi)
    h, w = coupon.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = (x0 + x1) / 2 + rng.uniform(-0.05, 0.05) * (x1 - x0), (y0 + y1) / 2
    r = (x1 - x0) * 0.5 * rng.uniform(0.85, 1.0)
    blot = cv2.GaussianBlur((np.hypot(xx - cx, yy - cy) < r).astype(np.float32), (0, 0), 3 * dpi / 300)
    out = coupon.astype(np.float32) * (1 - blot * rng.uniform(0.7, 0.77))
    return np.clip(out, 0, 255).astype(np.uint8)


def write_phone(img: np.ndarray, dpi: float, top_mm: float, number: str, rng: random.Random) -> None:
    """A telephone number handwritten on the coupon's write-in line (layouts.geometry.PHONE_*): a script
    font, 5-7 mm tall, slightly slanted and off the line, in ballpoint grey."""
    x = px(g.PHONE_LINE_X_MM + rng.uniform(1, 8), dpi)
    y = px(top_mm + g.PHONE_LINE_Y_MM - rng.uniform(0.5, 1.5), dpi)
    height_mm = rng.uniform(5, 7)
    scale = height_mm * dpi / g.MM_PER_INCH / 22  # Hershey glyphs are about 22 px tall at scale 1
    cv2.putText(img, number, (x, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, rng.randint(30, 90),
                max(1, px(0.4, dpi)), cv2.LINE_AA)


# ------------------------------------------------------------------- hard classes: the QR code destroyed
# (issue 10) Returns no QR decoder reads, whose printed code under the symbol stays legible. Drawn on the
# upright page (coupon at top_mm), before geometry and scanner damage.
def strokes_across_qr(img: np.ndarray, dpi: float, top_mm: float, rng: random.Random, version: int = 1,
                      strokes: tuple[int, int] = (3, 6)) -> None:
    """Pen strokes and scrawls right across the QR symbol (someone writing or crossing it out); they stay
    above the printed code line, as on the returns looked at."""
    qr = g.qr_box(version)
    x0, x1 = px(qr.x_mm - 3, dpi), px(qr.right_mm + 3, dpi)
    y0, y1 = px(top_mm + qr.y_mm - 3, dpi), px(top_mm + qr.bottom_mm + 1, dpi)
    for _ in range(rng.randint(*strokes)):
        pts = [(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(rng.randint(3, 7))]
        sim._pen(img, pts, max(2, px(rng.uniform(0.4, 0.9), dpi)), rng.randint(10, 70))
    # one long stroke corner to corner, as when a code is crossed out
    sim._pen(img, [(x0, y0 + rng.uniform(0, 0.3) * (y1 - y0)), (x1, y1 - rng.uniform(0, 0.3) * (y1 - y0))],
             max(2, px(rng.uniform(0.5, 1.0), dpi)), rng.randint(10, 60))


def coffee_over_qr(img: np.ndarray, dpi: float, top_mm: float, rng: random.Random, version: int = 1) -> np.ndarray:
    """Heavy coffee: a dark stain centred on the QR symbol (half the paper's brightness and more, a dark
    ring through it) and drops around it."""
    qr = g.qr_box(version)
    h, w = img.shape[:2]
    cx = px(qr.x_mm + qr.width_mm * rng.uniform(0.2, 0.8), dpi)
    cy = px(top_mm + qr.y_mm + qr.height_mm * rng.uniform(0.2, 0.8), dpi)
    r = px(rng.uniform(7, 13), dpi)  # the stain's dark rim runs through the symbol
    yy, xx = np.ogrid[:h, :w]
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    blot = np.clip(1.3 - dist / r, 0, 1) * rng.uniform(0.6, 0.75)
    ring = np.exp(-((dist - r) ** 2) / (2 * (r * 0.08) ** 2)) * rng.uniform(0.6, 0.8)
    drops = np.zeros((h, w), np.float32)
    for _ in range(rng.randint(2, 5)):
        dx, dy, dr = cx + rng.uniform(-2, 2) * r, cy + rng.uniform(-1, 1) * r, rng.uniform(0.05, 0.15) * r
        drops = np.maximum(drops, (np.sqrt((xx - dx) ** 2 + (yy - dy) ** 2) < dr) * rng.uniform(0.4, 0.6))
    out = img.astype(np.float32) * (1 - np.clip(blot + ring + drops, 0, 0.85))
    return np.clip(out, 0, 255).astype(np.uint8)


def hard_case(page: np.ndarray, dpi: float, kind: str, rng: random.Random) -> np.ndarray:
    """A whole rendered page → a cut-off coupon of hard class `kind` ("strokes" or "coffee_heavy"), skewed
    and through a scanner (clean, noise, JPEG or blur)."""
    page = page.copy()
    if kind == "strokes":
        strokes_across_qr(page, dpi, g.COUPON_TOP_MM, rng)
    elif kind == "coffee_heavy":
        page = coffee_over_qr(page, dpi, g.COUPON_TOP_MM, rng)
    else:
        raise ValueError(f"unknown hard class {kind!r}")
    img = geometry(cut_coupon(page, dpi), rng.choice(["upright", "skew", "skew", "rotate90"]), rng)
    return scanner(img, rng.choice(["clean", "noise", "jpeg30", "blur"]), dpi, rng)
