"""`mailing demo`: the whole cycle, its summary equal to `status --json`, and it never deletes a user's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailing.cli import main

pytestmark = pytest.mark.slow


def test_demo_runs_the_cycle_and_its_summary_is_the_status(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    summary = json.loads(printed[-1])
    assert main(["--db", str(out / "demo.db"), "status", "fruehjahr-2026", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == summary
    assert summary["responses"] > 0 and summary["duplicates"] == 2 and summary["undeliverable"] == 3
    assert summary["review_open"] == 0 and summary["options"]["optout"] > 0
    # the light tick lost in the black-and-white scan: its page scanned again in grey settles it, no person
    assert any("post-2-sw.png: duplicate, settles doubtful boxes of scan" in line for line in printed), printed
    assert [w["kind"] for w in summary["waves"]] == ["initial", "letter:infopack", "reminder", "letter:thankyou",
                                                   "letter:gewinn"]
    assert (out / "antwortbericht.xlsx").exists() and list((out / "nachfass").glob("anrufliste-*.xlsx"))
    # the thank-you wave is printed as DIN A6 postcards, and the demo says so; the draw's winners get letters
    thanks = next(w["wave"] for w in summary["waves"] if w["kind"] == "letter:thankyou")
    assert any(f"Wave {thanks} (thank-you) printed:" in line and "postcards (DIN A6)" in line for line in printed)
    assert any(line.startswith("8. Prize draw among") for line in printed)
    ticket = json.loads((out / f"druck-welle-{thanks}" / f"welle-{thanks:02d}-auftrag.json").read_text(encoding="utf-8"))
    assert ticket["layout"]["format"] == "postkarte" and ticket["layout"]["page_mm"] == [148.0, 105.0]
    assert main(["preflight", str(out / f"druck-welle-{thanks}")]) == 0
    capsys.readouterr()
    assert main(["demo", "--out", str(out)]) == 0, "an earlier demo's folder is replaced"


def test_demo_refuses_a_folder_it_did_not_write(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["demo", "--out", str(tmp_path)]) == 1
    assert "not written by `mailing demo`" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
