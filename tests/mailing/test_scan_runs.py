"""Scan runs: listed, taken back with `runs undo`, and our own print files refused at intake (issue 9, item 5)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pypdf
import pytest
from cycle import DROP, count, coupon_scan, run, scan_json

from mailing.cli import main
from mailing.store import audit_log, responses, review_items, scans, suppression

pytestmark = pytest.mark.slow


def test_every_scan_is_a_run_listed_with_its_pages_and_outcomes(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    rng = random.Random(5)
    stack = tmp_path / "stack"
    stack.mkdir()
    coupon_scan(print_dir, rows[0], [0], stack / "a.png", rng)
    coupon_scan(print_dir, rows[1], [], stack / "b.png", rng)
    lines = scan_json(capsys, db, stack)
    assert {ln["run"] for ln in lines} == {1}
    later = tmp_path / "later"
    later.mkdir()
    shutil.copy(stack / "a.png", later / "a-again.png")  # the very same image in a later run
    coupon_scan(print_dir, rows[2], [1], later / "c.png", rng)
    again = scan_json(capsys, db, later)
    assert [(ln["status"], ln["run"]) for ln in again] == [("matched", 1), ("matched", 2)], \
        "a repeated image keeps pointing at its first run"

    listed = json.loads(run(capsys, db, "runs", "--json"))
    assert [r["run"] for r in listed] == [1, 2]
    first, second = listed
    assert first["pages"] == 2 and first["counts"] == {"matched": 2} and first["undone"] is None
    assert first["started"] and first["finished"] and first["sources"] == [str(stack)]
    assert second["pages"] == 2 and second["counts"] == {"matched": 1}
    assert "run 2" in run(capsys, db, "runs")


def test_runs_undo_takes_back_responses_optouts_and_review_items(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    rng = random.Random(6)
    stack = tmp_path / "stack"
    stack.mkdir()
    coupon_scan(print_dir, rows[0], [0, 2], stack / "a-optout.png", rng)  # info + no advertising
    coupon_scan(print_dir, rows[1], [0], stack / "b-info.png", rng)
    from PIL import Image

    Image.new("L", (1654, 780), 255).save(stack / "c-blank.png")
    before_suppressed = count(db, suppression)
    lines = scan_json(capsys, db, stack)
    assert [ln["status"] for ln in lines] == ["matched", "matched", "unreadable"]
    assert count(db, suppression) == before_suppressed + 1, "the opt-out is suppressed at once"
    assert count(db, responses) == 2 and count(db, review_items) == 1

    out = run(capsys, db, "runs", "undo", "1")
    assert "run 1 undone" in out and "2 response(s)" in out and "1 suppression entry removed" in out
    assert count(db, responses) == 0 and count(db, scans) == 0 and count(db, review_items) == 0
    assert count(db, suppression) == before_suppressed
    assert count(db, audit_log, audit_log.c.action == "run.undo") == 1
    assert json.loads(run(capsys, db, "runs", "--json"))[0]["undone"] is not None
    # undone twice: refused with one line
    capsys.readouterr()
    assert main(["--db", str(db), "runs", "undo", "1"]) == 1
    assert "already undone" in capsys.readouterr().err

    # the same images can be scanned anew, as a new run
    again = scan_json(capsys, db, stack)
    assert [(ln["status"], ln["run"]) for ln in again] == [("matched", 2), ("matched", 2), ("unreadable", 2)]
    assert count(db, responses) == 2 and count(db, suppression) == before_suppressed + 1


def test_runs_undo_of_returned_mail_unflags_the_letter(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    before = count(db, suppression)
    letter = coupon_scan(print_dir, rows[4], [], tmp_path / "back.png", random.Random(8), whole_page=True)
    assert [ln["status"] for ln in scan_json(capsys, db, letter, "--returned-mail")] == ["returned"]
    assert json.loads(run(capsys, db, "status", name, "--json"))["undeliverable"] == 1
    assert count(db, suppression) == before + 1
    assert "1 returned letter(s) unflagged" in run(capsys, db, "runs", "undo", "1")
    assert json.loads(run(capsys, db, "status", name, "--json"))["undeliverable"] == 0
    assert count(db, suppression) == before


def test_runs_undo_refused_once_a_followup_letter_was_produced(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    coupon_scan(print_dir, rows[0], [0], tmp_path / "info.png", random.Random(7))  # wants the info pack
    scan_json(capsys, db, tmp_path / "info.png")
    run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--out", tmp_path / "nachfass")
    status = json.loads(run(capsys, db, "status", name, "--json"))
    wave = max(w["wave"] for w in status["waves"])
    run(capsys, db, "produce", name, "--wave", wave, "--out", tmp_path / "print2", "--jobs", "1")
    capsys.readouterr()
    assert main(["--db", str(db), "runs", "undo", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already produced" in err and f"wave {wave}" in err
    assert rows[0]["code"][:4] in err, "the responses concerned are named by their code"
    assert count(db, responses) == 1, "nothing was taken back"


def test_runs_undo_takes_planned_followup_letters_out_of_their_wave(cycle, tmp_path: Path, capsys) -> None:
    """A letter only planned (its wave not produced, no batch fixed) goes with the response it came from; a
    wave left without letters goes too. (The example's thank-you rule plans one for every answer: refusing
    here would make almost every run impossible to undo after `followup`.)"""
    db, name, rows, print_dir = cycle
    coupon_scan(print_dir, rows[0], [0], tmp_path / "info.png", random.Random(9))
    scan_json(capsys, db, tmp_path / "info.png")
    run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--out", tmp_path / "nachfass")
    planned = [w for w in json.loads(run(capsys, db, "status", name, "--json"))["waves"] if w["status"] == "planned"]
    assert planned and all(w["pieces"] == 1 for w in planned), planned
    assert "undone" in run(capsys, db, "runs", "undo", "1")
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert [w for w in status["waves"] if w["status"] == "planned"] == []
    assert count(db, responses) == 0 and status["responses"] == 0
    # the same coupon scanned anew plans its letters anew
    scan_json(capsys, db, tmp_path / "info.png")
    run(capsys, db, "followup", name, "--as-of", DROP.isoformat(), "--out", tmp_path / "nachfass2")
    again = [w for w in json.loads(run(capsys, db, "status", name, "--json"))["waves"] if w["status"] == "planned"]
    assert [w["pieces"] for w in again] == [w["pieces"] for w in planned]


def test_runs_undo_of_unknown_run_is_one_line(tmp_path: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["--db", str(tmp_path / "m.db"), "runs", "undo", "7"]) == 1
    assert "no scan run 7" in capsys.readouterr().err


def test_scanning_our_own_print_file_records_nothing(cycle, tmp_path: Path, capsys) -> None:
    """Finding: `mailing scan druck/welle-01-teil-001.pdf` recorded 100 % responses."""
    db, name, rows, print_dir = cycle
    pdf = print_dir / rows[0]["file"]
    n_pages = len(pypdf.PdfReader(pdf).pages)
    capsys.readouterr()
    assert main(["--db", str(db), "scan", str(pdf), "--json"]) == 0
    out = capsys.readouterr()
    lines = [json.loads(x) for x in out.out.splitlines()]
    assert len(lines) == n_pages and {ln["status"] for ln in lines} == {"invalid"}
    assert lines[0]["reason"] == f"print file of campaign {name} wave 1, not a scan"
    refusal = [x for x in out.err.splitlines() if "refused" in x]
    assert len(refusal) == 1 and pdf.name in refusal[0] and name in refusal[0] and "wave 1" in refusal[0]
    assert count(db, responses) == 0 and count(db, scans) == 0
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["responses"] == 0


def test_print_file_recognised_by_its_pdf_information_when_the_bytes_differ(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    reader = pypdf.PdfReader(print_dir / rows[0]["file"])
    writer = pypdf.PdfWriter()
    for page in reader.pages[:2]:
        writer.add_page(page)
    writer.add_metadata(dict(reader.metadata or {}))
    writer.write(tmp_path / "two-pages.pdf")  # another file (another SHA-256), the same Creator and Title
    lines = scan_json(capsys, db, tmp_path / "two-pages.pdf")
    assert [ln["status"] for ln in lines] == ["invalid", "invalid"]
    assert all("print file of campaign" in ln["reason"] for ln in lines)
    assert count(db, responses) == 0


def test_print_page_without_our_metadata_is_refused_page_by_page(cycle, tmp_path: Path, capsys) -> None:
    db, name, rows, print_dir = cycle
    reader = pypdf.PdfReader(print_dir / rows[0]["file"])
    writer = pypdf.PdfWriter()
    writer.add_page(reader.pages[int(rows[0]["page"]) - 1])  # the letter page with the coupon, re-saved
    writer.add_metadata({"/Creator": "Acrobat", "/Title": "Scan"})
    writer.write(tmp_path / "resaved.pdf")
    lines = scan_json(capsys, db, tmp_path / "resaved.pdf")
    assert [(ln["status"], ln["reason"]) for ln in lines] == [
        ("invalid", f"print file of campaign {name} wave 1, not a scan")]
    assert count(db, responses) == 0 and count(db, scans) == 0
