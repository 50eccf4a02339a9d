"""A thank-you wave printed as DIN A6 postcards through the real commands: the package, the pages read back
with pypdfium2, preflight, a byte-identical reprint, a bad campaign file (issue 14, item 1)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from cycle import run, setup_campaign

from layouts import geometry as g
from mailing.cli import main

pytestmark = pytest.mark.slow

DPI = 200


def _px(mm: float) -> int:
    return round(mm / g.MM_PER_INCH * DPI)


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_thank_you_postcards_print_read_back_and_pass_preflight(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    answered = rows[:4]
    for row in answered[:3]:
        run(capsys, db, "respond", row["code"], "--channel", "phone", "info=no", "call=no", "optout=no")
    run(capsys, db, "respond", answered[3]["code"], "--channel", "phone", "optout=yes")  # objects: no thanks
    result = json.loads(run(capsys, db, "followup", name, "--out", tmp_path / "nf", "--json"))
    wave = next(r for r in result["rules"] if r["rule"] == "thank-you")["wave"]
    out = tmp_path / "karten"
    run(capsys, db, "produce", name, "--wave", wave, "--out", out, "--jobs", "1")

    ticket = json.loads((out / f"welle-{wave:02d}-auftrag.json").read_text(encoding="utf-8"))
    assert ticket["pieces"] == 3 and ticket["pages_per_piece"] == 2 and ticket["pages"] == 6
    assert ticket["layout"]["format"] == "postkarte" and ticket["layout"]["page_mm"] == [148.0, 105.0]
    assert ticket["print"]["paper_gsm"] >= 150 and ticket["enclosing"]["envelope"] is None
    assert ticket["postage"]["weight_class"] == "Postkarte" and ticket["postage"]["weight_g"] < 20
    text = (out / f"welle-{wave:02d}-auftrag.txt").read_text(encoding="utf-8")
    assert "Postkarte DIN A6 (148 × 105 mm)" in text and "200 g/m²" in text and "Umschlag: keiner" in text
    assert "Karten: 3" in text
    with (out / f"welle-{wave:02d}-manifest.csv").open(encoding="utf-8-sig") as fh:
        manifest = list(csv.DictReader(fh))
    assert [int(m["page"]) for m in manifest] == [1, 3, 5]
    by_code = {r["code"]: r for r in rows}
    assert {m["code"] for m in manifest}.isdisjoint(by_code)  # the postcards have codes of their own

    pdf = pdfium.PdfDocument(str(next(out.glob("*teil-001.pdf"))))
    assert len(pdf) == 6
    zone = g.POSTCARD_ADDRESS_ZONE
    k = g.PT_PER_MM
    for m in manifest:
        message, address = pdf[int(m["page"]) - 1], pdf[int(m["page"])]
        for page in (message, address):
            w, h = page.get_size()
            assert abs(w / k - 148.0) < 0.1 and abs(h / k - 105.0) < 0.1
        # the address is where Deutsche Post wants it: every character right of the line lies in the zone
        tp = address.get_textpage()
        chars = [(tp.get_text_range(i, 1), tp.get_charbox(i)) for i in range(tp.count_chars())]
        right = [(c, box) for c, box in chars if c.strip() and box[0] / k > g.POSTCARD_SEPARATOR_X_MM + 1]
        assert right
        for c, (left, bottom, rgt, top) in right:
            x0, x1, y0, y1 = left / k, rgt / k, 105.0 - top / k, 105.0 - bottom / k
            assert zone.x_mm <= x0 and x1 <= zone.right_mm and zone.y_mm <= y0 and y1 <= zone.bottom_mm, c
        inside = tp.get_text_bounded(zone.x_mm * k, (105.0 - zone.bottom_mm) * k, zone.right_mm * k,
                                     (105.0 - zone.y_mm) * k)
        assert m["postal_code"] in inside
        # the message side greets as the letter does
        greeting = message.get_textpage().get_text_range()
        assert "Vielen Dank für Ihre Antwort" in greeting and ("Sehr geehrte" in greeting or "Guten Tag" in greeting)
        # rasterised: the separating line is printed, the franking area's inside and the coding zone are blank
        img = np.asarray(address.render(scale=DPI / 72, grayscale=True).to_pil())
        line_x = _px(g.POSTCARD_SEPARATOR_X_MM)
        assert img[_px(40):_px(80), line_x].max() < 100
        fb = g.POSTCARD_FRANKING_BOX
        assert img[_px(fb.y_mm + 1):_px(fb.bottom_mm - 1), _px(fb.x_mm + 1):_px(fb.right_mm - 1)].min() > 200
        assert img[_px(g.POSTCARD_HEIGHT_MM - 15):, :].min() > 200
    pdf.close()

    assert main(["preflight", str(out)]) == 0, capsys.readouterr()
    capsys.readouterr()
    again = tmp_path / "nachdruck"
    run(capsys, db, "produce", name, "--wave", wave, "--reprint", "--out", again)
    assert _files(again) == _files(out)

    # preflight reads the address back: a manifest whose postal code the card does not show is found
    mpath = again / f"welle-{wave:02d}-manifest.csv"
    mpath.write_text(mpath.read_text(encoding="utf-8-sig").replace(manifest[1]["postal_code"], "99999", 1),
                     encoding="utf-8")
    assert main(["preflight", str(again)]) == 1
    assert "postal code 99999 is not printed inside the address zone" in capsys.readouterr().out
    # preflight checks the card's size: a ticket that says A4 finds every page wrong
    ticket["layout"]["page_mm"] = [210.0, 297.0]
    (out / f"welle-{wave:02d}-auftrag.json").write_text(json.dumps(ticket), encoding="utf-8")
    assert main(["preflight", str(out)]) == 1
    assert "size 148 x 105 mm, not A4" in capsys.readouterr().out


def test_bad_postcard_config_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    run(capsys, tmp_path / "m.db", "init", tmp_path / "c")
    toml = tmp_path / "c" / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('format = "postkarte"', 'format = "postkarte"\ncoupon = true', 1), encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", str(tmp_path / "m.db"), "campaign", "add", str(toml)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "campaign.toml" in err and "letters.thankyou.coupon" in err and "no reply coupon" in err
