"""Coupons drawn straight from layouts.geometry (no PDF): fast fixtures for the decoding unit tests.

The round-trip tests use the real renderer (layouts.render); these drawings only stand in where a test
needs many small images quickly. Same geometry module, so the positions are the renderer's.
"""

from __future__ import annotations

import cv2
import numpy as np

from layouts import geometry as g
from layouts.qr import qr_matrix, qr_version
from mailing.codes import check_symbol, qr_payload


def mm(v: float, dpi: float) -> int:
    return int(round(v * dpi / g.MM_PER_INCH))


def code_from(seed: int) -> str:
    import random

    rng = random.Random(seed)
    data = "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(11))
    return data + check_symbol(data)


def draw_coupon(code: str, dpi: float = 200, url: str | None = None, ecc: str = "M",
                marks: tuple[int, ...] = (0, 1, 2, 3)) -> np.ndarray:
    """A clean coupon (210 x 99 mm) at `dpi`, white = 255."""
    img = np.full((mm(g.COUPON_HEIGHT_MM, dpi), mm(g.COUPON_WIDTH_MM, dpi)), 255, np.uint8)
    draw_on(img, 0.0, code, dpi, url, ecc, marks)
    return img


def draw_letter(code: str, dpi: float = 200, url: str | None = None) -> np.ndarray:
    """A whole A4 page with some text lines and the coupon in the bottom third."""
    img = np.full((mm(g.PAGE_HEIGHT_MM, dpi), mm(g.PAGE_WIDTH_MM, dpi)), 255, np.uint8)
    for i in range(25):
        y = mm(60 + i * 5, dpi)
        cv2.putText(img, "Sehr geehrte Frau Mustermann, wir freuen uns " * 2, (mm(25, dpi), y),
                    cv2.FONT_HERSHEY_SIMPLEX, dpi / 600, 40, max(1, int(dpi / 150)), cv2.LINE_AA)
    cv2.line(img, (0, mm(g.COUPON_TOP_MM, dpi)), (img.shape[1], mm(g.COUPON_TOP_MM, dpi)), 120, 1)
    draw_on(img, g.COUPON_TOP_MM, code, dpi, url)
    return img


def _rect(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, dpi: float, ink: int = 0,
          fill: bool = True, line_mm: float = 0.35) -> None:
    p0, p1 = (mm(x0, dpi), mm(y0, dpi)), (mm(x1, dpi) - 1, mm(y1, dpi) - 1)
    if fill:
        cv2.rectangle(img, p0, p1, ink, -1)
    else:
        cv2.rectangle(img, p0, p1, ink, max(1, mm(line_mm, dpi)))


def draw_on(img: np.ndarray, top_mm: float, code: str, dpi: float, url: str | None = None, ecc: str = "M",
            marks: tuple[int, ...] = (0, 1, 2, 3)) -> None:
    s = g.REG_MARK_SIZE_MM
    for i, (x, y) in enumerate(g.REG_MARKS_MM):
        if i in marks:
            _rect(img, x, top_mm + y, x + s, top_mm + y + s, dpi)
    cv2.putText(img, "Ja, ich moechte mehr erfahren", (mm(22, dpi), mm(top_mm + 13, dpi)),
                cv2.FONT_HERSHEY_SIMPLEX, dpi / 300, 0, max(1, int(dpi / 100)), cv2.LINE_AA)
    for slot in range(3):
        b = g.checkbox_box(slot)
        _rect(img, b.x_mm, top_mm + b.y_mm, b.right_mm, top_mm + b.bottom_mm, dpi, fill=False)
        cv2.putText(img, ["Info", "Anruf", "Keine Werbung"][slot], (mm(g.CHECKBOX_LABEL_X_MM, dpi),
                    mm(top_mm + b.bottom_mm - 1, dpi)), cv2.FONT_HERSHEY_SIMPLEX, dpi / 400, 0,
                    max(1, int(dpi / 150)), cv2.LINE_AA)
    payload = qr_payload(code, url)
    version = qr_version(len(payload), ecc)
    matrix = qr_matrix(payload, ecc, version)
    box = g.qr_box(version)
    n = matrix.shape[0]
    scale = 8
    big = np.where(np.kron(matrix, np.ones((scale, scale), bool)), 0, 255).astype(np.uint8)
    w = mm(box.right_mm, dpi) - mm(box.x_mm, dpi)
    sym = cv2.resize(big, (w, w), interpolation=cv2.INTER_AREA)
    x0, y0 = mm(box.x_mm, dpi), mm(top_mm + box.y_mm, dpi)
    img[y0:y0 + w, x0:x0 + w] = sym
    assert n == g.qr_modules(version)
    kc = g.qr_keep_clear_box(version)
    _rect(img, kc.x_mm, top_mm + kc.y_mm, kc.right_mm, top_mm + kc.bottom_mm, dpi, ink=150, fill=False,
          line_mm=0.2)
    cv2.putText(img, code[:4] + "-" + code[4:8] + "-" + code[8:], (mm(kc.x_mm, dpi), mm(top_mm + kc.bottom_mm + 5, dpi)),
                cv2.FONT_HERSHEY_SIMPLEX, dpi / 350, 0, max(1, int(dpi / 150)), cv2.LINE_AA)
