"""Intake memory: parsed PDFs this process no longer keeps are freed as the stack goes on, not at the end."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scanning import intake


def test_intake_peak_does_not_grow_with_the_number_of_pdfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding: scanning 200 PDFs of 500 pages peaked at 1.77 GB (6 PDFs: 342 MB) while their pages were
    counted: every pypdf reader dropped from the two-file cache kept its whole file until a rare full
    garbage collection."""
    noise = np.random.default_rng(1).integers(0, 255, (200, 200), dtype=np.uint8)
    files = []
    for i in range(12):
        path = tmp_path / f"s{i:02d}.pdf"
        Image.fromarray(np.roll(noise, i, axis=1)).save(path, resolution=72, quality=95)
        files.append(str(path))
    size = Path(files[0]).stat().st_size
    monkeypatch.setattr(intake, "PDF_DROPPED_BYTES", 3 * size, raising=False)  # the same rule, scaled to these small files
    monkeypatch.setattr(intake, "_PDF_CACHE", type(intake._PDF_CACHE)())
    monkeypatch.setattr(intake, "_PDF_DROPPED", [0], raising=False)
    alive: list[weakref.ref] = []
    real = intake._pdf_reader

    def counted(source: str):  # type: ignore[no-untyped-def]
        reader = real(source)
        if all(r() is not reader for r in alive):
            alive.append(weakref.ref(reader))
        return reader

    monkeypatch.setattr(intake, "_pdf_reader", counted)
    gc.collect()
    gc.disable()  # as in a long run, where the full collections that free such cycles are rare
    try:
        for f in files:
            assert intake.pdf_info(f) is not None
            assert intake.count_pages(f) == 1
        held = sum(r() is not None for r in alive)
    finally:
        gc.enable()
    assert len(alive) == 12
    # the two cached readers plus fewer than three dropped ones waiting for the next collection
    assert held <= intake.PDF_CACHE_FILES + 3, held
