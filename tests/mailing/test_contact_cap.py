"""Contact pressure across campaigns (issue 14, item 6): the store-wide contact calendar and a campaign's
contact cap, over the real commands (import, produce)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from cycle import run

from mailing.cli import main

D = date(2026, 3, 2)


def _campaign(tmp: Path, capsys, db: Path, name: str, cap: str = "", rows: slice = slice(None),
              customer_ids: bool = True) -> Path:
    folder = tmp / name
    run(capsys, db, "init", folder)
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8").replace('name = "fruehjahr-2026"', f'name = "{name}"', 1)
    if cap:
        text = text.replace("[production]\n", f"[production]\ncontact_cap = {cap}\n", 1)
    toml.write_text(text, encoding="utf-8")
    lines = (folder / "recipients.csv").read_text(encoding="utf-8").splitlines()
    body = lines[1:][rows]
    if not customer_ids:  # another department's list: no customer ids, matched by name and address
        lines[0] = lines[0].split(";", 1)[1]
        body = [ln.split(";", 1)[1] for ln in body]
    (folder / "recipients.csv").write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    run(capsys, db, "import", name, folder / "recipients.csv")
    return folder


@pytest.mark.slow
def test_contact_cap_holds_back_who_had_enough_letters_across_campaigns(tmp_path: Path, capsys) -> None:
    db = tmp_path / "m.db"
    _campaign(tmp_path, capsys, db, "sales")
    run(capsys, db, "produce", "sales", "--out", tmp_path / "p1", "--jobs", "1", "--drop-date", D.isoformat())
    # the other department mails the first ten again five days later, from a list without customer ids
    _campaign(tmp_path, capsys, db, "service", rows=slice(0, 10), customer_ids=False)
    run(capsys, db, "produce", "service", "--out", tmp_path / "p2", "--jobs", "1", "--drop-date",
        (D + timedelta(days=5)).isoformat())
    # a campaign with a cap of 2 letters in 30 days: those ten had two already, the others one
    _campaign(tmp_path, capsys, db, "herbst", cap="{ letters = 2, days = 30 }")
    run(capsys, db, "produce", "herbst", "--out", tmp_path / "p3", "--jobs", "1", "--drop-date",
        (D + timedelta(days=10)).isoformat())
    status = json.loads(run(capsys, db, "status", "herbst", "--json"))
    sales = json.loads(run(capsys, db, "status", "sales", "--json"))
    assert status["capped"] == 10 and status["waves"][0]["capped"] == 10
    assert status["waves"][0]["pieces"] == sales["waves"][0]["pieces"] - 10
    assert sales["capped"] == 0 and sales["waves"][0]["capped"] == 0
    capsys.readouterr()
    assert main(["--db", str(db), "status", "herbst"]) == 0
    assert "10 held back by the contact cap" in capsys.readouterr().out
    # and the report's Übersicht says so
    from openpyxl import load_workbook

    run(capsys, db, "report", "herbst", "--out", tmp_path / "bericht.xlsx")
    sheet = load_workbook(tmp_path / "bericht.xlsx", read_only=True).worksheets[0]
    rows = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if len(r) > 1 and r[0]}
    assert rows.get("Wegen Kontaktobergrenze nicht angeschrieben") == 10

    # outside the window the letters no longer count: nobody is held back
    _campaign(tmp_path, capsys, db, "winter", cap="{ letters = 2, days = 30 }")
    run(capsys, db, "produce", "winter", "--out", tmp_path / "p4", "--jobs", "1", "--drop-date",
        (D + timedelta(days=45)).isoformat())
    assert json.loads(run(capsys, db, "status", "winter", "--json"))["capped"] == 0


def test_contact_cap_without_days_is_one_line_naming_the_key(tmp_path: Path, capsys) -> None:
    db = tmp_path / "m.db"
    run(capsys, db, "init", tmp_path / "c")
    toml = tmp_path / "c" / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "[production]\n", "[production]\ncontact_cap = { letters = 2 }\n", 1), encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", str(db), "campaign", "add", str(toml)]) == 1
    err = capsys.readouterr().err
    assert "production.contact_cap" in err and "days" in err and err.count("\n") == 1
