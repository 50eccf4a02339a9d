"""Follow-ups over a real cycle: the real commands, real print PDFs, rasterised and ticked coupons, real scans."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from cycle import DROP, coupon_scan, recipient_of, run, scan_json, setup_campaign, wave_members
from sqlalchemy import select

from mailing.store import Store, followups, recipients, suppression

pytestmark = pytest.mark.slow

def test_followups_from_real_scans(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    rng = random.Random(5)
    info, both, call, optout, empty, returned, phoned = rows[:7]
    scans = tmp_path / "scans"
    scans.mkdir()
    for i, (row, ticks) in enumerate([(info, [0]), (both, [0, 1]), (call, [1]), (optout, [2]), (empty, [])]):
        coupon_scan(print_dir, row, ticks, scans / f"coupon-{i}.png", rng, whole_page=i == 0)
    lines = scan_json(capsys, db, scans, "--received-on", (DROP + timedelta(days=5)).isoformat())
    assert [ln["status"] for ln in lines] == ["matched"] * 5
    assert [ln["options"] for ln in lines] == [
        {"info": True, "call": False, "optout": False}, {"info": True, "call": True, "optout": False},
        {"info": False, "call": True, "optout": False}, {"info": False, "call": False, "optout": True},
        {"info": False, "call": False, "optout": False}]
    # a returned letter, scanned in returned-mail mode
    ret = coupon_scan(print_dir, returned, [], tmp_path / "returned.png", rng, whole_page=True)
    assert [ln["status"] for ln in scan_json(capsys, db, ret, "--returned-mail")] == ["returned"]
    # an objection by telephone after wave 1, imported as a suppression file by customer id
    objection = tmp_path / "widerspruch.csv"
    objection.write_text(f"Kundennummer\n{phoned['customer_id']}\n", encoding="utf-8")
    run(capsys, db, "suppress", "import", objection, "--reason", "objection")

    as_of = (DROP + timedelta(days=22)).isoformat()
    dry = json.loads(run(capsys, db, "followup", name, "--as-of", as_of, "--dry-run", "--json"))
    store = Store.open(str(db))
    with store.connect() as conn:
        assert conn.execute(select(followups)).first() is None, "a dry run writes nothing"
    result = json.loads(run(capsys, db, "followup", name, "--as-of", as_of, "--out", tmp_path / "nf", "--json"))
    by_rule = {r["rule"]: r for r in result["rules"]}
    assert {r["rule"]: r["count"] for r in dry["rules"]} == {r: v["count"] for r, v in by_rule.items()}

    # info → info-pack wave with exactly the two who ticked info
    assert wave_members(store, by_rule["info-pack"]["wave"]) and len(wave_members(store, by_rule["info-pack"]["wave"])) == 2
    info_recipients = {recipient_of(store, c) for c in wave_members(store, by_rule["info-pack"]["wave"])}
    assert info_recipients == {recipient_of(store, info["code"]), recipient_of(store, both["code"])}
    # call → call list rows (XLSX and CSV) for the two who ticked call, with the date of response
    xlsx = next(f for f in by_rule["call-list"]["files"] if f.endswith(".xlsx"))
    sheet = openpyxl.load_workbook(xlsx).active
    values = [[c for c in r if c is not None] for r in sheet.iter_rows(values_only=True)]
    customer_ids = {both["customer_id"], call["customer_id"]}
    assert sum(1 for r in values if customer_ids & {str(v) for v in r}) == 2
    csv_file = next(f for f in by_rule["call-list"]["files"] if f.endswith(".csv"))
    assert all(cid in Path(csv_file).read_text(encoding="utf-8-sig") for cid in customer_ids)
    # optout → a permanent suppression entry from the scan
    with store.connect() as conn:
        entries = conn.execute(select(suppression).where(suppression.c.source == "scan")).all()
        assert len(entries) == 1 and entries[0].reason == "objection" and entries[0].expires_at is None
    # reminder: everyone else of wave 1, but not responders, the returned letter or the telephone objection
    reminder = wave_members(store, by_rule["reminder"]["wave"])
    reminded = {recipient_of(store, c) for c in reminder}
    excluded = {recipient_of(store, r["code"]) for r in (info, both, call, optout, empty, returned, phoned)}
    assert not reminded & excluded
    others = {recipient_of(store, r["code"]) for r in rows[7:]}
    assert reminded == others
    # the follow-up waves print like the first (new codes, preflight passes)
    run(capsys, db, "produce", name, "--wave", by_rule["reminder"]["wave"], "--out", tmp_path / "p2", "--jobs", "1")

    # idempotent: a second run creates nothing new
    again = json.loads(run(capsys, db, "followup", name, "--as-of", as_of, "--out", tmp_path / "nf", "--json"))
    assert all(r["count"] == 0 and r["wave"] is None and not r["files"] for r in again["rules"])
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["responses"] == 5 and status["undeliverable"] == 1 and status["options"] == {
        "info": 2, "call": 2, "optout": 1}
    assert [w["kind"] for w in status["waves"]][0] == "initial" and len(status["waves"]) == 4  # + the thank-you
    store.dispose()


def test_minimum_volume_pools_letters(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys, min_volume=3)
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    rng = random.Random(9)
    first = tmp_path / "first"
    first.mkdir()
    for i, row in enumerate(rows[:2]):
        coupon_scan(print_dir, row, [0], first / f"c{i}.png", rng)
    scan_json(capsys, db, first)
    result = json.loads(run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--json"))
    info = next(r for r in result["rules"] if r["rule"] == "info-pack")
    assert info["wave"] is None and info["pending"] == 2
    assert json.loads(run(capsys, db, "status", name, "--json"))["followups_waiting"] == {"info-pack": 2}
    coupon_scan(print_dir, rows[2], [0], tmp_path / "third.png", rng)
    scan_json(capsys, db, tmp_path / "third.png")
    result = json.loads(run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--json"))
    info = next(r for r in result["rules"] if r["rule"] == "info-pack")
    assert info["wave"] == 3 and info["count"] == 3 and info["pending"] == 0  # wave 2: the thank-you
    store = Store.open(str(db))
    with store.connect() as conn:
        assert conn.execute(select(followups).where(followups.c.status == "pending")).first() is None
        assert len(conn.execute(select(recipients.c.id)).all()) >= 40
    store.dispose()
