"""Reading the printed code back: a coupon whose QR code no decoder read → the human-readable code under it.

Pen strokes across the QR code, heavy coffee stains and phone photos defeat every QR decoder, but the
printed code (``7K3M-9QXP-2W4H``, DejaVu Sans Mono 12 pt, `layouts.geometry.code_text_box`) stays legible.
The stages:

1. Locate the coupon without its QR code: its four registration marks (solid 5 mm squares, 193 x 71 mm
   apart) are searched on the whole page (`find_coupons`); three that form the right rectangle are a coupon.
   The 180° ambiguity of the rectangle is settled by where the QR symbol's ink is, and by the reading.
2. Cut out the code line only: a strip through the code box of every QR version (the code sits lower under
   a larger symbol), rectified at `LINE_PX_PER_MM`; the text band is the tallest band of inked rows.
3. Read it with the rapidocr recognition network (PP-OCRv4, shipped inside the rapidocr-onnxruntime wheel,
   run here directly with onnxruntime: no text detection, no model download), its output restricted to the
   code's own symbols and the hyphen. docs/measurements.md §OCR of the printed code compares it with
   Tesseract and with a template matcher for the one monospace font; both are kept for that benchmark.
4. Accept nothing here: the reading becomes a `CouponReading` whose code goes through the same check
   symbol test and store lookup as a QR code's (mailing.matching). A reading with a wrong check symbol or
   no such piece goes to review with the reading shown (the scan's code).

On a page where no QR code is read the mark search costs about 20 ms and each code line read 15-20 ms
(docs/measurements.md §OCR of the printed code); pages whose QR codes are all read never come here. On a
page that holds several coupons (a flatbed page) the decoders' own mark search (scanning.decode,
`Located.unread`) hands over the region of each further coupon whose QR code no decoder read, and only that
region is read here: one destroyed code among readable ones is no longer lost.
"""

from __future__ import annotations

import importlib.util
import re
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from layouts import geometry as g
from mailing.codes import ALPHABET, CODE_LENGTH, is_valid, normalise
from mailing.log import get_logger
from scanning.register import Registration
from scanning.results import CouponReading
from scanning.snippets import coupon_snippet
from scanning.ticks import read_boxes

log = get_logger(__name__)

# ------------------------------------------------------------------------------------ thresholds
MARK_SEARCH_MAX_SIDE_PX = 1400  # the mark search runs on the page scaled to this: a mark is >= 20 px there
MARK_FILL_MIN = 0.72  # a mark's blob fills its rotated bounding box (a printed square: ~0.9; text: less)
MARK_SIZE_TOLERANCE = 0.5  # two marks of one coupon are the same size within this fraction (a tilted
# phone photo shows the far marks 40 % smaller than the near ones)
MARK_ASPECT_MAX = 1.6  # and foreshortened: a mark's sides differ by up to this factor
MARK_DISTANCE_TOLERANCE = 0.35  # mark distances (in mark sides) within this fraction of the layout's
# (a phone photo's perspective makes the near marks a quarter larger than the far ones)
MARK_RIGHT_ANGLE_COS = 0.25  # the long and short side of the mark rectangle are at 90° ± 15° (perspective)
MARK_RATIO_TOLERANCE = 0.25  # long side / short side within this fraction of 193 / 71
MARK_FOURTH_MM = 30.0  # the fourth mark (of the same size) is taken within this of its affine prediction:
# a phone photo's perspective moves it up to ~15 % of the 193 mm between marks
LINE_PX_PER_MM = 12.0  # the code line is rectified at ~300 dpi: 37 px capital height
LINE_MARGIN_MM = 2.0  # above and below the code box: registration from marks is off by up to ~1 mm there
LINE_SIDE_MARGIN_MM = 6.0  # left and right: the line is then cut at its own ends (`_trim`), label left out
LINE_GAP_MM = 1.3  # a gap this wide between inked columns: the label beside the code ends ~2 mm before it
SHOWN_SYMBOLS = (10, 14)  # a reading of this many symbols is shown for review (a code is 12); others are
# "no code found": a line of other text on marks that happen to look like a coupon's
_PRINTED_FORM = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", re.IGNORECASE)
_VERSIONS = (1, 2, 3, 4)  # the code box sits under the QR symbol, whose size follows its version

