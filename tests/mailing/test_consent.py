"""Consent on record (issue 14, item 7): a "call me" tick is stored as the call's consent with day, channel
and source, the call list shows it, and a withdrawal keeps the person off later call lists."""

from __future__ import annotations

import csv
import json
import random
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from cycle import DROP, coupon_scan, run, scan_json, setup_campaign
from sqlalchemy import select

from mailing.cli import main
from mailing.store import Store, consents, followups

pytestmark = pytest.mark.slow


def _call_rows(files: list[str]) -> list[dict[str, str]]:
    path = next(f for f in files if f.endswith(".csv"))
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def test_call_list_shows_consent_and_a_withdrawal_keeps_the_person_off(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    rng = random.Random(7)
    keeps, withdraws_early, withdraws_late, later = rows[:4]
    scans = tmp_path / "scans"
    scans.mkdir()
    for i, row in enumerate((keeps, withdraws_early, withdraws_late)):
        coupon_scan(print_dir, row, [1], scans / f"c{i}.png", rng)
    received = DROP + timedelta(days=4)
    scan_json(capsys, db, scans, "--received-on", received.isoformat())
    # withdrawn before the call rule ran: never on a call list
    done = json.loads(run(capsys, db, "consent", "withdraw", "--code", withdraws_early["code"], "--json"))
    assert done["records"] >= 1 and done["call_lists"] == []

    result = json.loads(run(capsys, db, "followup", name, "--as-of", (DROP + timedelta(days=5)).isoformat(),
                            "--out", tmp_path / "nf", "--json"))
    call = next(r for r in result["rules"] if r["rule"] == "call-list")
    assert call["count"] == 2 and call["skipped"] == 1
    listed = _call_rows(call["files"])
    assert {r["Kundennummer"] for r in listed} == {keeps["customer_id"], withdraws_late["customer_id"]}
    assert all(r["Einwilligung vom"] == received.strftime("%d.%m.%Y") for r in listed)
    assert all(r["Einwilligung über"].startswith("Antwortkarte (Post), Scan ") for r in listed)
    sheet = openpyxl.load_workbook(next(f for f in call["files"] if f.endswith(".xlsx"))).active
    header = next(r for r in sheet.iter_rows(values_only=True) if "Einwilligung über" in r)
    assert header[-2:] == ("Einwilligung vom", "Einwilligung über")

    store = Store.open(str(db))
    with store.connect() as conn:
        on_record = conn.execute(select(consents).where(consents.c.response_id.is_not(None))).all()
        assert len(on_record) == 2 and {c.channel for c in on_record} == {"scan"}
        assert all(c.given_on == received and c.withdrawn_at is None for c in on_record)
        skipped = conn.execute(select(followups).where(followups.c.status == "skipped")).one()
        assert skipped.note == "call consent withdrawn"

    # withdrawn after the list was handed out: the command names that list; the consent is marked withdrawn
    capsys.readouterr()
    assert main(["--db", str(db), "consent", "withdraw", "--customer-id", withdraws_late["customer_id"]]) == 0
    out = capsys.readouterr().out
    assert "still on the call list of" in out and name in out
    with store.connect() as conn:
        assert len(conn.execute(select(consents).where(consents.c.withdrawn_at.is_not(None),
                                                       consents.c.response_id.is_not(None))).all()) == 1
    # a later "call me" of someone else: the next list holds only them
    coupon_scan(print_dir, later, [1], tmp_path / "later.png", rng)
    scan_json(capsys, db, tmp_path / "later.png", "--received-on", (DROP + timedelta(days=8)).isoformat())
    again = json.loads(run(capsys, db, "followup", name, "--as-of", (DROP + timedelta(days=9)).isoformat(),
                           "--out", tmp_path / "nf", "--json"))
    call = next(r for r in again["rules"] if r["rule"] == "call-list")
    assert [r["Kundennummer"] for r in _call_rows(call["files"])] == [later["customer_id"]]
    store.dispose()


def test_consent_withdraw_of_an_unknown_person_is_one_line(tmp_path: Path, capsys) -> None:
    db, _name, _rows = setup_campaign(tmp_path, capsys)
    capsys.readouterr()
    assert main(["--db", str(db), "consent", "withdraw", "--customer-id", "NOPE-1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "NOPE-1" in err and err.count("\n") == 1


def test_undoing_a_scan_run_takes_its_call_consents_back(tmp_path: Path, capsys) -> None:
    # found in issue 14: a consent on record points at its response, so `runs undo` must take it back too
    db, name = tmp_path / "m.db", "fruehjahr-2026"
    run(capsys, db, "init", tmp_path / "c")
    toml = tmp_path / "c" / "campaign.toml"
    text = toml.read_text(encoding="utf-8")  # the thank-you pooled: no letter planned, so the run can be undone
    toml.write_text(text.replace('letter = "thankyou"\nmin_volume = 0', 'letter = "thankyou"\nmin_volume = 100'),
                    encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    run(capsys, db, "import", name, tmp_path / "c" / "recipients.csv")
    run(capsys, db, "produce", name, "--out", tmp_path / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    with next((tmp_path / "print").rglob("*manifest*.csv")).open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    coupon_scan(print_dir, rows[0], [1], tmp_path / "call.png", random.Random(3))
    run_id = scan_json(capsys, db, tmp_path / "call.png")[0]["run"]
    run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--out", tmp_path / "nf")
    store = Store.open(str(db))
    with store.connect() as conn:
        assert len(conn.execute(select(consents)).all()) == 1
    run(capsys, db, "runs", "undo", run_id)
    with store.connect() as conn:
        assert conn.execute(select(consents)).first() is None
    store.dispose()


def test_a_call_me_given_on_the_phone_is_on_record_as_such(tmp_path: Path, capsys) -> None:
    db, name, rows = setup_campaign(tmp_path, capsys)
    run(capsys, db, "respond", rows[0]["code"], "--channel", "phone", "call=yes")
    result = json.loads(run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--out", tmp_path / "nf",
                            "--json"))
    call = next(r for r in result["rules"] if r["rule"] == "call-list")
    [row] = _call_rows(call["files"])
    assert row["Kundennummer"] == rows[0]["customer_id"]
    assert row["Einwilligung über"].startswith("Telefon, Telefon-Antwort ") and row["Einwilligung vom"]
