"""preflight reads the printed codes back with the scanning package's decoder (issue 10, item 6): one
decoder serves scan and preflight, so preflight proves what the scanner will read."""

from __future__ import annotations

import inspect
from pathlib import Path

from PIL import Image

from layouts.render import render_sample_pdf
from mailing import preflight
from mailing.codes import new_code
from scanning import decode
from scanning import simulate as sim


def test_preflight_carries_no_decoder_copy_of_its_own() -> None:
    """Finding: mailing/preflight.py carried its own copy of the decoders (zxing-cpp, else pyzbar)."""
    source = inspect.getsource(preflight)
    assert "zxingcpp" not in source and "pyzbar" not in source
    assert "find_symbols" in inspect.getsource(preflight._decode)


def test_preflight_decode_reads_what_the_scanner_reads(tmp_path: Path) -> None:
    code = new_code()
    render_sample_pdf(tmp_path / "s.pdf", [code])
    page = sim.render_pdf_page(tmp_path / "s.pdf", 1, preflight.PREFLIGHT_DPI)
    crop = page[sim.mm_to_px(230, 200):sim.mm_to_px(280, 200), sim.mm_to_px(135, 200):sim.mm_to_px(185, 200)]
    payloads = preflight._decode(Image.fromarray(crop))
    assert payloads == [s.text for s in decode.find_symbols(crop, preflight.PREFLIGHT_DPI)] == [code]
