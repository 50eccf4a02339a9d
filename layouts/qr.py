"""QR symbols: payload → module matrix (zxing-cpp's C++ encoder) → one merged PDF path.

The version is fixed per wave (`qr_version`) so every symbol of a wave has the same size and sits in the
same box (layouts.geometry.qr_box). The path is drawn in module units under one `cm`, one rectangle per
horizontal run of dark modules, filled once: small and fast (docs/measurements.md §Rendering speed).
"""

from __future__ import annotations

import numpy as np
import zxingcpp

from mailing.errors import MailingError

# Alphanumeric-mode capacity (characters) per version and error correction level, ISO/IEC 18004 table 7.
ALNUM_CAPACITY: dict[str, tuple[int, ...]] = {
    "M": (20, 38, 61, 90, 122, 154, 178, 221, 262, 311),
    "Q": (16, 29, 47, 67, 87, 108, 125, 157, 189, 221),
    "H": (10, 20, 35, 50, 64, 84, 93, 122, 143, 174),
}
MAX_VERSION = 4  # larger symbols would push the printed code into the coding zone of the coupon


def qr_version(payload_length: int, ecc: str = "M") -> int:
    """The smallest version that holds an alphanumeric payload of this length."""
    for version, capacity in enumerate(ALNUM_CAPACITY[ecc], start=1):
        if payload_length <= capacity:
            if version > MAX_VERSION:
                break
            return version
    raise MailingError(
        f"QR payload of {payload_length} characters needs a symbol larger than version {MAX_VERSION} at "
        f"error correction {ecc}; shorten coupon.response_url or lower layout.qr_ecc"
    )


def qr_matrix(payload: str, ecc: str = "M", version: int | None = None) -> np.ndarray:
    """Module matrix without quiet zone: True = dark.

    zxing-cpp's C++ encoder (0.13 ms per code); where it is missing (zxing-cpp builds before 2.2) or
    refuses, the pure-Python `qrcode` with the version fixed (1.2-2.5 ms per code; docs/measurements.md
    §QR encoding speed).
    """
    create = getattr(zxingcpp, "create_barcode", None)
    if create is not None:
        kwargs: dict[str, object] = {"ec_level": ecc}
        if version:
            kwargs["version"] = version
        try:
            barcode = create(payload, zxingcpp.BarcodeFormat.QRCode, **kwargs)
            return np.asarray(barcode.to_image(scale=1, add_quiet_zones=False)) < 128
        except (ValueError, RuntimeError):
            pass
    return qr_matrix_qrcode(payload, ecc, version)


def qr_matrix_qrcode(payload: str, ecc: str = "M", version: int | None = None) -> np.ndarray:
    """The same matrix from the pure-Python `qrcode` package."""
    import qrcode
    from qrcode import constants

    levels = {"M": constants.ERROR_CORRECT_M, "Q": constants.ERROR_CORRECT_Q, "H": constants.ERROR_CORRECT_H}
    qr = qrcode.QRCode(version=version, error_correction=levels[ecc], box_size=1, border=0)
    qr.add_data(payload)
    qr.make(fit=version is None)
    return np.array(qr.get_matrix(), dtype=bool)


def path_ops(matrix: np.ndarray) -> str:
    """PDF path operators in module units, origin at the symbol's top-left, y pointing down the rows.

    The caller sets a `cm` that maps module (c, r) to page points; each run of dark modules in a row is
    one `re`, and one `f` fills them all.
    """
    rows, n = matrix.shape
    padded = np.zeros((rows, n + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix
    edges = np.diff(padded, axis=1)
    sr, sc = np.nonzero(edges == 1)  # row-major: runs come out row by row, left to right
    ec = np.nonzero(edges == -1)[1]
    ops = [f"{s} {r} {e - s} 1 re" for r, s, e in zip(sr.tolist(), sc.tolist(), ec.tolist(), strict=True)]
    ops.append("f")
    return "\n".join(ops)
