"""Inserter control marks: which sheets go into one envelope, printed on every sheet and read back.

Personalised letters are put into envelopes by machine. The marks let the inserter check that it collects
exactly one piece's sheets, in order, and that nothing of Ms A ends up in Mr B's envelope. `[production]
inserter` picks the kind:

- ``omr``: a column of bars at the right edge of each sheet's front, after a lettershop profile
  (`mailing.config.OmrProfile`: position, pitch, bar size, the tracks top to bottom, parity). Tracks:
  ``start`` (always printed: the reading gate), ``start_of_set`` (first sheet of a piece), ``end_of_set``
  (last sheet: the inserter closes the envelope), ``seq1/seq2/seq4`` (a sheet counter through the file,
  modulo 8: a missing or swapped sheet breaks the count), ``parity`` (makes the number of bars even or odd);
- ``datamatrix``: a 14 x 14 ECC 200 DataMatrix per sheet carrying wave, batch, piece (within the file)
  and sheet i of n, for inserters with a camera.

Both sit in `geometry.INSERTER_ZONE`, out of the envelope window and the coupon. This module turns a
sheet's position into plain marks (for the renderer and `layout --json`) and reads marks back from a
rasterised zone (for `preflight`): what is printed and what is checked come from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from layouts import geometry as g
from mailing.config import OmrProfile

SEQ_BITS = {"seq1": 1, "seq2": 2, "seq4": 4}
SEQ_MODULO = 8
READ_DPI = 200  # preflight rasterises the marks at this resolution: 3.9 px per DataMatrix module and per bar
READ_MARGIN_MM = 1.5  # rasterised around the marks (registration of a clean raster is exact; this is slack)


@dataclass(frozen=True)
class Sheet:
    """Where one sheet stands: its piece within the file (1-based), sheet i of n, and its number in the file."""

    wave: int
    batch: int
    piece: int
    index: int  # 1-based within the piece
    of: int
    number: int  # 1-based sheet number within the file


# ------------------------------------------------------------------------------------------------ OMR
def omr_bits(profile: OmrProfile, sheet: Sheet) -> dict[str, bool]:
    """Which tracks carry a bar on this sheet."""
    seq = (sheet.number - 1) % SEQ_MODULO
    bits = {"start": True, "start_of_set": sheet.index == 1, "end_of_set": sheet.index == sheet.of}
    bits.update({k: bool(seq & v) for k, v in SEQ_BITS.items()})
    on = {t: bits.get(t, False) for t in profile.tracks if t != "parity"}
    if "parity" in profile.tracks:
        count = sum(on.values())
        want_even = profile.parity == "even"
        on["parity"] = (count % 2 == 1) if want_even else (count % 2 == 0)
    return on


def omr_bar(profile: OmrProfile, track: int) -> g.Box:
    """The bar of track `track` (0-based, top to bottom) in page coordinates."""
    y = profile.first_y_mm + track * profile.pitch_mm - profile.thickness_mm / 2
    return g.Box(profile.x_mm, y, profile.length_mm, profile.thickness_mm)


def omr_boxes(profile: OmrProfile, sheet: Sheet) -> list[g.Box]:
    bits = omr_bits(profile, sheet)
    return [omr_bar(profile, i) for i, t in enumerate(profile.tracks) if bits[t]]


def read_omr(profile: OmrProfile, image: np.ndarray, origin_mm: tuple[float, float],
             dpi: float = READ_DPI) -> dict[str, bool | None]:
    """Bars read from a greyscale image of the zone (origin_mm = page position of its top-left pixel).

    A track is True when at least OMR_DARK_MIN of its bar's area is dark, False below OMR_LIGHT_MAX, None
    (unreadable) in between."""
    px = dpi / g.MM_PER_INCH
    out: dict[str, bool | None] = {}
    for i, track in enumerate(profile.tracks):
        b = omr_bar(profile, i)
        x0, x1 = round((b.x_mm - origin_mm[0]) * px), round((b.right_mm - origin_mm[0]) * px)
        y0 = round((b.y_mm - origin_mm[1]) * px)
        y1 = max(y0 + 1, round((b.bottom_mm - origin_mm[1]) * px))
        cell = image[max(y0, 0):y1, max(x0, 0):x1]
        dark = float((cell < 128).mean()) if cell.size else 0.0
        out[track] = True if dark >= g.OMR_DARK_MIN else False if dark <= g.OMR_LIGHT_MAX else None
    return out


def omr_sequence(read: dict[str, bool | None]) -> int | None:
    """The sheet counter (0-7) the sequence bars give; None when one of them is unreadable."""
    value = 0
    for track, bit in SEQ_BITS.items():
        if track in read:
            if read[track] is None:
                return None
            value |= bit if read[track] else 0
    return value


def omr_problems(profile: OmrProfile, read: dict[str, bool | None], sheet: Sheet) -> list[str]:
    """What is wrong with the bars read on `sheet` (empty: they say what they should)."""
    bad = [t for t, v in read.items() if v is None]
    if bad:
        return [f"OMR bar {', '.join(bad)} neither printed nor blank (smudged or faint)"]
    want = omr_bits(profile, sheet)
    problems = []
    if not read.get("start"):
        problems.append("OMR start bar missing")
    count = sum(1 for v in read.values() if v)
    if "parity" in profile.tracks and (count % 2 == 0) != (profile.parity == "even"):
        problems.append(f"OMR parity wrong ({count} bars, profile wants an {profile.parity} number)")
    seq_tracks = [t for t in SEQ_BITS if t in profile.tracks]
    if seq_tracks:
        got, expected = omr_sequence(read), omr_bits_sequence(want)
        if got != expected:
            problems.append(f"OMR sequence {got}, expected {expected} (sheet {sheet.number} of the file, "
                            "modulo 8): a sheet is missing, extra or out of order")
    for t in ("start_of_set", "end_of_set"):
        if t in read and read[t] != want[t]:
            problems.append(f"OMR {t.replace('_', '-')} bar {'missing' if want[t] else 'printed'} on sheet "
                            f"{sheet.index} of {sheet.of} of piece {sheet.piece}")
    return problems


def omr_bits_sequence(bits: dict[str, bool]) -> int:
    return sum(v for t, v in SEQ_BITS.items() if bits.get(t))


# ----------------------------------------------------------------------------------------- DataMatrix
def datamatrix_payload(sheet: Sheet) -> str:
    """14 digits: wave (3), batch (3), piece within the file (6), sheet i (1), of n (1)."""
    return f"{sheet.wave % 1000:03d}{sheet.batch % 1000:03d}{sheet.piece % 1_000_000:06d}{sheet.index % 10}" \
           f"{sheet.of % 10}"


def parse_datamatrix(text: str) -> tuple[int, int, int, int, int] | None:
    """(wave, batch, piece, i, n) from a payload; None when it is not one of ours."""
    if len(text) != 14 or not text.isdigit():
        return None
    return int(text[:3]), int(text[3:6]), int(text[6:12]), int(text[12]), int(text[13])


def datamatrix_matrix(payload: str) -> np.ndarray:
    """Module matrix (True = dark) without quiet zone, from zxing-cpp's encoder."""
    import zxingcpp

    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.DataMatrix)
    return np.asarray(barcode.to_image(scale=1, add_quiet_zones=False)) < 128


