"""The winners' letter wave of `mailing draw --letter`: one per campaign, the same draw repeated plans none
(issue 14, item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cycle import DROP, count, run
from sqlalchemy import select

from mailing.cli import main
from mailing.store import audit_log, waves

pytestmark = pytest.mark.slow


def _setup(tmp: Path, capsys, db: str | None) -> tuple[str, str, list[dict[str, str]]]:
    """The example campaign produced into tmp/print, on the store at `db` (default: a SQLite file in tmp)."""
    import csv

    where = db or str(tmp / "m.db")
    run(capsys, where, "init", tmp / "c")
    run(capsys, where, "campaign", "add", tmp / "c" / "campaign.toml")
    run(capsys, where, "import", "fruehjahr-2026", tmp / "c" / "recipients.csv")
    run(capsys, where, "produce", "fruehjahr-2026", "--out", tmp / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    with next((tmp / "print").glob("*manifest.csv")).open(encoding="utf-8-sig") as fh:
        return where, "fruehjahr-2026", list(csv.DictReader(fh))


def _answer(capsys, db: str, rows: list[dict[str, str]]) -> None:
    for row in rows:
        run(capsys, db, "respond", row["code"], "--channel", "phone", "info=no", "call=no", "optout=no")


def test_draw_with_letter_run_twice_plans_one_wave(tmp_path: Path, capsys) -> None:
    check_draw_with_letter_run_twice_plans_one_wave(tmp_path, capsys)


def check_draw_with_letter_run_twice_plans_one_wave(tmp_path: Path, capsys, url: str | None = None) -> None:
    db, name, rows = _setup(tmp_path, capsys, url)
    _answer(capsys, db, rows[:6])
    args = ("draw", name, "--winners", 2, "--seed", 7, "--deadline", "31.12.2099", "--letter", "gewinn", "--json")
    first = json.loads(run(capsys, db, *args))
    second = json.loads(run(capsys, db, *args))
    assert first["wave"] == second["wave"] is not None and second["repeated"] and not first["repeated"]
    assert first["winners"] == second["winners"] and second["left_out"] == first["left_out"] == 0
    assert count(db, waves, waves.c.kind == "letter:gewinn") == 1
    assert count(db, audit_log, audit_log.c.action == "draw") == 2  # every draw is recorded
    assert count(db, audit_log, audit_log.c.action == "draw.wave") == 1
    # the text output says so too
    out = run(capsys, db, *args[:-1])
    assert f"planned wave {first['wave']} for the winners before" in out


def test_another_draw_with_letter_is_refused_once_the_winners_have_their_wave(tmp_path: Path, capsys) -> None:
    check_another_draw_with_letter_is_refused(tmp_path, capsys)


def check_another_draw_with_letter_is_refused(tmp_path: Path, capsys, url: str | None = None) -> None:
    db, name, rows = _setup(tmp_path, capsys, url)
    _answer(capsys, db, rows[:6])
    first = json.loads(run(capsys, db, "draw", name, "--winners", 2, "--seed", 7, "--letter", "gewinn", "--json"))
    for other in (("--seed", "8"), ("--winners", "3"), ("--deadline", "2099-12-31")):
        args = {"--winners": "2", "--seed": "7"}
        args.update([other])
        capsys.readouterr()
        code = main(["--db", str(db), "draw", name, *[x for kv in args.items() for x in kv], "--letter", "gewinn"])
        err = capsys.readouterr().err.strip()
        assert code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err
        assert f"already have their letter wave {first['wave']}" in err and "seed 7" in err
    # more respondents since: the same seed would draw from another list, so it is another draw
    _answer(capsys, db, rows[6:8])
    assert main(["--db", str(db), "draw", name, "--winners", "2", "--seed", "7", "--letter", "gewinn"]) == 1
    capsys.readouterr()
    # a draw without a letter is only recorded; nothing refused, no wave planned
    run(capsys, db, "draw", name, "--winners", 2, "--seed", 8)
    assert count(db, waves, waves.c.kind == "letter:gewinn") == 1
    assert count(db, audit_log, audit_log.c.action == "draw") == 2  # the refused draws left no trace
    from mailing.store import Store

    store = Store.open(db)
    with store.connect() as conn:
        detail = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "draw.wave")).scalar_one()
    store.dispose()
    assert "seed=7" in detail and "winners=2" in detail and detail.endswith("letter=gewinn")
