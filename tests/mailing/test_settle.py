"""Issue 10: a clearer copy settles doubtful boxes. A stack scanned black and white loses light ticks, so
its coupons come back doubtful and `mailing scan` asks for a grey scan; the grey rescan of those pages then
decides their boxes (and puts an opt-out on the suppression list) without a person, and `runs undo` of the
rescan makes them doubtful again. Real coupons: rendered, marked with the second pen, scanned both ways."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from cycle import DPI, DROP, count, run, scan_json, setup_campaign
from PIL import Image
from sqlalchemy import select

from layouts import geometry as g
from mailing import codes
from mailing.cli import main
from mailing.store import Store, pieces, response_options, responses, review_items, suppression
from scanning import pens
from scanning import simulate as sim
from tests.web.station_queue import own_schema

PG = os.environ.get("MAILING_TEST_POSTGRES", "")
FAINT = pens.Pen(width_mm=0.25, grey=120, pressure=0.5, skips=0.0, colour="blue")  # vanishes in black and white
SOLID = pens.Pen(width_mm=0.8, grey=30, pressure=1.0, skips=0.0, colour="black")


def _coupon(print_dir: Path, row: dict[str, str], marks: list[tuple[int, str, pens.Pen]], out: Path,
            bitonal: bool) -> Path:
    page = sim.render_pdf_page(print_dir / row["file"], int(row["page"]), DPI)
    coupon = page[sim.mm_to_px(g.COUPON_TOP_MM, DPI):]
    for slot, style, pen in marks:
        pens.mark(coupon, DPI, g.checkbox_box(slot), 0.0, random.Random(slot + 3), style, pen)
    img = sim.rotate(coupon, 1.0)
    Image.fromarray(sim.bitonal(img) if bitonal else img).save(out, dpi=(DPI, DPI))
    return out


def _stack(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir()
    return tmp / name


def _options(db: Path, code: str) -> dict[str, bool | None]:
    """The counted response's boxes of the piece with `code`."""
    store = Store.open(str(db))
    with store.connect() as conn:
        rows = conn.execute(select(response_options.c.key, response_options.c.ticked)
                            .join(responses, responses.c.id == response_options.c.response_id)
                            .join(pieces, pieces.c.id == responses.c.piece_id)
                            .where(pieces.c.code == codes.parse(code))).all()
    store.dispose()
    return {r.key: r.ticked for r in rows}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_grey_rescan_settles_the_doubtful_boxes_of_a_black_and_white_page_and_undo_takes_it_back(
        tmp_path: Path, capsys, backend: str) -> None:
    if backend == "postgresql" and not PG:
        pytest.skip("set MAILING_TEST_POSTGRES to a PostgreSQL URL to run (.ci/run starts one when it can)")
    db, _, rows = setup_campaign(tmp_path, capsys, db=own_schema(PG, "settle_rescan") if backend == "postgresql"
                                 else None)
    print_dir = tmp_path / "print"
    bw, grey = _stack(tmp_path, "bw"), _stack(tmp_path, "grey")
    marks = [[(0, "slash", FAINT)], [(2, "check_over", FAINT)]]  # "info"; the opt-out
    for n, m in enumerate(marks):
        _coupon(print_dir, rows[n], m, bw / f"{n}.png", bitonal=True)
        _coupon(print_dir, rows[n], m, grey / f"{n}.png", bitonal=False)

    out = run(capsys, db, "scan", bw)
    assert "2 item(s) need review" in out and "scanned in black and white" in out, out
    assert str(bw / "0.png") in out, "the pages to scan again are named"
    first = [_options(db, r["code"]) for r in rows[:2]]
    assert all(None in o.values() for o in first), first
    assert count(db, suppression) == 0
    listed = run(capsys, db, "review", "--rescan", "--pictures", tmp_path / "pics")
    assert f"{bw / '0.png'} page 1" in listed and f"{bw / '1.png'} page 1" in listed and "2 page(s)" in listed, listed
    items = json.loads(run(capsys, db, "review", "--rescan", "--json", "--pictures", tmp_path / "pics"))
    assert len(items) == 2 and all(i["rescan"] and i["kind"] == "doubtful" for i in items), items

    lines = scan_json(capsys, db, grey)
    assert [ln["status"] for ln in lines] == ["duplicate", "duplicate"], lines
    assert not any(ln["needs_review"] for ln in lines), lines
    assert all(ln["reason"].startswith("settles doubtful boxes of scan") for ln in lines), lines
    assert _options(db, rows[0]["code"]) == {"info": True, "call": False, "optout": False}
    assert _options(db, rows[1]["code"]) == {"info": False, "call": False, "optout": True}
    assert count(db, review_items, review_items.c.status == "open") == 0
    assert count(db, suppression) == 1, "the settled opt-out is on the suppression list at once"
    assert json.loads(run(capsys, db, "review", "--json", "--pictures", tmp_path / "pics")) == []
    assert "no page to scan again in grey" in run(capsys, db, "review", "--rescan", "--pictures", tmp_path / "pics")

    runs = json.loads(run(capsys, db, "runs", "--json"))
    rescan = max(r["run"] for r in runs)
    out = run(capsys, db, "runs", "undo", rescan)
    assert "6 box(es) it had settled doubtful again (2 review item(s) reopened)" in out, out
    assert [_options(db, r["code"]) for r in rows[:2]] == first
    assert count(db, suppression) == 0, "the opt-out the undone rescan settled is taken back"
    items = json.loads(run(capsys, db, "review", "--json", "--pictures", tmp_path / "pics"))
    assert sorted(i["kind"] for i in items) == ["doubtful", "doubtful"], items

    # scanned again, the rescan settles them again
    assert [ln["status"] for ln in scan_json(capsys, db, grey)] == ["duplicate", "duplicate"]
    assert count(db, review_items, review_items.c.status == "open") == 0


