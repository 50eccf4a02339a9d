"""Issue 10: ticks a scan can lose. A stack scanned black and white sends coupons with light ticks to review
(a light ballpoint can vanish under the threshold without a trace) and `mailing scan` says so and what to
change; an opt-out box holding what is left of a nearly erased tick is doubtful, never a confident "no"."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
from cycle import DPI, run, scan_json, setup_campaign
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


def test_opt_out_box_with_a_nearly_erased_tick_goes_to_review_not_read_as_no(tmp_path, capsys) -> None:
    """bench/ticks.py, second pen, coffee: a light corner check in the opt-out box, mostly erased, scored
    0.03 and read as empty, so the person who objected would have been mailed again. An objection box is
    empty only when nothing at all is in it; the same remnant in another box stays empty."""
    db, _, rows = setup_campaign(tmp_path, capsys)
    print_dir = tmp_path / "print"
    for n, slot in enumerate((2, 0)):  # the example campaign: 0 info, 1 call, 2 opt-out
        page = sim.render_pdf_page(print_dir / rows[n]["file"], int(rows[n]["page"]), DPI)
        coupon = page[sim.mm_to_px(g.COUPON_TOP_MM, DPI):]
        box = g.checkbox_box(slot)
        x, y = sim.mm_to_px(box.x_mm + 1.5, DPI), sim.mm_to_px(box.y_mm + 4.2, DPI)
        cv2.line(coupon, (x, y), (x + sim.mm_to_px(0.7, DPI), y - sim.mm_to_px(0.4, DPI)), 170, 2)
        stack = tmp_path / f"s{n}"
        stack.mkdir()
        Image.fromarray(sim.rotate(coupon, 1.0)).save(stack / "c.png", dpi=(DPI, DPI))
    optout = scan_json(capsys, db, tmp_path / "s0")[0]
    assert optout["options"]["optout"] is None and optout["needs_review"], optout
    info = scan_json(capsys, db, tmp_path / "s1")[0]
    assert info["options"]["info"] is False and not info["needs_review"], info
