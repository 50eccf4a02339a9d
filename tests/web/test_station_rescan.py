"""Issue 10: a coupon whose light tick vanished in a black-and-white scan reaches the review station with the
hint that a grey rescan of its page decides it; once that rescan is scanned, the item is gone from the queue
without anybody deciding it. A real coupon of the produced campaign, marked with the second pen's light
ballpoint, scanned both ways."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from conftest import run_cli, staff_client
from PIL import Image

from layouts import geometry as g
from mailing.store import Store
from scanning import pens
from scanning import simulate as sim

DPI = 200
FAINT = pens.Pen(width_mm=0.25, grey=120, pressure=0.5, skips=0.0, colour="blue")


def test_station_says_a_grey_rescan_decides_a_black_and_white_page_and_the_rescan_empties_the_queue(
        produced_db: Path, web_db: Path, web_store: Store, tmp_path: Path) -> None:
    print_dir = produced_db.parent / "print"
    manifest = next(print_dir.rglob("*manifest*.csv"))
    with manifest.open(encoding="utf-8-sig") as fh:
        row = next(csv.DictReader(fh))
    page = sim.render_pdf_page(next(print_dir.rglob(row["file"])), int(row["page"]), DPI)
    coupon = page[sim.mm_to_px(g.COUPON_TOP_MM, DPI):]
    pens.mark(coupon, DPI, g.checkbox_box(0), 0.0, random.Random(5), "slash", FAINT)
    coupon = sim.rotate(coupon, 0.8)
    Image.fromarray(sim.bitonal(coupon)).save(tmp_path / "bw.png", dpi=(DPI, DPI))
    Image.fromarray(coupon).save(tmp_path / "grey.png", dpi=(DPI, DPI))

    run_cli(web_db, "scan", tmp_path / "bw.png")
    with staff_client(web_store, "operator") as c:
        page_html = c.get("/review").text
        assert 'id="rescan"' in page_html and "Graustufen-Scan" in page_html, page_html
    run_cli(web_db, "scan", tmp_path / "grey.png")
    with staff_client(web_store, "operator") as c:
        page_html = c.get("/review").text
        assert 'data-item="' not in page_html and 'id="rescan"' not in page_html, page_html