def test_a_copy_that_reads_a_decided_box_otherwise_settles_nothing_and_goes_to_a_person(tmp_path: Path,
                                                                                          capsys) -> None:
    """The first reading decided "info" (a solid tick) and left "call" doubtful (a correction). A second copy
    without the "info" tick is another answer, not a clearer picture of the first: nothing is settled, the
    person sees both; a grey rescan of the first, whose correction is still doubtful, settles nothing either
    and adds no work."""
    db, _, rows = setup_campaign(tmp_path, capsys)
    print_dir = tmp_path / "print"
    first, other, again = _stack(tmp_path, "first"), _stack(tmp_path, "other"), _stack(tmp_path, "again")
    _coupon(print_dir, rows[0], [(0, "slash", SOLID), (1, "correction", SOLID)], first / "a.png", bitonal=True)
    _coupon(print_dir, rows[0], [(1, "slash", SOLID)], other / "a.png", bitonal=False)
    _coupon(print_dir, rows[0], [(0, "slash", SOLID), (1, "correction", SOLID)], again / "a.png", bitonal=False)

    [line] = scan_json(capsys, db, first)
    assert line["options"] == {"info": True, "call": None, "optout": False}, line

    [line] = scan_json(capsys, db, other)
    assert line["status"] == "duplicate" and line["needs_review"] and line["reason"] is None, line
    assert _options(db, rows[0]["code"]) == {"info": True, "call": None, "optout": False}

    [line] = scan_json(capsys, db, again)
    assert line["status"] == "duplicate" and not line["needs_review"] and line["reason"] is None, line
    assert _options(db, rows[0]["code"]) == {"info": True, "call": None, "optout": False}
    kinds = sorted(i["kind"] for i in json.loads(run(capsys, db, "review", "--json", "--pictures", tmp_path / "p")))
    assert kinds == ["conflict", "doubtful"], kinds


def test_undo_of_a_rescan_takes_back_the_follow_ups_its_settled_boxes_made(tmp_path: Path, capsys) -> None:
    """Letters planned from boxes a rescan settled go with the undo (a wave left empty goes too); once such a
    letter is produced, the undo is refused, as for the run's own responses: a letter sent cannot be recalled."""
    db, name, rows = setup_campaign(tmp_path, capsys)
    print_dir = tmp_path / "print"
    bw, grey = _stack(tmp_path, "bw"), _stack(tmp_path, "grey")
    _coupon(print_dir, rows[0], [(0, "slash", FAINT)], bw / "a.png", bitonal=True)
    _coupon(print_dir, rows[0], [(0, "slash", FAINT)], grey / "a.png", bitonal=False)

    def planned() -> list[dict]:
        return [w for w in json.loads(run(capsys, db, "status", name, "--json"))["waves"] if w["status"] == "planned"]

    def followup(n: int) -> None:
        run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--out", tmp_path / f"nachfass{n}")

    scan_json(capsys, db, bw)
    followup(1)
    assert planned() == [], "doubtful boxes are not acted upon"
    scan_json(capsys, db, grey)
    followup(2)
    letters = planned()
    assert len(letters) == 2 and all(w["pieces"] == 1 for w in letters), letters  # info pack, thank-you

    rescan = max(r["run"] for r in json.loads(run(capsys, db, "runs", "--json")))
    run(capsys, db, "runs", "undo", rescan)
    assert planned() == [] and None in _options(db, rows[0]["code"]).values()

    scan_json(capsys, db, grey)
    followup(3)
    wave = max(w["wave"] for w in planned())
    run(capsys, db, "produce", name, "--wave", wave, "--out", tmp_path / "print2", "--jobs", "1")
    rescan = max(r["run"] for r in json.loads(run(capsys, db, "runs", "--json")))
    capsys.readouterr()
    assert main(["--db", str(db), "runs", "undo", str(rescan)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already produced" in err, err
    assert _options(db, rows[0]["code"]) == {"info": True, "call": False, "optout": False}, "nothing taken back"
