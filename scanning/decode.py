"""Decoding: a grey page image → every QR symbol on it (text, corners, which decoder and retry read it).

The cascade follows docs/measurements.md §Decoder cascade: zxing-cpp on the whole image first (3 ms per
coupon, 89 %, returns every symbol with its four corners and also the symbols it located but could not
decode); then, only around those candidates or when nothing was read, OpenCV's WeChat decoder (94 %, but
seconds on hopeless images, so never more than `WECHAT_MAX_PIXELS`), zbar, and cheap retries in order of
measured benefit per millisecond (adaptive threshold, 2x upscale for small modules, closing, sharpening,
rotation by 45°, Otsu and median filter for zbar). A deadline bounds a hopeless page.
No decoder misread in 1,800 measured images; the check symbol is validated later (`mailing.codes.parse`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from layouts import geometry as g
from mailing.log import get_logger

log = get_logger(__name__)

DEADLINE_S = 2.0  # per page: a hopeless page costs at most this (plus one decoder call already running);
# 1.5 s cut off a crumpled, speckled coupon that the close3 retry reads at 1.52 s
WECHAT_MAX_PIXELS = 1_500_000  # WeChat's time explodes on big hopeless images (4 s median at 2.9 MP)
ZBAR_MAX_PIXELS = 3_000_000  # zbar: ~20 ms per MP; beyond that, downscale (modules stay >= 4 px)
UPSCALE_MAX_PIXELS = 8_000_000  # up2x helps small modules (dpi100, recycled 200 dpi); only on small images/crops
BLANK_INK_FRACTION = 0.0005  # fewer ink pixels than this after a local threshold: a blank sheet
BLANK_INK_DELTA = 60  # grey levels below the paper level that count as ink for blank detection


@dataclass(frozen=True)
class Symbol:
    """One decoded QR symbol in image pixel coordinates."""

    text: str
    corners: np.ndarray | None  # 4x2 float32: symbol corners, TL TR BR BL of the symbol when `oriented`
    oriented: bool  # corner order known (zxing-cpp); otherwise register.py finds it from the finders
    version: int | None
    decoder: str  # "zxingcpp", "wechat", "zbar", with ":retry" when a retry read it


# ------------------------------------------------------------------------------------------ decoders
def _zxing(img: np.ndarray, errors: bool = False, invert: bool = True) -> tuple[list[Symbol], list[np.ndarray]]:
    """zxing-cpp on the image; `invert` also tries it as a negative (a quarter of its time per page)."""
    import zxingcpp

    found: list[Symbol] = []
    candidates: list[np.ndarray] = []
    for b in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]
                                        return_errors=errors, try_invert=invert):
        p = b.position
        quad = np.array([[p.top_left.x, p.top_left.y], [p.top_right.x, p.top_right.y],
                         [p.bottom_right.x, p.bottom_right.y], [p.bottom_left.x, p.bottom_left.y]], np.float32)
        if b.valid and b.text:
            try:
                version: int | None = int(dict(b.extra).get("Version", 0)) or None  # type: ignore[call-overload]
            except (TypeError, ValueError, AttributeError):
                version = None
            found.append(Symbol(b.text, quad, True, version, "zxingcpp"))
        else:
            candidates.append(quad)
    return found, candidates


_WECHAT: list[object] = []


def _wechat_detector() -> object:
    if not _WECHAT:
        _WECHAT.append(cv2.wechat_qrcode_WeChatQRCode())  # type: ignore[attr-defined]
    return _WECHAT[0]


def _wechat(img: np.ndarray) -> list[Symbol]:
    scale = 1.0
    if img.size > WECHAT_MAX_PIXELS:
        scale = (WECHAT_MAX_PIXELS / img.size) ** 0.5
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    texts, points = _wechat_detector().detectAndDecode(img)  # type: ignore[attr-defined]
    out = []
    for text, pts in zip(texts, points, strict=False):
        if text:
            quad = np.asarray(pts, np.float32).reshape(4, 2) / scale
            out.append(Symbol(text, quad, False, None, "wechat"))
    return out


def _zbar(img: np.ndarray) -> list[Symbol]:
    from pyzbar import pyzbar

    scale = 1.0
    if img.size > ZBAR_MAX_PIXELS:
        scale = (ZBAR_MAX_PIXELS / img.size) ** 0.5
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = []
    for r in pyzbar.decode(img, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        try:
            text = r.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        quad = None
        if len(r.polygon) == 4:
            quad = np.array([[p.x, p.y] for p in r.polygon], np.float32) / scale
        out.append(Symbol(text, quad, False, None, "zbar"))
    return out


# ------------------------------------------------------------------------------------ preprocessing
def _adaptive(img: np.ndarray) -> np.ndarray:
    block = max(15, (min(img.shape) // 40) | 1)
    return cv2.adaptiveThreshold(img, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 10)


def _otsu(img: np.ndarray) -> np.ndarray:
    return cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def _up2x(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


def _half(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def _close3(img: np.ndarray) -> np.ndarray:
    return cv2.morphologyEx(img, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))


def _median3(img: np.ndarray) -> np.ndarray:
    return cv2.medianBlur(img, 3)


def _sharpen(img: np.ndarray) -> np.ndarray:
    soft = cv2.GaussianBlur(img, (0, 0), 2.0)
    return cv2.addWeighted(img, 1.8, soft, -0.8, 0)


def _rot45(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 45, 1.0)
    side = int((h + w) / 2 ** 0.5) + 2
    m[0, 2] += side / 2 - w / 2
    m[1, 2] += side / 2 - h / 2
    return cv2.warpAffine(img, m, (side, side), borderValue=255), m


def _smooth(img: np.ndarray) -> np.ndarray:
    """Gaussian σ 1.5 px: rounds the staircase edges of a bitonal fax so the module grid fits again."""
    return cv2.GaussianBlur(img, (0, 0), 1.5)


Pre = Callable[[np.ndarray], np.ndarray]
# (decoder, preprocessing, scale of the preprocessed image relative to its input)
_RETRIES: list[tuple[str, str, Pre | None, float]] = [
    ("zxingcpp", "adaptive", _adaptive, 1.0),  # coffee_heavy +50 pts
    ("wechat", "smooth", _smooth, 1.0),  # standard fax: staircase module edges (the corpus' last miss)
    ("zxingcpp", "up2x", _up2x, 2.0),  # recycled/coffee/fold
    ("zxingcpp", "close3", _close3, 1.0),
    ("zxingcpp", "sharpen", _sharpen, 1.0),
    ("zxingcpp", "half", _half, 0.5),
    ("zbar", "median3", _median3, 1.0),  # zbar: speckle and noise
    ("zbar", "otsu", _otsu, 1.0),
    ("zxingcpp", "rot45", None, 1.0),
    ("wechat", "up2x", _up2x, 2.0),  # blur, phone
    ("wechat", "rot45", None, 1.0),  # office bitonal
]


def _run(decoder: str, img: np.ndarray) -> list[Symbol]:
    if decoder == "zxingcpp":
        return _zxing(img)[0]
    if decoder == "wechat":
        return _wechat(img)
    return _zbar(img)


def _attempt(decoder: str, name: str, pre: Pre | None, scale: float, img: np.ndarray) -> list[Symbol]:
    """One retry; corners mapped back to `img` coordinates."""
    if name == "rot45":
        rot, m = _rot45(img)
        found = _run(decoder, rot)
        inv = cv2.invertAffineTransform(m)
        return [_moved(s, inv, f"{decoder}:{name}") for s in found]
    if scale > 1 and img.size * scale * scale > UPSCALE_MAX_PIXELS:
        return []
    work = pre(img) if pre is not None else img
    found = _run(decoder, work)
    back = np.array([[1 / scale, 0, 0], [0, 1 / scale, 0]], np.float64)
    return [_moved(s, back, f"{decoder}:{name}") for s in found]


def _moved(s: Symbol, affine: np.ndarray, decoder: str) -> Symbol:
    """The symbol with its corners mapped through a 2x3 affine matrix."""
    quad = None if s.corners is None else cv2.transform(s.corners.astype(np.float32)[None], affine)[0]
    return Symbol(s.text, quad, s.oriented, s.version, decoder)


def _crop(img: np.ndarray, quad: np.ndarray, margin: float) -> tuple[np.ndarray, int, int]:
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    m = margin * max(x1 - x0, y1 - y0, 20)
    h, w = img.shape
    a, b = int(max(0, x0 - m)), int(max(0, y0 - m))
    c, d = int(min(w, x1 + m)), int(min(h, y1 + m))
    return img[b:d, a:c], a, b


# -------------------------------------------------------------------------------------------- public
def is_blank(image: np.ndarray) -> bool:
    """No ink at all: an empty sheet (also a stained or grey one), as opposed to one with an unreadable code."""
    small = image
    if image.size > 500_000:
        f = (500_000 / image.size) ** 0.5
        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    small = cv2.medianBlur(small, 3)
    paper = cv2.dilate(small, np.ones((15, 15), np.uint8))  # local paper level: stains and shading drop out
    ink = (paper.astype(np.int16) - small.astype(np.int16)) > BLANK_INK_DELTA
    return float(ink.mean()) < BLANK_INK_FRACTION


def find_symbols(image: np.ndarray, dpi: float = 200.0, deadline_s: float = DEADLINE_S) -> list[Symbol]:
    """Every QR symbol on the page (several coupons on one flatbed page included), best effort in time."""
    start = time.perf_counter()
    deadline = start + deadline_s
    # First pass without zxing's negative search: coupons are printed dark on light, and a negative page
    # scan (a bitonal TIFF with its photometric tag the wrong way round) is turned back in read_page.
    found, candidates = _zxing(image, errors=True, invert=False)
    symbols = list(found)

    def new(items: list[Symbol]) -> list[Symbol]:
        out = []
        for s in items:
            if not any(_same(s, t) for t in symbols):
                symbols.append(s)
                out.append(s)
        return out

    # located but not decoded by zxing: retries on a crop around each candidate
    for quad in candidates:
        if time.perf_counter() > deadline:
            break
        if any(t.corners is not None and _overlaps(quad, t.corners) for t in symbols):
            continue
        crop, ox, oy = _crop(image, quad, 0.6)
        for dec, name, pre, scale in [("wechat", "crop", None, 1.0), *_RETRIES]:
            if time.perf_counter() > deadline:
                break
            got = _attempt(dec, name, pre, scale, crop)
            shift = np.array([[1, 0, ox], [0, 1, oy]], np.float64)
            got = [_moved(s, shift, s.decoder) for s in got]
            if new(got):
                break
    if symbols:
        return symbols

    # nothing read anywhere: the whole cascade on the page
    if is_blank(image):
        return []
    for dec, name, pre, scale in [("wechat", "", None, 1.0), ("zbar", "", None, 1.0), *_RETRIES]:
        if time.perf_counter() > deadline:
            log.debug("decode deadline reached after %.2f s", time.perf_counter() - start)
            break
        got = _attempt(dec, name, pre, scale, image) if name else _run(dec, image)
        if new(got):
            break
    return symbols


def _same(a: Symbol, b: Symbol) -> bool:
    if a.text != b.text:
        return False
    if a.corners is None or b.corners is None:
        return True
    return _overlaps(a.corners, b.corners)


def _overlaps(q1: np.ndarray, q2: np.ndarray) -> bool:
    c1, c2 = q1.mean(axis=0), q2.mean(axis=0)
    r = max(float(np.ptp(q1[:, 0])), float(np.ptp(q1[:, 1])), float(np.ptp(q2[:, 0])), float(np.ptp(q2[:, 1])))
    return float(np.linalg.norm(c1 - c2)) < r * 0.75


def qr_mm_per_px(symbol: Symbol) -> float | None:
    """Rough scale from a symbol of known version (used to size crops)."""
    if symbol.corners is None or symbol.version is None:
        return None
    c = symbol.corners
    side_px = float(np.mean([np.linalg.norm(c[i] - c[(i + 1) % 4]) for i in range(4)]))
    return g.qr_modules(symbol.version) * g.QR_MODULE_MM / max(side_px, 1.0)