def datamatrix_box(modules: int = 14) -> g.Box:
    size = modules * g.DATAMATRIX_MODULE_MM
    return g.Box(g.DATAMATRIX_X_MM, g.DATAMATRIX_Y_MM, size, size)


def image_mask_ops(matrix: np.ndarray, box: g.Box, page_height_mm: float = g.PAGE_HEIGHT_MM) -> str:
    """The matrix as one inline stencil image (1 bit per module, painted in the current fill colour, 100 % K):
    about 30 bytes of data where a path of rectangles takes ten times that."""
    rows, cols = matrix.shape
    packed = np.packbits(~matrix, axis=1)  # a stencil mask paints its 0 samples: dark modules are 0
    k = g.PT_PER_MM
    w, h = box.width_mm * k, box.height_mm * k
    x, y = box.x_mm * k, (page_height_mm - box.bottom_mm) * k
    return (f"q {w:.2f} 0 0 {h:.2f} {x:.2f} {y:.2f} cm BI /IM true /W {cols} /H {rows} /BPC 1 /F /AHx ID "
            f"{packed.tobytes().hex()}> EI Q")


def read_datamatrix(image: np.ndarray) -> list[str]:
    import zxingcpp

    fmt: object = zxingcpp.BarcodeFormat.DataMatrix
    return [b.text for b in zxingcpp.read_barcodes(image, formats=fmt) if b.valid]  # type: ignore[arg-type]


def read_area(kind: str, profile: OmrProfile | None = None) -> g.Box:
    """The part of the zone preflight rasterises: the marks of this kind with a margin (page coordinates)."""
    m = READ_MARGIN_MM
    if kind == "omr" and profile is not None:
        first, last = omr_bar(profile, 0), omr_bar(profile, len(profile.tracks) - 1)
        b = g.Box(first.x_mm, first.y_mm, first.width_mm, last.bottom_mm - first.y_mm)
    else:
        b = datamatrix_box()
    return g.Box(b.x_mm - m, b.y_mm - m, b.width_mm + 2 * m, b.height_mm + 2 * m)


def layout_json(production: Any) -> dict[str, Any]:
    """`layout --json`'s `inserter`: the zone (page 1, mm from the top-left corner), the kind, and where each
    mark can go (every OMR track's bar, or the DataMatrix symbol without its quiet zone)."""
    out: dict[str, Any] = dict(g.INSERTER_ZONE.as_json(), kind=production.inserter)
    if production.inserter == "omr":
        out["marks"] = [dict(omr_bar(production.omr, i).as_json(), track=t)
                        for i, t in enumerate(production.omr.tracks)]
    elif production.inserter == "datamatrix":
        out["marks"] = [dict(datamatrix_box().as_json(), module_mm=g.DATAMATRIX_MODULE_MM)]
    else:
        out["marks"] = []
    return out
