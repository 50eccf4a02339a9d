"""Tuning sheet: every tick-box crop of a scan run in one PNG, sorted by score, with score and state.

Boxes near the thresholds (layouts.geometry TICK_EMPTY_MAX / TICK_TICKED_MIN) sit next to each other, so a
threshold that cuts through real ticks or through smudges shows at a glance.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import cv2
import numpy as np

from scanning.results import PageReading

TILE_PX = 110  # one box crop (6 mm box + 3 mm margin at 10 px/mm)
LABEL_PX = 16
COLUMNS = 12
STATE_MARK = {"ticked": 0, "empty": 200, "doubtful": 110}  # label background grey per state


def write_gallery(readings: Iterable[PageReading], out_png: str | os.PathLike[str]) -> int:
    """Write the sheet; returns the number of boxes on it (0 writes a small empty sheet)."""
    tiles: list[tuple[float, str, np.ndarray]] = []
    for r in readings:
        for c in r.coupons:
            for b in c.boxes:
                crop = cv2.imdecode(np.frombuffer(b.snippet_png, np.uint8), cv2.IMREAD_GRAYSCALE) \
                    if b.snippet_png else None
                if crop is None:
                    crop = np.full((TILE_PX, TILE_PX), 255, np.uint8)
                tiles.append((b.score, b.state, cv2.resize(crop, (TILE_PX, TILE_PX), interpolation=cv2.INTER_AREA)))
    tiles.sort(key=lambda t: t[0])
    rows = max(1, -(-len(tiles) // COLUMNS))
    cell_h = TILE_PX + LABEL_PX
    sheet = np.full((rows * cell_h, COLUMNS * TILE_PX), 255, np.uint8)
    for i, (score, state, crop) in enumerate(tiles):
        y, x = (i // COLUMNS) * cell_h, (i % COLUMNS) * TILE_PX
        sheet[y:y + TILE_PX, x:x + TILE_PX] = crop
        bg = STATE_MARK.get(state, 255)
        sheet[y + TILE_PX:y + cell_h, x:x + TILE_PX] = bg
        cv2.putText(sheet, f"{score:.3f} {state[0]}", (x + 3, y + cell_h - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    255 if bg < 128 else 0, 1, cv2.LINE_AA)
        cv2.rectangle(sheet, (x, y), (x + TILE_PX - 1, y + cell_h - 1), 160, 1)
    if not cv2.imwrite(str(out_png), sheet):
        raise OSError(f"cannot write {out_png}")
    return len(tiles)
