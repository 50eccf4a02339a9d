"""A number to call back (issue 10, item 5): a coupon whose campaign offers a call option carries a
write-in line for the telephone number (one geometry for renderer and scanner); the scanner crops what was
written there, the store keeps it with the scan, and the call list embeds the picture in its XLSX row."""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest
from PIL import Image
from sqlalchemy import select

from layouts import geometry as g
from layouts.letter import LayoutError, LetterLayout, layout_json, offers_call
from layouts.model import Line, Text
from layouts.render import render_sample_pdf
from mailing.config import Option, example_campaign_path, load_campaign
from mailing.store import Store, scans
from scanning import simulate as sim
from scanning.pipeline import read_page
from tests.mailing.cycle import DROP, coupon_scan, run, scan_json, setup_campaign
from tests.scanning import degrade as d
from tests.scanning.corpus import code_for


def without_call(campaign):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    options = tuple(o for o in campaign.coupon.options if o.key != "call")
    rules = tuple(r for r in campaign.rules if r.action != "call")
    return replace(campaign, coupon=replace(campaign.coupon, options=options), rules=rules)


def test_coupon_with_a_call_option_has_the_phone_line_where_geometry_says() -> None:
    campaign = load_campaign(example_campaign_path())
    assert offers_call(campaign)
    lay = LetterLayout(campaign)
    (line,) = [e for e in lay.static if isinstance(e, Line) and e.role == "phone_line"]
    (label,) = [e for e in lay.static if isinstance(e, Text) and e.role == "phone_label"]
    write = g.on_page(g.PHONE_WRITE_BOX)
    assert write.contains(line.box) and label.box.right_mm < g.PHONE_LINE_X_MM
    # nothing else printed where the number is written; well away from the code's keep-clear frame
    others = [e for e in lay.static if e is not line and e.page == 1 and e.box.intersects(write)]
    assert others == []
    assert write.right_mm + 10 < lay.keep_clear_box.x_mm
    for slot in range(g.PHONE_MAX_OPTIONS):
        assert not g.on_page(g.checkbox_box(slot)).intersects(write)
    assert layout_json(campaign)["phone_line"] == write.as_json()


def test_coupon_without_a_call_option_has_no_phone_line() -> None:
    campaign = without_call(load_campaign(example_campaign_path()))
    assert not offers_call(campaign)
    assert not [e for e in LetterLayout(campaign).static if e.role.startswith("phone")]
    assert layout_json(campaign)["phone_line"] is None


def test_five_options_and_a_phone_line_do_not_fit() -> None:
    from dataclasses import replace

    campaign = load_campaign(example_campaign_path())
    options = campaign.coupon.options + (Option("a", "Anderes A"), Option("b", "Anderes B"))
    with pytest.raises(LayoutError, match="at most 4 options"):
        LetterLayout(replace(campaign, coupon=replace(campaign.coupon, options=options)))


def ink_above_line(picture: bytes) -> float:
    """Share of dark pixels in the picture's part above the printed line."""
    img = np.asarray(Image.open(io.BytesIO(picture)).convert("L"))
    line_row = int(round((g.PHONE_LINE_Y_MM - g.PHONE_WRITE_BOX.y_mm) * g.PHONE_SNIPPET_PX_PER_MM))
    return float((img[: line_row - 2] < 128).mean())


def test_scanner_crops_the_written_number_from_a_skewed_noisy_scan(tmp_path: Path) -> None:
    rng = random.Random(12)
    code = code_for(rng)
    render_sample_pdf(tmp_path / "s.pdf", [code])
    page = sim.render_pdf_page(tmp_path / "s.pdf", 1, 200)
    blank = d.cut_coupon(page, 200)
    written = blank.copy()
    d.write_phone(written, 200, 0.0, "0171 2345678", rng)
    pictures = []
    for coupon in (blank, written):
        img = d.scanner(d.geometry(coupon, "skew", rng), "noise", 200, rng)
        (reading,) = read_page("c.png", 1, img, 200.0).coupons
        assert reading.code == code and reading.phone_jpeg
        pic = Image.open(io.BytesIO(reading.phone_jpeg))
        assert pic.size == (round(g.PHONE_WRITE_BOX.width_mm * 5), round(g.PHONE_WRITE_BOX.height_mm * 5))
        pictures.append(reading.phone_jpeg)
    assert ink_above_line(pictures[0]) < 0.01 < 0.03 < ink_above_line(pictures[1])


