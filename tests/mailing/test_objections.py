"""Objections at once and a review queue that closes (issue 9, items 6 and 7)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from cycle import coupon_scan, recipient_of, run, scan_json
from PIL import Image
from sqlalchemy import func, select

from mailing.cli import main
from mailing.config import parse_campaign
from mailing.errors import ConfigError
from mailing.store import Store, recipients, review_items, suppression
from mailing.suppression import suppressed_recipients

pytestmark = pytest.mark.slow

INFO, CALL, OPTOUT = 0, 1, 2  # slots of the example campaign's options


def suppressed_now(db: Path, code: str) -> bool:
    store = Store.open(str(db))
    rid = recipient_of(store, code)
    with store.connect() as conn:
        cid = conn.execute(select(recipients.c.campaign_id).where(recipients.c.id == rid)).scalar_one()
        hit = rid in suppressed_recipients(conn, cid)
    store.dispose()
    return hit


def open_items(db: Path, capsys, tmp_path: Path) -> list[dict]:
    return json.loads(run(capsys, db, "review", "--json", "--pictures", tmp_path / "pics"))


def test_optout_ticked_on_a_coupon_is_suppressed_without_followup(cycle, tmp_path: Path, capsys) -> None:
    """Finding: an opt-out was only put on the suppression list when someone ran `followup`."""
    db, name, rows, print_dir = cycle
    coupon_scan(print_dir, rows[0], [OPTOUT], tmp_path / "optout.png", random.Random(1))
    (line,) = scan_json(capsys, db, tmp_path / "optout.png")
    assert line["status"] == "matched" and line["options"]["optout"] is True
    assert suppressed_now(db, rows[0]["code"]), "suppressed in the transaction that recorded the response"
    listed = run(capsys, db, "suppress", "list")
    assert "objection" in listed


def test_optout_ticked_only_on_a_second_copy_is_suppressed_at_once(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    coupon_scan(print_dir, rows[2], [INFO], tmp_path / "first.png", random.Random(5))
    coupon_scan(print_dir, rows[2], [INFO, OPTOUT], tmp_path / "copy.png", random.Random(6))
    assert [ln["status"] for ln in scan_json(capsys, db, tmp_path / "first.png")] == ["matched"]
    assert not suppressed_now(db, rows[2]["code"])
    (line,) = scan_json(capsys, db, tmp_path / "copy.png")
    assert line["status"] == "duplicate" and line["needs_review"]
    assert suppressed_now(db, rows[2]["code"]), "an objection is never left waiting for review"


def test_call_and_optout_both_ticked_goes_to_review_as_conflict(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    coupon_scan(print_dir, rows[0], [CALL, OPTOUT], tmp_path / "both.png", random.Random(2))
    (line,) = scan_json(capsys, db, tmp_path / "both.png")
    assert line["needs_review"] and line["options"]["call"] is None and line["options"]["optout"] is True
    (item,) = open_items(db, capsys, tmp_path)
    assert item["kind"] == "conflict"
    assert suppressed_now(db, rows[0]["code"]), "the objection is honoured while the call waits for a person"
    # the person decides: no call, the objection stands; the item closes
    run(capsys, db, "review", "set", item["id"], "call=no")
    assert open_items(db, capsys, tmp_path) == []
    assert suppressed_now(db, rows[0]["code"])


def test_conflict_rule_optout_wins_needs_no_review(tmp_path: Path, capsys) -> None:
    db = tmp_path / "m.db"
    run(capsys, db, "init", tmp_path / "c")
    toml = tmp_path / "c" / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("[coupon]\n", '[coupon]\nconflict = "optout-wins"\n', 1), encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    run(capsys, db, "import", "fruehjahr-2026", tmp_path / "c" / "recipients.csv")
    run(capsys, db, "produce", "fruehjahr-2026", "--out", tmp_path / "print", "--jobs", "1")
    import csv

    manifest = next((tmp_path / "print").rglob("*manifest*.csv"))
    with manifest.open(encoding="utf-8-sig") as fh:
        row = next(csv.DictReader(fh))
    coupon_scan(manifest.parent, row, [CALL, OPTOUT], tmp_path / "both.png", random.Random(3))
    (line,) = scan_json(capsys, db, tmp_path / "both.png")
    assert not line["needs_review"] and line["options"] == {"info": False, "call": False, "optout": True}
    assert suppressed_now(db, row["code"])


def test_conflict_rule_is_validated() -> None:
    from mailing.config import example_campaign_path

    text = example_campaign_path().read_text(encoding="utf-8").replace("[coupon]\n", '[coupon]\nconflict = "call-wins"\n', 1)
    with pytest.raises(ConfigError, match="optout-wins"):
        parse_campaign(text)


def test_review_resolve_with_code_and_key_closes_the_item(cycle, tmp_path: Path, capsys) -> None:
    """Finding: `review resolve ID --code ... KEY=yes` answered "matched" but left the item open."""
    db, name, rows, print_dir = cycle
    rng = random.Random(4)

    def blot(page):
        from layouts import geometry as g
        from scanning import simulate as sim

        x0, y0, x1, y1 = sim.box_px(g.on_page(g.qr_box(1)), 200)
        page[y0:y1, x0:x1] = 0
        x0, y0, x1, y1 = sim.box_px(g.on_page(g.code_text_box(1)), 200)
        page[y0:y1, x0:x1] = 0  # and the printed code, which is read back when the QR code is gone
    coupon_scan(print_dir, rows[1], [OPTOUT], tmp_path / "blot.png", rng, damage=blot)
    (line,) = scan_json(capsys, db, tmp_path / "blot.png")
    assert line["status"] == "unreadable"
    (item,) = open_items(db, capsys, tmp_path)
    out = run(capsys, db, "review", "resolve", item["id"], "--code", rows[1]["code"], "optout=yes")
    assert "matched" in out
    assert open_items(db, capsys, tmp_path) == [], "resolved means closed"
    assert suppressed_now(db, rows[1]["code"]), "an opt-out typed in review is suppressed at once"
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["responses"] == 1 and status["options"] == {"info": 0, "call": 0, "optout": 1}


def test_review_void_takes_several_ids_and_a_run(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    for i in range(3):
        Image.new("L", (1654, 780 + i), 255).save(tmp_path / f"blank-{i}.png")
    scan_json(capsys, db, tmp_path / "blank-0.png", tmp_path / "blank-1.png")  # run 1
    scan_json(capsys, db, tmp_path / "blank-2.png")  # run 2
    items = open_items(db, capsys, tmp_path)
    assert len(items) == 3 and all({"id", "kind", "source", "page"} <= set(i) for i in items)
    assert [i["run"] for i in items] == [1, 1, 2]
    # an unknown id refuses the lot: nothing is voided
    capsys.readouterr()
    assert main(["--db", str(db), "review", "void", str(items[0]["id"]), "999"]) == 1
    assert "no review item 999" in capsys.readouterr().err
    assert len(open_items(db, capsys, tmp_path)) == 3
    out = run(capsys, db, "review", "void", items[0]["id"], items[1]["id"], "--note", "blank sheets")
    assert "voided 2" in out
    out = run(capsys, db, "review", "void", "--run", "2")
    assert "voided 1" in out
    assert open_items(db, capsys, tmp_path) == []
    store = Store.open(str(db))
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(review_items)
                            .where(review_items.c.status == "voided")).scalar_one() == 3
        assert conn.execute(select(func.count()).select_from(suppression)).scalar_one() == 0
    store.dispose()
