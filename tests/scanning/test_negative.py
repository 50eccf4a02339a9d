"""A negative scan (a bitonal TIFF whose photometric tag is the wrong way round) reads like the positive."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from layouts import geometry as g
from layouts.render import render_sample_pdf
from mailing.codes import new_code
from scanning import simulate as sim
from scanning.pipeline import read_page


@pytest.mark.parametrize("bitonal", [False, True])
def test_negative_page_reads_code_and_ticks(tmp_path: Path, bitonal: bool) -> None:
    code = new_code()
    render_sample_pdf(tmp_path / "s.pdf", [code])
    page = sim.render_pdf_page(tmp_path / "s.pdf", 1, 200)
    sim.tick(page, sim.box_px(g.on_page(g.checkbox_box(1)), 200), random.Random(4), "tick")
    coupon = page[sim.mm_to_px(g.COUPON_TOP_MM, 200):]
    if bitonal:
        coupon = sim.bitonal(coupon)
    reading = read_page("negative.tif", 1, 255 - coupon, 200)
    assert [c.code for c in reading.coupons] == [code]
    assert [b.state for b in reading.coupons[0].boxes[:3]] == ["empty", "ticked", "empty"]