_MARK_CENTRES_MM = np.array([[x + g.REG_MARK_SIZE_MM / 2, y + g.REG_MARK_SIZE_MM / 2] for x, y in g.REG_MARKS_MM])
_LONG_MM = float(_MARK_CENTRES_MM[1, 0] - _MARK_CENTRES_MM[0, 0])  # 193 mm between left and right marks
_SHORT_MM = float(_MARK_CENTRES_MM[2, 1] - _MARK_CENTRES_MM[0, 1])  # 71 mm between top and bottom marks


@dataclass(frozen=True)
class Located:
    """A coupon found by its registration marks: coupon mm → image px."""

    homography: np.ndarray
    marks_found: int
    px_per_mm: float
    residual_mm: float


@dataclass(frozen=True)
class CodeReading:
    """What an engine read on one code line."""

    text: str  # normalised symbols read (upper case, no hyphens), "" when nothing
    engine: str
    confidence: float  # the engine's own score (0..1), for the benchmark and review
    seconds: float
    raw: str = ""  # as the engine returned it, hyphens and spaces included

    @property
    def printed_form(self) -> bool:
        """The reading has the printed code's shape, XXXX-XXXX-XXXX: a line of other text, or a line read
        upside down, seldom does (the check symbol alone lets one random reading in 32 through)."""
        return bool(_PRINTED_FORM.fullmatch(re.sub(r"\s+", "", self.raw)))


