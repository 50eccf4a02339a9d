"""Issue 10: a stack scanned black and white sends coupons with light ticks to review (a light ballpoint
can vanish under the threshold without a trace); `mailing scan` says so and what to change."""

from __future__ import annotations

import random
from pathlib import Path

from cycle import DPI, run, setup_campaign
from PIL import Image

from layouts import geometry as g
from scanning import pens
from scanning import simulate as sim

FAINT = pens.Pen(width_mm=0.25, grey=120, pressure=0.5, skips=0.0, colour="blue")
HINT = "scanned in black and white"


def _coupon(print_dir: Path, row: dict[str, str], out: Path, bitonal: bool) -> Path:
    page = sim.render_pdf_page(print_dir / row["file"], int(row["page"]), DPI)
    coupon = page[sim.mm_to_px(g.COUPON_TOP_MM, DPI):]
    pens.mark(coupon, DPI, g.checkbox_box(0), 0.0, random.Random(3), "slash", FAINT)
    img = sim.rotate(coupon, 1.0)
    Image.fromarray(sim.bitonal(img) if bitonal else img).save(out, dpi=(DPI, DPI))
    return out


def test_scan_of_a_bitonal_stack_says_why_its_coupons_need_review_and_a_grey_one_does_not(tmp_path, capsys) -> None:
    db, _, rows = setup_campaign(tmp_path, capsys)
    print_dir = tmp_path / "print"
    bw, grey = tmp_path / "bw", tmp_path / "grey"
    bw.mkdir()
    grey.mkdir()
    _coupon(print_dir, rows[0], bw / "a.png", bitonal=True)
    _coupon(print_dir, rows[1], grey / "b.png", bitonal=False)
    out = run(capsys, db, "scan", bw)
    assert "1 item(s) need review" in out and HINT in out, out
    out = run(capsys, db, "scan", grey)
    assert "need review" not in out and HINT not in out, out
