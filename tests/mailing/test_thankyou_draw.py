"""Thank-you letters and the prize draw over a real cycle: the real commands, rasterised and ticked coupons,
real scans (issue 14, items 1 and 2)."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from cycle import DROP, coupon_scan, recipient_of, run, scan_json, setup_campaign, wave_members
from sqlalchemy import select

from mailing.cli import main
from mailing.draw import eligible_digest
from mailing.store import Store, audit_log, waves

pytestmark = pytest.mark.slow


def _rule(result: dict, rule: str) -> dict:
    return next(r for r in result["rules"] if r["rule"] == rule)


def test_thank_you_wave_holds_respondents_minus_objectors_once(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    rng = random.Random(14)
    info, call, optout, empty, phoned, late = rows[:6]
    scans = tmp_path / "scans"
    scans.mkdir()
    for i, (row, ticks) in enumerate([(info, [0]), (call, [1]), (optout, [2]), (empty, []), (phoned, [0])]):
        coupon_scan(print_dir, row, ticks, scans / f"coupon-{i}.png", rng)
    lines = scan_json(capsys, db, scans, "--received-on", (DROP + timedelta(days=5)).isoformat())
    assert [ln["status"] for ln in lines] == ["matched"] * 5
    # an objection by telephone after answering: on the suppression list, so no thank-you either
    objection = tmp_path / "widerspruch.csv"
    objection.write_text(f"Kundennummer\n{phoned['customer_id']}\n", encoding="utf-8")
    run(capsys, db, "suppress", "import", objection, "--reason", "objection")

    as_of = (DROP + timedelta(days=6)).isoformat()
    result = json.loads(run(capsys, db, "followup", name, "--as-of", as_of, "--out", tmp_path / "nf", "--json"))
    thanks = _rule(result, "thank-you")
    store = Store.open(str(db))
    thanked = {recipient_of(store, c) for c in wave_members(store, thanks["wave"])}
    assert thanked == {recipient_of(store, r["code"]) for r in (info, call, empty)}
    assert thanks["count"] == 3 and thanks["skipped"] == 1  # the telephone objector
    with store.connect() as conn:
        wave = conn.execute(select(waves).where(waves.c.number == thanks["wave"])).one()
        assert wave.kind == "letter:thankyou" and wave.rule == "thank-you"

    # once: a second run thanks nobody again; a later respondent is thanked alone at the next run
    again = json.loads(run(capsys, db, "followup", name, "--as-of", as_of, "--out", tmp_path / "nf", "--json"))
    assert _rule(again, "thank-you")["count"] == 0 and _rule(again, "thank-you")["wave"] is None
    coupon_scan(print_dir, late, [], tmp_path / "late.png", rng)
    scan_json(capsys, db, tmp_path / "late.png", "--received-on", (DROP + timedelta(days=9)).isoformat())
    later = json.loads(run(capsys, db, "followup", name, "--as-of", (DROP + timedelta(days=10)).isoformat(),
                           "--out", tmp_path / "nf", "--json"))
    assert {recipient_of(store, c) for c in wave_members(store, _rule(later, "thank-you")["wave"])} == {
        recipient_of(store, late["code"])}
    # the thank-you wave prints (no coupon on it)
    run(capsys, db, "produce", name, "--wave", thanks["wave"], "--out", tmp_path / "p2", "--jobs", "1")
    store.dispose()


def test_same_seed_draws_same_winners_only_respondents(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    rng = random.Random(2)
    early, late = tmp_path / "early", tmp_path / "late"
    early.mkdir()
    late.mkdir()
    for i, row in enumerate(rows[:6]):
        coupon_scan(print_dir, row, [2] if i == 5 else [], early / f"c{i}.png", rng)  # one opt-out takes part too
    for i, row in enumerate(rows[6:8]):
        coupon_scan(print_dir, row, [], late / f"c{i}.png", rng)
    scan_json(capsys, db, early, "--received-on", (DROP + timedelta(days=3)).isoformat())
    scan_json(capsys, db, late, "--received-on", (DROP + timedelta(days=30)).isoformat())
    deadline = (DROP + timedelta(days=10)).strftime("%d.%m.%Y")  # the German date form

    first = json.loads(run(capsys, db, "draw", name, "--winners", 3, "--seed", 42, "--deadline", deadline, "--json"))
    second = json.loads(run(capsys, db, "draw", name, "--winners", 3, "--seed", 42, "--deadline", deadline, "--json"))
    assert first["winners"] == second["winners"] and len(first["winners"]) == 3
    early_codes = {r["code"] for r in rows[:6]}
    assert {w["code"] for w in first["winners"]} <= early_codes
    assert {w["customer_id"] for w in first["winners"]} == {
        r["customer_id"] for r in rows[:6] if r["code"] in {w["code"] for w in first["winners"]}}
    assert first["eligible"] == 6 and first["sha256"] == eligible_digest(sorted(early_codes))
    # without the deadline the late respondents take part; everyone drawn is a respondent
    everyone = json.loads(run(capsys, db, "draw", name, "--winners", 8, "--seed", 42, "--json"))
    assert {w["code"] for w in everyone["winners"]} == {r["code"] for r in rows[:8]}
    store = Store.open(str(db))
    with store.connect() as conn:
        lines = [r.detail for r in conn.execute(select(audit_log).where(audit_log.c.action == "draw"))]
    assert len(lines) == 3 and "seed=42" in lines[0] and "eligible=6" in lines[0] and first["sha256"] in lines[0]

    # the winners get a letter wave of their own; the opt-out winner is left out of it
    won = json.loads(run(capsys, db, "draw", name, "--winners", 8, "--seed", 1, "--letter", "gewinn", "--json"))
    members = wave_members(store, won["wave"])
    assert {recipient_of(store, c) for c in members} == {recipient_of(store, r["code"]) for r in rows[:5] + rows[6:8]}
    assert won["left_out"] == 1
    store.dispose()


def test_draw_refuses_more_winners_than_respondents(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    capsys.readouterr()
    assert main(["--db", str(db), "draw", name, "--winners", "1", "--seed", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "0 respondent(s)" in err and "Traceback" not in err
    assert main(["--db", str(db), "draw", name, "--winners", "1", "--letter", "nope"]) == 1
    assert "[letters.nope]" in capsys.readouterr().err