# ------------------------------------------------------------------------------------ locating
def _mark_blobs(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centres (image px) and sides (px) of solid dark squares, and the search scale used."""
    f = min(1.0, MARK_SEARCH_MAX_SIDE_PX / max(image.shape))
    small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
    small = cv2.medianBlur(small, 3)
    k = max(15, max(small.shape) // 25) | 1  # wider than a mark: the local paper level around it
    paper = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    ink = ((paper.astype(np.int16) - small.astype(np.int16)) > np.maximum(40, 0.45 * paper.astype(np.int16)))
    n, labels, stats, cents = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    centres, sides = [], []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if not 6 <= max(w, h) <= k or area < 30:
            continue
        if area < 0.45 * w * h or max(w, h) > 1.6 * min(w, h):
            continue
        pts = np.column_stack(np.nonzero(labels[y:y + h, x:x + w] == i))[:, ::-1].astype(np.float32)
        (_c, (rw, rh), _a) = cv2.minAreaRect(pts)
        if rw * rh <= 0 or area / ((rw + 1) * (rh + 1)) < MARK_FILL_MIN or max(rw, rh) > MARK_ASPECT_MAX * min(rw, rh):
            continue
        centres.append(cents[i] / f)
        sides.append(np.sqrt(area) / f)
    return np.array(centres, np.float64).reshape(-1, 2), np.array(sides, np.float64), f


def _fit(mm: np.ndarray, px: np.ndarray) -> np.ndarray:
    if len(mm) >= 4:
        hom, _ = cv2.findHomography(mm, px, 0)
        if hom is not None:
            return np.asarray(hom, np.float64)
    a = np.hstack([mm, np.ones((len(mm), 1))])
    sol, *_ = np.linalg.lstsq(a, px, rcond=None)
    return np.vstack([sol.T, [0.0, 0.0, 1.0]])


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(np.asarray(pts, np.float64).reshape(-1, 1, 2), h).reshape(-1, 2)


def find_coupons(image: np.ndarray) -> list[Located]:
    """Every coupon whose registration marks (three or four) are found, each both ways round (the mark
    rectangle looks the same turned by 180°): the way with more ink where the QR symbol belongs first."""
    centres, sides, _f = _mark_blobs(image)
    n = len(centres)
    if n < 3 or n > 400:
        return []
    found: list[tuple[list[int], list[int]]] = []  # (blob indices, mark indices 0..3)
    tol = MARK_DISTANCE_TOLERANCE
    for p in range(n):
        d = np.linalg.norm(centres - centres[p], axis=1) / ((sides + sides[p]) / 2)  # in mark sides (5 mm)
        similar = np.abs(sides - sides[p]) <= MARK_SIZE_TOLERANCE * sides[p]
        longs = np.nonzero(similar & (np.abs(d - _LONG_MM / g.REG_MARK_SIZE_MM) <= tol * _LONG_MM / g.REG_MARK_SIZE_MM))[0]
        shorts = np.nonzero(similar & (np.abs(d - _SHORT_MM / g.REG_MARK_SIZE_MM) <= tol * _SHORT_MM / g.REG_MARK_SIZE_MM))[0]
        for q in longs:
            for r in shorts:
                u, v = centres[q] - centres[p], centres[r] - centres[p]
                lu, lv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
                if abs(float(u @ v)) > MARK_RIGHT_ANGLE_COS * lu * lv:
                    continue
                if abs(lu / lv - _LONG_MM / _SHORT_MM) > MARK_RATIO_TOLERANCE * _LONG_MM / _SHORT_MM:
                    continue
                cross = u[0] * v[1] - u[1] * v[0]
                # y points down: TL→TR then TL→BL turns clockwise (cross > 0); so does BR→BL, BR→TR
                orders = [(0, 1, 2), (3, 2, 1)] if cross > 0 else [(1, 0, 3), (2, 3, 0)]
                for mp, mq, mr in orders:
                    found.append(([p, int(q), int(r)], [mp, mq, mr]))
    out: list[Located] = []
    seen: list[np.ndarray] = []  # (coupon middle, QR) in image px of each fit kept
    for blobs, marks in found:
        loc = _locate(centres, sides, blobs, marks)
        if loc is None:
            continue
        key = _apply(loc.homography, np.array([[g.COUPON_WIDTH_MM / 2, g.COUPON_HEIGHT_MM / 2],
                                               [g.QR_X_MM + 10, g.QR_Y_MM + 10]]))
        if any(np.linalg.norm(key - k, axis=1).max() < 20 * loc.px_per_mm for k in seen):
            continue  # the same coupon the same way round, from another triple of its marks
        seen.append(key)
        out.append(loc)
    return _order_by_qr_ink(image, out)


def _locate(centres: np.ndarray, sides: np.ndarray, blobs: list[int], marks: list[int]) -> Located | None:
    mm = _MARK_CENTRES_MM[marks]
    px = centres[blobs]
    h = _fit(mm, px)
    ppm = float(np.sqrt(abs(np.linalg.det(h[:2, :2]))))
    if ppm < 2.0:  # below ~50 dpi the printed code cannot be read anyway
        return None
    missing = ({0, 1, 2, 3} - set(marks)).pop()
    guess = _apply(h, _MARK_CENTRES_MM[[missing]])[0]
    d = np.linalg.norm(centres - guess, axis=1)
    d[np.abs(sides - sides[blobs].mean()) > MARK_SIZE_TOLERANCE * sides[blobs].mean()] = np.inf
    if len(d) and d.min() <= MARK_FOURTH_MM * ppm:
        mm = np.vstack([mm, _MARK_CENTRES_MM[missing]])
        px = np.vstack([px, centres[int(np.argmin(d))]])
        h = _fit(mm, px)
    res = np.linalg.norm(_apply(h, mm) - px, axis=1) / ppm
    return Located(h, len(mm), ppm, float(np.sqrt(np.mean(res ** 2))))


def _ink(image: np.ndarray, h: np.ndarray, box: g.Box) -> float:
    """Mean darkness (0..1) of a coupon box, sampled on a coarse grid."""
    xs = np.linspace(box.x_mm, box.right_mm, 12)
    ys = np.linspace(box.y_mm, box.bottom_mm, 12)
    pts = _apply(h, np.array([[x, y] for y in ys for x in xs]))
    xi = np.clip(np.round(pts[:, 0]).astype(int), 0, image.shape[1] - 1)
    yi = np.clip(np.round(pts[:, 1]).astype(int), 0, image.shape[0] - 1)
    return float(1.0 - image[yi, xi].mean() / 255.0)


def _order_by_qr_ink(image: np.ndarray, located: list[Located]) -> list[Located]:
    """A coupon and its 180° twin share their marks: the one whose QR box holds more ink goes first."""
    qr = g.qr_box(1)
    return sorted(located, key=lambda loc: -_ink(image, loc.homography, qr))


# ------------------------------------------------------------------------------------ the code line
def code_strip(image: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """The rectified strip (grey, LINE_PX_PER_MM) that holds the code line under a QR code of any version."""
    lo, hi = g.code_text_box(_VERSIONS[0]), g.code_text_box(_VERSIONS[-1])
    x0, y0 = lo.x_mm - LINE_SIDE_MARGIN_MM, lo.y_mm - LINE_MARGIN_MM
    w_mm, h_mm = lo.width_mm + 2 * LINE_SIDE_MARGIN_MM, hi.bottom_mm + LINE_MARGIN_MM - y0
    k = LINE_PX_PER_MM
    to_mm = np.array([[1 / k, 0, x0], [0, 1 / k, y0], [0, 0, 1]], np.float64)
    m = homography @ to_mm
    return cv2.warpPerspective(image, m, (int(round(w_mm * k)), int(round(h_mm * k))),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255)


def flatten(strip: np.ndarray) -> np.ndarray:
    """Paper to white, whatever the stain or shading: divide by the local paper level."""
    k = int(LINE_PX_PER_MM * 3) | 1
    paper = cv2.dilate(strip, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.GaussianBlur(paper, (k, k), 0)
    out = strip.astype(np.float32) / np.maximum(paper.astype(np.float32), 1.0)
    return np.clip(out * 255.0, 0, 255).astype(np.uint8)


def code_lines(strip: np.ndarray) -> list[np.ndarray]:
    """Candidate crops of the code line in a flattened strip: bands of inked rows about a capital high,
    best first (the keep-clear frame's dashed line and stray strokes make thinner or fainter bands)."""
    ink = strip < 150
    rows = ink.mean(axis=1)
    k = LINE_PX_PER_MM
    cap = g.code_text_box(1).height_mm * k
    on = rows > 0.06
    bands: list[tuple[float, int, int]] = []
    y = 0
    while y < len(on):
        if not on[y]:
            y += 1
            continue
        start = y
        while y < len(on) and on[y]:
            y += 1
        height = y - start
        if 0.6 * cap <= height <= 1.8 * cap:
            bands.append((float(rows[start:y].mean()) * min(1.0, height / cap), start, y))
    bands.sort(reverse=True)
    out = []
    pad = int(0.5 * k)
    for _, a, b in bands[:2]:
        band = strip[max(0, a - pad):min(len(on), b + pad)]
        out.append(_trim(band, ink[a:b]))
    return out


def _trim(band: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The code without the label left of it: the runs of inked columns (split at gaps over LINE_GAP_MM)
    that start within one code width of the line's right end. Nothing is printed right of the code; a
    hyphen lost to a faint scan must not split the code itself."""
    cols = np.nonzero(ink.any(axis=0))[0]
    if len(cols) == 0:
        return band
    k = LINE_PX_PER_MM
    breaks = np.nonzero(np.diff(cols) > LINE_GAP_MM * k)[0]
    starts = np.concatenate([[cols[0]], cols[breaks + 1]])
    right = int(cols[-1])
    width = (g.code_text_box(1).width_mm + 0.8) * k
    left = int(min(x for x in starts if x >= right - width)) if any(starts >= right - width) else int(cols[0])
    pad = int(0.8 * k)
    return band[:, max(0, left - pad):right + pad + 1]


def _symbols(text: str) -> str:
    """What a recogniser returned → the code symbols only (hyphens, spaces and dots removed)."""
    t = normalise(re.sub(r"[^0-9A-Za-z]", "", text))
    return "".join(c for c in t if c in ALPHABET or c == "U")


# ------------------------------------------------------------------------------------ engines
_RAPID: list[object] = []


def rapidocr_model() -> Path | None:
    """The PP-OCRv4 recognition model inside the installed rapidocr-onnxruntime wheel (not imported: its
    package pulls in opencv-python, which must not replace opencv-contrib-python-headless)."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "ch_PP-OCRv4_rec_infer.onnx"
    return path if path.is_file() else None


class RapidRecogniser:
    """PP-OCRv4 text recognition (CRNN + CTC) on one line, decoded over the code's symbols only."""

    HEIGHT = 48

    def __init__(self, model: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        chars = ["<blank>", *meta["character"].splitlines(), " "]
        self.input = self.session.get_inputs()[0].name
        allowed = set(ALPHABET) | set("OIL-")
        self.keep = np.array([i for i, c in enumerate(chars) if i == 0 or c in allowed], np.int64)
        self.chars = [chars[i] for i in self.keep]

    def __call__(self, line: np.ndarray) -> tuple[str, float]:
        h, w = line.shape[:2]
        width = max(16, int(np.ceil(self.HEIGHT * w / max(h, 1))))
        img = cv2.resize(line, (width, self.HEIGHT), interpolation=cv2.INTER_AREA)
        x = (img.astype(np.float32) / 127.5 - 1.0)[None, None]
        x = np.repeat(x, 3, axis=1)
        probs = self.session.run(None, {self.input: x})[0][0]  # T x classes, softmax
        sub = probs[:, self.keep]
        best = sub.argmax(axis=1)
        text, conf, prev = [], [], -1
        for t, i in enumerate(best):
            if i != prev and i != 0:
                text.append(self.chars[i])
                conf.append(float(sub[t, i]))
            prev = int(i)
        return "".join(text), (min(conf) if conf else 0.0)


def rapidocr_engine() -> RapidRecogniser | None:
    if not _RAPID:
        model = rapidocr_model()
        if model is None:
            log.warning("rapidocr-onnxruntime is not installed: printed codes are not read back "
                        "(run 'make', or pip install --no-deps rapidocr-onnxruntime)")
        _RAPID.append(RapidRecogniser(model) if model else None)
    return _RAPID[0]  # type: ignore[return-value]


def read_line(line: np.ndarray, engine: str = "rapidocr") -> CodeReading:
    """One code line → the symbols an engine reads there."""
    start = time.perf_counter()
    text, conf = "", 0.0
    if engine == "rapidocr":
        rec = rapidocr_engine()
        if rec is not None:
            text, conf = rec(line)
    elif engine == "tesseract":
        text, conf = _tesseract(line)
    elif engine == "template":
        text, conf = _template(line)
    else:
        raise ValueError(f"unknown OCR engine {engine!r}; known: rapidocr, tesseract, template")
    return CodeReading(_symbols(text), engine, conf, time.perf_counter() - start, text)


def _tesseract(line: np.ndarray) -> tuple[str, float]:
    """Tesseract 5 (Debian's tesseract-ocr via pytesseract): one line (psm 7), the code alphabet only."""
    import pytesseract

    pad = cv2.copyMakeBorder(line, 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=255)
    cfg = f"--psm 7 --oem 1 -c tessedit_char_whitelist={ALPHABET}-"
    data = pytesseract.image_to_data(pad, config=cfg, output_type=pytesseract.Output.DICT)
    words = [(t, float(c)) for t, c in zip(data["text"], data["conf"], strict=False) if t.strip()]
    if not words:
        return "", 0.0
    return "".join(t for t, _ in words), min(c for _, c in words) / 100.0


def tesseract_available() -> bool:
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:  # noqa: BLE001 - no binary, no module: the benchmark says so and skips it
        return False
    return True


# --- template matcher for the one known font: glyphs rendered from DejaVu Sans Mono, compared per cell
_TEMPLATES: dict[int, tuple[list[str], np.ndarray]] = {}


def _glyphs(cap_px: int) -> tuple[list[str], np.ndarray]:
    if cap_px not in _TEMPLATES:
        from PIL import Image, ImageDraw, ImageFont

        from layouts.fonts import FONT_DIR

        size = int(round(cap_px / g.CODE_CAP_HEIGHT_EM))
        font = ImageFont.truetype(str(FONT_DIR / "DejaVuSansMono.ttf"), size)
        cell_w = int(round(size * g.CODE_ADVANCE_EM))
        names, cells = [], []
        for ch in ALPHABET:  # baseline at the cell's bottom: the capital fills the cell's height
            im = Image.new("L", (cell_w, cap_px), 255)
            ImageDraw.Draw(im).text((0, cap_px), ch, font=font, fill=0, anchor="ls")
            names.append(ch)
            cells.append(np.asarray(im, np.float32))
        _TEMPLATES[cap_px] = (names, np.stack(cells))
    return _TEMPLATES[cap_px]


def _template(line: np.ndarray) -> tuple[str, float]:
    """Split the line into 14 cells of the font's fixed advance and take the best-correlating glyph per cell."""
    ink = line < 128
    cols = np.nonzero(ink.any(axis=0))[0]
    rows = np.nonzero(ink.any(axis=1))[0]
    if len(cols) < 2 or len(rows) < 2:
        return "", 0.0
    # the pitch from the line's width (14 cells less the side bearings), not from its height: Q descends
    advance = (float(cols[-1]) - float(cols[0]) + 1) / (g.CODE_PRINTED_CHARS - 0.2)
    cap = int(round(advance * g.CODE_CAP_HEIGHT_EM / g.CODE_ADVANCE_EM))
    top = int(rows[0])
    bottom = top + cap
    if bottom > line.shape[0]:
        return "", 0.0
    names, cells = _glyphs(cap)
    left = float(cols[0]) - 0.1 * advance  # the first glyph's ink starts a little inside its cell
    out, scores = [], []
    flat = cells.reshape(len(names), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True) + 1e-6
    for k in range(g.CODE_PRINTED_CHARS):
        if k % 5 == 4:
            out.append("-")  # the hyphens: cells 4 and 9
            continue
        best, best_s = "", -1.0
        for dx in (-2, -1, 0, 1, 2):
            x0 = int(round(left + k * advance)) + dx
            if x0 < 0 or x0 + cells.shape[2] > line.shape[1]:
                continue
            cell = line[top:bottom, x0:x0 + cells.shape[2]].astype(np.float32).ravel()
            cell = cell - cell.mean()
            cell /= np.linalg.norm(cell) + 1e-6
            s = flat @ cell
            i = int(np.argmax(s))
            if s[i] > best_s:
                best, best_s = names[i], float(s[i])
        out.append(best)
        scores.append(best_s)
    return "".join(out), (min(scores) if scores else 0.0)


# ------------------------------------------------------------------------------------ the page
CONFUSABLE = {"0": "QD", "Q": "0", "D": "0"}  # what low-resolution photos blur into each other (bench/ocr.py)


def _confusion_fix(text: str) -> str | None:
    """A reading that fails its check symbol, corrected in one confusable symbol when exactly one such
    change passes the new check (the store lookup still decides: a wrong fix is a code no piece has)."""
    fixes = {text[:i] + alt + text[i + 1:] for i, ch in enumerate(text) for alt in CONFUSABLE.get(ch, "")}
    valid = [t for t in fixes if is_valid(t, legacy=False)]
    return valid[0] if len(valid) == 1 else None


def read_coupon_code(image: np.ndarray, loc: Located, engine: str = "rapidocr") -> CodeReading:
    """The printed code of a located coupon: the first candidate line that reads as a valid code, else the
    longest reading."""
    strip = flatten(code_strip(image, loc.homography))
    best = CodeReading("", engine, 0.0, 0.0)
    spent = 0.0
    for line in code_lines(strip):
        r = read_line(line, engine)
        spent += r.seconds
        if len(r.text) == CODE_LENGTH and r.printed_form:
            # today's codes first; a code printed before issue 10 (old check symbol) as read
            text = r.text if is_valid(r.text, legacy=False) else _confusion_fix(r.text) or r.text
            if is_valid(text):
                return CodeReading(text, engine, r.confidence, spent, r.raw)
        if len(r.text) > len(best.text):
            best = r
    return CodeReading(best.text, engine, best.confidence, spent, best.raw)


MAX_TRIES_PER_COUPON = 4  # mark fits and orientations tried on one coupon before its best reading is taken


def read_printed_codes(image: np.ndarray, crops: bool = False,
                       slots: int = g.CHECKBOX_SLOTS, engine: str = "rapidocr") -> tuple[CouponReading, ...]:
    """Coupons located by their registration marks on a page where no QR code was read, each with the code
    read from its printed line (decoder "ocr:ENGINE"). The check symbol and the store decide later; a
    coupon whose line reads as nothing like a code is left out (the page then stays "no code found")."""
    groups: list[tuple[np.ndarray, list[Located]]] = []
    for loc in find_coupons(image):
        centre = _apply(loc.homography, _MARK_CENTRES_MM.mean(axis=0, keepdims=True))[0]
        for c, members in groups:
            if np.linalg.norm(centre - c) < 20 * loc.px_per_mm:  # the same coupon, other marks or turned
                members.append(loc)
                break
        else:
            groups.append((centre, [loc]))
    read: list[tuple[Located, CodeReading]] = []
    for _, members in groups:
        members.sort(key=lambda m: -m.marks_found)  # stable: the QR-ink order stays within equal counts
        best: tuple[Located, CodeReading] | None = None
        for loc in members[:MAX_TRIES_PER_COUPON]:
            reading = read_coupon_code(image, loc, engine)
            if best is None or abs(len(reading.text) - CODE_LENGTH) < abs(len(best[1].text) - CODE_LENGTH):
                best = (loc, reading)
            if len(reading.text) == CODE_LENGTH and is_valid(reading.text) and reading.printed_form:
                best = (loc, reading)
                break
        if best is None or not SHOWN_SYMBOLS[0] <= len(best[1].text) <= SHOWN_SYMBOLS[1]:
            continue
        if is_valid(best[1].text) and not best[1].printed_form:
            continue  # passes the check symbol but is not shaped like a printed code: a person looks
        read.append(best)
    # marks of one coupon paired up wrongly (with a stain, or a neighbour's) make a second, overlapping
    # "coupon": of overlapping ones only the best counts (a valid reading, then more marks, then 12 symbols)
    read.sort(key=lambda lr: (not is_valid(lr[1].text), -lr[0].marks_found, abs(len(lr[1].text) - CODE_LENGTH)))
    kept: list[Located] = []
    out: list[CouponReading] = []
    for loc, reading in read:
        if any(_overlap(loc, k) for k in kept):
            continue
        kept.append(loc)
        reg = Registration(loc.homography, loc.marks_found, loc.px_per_mm, loc.residual_mm, 0, np.zeros((4, 2)))
        log.debug("printed code read as %r by %s in %.1f ms", reading.text, engine, 1000 * reading.seconds)
        out.append(CouponReading(
            payload=None, code=reading.text, check_ok=is_valid(reading.text), decoder=f"ocr:{engine}",
            boxes=read_boxes(image, reg, crops, slots), registered=True,
            snippet_png=coupon_snippet(image, loc.homography), marks_found=loc.marks_found,
            residual_mm=round(loc.residual_mm, 3),
        ))
    return tuple(out)


def _outline(loc: Located) -> np.ndarray:
    corners = np.array([[0, 0], [g.COUPON_WIDTH_MM, 0], [g.COUPON_WIDTH_MM, g.COUPON_HEIGHT_MM], [0, g.COUPON_HEIGHT_MM]])
    return _apply(loc.homography, corners).astype(np.float32)


def _overlap(a: Located, b: Located) -> bool:
    area, _ = cv2.intersectConvexConvex(_outline(a), _outline(b))
    return bool(area > 0.1 * cv2.contourArea(_outline(b)))
