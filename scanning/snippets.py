"""Small pictures for review: a reduced page (PNG), a coupon straightened through its mapping (JPEG), box
crops (PNG), and the telephone line straightened (JPEG) for the call list. The coupon and telephone
pictures are made for every coupon, so they use JPEG: a fifth of PNG's encoding time for the coupon, a
fourteenth for the telephone line (0.03 ms instead of 0.4 ms on a noisy scan, 3.6 KB instead of 13.5 KB),
and print and handwriting stay legible at quality 80.
"""

from __future__ import annotations

import cv2
import numpy as np

from layouts import geometry as g

PAGE_SNIPPET_MAX_SIDE_PX = 1000  # a whole page, enough to read the printed code by eye
COUPON_SNIPPET_PX_PER_MM = 3.5  # ~90 dpi: the printed code (12 pt) stays legible
COUPON_JPEG_QUALITY = 80


def warp(image: np.ndarray, m: np.ndarray, size: tuple[int, int], border: int | None = 255) -> np.ndarray:
    """`image` resampled through `m` (output px → image px, a 3x3 mapping), linear; white beyond the image
    edge, or its edge pixels repeated when `border` is None. An affine mapping (a flatbed scan's, the usual
    case) goes through warpAffine: the same pixels at about half warpPerspective's cost."""
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    mode, value = (cv2.BORDER_REPLICATE, 0) if border is None else (cv2.BORDER_CONSTANT, border)
    if m[2, 0] == 0.0 and m[2, 1] == 0.0 and m[2, 2] != 0.0:
        return cv2.warpAffine(image, np.ascontiguousarray(m[:2] / m[2, 2]), size, flags=flags, borderMode=mode,
                              borderValue=value)
    return cv2.warpPerspective(image, m, size, flags=flags, borderMode=mode, borderValue=value)


def png_bytes(image: np.ndarray) -> bytes:
    """PNG at zlib level 1: level 6 costs ~5x the time on noisy scans for ~15 % fewer bytes."""
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return buf.tobytes() if ok else b""


def page_snippet(image: np.ndarray, max_side_px: int = PAGE_SNIPPET_MAX_SIDE_PX) -> bytes:
    """The page reduced so its longer side is at most `max_side_px`."""
    h, w = image.shape[:2]
    f = min(1.0, max_side_px / max(h, w))
    small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
    return png_bytes(small)


def coupon_snippet(image: np.ndarray, homography: np.ndarray, px_per_mm: float = COUPON_SNIPPET_PX_PER_MM) -> bytes:
    """The coupon straightened (coupon mm → image px mapping given), white beyond the image edge."""
    k = px_per_mm
    to_mm = np.array([[1 / k, 0, 0], [0, 1 / k, 0], [0, 0, 1]], np.float64)
    size = (int(round(g.COUPON_WIDTH_MM * k)), int(round(g.COUPON_HEIGHT_MM * k)))
    src, m = image, homography @ to_mm
    scale = float(np.sqrt(abs(np.linalg.det(homography[:2, :2]))))
    if scale > 3 * k:  # reduce first so the straightened picture is not badly aliased (A4 at 300 dpi)
        f = 1.5 * k / scale
        src = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        m = np.diag([f, f, 1.0]) @ m
    out = warp(src, m, size)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, COUPON_JPEG_QUALITY])
    return buf.tobytes() if ok else b""


def phone_snippet(image: np.ndarray, homography: np.ndarray, px_per_mm: float = g.PHONE_SNIPPET_PX_PER_MM) -> bytes:
    """The telephone write-in line of a registered coupon (layouts.geometry.PHONE_WRITE_BOX), straightened,
    as JPEG: what the call centre reads the number from. Only the box is resampled (0.04 ms)."""
    box, k = g.PHONE_WRITE_BOX, px_per_mm
    to_mm = np.array([[1 / k, 0, box.x_mm], [0, 1 / k, box.y_mm], [0, 0, 1]], np.float64)
    size = (int(round(box.width_mm * k)), int(round(box.height_mm * k)))
    out = warp(image, homography @ to_mm, size)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, COUPON_JPEG_QUALITY])
    return buf.tobytes() if ok else b""