def test_phone_photo_crop_still_shows_the_number(tmp_path: Path) -> None:
    rng = random.Random(13)
    code = code_for(rng)
    render_sample_pdf(tmp_path / "s.pdf", [code])
    coupon = d.cut_coupon(sim.render_pdf_page(tmp_path / "s.pdf", 1, 300), 300)
    d.write_phone(coupon, 300, 0.0, "0221 987654", rng)
    (reading,) = read_page("p.jpg", 1, d.phone_photo(coupon, 300, rng), 72.0).coupons
    assert reading.code == code and ink_above_line(reading.phone_jpeg) > 0.03


def test_call_list_embeds_the_written_number_per_row(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    rng = random.Random(14)
    folder = tmp_path / "scans"
    folder.mkdir()

    def number(page: np.ndarray) -> None:
        d.write_phone(page, 200, g.COUPON_TOP_MM, "0171 2345678", rng)

    coupon_scan(print_dir, rows[0], [1], folder / "a-call-with-number.png", rng, damage=number)
    coupon_scan(print_dir, rows[1], [0], folder / "b-info-only.png", rng)
    lines = scan_json(capsys, db, folder, "--received-on", (DROP + timedelta(days=3)).isoformat())
    assert [ln["status"] for ln in lines] == ["matched", "matched"]
    with Store.open(str(db)).connect() as conn:
        kept = conn.execute(select(scans.c.code, scans.c.phone_snippet).order_by(scans.c.id)).all()
    assert [k.code for k in kept] == [rows[0]["code"], rows[1]["code"]]
    assert all(k.phone_snippet and k.phone_snippet.startswith(b"\xff\xd8") for k in kept)  # JPEG

    out = tmp_path / "nf"
    run(capsys, db, "followup", name, "--as-of", (DROP + timedelta(days=4)).isoformat(), "--out", out)
    xlsx = next(out.glob("anrufliste-*.xlsx"))
    ws = openpyxl.load_workbook(xlsx)["Anrufliste"]
    header = [c.value for c in ws[1]]
    col = header.index("Telefon handschriftlich")
    assert ws.max_row == 2 and rows[0]["customer_id"] in [str(c.value) for c in ws[2]]
    (image,) = ws._images
    anchor = image.anchor._from
    assert (anchor.row, anchor.col) == (1, col)  # 0-based: the person's row, the picture column
    embedded = image._data()
    assert embedded == kept[0].phone_snippet and ink_above_line(embedded) > 0.03
    shown_px = image.anchor.ext.height / 9525  # EMU per pixel at 96 dpi
    assert ws.row_dimensions[2].height >= shown_px * 0.75  # the row is as tall as the picture shown

    csv_file = next(out.glob("anrufliste-*.csv"))
    table = list(csv.reader(csv_file.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert table[0][8] == "Telefon handschriftlich"
    assert table[1][8] == f"Bild in {xlsx.name}, Zeile 2"


def test_call_list_rows_without_a_readable_picture_say_nothing(tmp_path: Path) -> None:
    from reports.calllist import CallListRow, write_call_list

    ok, buf = cv2.imencode(".png", np.full((52, 390), 255, np.uint8))
    rows = [CallListRow(name="A", phone_picture=buf.tobytes()), CallListRow(name="B", phone_picture=b"not a png"),
            CallListRow(name="C")]
    write_call_list(rows, tmp_path / "a.xlsx", tmp_path / "a.csv")
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx")["Anrufliste"]
    assert len(ws._images) == 1 and ws._images[0].anchor._from.row == 1
    table = list(csv.reader((tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert [r[8] for r in table[1:]] == ["Bild in a.xlsx, Zeile 2", "", ""]
