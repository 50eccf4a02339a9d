"""Decoding: a grey page image → every QR symbol on it (text, corners, which decoder and retry read it).

The cascade follows docs/measurements.md §Decoder cascade: zxing-cpp on the whole image first (3 ms per
coupon, 89 %, returns every symbol with its four corners and also the symbols it located but could not
decode); then, only around those candidates or when nothing was read, OpenCV's WeChat decoder (94 %, but
seconds on hopeless images, so never more than `WECHAT_MAX_PIXELS`), zbar, and cheap retries in order of
measured benefit per millisecond (adaptive threshold, 2x upscale for small modules, closing, sharpening,
rotation by 45°, Otsu and median filter for zbar). A CPU-time budget bounds a hopeless page (`Budget`), so
the same page gets the same work under any machine load. A mostly dark page is inverted only when the page
as it is gives nothing (a phone photo on a dark table reads as it is); "blank" is judged only after every
decoder had its try on any faint ink (WeChat reads toner so faint it looks blank); on a page that can hold several coupons,
registration marks of no read coupon lead to a second search there (`_more_coupons`), and where that
reads nothing either, the region goes to the printed-code reader (`Located.unread`, scanning.ocr).
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

PAGE_CPU_S = 2.0  # per page, CPU seconds of the decoding thread: a hopeless page costs at most this (plus one
# decoder call already running); 1.5 s cut off a crumpled, speckled coupon that the close3 retry reads at 1.52 s
NEGATIVE_MEDIAN_MAX = 96  # median grey of a page below this: maybe a negative (paper 180-255, ink 0-80), maybe
# a phone photo on a dark table; the negative is tried only when the page as it is gives nothing
MARK_SEARCH_PX_PER_MM = 3.0  # marks searched on the page at 3-6 px/mm: a 5 mm mark is 15-30 px
MULTI_COUPON_AREA = 1.8  # a page of at least 1.8 coupons' area may hold a second coupon: search by marks
MARK_KNOWN_MM = 8.0  # a mark this close to where a read coupon's mark lies belongs to that coupon
MARK_GROUP_TOLERANCE = 0.06  # mark distances within 6 % of the coupon's (193 / 71 mm): skew, scale, lid
WECHAT_MAX_PIXELS = 1_500_000  # WeChat's time explodes on big hopeless images (4 s median at 2.9 MP)
ZBAR_MAX_PIXELS = 3_000_000  # zbar: ~20 ms per MP; beyond that, downscale (modules stay >= 4 px)
UPSCALE_MAX_PIXELS = 8_000_000  # up2x helps small modules (dpi100, recycled 200 dpi); only on small images/crops
BLANK_INK_FRACTION = 0.0005  # fewer ink pixels than this after a local threshold: a blank sheet
BLANK_INK_DELTA = 60  # grey levels below the paper level that count as ink for blank detection
FAINT_INK_DELTA = 6  # ... and as faint ink: toner so light that its darkest print is 9-14 levels below the
# paper gives 0.4 % such pixels (WeChat reads those pages), empty sheets with sensor noise up to σ 8 none


@dataclass(frozen=True)
class Symbol:
    """One decoded QR symbol in image pixel coordinates."""

    text: str
    corners: np.ndarray | None  # 4x2 float32: symbol corners, TL TR BR BL of the symbol when `oriented`
    oriented: bool  # corner order known (zxing-cpp); otherwise register.py finds it from the finders
    version: int | None
    decoder: str  # "zxingcpp", "wechat", "zbar", with ":retry" when a retry read it


# ------------------------------------------------------------------------------------------ decoders
def _zxing(img: np.ndarray, errors: bool = False, invert: bool = True,
           downscale: bool = True) -> tuple[list[Symbol], list[np.ndarray]]:
    """zxing-cpp on the image; `invert` also tries it as a negative (a quarter of its time per page);
    `downscale` also on its image pyramid (a third of its time on a coupon, where full size reads it)."""
    import zxingcpp

    found: list[Symbol] = []
    candidates: list[np.ndarray] = []
    for b in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]
                                        return_errors=errors, try_invert=invert, try_downscale=downscale):
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
    """No ink at all: an empty sheet (also a stained or grey one), as opposed to one with an unreadable code.
    Only a hint until every decoder has had its try: a very faint print (toner running out) looks blank here
    and is still read by WeChat (`locate` asks the decoders first)."""
    small = image
    if image.size > 500_000:
        f = (500_000 / image.size) ** 0.5
        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    small = cv2.medianBlur(small, 3)
    paper = cv2.dilate(small, np.ones((15, 15), np.uint8))  # local paper level: stains and shading drop out
    ink = (paper.astype(np.int16) - small.astype(np.int16)) > BLANK_INK_DELTA
    return float(ink.mean()) < BLANK_INK_FRACTION


def has_faint_ink(image: np.ndarray) -> bool:
    """Any structure at all, however faint (FAINT_INK_DELTA grey levels below the local paper level): what
    a decoder could still read on a page `is_blank` finds empty. A sheet without it is blank without asking
    the decoders (an empty sheet's sensor noise cost WeChat 2.3 s); one with it gets every decoder first."""
    small = image
    if image.size > 500_000:
        f = (500_000 / image.size) ** 0.5
        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    small = cv2.medianBlur(small, 3)
    # the paper level smoothed rather than the local maximum: the maximum of noise lies above the paper
    paper = cv2.GaussianBlur(cv2.dilate(small, np.ones((3, 3), np.uint8)), (0, 0), 6)
    ink = (paper.astype(np.int16) - small.astype(np.int16)) > FAINT_INK_DELTA
    return float(ink.mean()) >= BLANK_INK_FRACTION


def looks_negative(image: np.ndarray) -> bool:
    """Mostly dark: a negative scan, or just as well a phone photo of a sheet on a dark table. Only ever
    a reason to try the inverted image after the image as it is gave nothing."""
    return float(np.median(image[::8, ::8])) < NEGATIVE_MEDIAN_MAX


class Budget:
    """CPU time left for one page, measured on this thread (`time.thread_time`): a page gets the same
    decoding work whatever else runs on the machine, so results do not depend on the moment (a wall-clock
    deadline gave 56 or 59 of 64 on the same files). One decoder call already running is finished. The
    pipeline runs OpenCV on one thread (`cv2.setNumThreads(1)`), so this thread's time is all the work."""

    def __init__(self, seconds: float) -> None:
        self.start = time.thread_time()
        self.end = self.start + seconds

    def spent(self) -> bool:
        return time.thread_time() > self.end

    def used(self) -> float:
        return time.thread_time() - self.start


@dataclass(frozen=True)
class Located:
    """What `locate` found on a page: the symbols, in the pixel coordinates of `image` (the page as given,
    or its negative when only the inverted page held codes), and whether the page is blank."""

    image: np.ndarray
    symbols: list[Symbol]
    inverted: bool = False
    blank: bool = False
    # crops (image, its x, y offset in `image`) around further coupons found by their registration marks
    # whose QR code no decoder read: their printed code is read there (scanning.ocr)
    unread: tuple[tuple[np.ndarray, int, int], ...] = ()


def find_symbols(image: np.ndarray, dpi: float = 200.0, budget_s: float = PAGE_CPU_S) -> list[Symbol]:
    """Every QR symbol on the page (several coupons on one flatbed page included), within a CPU budget.
    Corners refer to `image` unless the page had to be inverted (`locate` says so)."""
    return locate(image, dpi, budget_s).symbols


def locate(image: np.ndarray, dpi: float = 200.0, budget_s: float = PAGE_CPU_S) -> Located:
    """The symbols on a page image (grey, white = 255): the image as it is first, its negative only when
    that finds nothing and the page is mostly dark; the whole cascade after that; then a search by
    registration marks for further coupons the decoders did not locate. "Blank" is judged last: a page with
    no ink by `is_blank` but faint ink by `has_faint_ink` (toner running out) first gets every decoder; one
    without even faint ink has nothing a decoder could read."""
    budget = Budget(budget_s)
    symbols = _first_pass(image, budget, dpi)
    if symbols:
        return _with_more(image, symbols, dpi, budget)
    negative = looks_negative(image)
    inverted = np.ascontiguousarray(255 - image) if negative else image
    if negative:
        symbols = _first_pass(inverted, budget, dpi)
        if symbols:
            return _with_more(inverted, symbols, dpi, budget, inverted=True)
    faint = is_blank(image)
    if faint and not has_faint_ink(image):
        return Located(image, [], blank=True)
    symbols = _cascade(image, budget, faint=faint)
    if symbols:
        return _with_more(image, symbols, dpi, budget)
    if negative and not faint:  # a damaged negative: what budget is left goes to its cascade
        symbols = _cascade(inverted, budget)
        if symbols:
            return _with_more(inverted, symbols, dpi, budget, inverted=True)
    return Located(image, [], blank=faint)


def _with_more(image: np.ndarray, symbols: list[Symbol], dpi: float, budget: Budget, inverted: bool = False) -> Located:
    more, unread = _more_coupons(image, symbols, dpi, budget)
    return Located(image, symbols + more, inverted=inverted, unread=tuple(unread))


def _add_new(symbols: list[Symbol], items: list[Symbol]) -> list[Symbol]:
    """Append the items not already in `symbols`; return those added."""
    out = []
    for s in items:
        if not any(_same(s, t) for t in symbols):
            symbols.append(s)
            out.append(s)
    return out


def _coupon_sized(image: np.ndarray, ppm: float) -> bool:
    """The page holds at most one coupon (a cut-off coupon scanned alone), at `ppm` pixels per mm."""
    return image.size / (ppm * ppm) < MULTI_COUPON_AREA * g.COUPON_WIDTH_MM * g.COUPON_HEIGHT_MM


def _first_pass(image: np.ndarray, budget: Budget, dpi: float = 200.0) -> list[Symbol]:
    """zxing-cpp on the page, then retries on a crop around each symbol it located but could not decode.
    A page of one coupon's size is first read at full size only: when that reads a symbol whose size says
    the page holds no second coupon, zxing's image pyramid (0.4 of its 1.3 ms there) is not needed."""
    # without zxing's negative search: coupons are printed dark on light; a negative is tried in `locate`
    found: list[Symbol] = []
    if _coupon_sized(image, dpi / g.MM_PER_INCH):
        found, candidates = _zxing(image, errors=True, invert=False, downscale=False)
    if not (found and _coupon_sized(image, _page_px_per_mm(found, dpi))):
        found, candidates = _zxing(image, errors=True, invert=False)
    symbols = list(found)
    for quad in candidates:
        if budget.spent():
            break
        if any(t.corners is not None and _overlaps(quad, t.corners) for t in symbols):
            continue
        crop, ox, oy = _crop(image, quad, 0.6)
        shift = np.array([[1, 0, ox], [0, 1, oy]], np.float64)
        for dec, name, pre, scale in [("wechat", "crop", None, 1.0), *_RETRIES]:
            if budget.spent():
                break
            got = [_moved(s, shift, s.decoder) for s in _attempt(dec, name, pre, scale, crop)]
            if _add_new(symbols, got):
                break
    return symbols


def _stretch(img: np.ndarray) -> np.ndarray:
    """Contrast stretched between the 1st and 99th percentile: a faint print gets black ink again."""
    lo, hi = np.percentile(img[::4, ::4], (1, 99))
    if hi - lo < 8:
        return img
    return cv2.convertScaleAbs(img, alpha=255.0 / (hi - lo), beta=-255.0 * lo / (hi - lo))


def _soft(img: np.ndarray) -> np.ndarray:
    """Gaussian σ 1 px: takes the sensor noise off a faint or empty page before WeChat looks at it."""
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def _cascade(image: np.ndarray, budget: Budget, faint: bool = False) -> list[Symbol]:
    """Nothing read on the first pass: the other decoders on the whole page, then the retries, until one
    reads something or the budget is spent. A `faint` page (no ink by `is_blank`: blank or very light
    toner) gets every decoder once, but not the retries: they cost seconds on an empty sheet and find
    nothing there."""
    symbols: list[Symbol] = []
    steps: list[tuple[str, str, Pre | None, float]]
    if faint:
        # zxing on the stretched page reads faint toner in milliseconds; WeChat spends seconds on the pixel
        # noise of an empty sheet (2.3 s CPU on A4 at 200 dpi) unless that is smoothed away first (0.08 s)
        steps = [("zxingcpp", "stretch", _stretch, 1.0), ("wechat", "soft", _soft, 1.0), ("zbar", "", None, 1.0)]
    else:
        steps = [("wechat", "", None, 1.0), ("zbar", "", None, 1.0), *_RETRIES]
    for dec, name, pre, scale in steps:
        if budget.spent():
            log.debug("decode budget spent after %.2f s CPU", budget.used())
            break
        got = _attempt(dec, name, pre, scale, image) if name else _run(dec, image)
        if _add_new(symbols, got):
            break
    return symbols


# ---------------------------------------------------------------------- more coupons by their marks
def _page_px_per_mm(symbols: list[Symbol], dpi: float) -> float:
    """Scale of the page from a decoded symbol of known version (scanner software may state a wrong dpi)."""
    for s in symbols:
        mpp = qr_mm_per_px(s)
        if mpp:
            return 1.0 / mpp
    return dpi / g.MM_PER_INCH


def find_marks(image: np.ndarray, ppm: float) -> np.ndarray:
    """Centres (px) of every dark solid square of registration-mark size on the page, (N, 2)."""
    step = max(1, int(ppm / MARK_SEARCH_PX_PER_MM))  # every step-th pixel: a solid 5 mm square stays one,
    small = np.ascontiguousarray(image[::step, ::step])  # and this costs 0.5 ms on A4 where INTER_AREA took 9 ms
    f = 1.0 / step
    side = g.REG_MARK_SIZE_MM * ppm * f
    block = int(4 * side) | 1
    mask = cv2.adaptiveThreshold(small, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, max(block, 15), 25)
    # an opening keeps solid squares and drops text strokes: the labelling then sees a few blobs, not
    # thousands of letters (15 ms → 1 ms on an A4 letter page)
    k = max(3, int(0.6 * side))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    # contours, not connectedComponentsWithStats: on the sparse mask left after the opening they cost
    # well under a millisecond, the labelling 6 ms (it visits every pixel)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for c in contours:
        x, y, bw, bh = cv2.boundingRect(c)
        if max(bw, bh) > 1.6 * side or min(bw, bh) < 0.6 * side:  # 45° rotated square: 1.41 x side
            continue
        m = cv2.moments(c)
        area = m["m00"]
        if not 0.5 * side * side <= area <= 1.6 * side * side or area < 0.4 * bw * bh:
            continue
        out.append(((m["m10"] / area + 0.5) / f - 0.5, (m["m01"] / area + 0.5) / f - 0.5))
    return np.array(out, np.float64).reshape(-1, 2)


def _mark_centres_mm() -> np.ndarray:
    s = g.REG_MARK_SIZE_MM / 2
    return np.array([[x + s, y + s] for x, y in g.REG_MARKS_MM], np.float64)


def _predicted_marks(symbol: Symbol) -> np.ndarray:
    """Where the registration marks of a decoded symbol's coupon may lie (px): for every corner order (either
    way round) when the decoder did not report one, for every version we print (1-4) when it did not report that."""
    if symbol.corners is None:
        return np.zeros((0, 2))
    c = symbol.corners
    quads = [c] if symbol.oriented else [np.roll(q, -k, axis=0) for q in (c, c[::-1]) for k in range(4)]
    out = []
    for version in [symbol.version] if symbol.version else range(1, 5):
        b = g.qr_box(version)
        qr_mm = np.array([[b.x_mm, b.y_mm], [b.right_mm, b.y_mm], [b.right_mm, b.bottom_mm],
                          [b.x_mm, b.bottom_mm]], np.float32)
        for quad in quads:
            m = cv2.getPerspectiveTransform(qr_mm, quad.astype(np.float32))
            out.append(cv2.perspectiveTransform(_mark_centres_mm().reshape(-1, 1, 2), m).reshape(-1, 2))
    return np.vstack(out)


def _mark_triples(marks: np.ndarray, ppm: float) -> list[np.ndarray]:
    """Groups of three marks that lie like three corners of one coupon's mark rectangle (sides 193 x 71 mm,
    a right angle between them), each as the four corners of that rectangle (px)."""
    c = _mark_centres_mm()
    long_px, short_px = (c[1, 0] - c[0, 0]) * ppm, (c[2, 1] - c[0, 1]) * ppm
    tol = MARK_GROUP_TOLERANCE
    out: list[np.ndarray] = []
    used: set[int] = set()
    for b in range(len(marks)):
        if b in used:
            continue
        d = np.linalg.norm(marks - marks[b], axis=1)
        longs = [i for i in np.flatnonzero(np.abs(d - long_px) < tol * long_px) if i not in used]
        shorts = [i for i in np.flatnonzero(np.abs(d - short_px) < tol * short_px) if i not in used]
        for a in longs:
            hit = next((s for s in shorts if s != a and abs(float(np.dot(marks[a] - marks[b], marks[s] - marks[b])))
                        < 0.1 * long_px * short_px), None)
            if hit is not None:
                out.append(np.array([marks[b], marks[a], marks[a] + marks[hit] - marks[b], marks[hit]]))
                used.update((int(a), b, int(hit)))
                break
    return out


def _more_coupons(image: np.ndarray, symbols: list[Symbol], dpi: float,
                  budget: Budget) -> tuple[list[Symbol], list[tuple[np.ndarray, int, int]]]:
    """Coupons whose code no decoder located on the page (a second coupon on a flatbed page with a stain over
    its code): registration marks that belong to none of the coupons read, three of them lying like one
    coupon's marks, mark out a region where the whole cascade is run once more. Only on a page that can
    hold more than one coupon. Returns the symbols found there and the crops (with their offsets) of the
    regions where none was: their printed code is read next (issue 10: OCR per coupon, not per page)."""
    ppm = _page_px_per_mm(symbols, dpi)
    area_mm2 = image.size / (ppm * ppm)
    if area_mm2 < MULTI_COUPON_AREA * g.COUPON_WIDTH_MM * g.COUPON_HEIGHT_MM:
        return [], []
    marks = find_marks(image, ppm)
    if len(marks) < 3:
        return [], []
    known = [p for s in symbols for p in _predicted_marks(s)]
    if known:
        near = np.min(np.linalg.norm(marks[:, None, :] - np.array(known)[None, :, :], axis=2), axis=1)
        marks = marks[near > MARK_KNOWN_MM * ppm]
    found: list[Symbol] = []
    unread: list[tuple[np.ndarray, int, int]] = []
    for rect in _mark_triples(marks, ppm):
        crop, ox, oy = _crop(image, rect.astype(np.float32), 0.04)
        if budget.spent():
            unread.append((crop, ox, oy))
            continue
        shift = np.array([[1, 0, ox], [0, 1, oy]], np.float64)
        got = [_moved(s, shift, s.decoder + ":marks") for s in _cascade(crop, budget)]
        new = [s for s in got if not any(_same(s, t) for t in [*symbols, *found])]
        found.extend(new)
        if not got:
            unread.append((crop, ox, oy))
    return found, unread


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
