"""What decoding a page yields: located coupons with their code and tick-box readings, and how sure.

These plain values travel from the (parallel, pure) decoding stage to `mailing.matching`, which records
them in the store. Nothing here knows the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TickState = Literal["ticked", "empty", "doubtful"]


@dataclass(frozen=True)
class BoxReading:
    slot: int  # 0-based tick-box slot on the coupon (layouts.geometry.checkbox_box)
    score: float  # ink fraction of the interior, 0..1
    state: TickState
    snippet_png: bytes = b""  # the box crop, for review and the tuning gallery


@dataclass(frozen=True)
class CouponReading:
    """One coupon found on a page (or one attempt that found a code-like thing)."""

    payload: str | None  # raw QR text, None when no code was read
    code: str | None  # normalised candidate code (upper case, no separators), check not yet applied
    check_ok: bool  # the check symbol validated
    decoder: str  # e.g. "zxingcpp", "wechat:otsu", "" when nothing was read
    boxes: tuple[BoxReading, ...]  # one per slot that could be measured (all CHECKBOX_SLOTS when registered)
    registered: bool  # the coupon's homography was found, so box readings are meaningful
    snippet_png: bytes = b""  # reduced picture of the coupon for review (JPEG; pages and box crops are PNG)
    marks_found: int = 0  # registration marks that agreed with the QR (0-4); 0 = mapped from the QR alone
    residual_mm: float = 0.0  # RMS disagreement of QR corners and marks with the fitted mapping
    reason: str | None = None  # why this symbol is not a coupon ("foreign QR code ..."); None for ours
    phone_jpeg: bytes = b""  # the telephone write-in line, straightened (JPEG), for the call list; registered only


@dataclass(frozen=True)
class PageReading:
    """Decoding one page image: zero or more coupons, or why none was found."""

    source: str  # the file's path as given (or as found in a given folder)
    page: int  # 1-based within that file
    image_hash: str  # SHA-256 of the decoded pixels: the same image scanned again is recognised
    coupons: tuple[CouponReading, ...] = ()
    reason: str | None = None  # when no coupon: "blank page", "no code found", "corrupt file", ...
    snippet_png: bytes = b""  # reduced picture of the page for review
    seconds: float = 0.0
    dpi: float = 0.0  # resolution of the page image as read (square pixels, after intake resampling)
    extra: dict[str, str] = field(default_factory=dict)
    vector: bool = False  # a PDF page drawn by a program (no raster image): a print file, not a scan
    bitonal: bool = False  # scanned black and white: a light tick may have vanished (scanning.ticks.is_bitonal)
