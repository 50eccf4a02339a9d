"""Scan outcomes and the review queue, over real print PDFs rasterised, ticked and scanned."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from cycle import count, coupon_scan, run, scan_json, setup_campaign
from PIL import Image

from layouts import geometry as g
from mailing.cli import main
from mailing.store import audit_log, responses, review_items, scans
from mailing.testing.codes import misprinted
from scanning import simulate as sim

pytestmark = pytest.mark.slow


def test_every_page_gets_exactly_one_outcome(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    rng = random.Random(1)
    stack = tmp_path / "stack"
    stack.mkdir()
    first = coupon_scan(print_dir, rows[0], [0, 2], stack / "a-first.png", rng)
    # the same coupon photocopied and sent in again: a duplicate, counted once
    Image.fromarray(sim.photocopy(np.array(Image.open(first).convert("L")), rng)).save(stack / "b-copy.png")
    Image.new("L", (1654, 780), 255).save(stack / "c-blank.png")  # a blank sheet
    (stack / "d-corrupt.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (stack / "d-corrupt-too.pdf").write_bytes(b"%PDF-1.4 nor is this one")  # a second broken file is kept too
    coupon_scan(print_dir, rows[1], [1], stack / "e-second.png", rng, whole_page=True)
    # a coupon of another store's campaign: valid check symbol, unknown code
    other_db, _, other_rows = setup_campaign(tmp_path / "other", capsys)
    other_print = next((tmp_path / "other" / "print").rglob("*.pdf")).parent
    coupon_scan(other_print, other_rows[0], [], stack / "f-foreign.png", rng)

    lines = scan_json(capsys, db, stack)
    assert [(Path(ln["source"]).name, ln["status"]) for ln in lines] == [
        ("a-first.png", "matched"), ("b-copy.png", "duplicate"), ("c-blank.png", "unreadable"),
        ("d-corrupt-too.pdf", "unreadable"), ("d-corrupt.pdf", "unreadable"), ("e-second.png", "matched"),
        ("f-foreign.png", "unknown")]
    first_line = lines[0]
    assert first_line["code"] == rows[0]["code"] and first_line["campaign"] == name and first_line["wave"] == 1
    assert first_line["customer_id"] == rows[0]["customer_id"]
    assert first_line["options"] == {"info": True, "call": False, "optout": True}
    assert lines[2]["reason"] == "blank page" and lines[3]["reason"] == lines[4]["reason"] == "corrupt file"
    assert lines[6]["reason"] == "no such code" and lines[6]["needs_review"]
    assert count(db, scans) == 7 and count(db, review_items) == 4, "every page stored, each broken file too"
    assert all(ln["page"] == 1 for ln in lines)
    assert count(db, responses) == 2

    # the very same images again: the first outcomes repeat and nothing changes in the store
    before = (count(db, scans), count(db, review_items), count(db, responses))
    again = scan_json(capsys, db, stack)
    assert [ln["status"] for ln in again] == [ln["status"] for ln in lines]
    assert (count(db, scans), count(db, review_items), count(db, responses)) == before


def test_review_queue_resolutions(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    rng = random.Random(2)

    def scribble_over_code(page):
        sim.scribble(page, sim.box_px(g.on_page(g.qr_box(1)), 200), rng, strokes=25)
        x0, y0, x1, y1 = sim.box_px(g.on_page(g.qr_box(1)), 200)
        page[y0:y1:3, x0:x1] = 0  # and a heavy felt-pen hatch: nothing can read this
        cx0, cy0, cx1, cy1 = sim.box_px(g.on_page(g.code_text_box(1)), 200)
        page[cy0:cy1, cx0:cx1] = 0  # the printed code too (issue 10 reads it back when the QR code is gone)
    coupon_scan(print_dir, rows[3], [0], tmp_path / "scribbled.png", rng, damage=scribble_over_code)
    lines = scan_json(capsys, db, tmp_path / "scribbled.png")
    assert lines[0]["status"] == "unreadable" and lines[0]["needs_review"]
    Image.new("L", (1654, 780), 255).save(tmp_path / "blank.png")
    scan_json(capsys, db, tmp_path / "blank.png")

    items = json.loads(run(capsys, db, "review", "--json", "--pictures", tmp_path / "pics"))
    assert [i["kind"] for i in items] == ["unreadable", "unreadable"]
    assert all({"id", "kind", "source", "page"} <= set(i) for i in items)
    assert all(Path(i["picture"]).exists() for i in items), "every item keeps a picture for the operator"
    scribbled, blank = items

    # a mistyped code is refused with its reason, one line, exit 1
    typo = misprinted(rows[3]["code"], 5)
    capsys.readouterr()
    assert main(["--db", str(db), "review", "resolve", str(scribbled["id"]), "--code", typo]) == 1
    assert "check symbol wrong" in capsys.readouterr().err
    # typing the printed code and the ticked box records the response and closes the item
    code = rows[3]["code"]
    grouped = "-".join(code[i:i + 4] for i in range(0, 12, 4)).lower()
    assert "matched" in run(capsys, db, "review", "resolve", str(scribbled["id"]), "--code", grouped, "info=yes")
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["responses"] == 1
    assert status["options"] == {"info": 1, "call": 0, "optout": 0}
    open_now = json.loads(run(capsys, db, "review", "--json", "--pictures", tmp_path / "p"))
    assert [i["id"] for i in open_now] == [blank["id"]], "the resolved item is closed"
    run(capsys, db, "review", "void", str(blank["id"]), "--note", "leeres Blatt")
    assert json.loads(run(capsys, db, "status", name, "--json"))["review_open"] == 0
    assert count(db, audit_log, audit_log.c.action.like("review.%")) == 2


def test_returned_mail_flags_and_suppresses(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    letter = coupon_scan(print_dir, rows[4], [], tmp_path / "back.png", random.Random(3), whole_page=True)
    shutil.copy(letter, tmp_path / "back-again.png")
    lines = scan_json(capsys, db, letter, "--returned-mail")
    assert [ln["status"] for ln in lines] == ["returned"]
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["undeliverable"] == 1 and status["suppressed"] >= 1
    listed = run(capsys, db, "suppress", "list")
    assert "undeliverable" in listed
