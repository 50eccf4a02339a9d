"""Deduplication on import: exact and likely duplicates, households, report vs merge, earlier imports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from mailing.campaigns import register_campaign
from mailing.cli import main
from mailing.dedupe import duplicate_summary, list_duplicates
from mailing.recipients import import_recipients
from mailing.store import Store, campaigns, imports, recipients


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(header)
        w.writerows(rows)
    return path

HEADER = ["Anrede", "Vorname", "Nachname", "Straße", "PLZ", "Ort"]
ROWS = [
    ["Herr", "Klaus", "Meier", "Hauptstr. 5", "99084", "Erfurt"],  # 1
    ["Herr", "Klaus", "Mayer", "Hauptstraße 5a", "99084", "Erfurt"],  # 2: likely of 1
    ["Herr", "Klaus", "Meier", "Hauptstrasse 5", "99084", "Erfurt"],  # 3: exact of 1
    ["Frau", "Sandra", "Meier", "Hauptstr. 5", "99084", "Erfurt"],  # 4: household, not a duplicate
    ["Frau", "Stephanie", "Weber", "Gartenstr. 14", "68159", "Mannheim"],  # 5
    ["Herr", "Stephan", "Weber", "Gartenstraße 14", "68159", "Mannheim"],  # 6: household
    ["Herr", "K.", "Schmitt", "Hauptstr. 5", "99084", "Erfurt"],  # 7: other surname, no match
    ["Herr", "Klaus", "Meier", "Hauptstr. 5", "99085", "Erfurt"],  # 8: other PLZ
    ["", "", "Müller", "Lindenweg 2", "10115", "Berlin"],  # 9
    ["", "A.", "Mueller", "Lindenweg 2", "10115", "Berlin"],  # 10: likely of 9 (initial, spelling)
]


def rows(store: Store) -> list[dict[str, object]]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(recipients).order_by(recipients.c.id))]


def test_report_mode(store: Store, campaign, tmp_path: Path) -> None:
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "a.csv", HEADER, ROWS))
    got = {r["source_row"] - 1: (r["duplicate_of"], r["duplicate_kind"], r["active"]) for r in rows(store)}
    ids = {r["source_row"] - 1: r["id"] for r in rows(store)}
    assert got[2] == (ids[1], "likely", True)
    assert 3 not in got  # the very same record as row 1: already present, never added
    assert got[10] == (ids[9], "likely", True)
    for n in (1, 4, 5, 6, 7, 8, 9):
        assert got[n] == (None, None, True), n
    assert (s.imported, s.already_present, s.already_present_rows, s.duplicates, s.merged) == (9, 1, (4,), 2, 0)


def test_merge_mode_and_earlier_imports(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    text = campaign_file.read_text(encoding="utf-8")
    campaign_file.write_text(text.replace('[dedupe]\nmode = "report"', '[dedupe]\nmode = "merge"'),
                             encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    assert c.dedupe_mode == "merge"
    import_recipients(store, c.name, write_csv(tmp_path / "a.csv", HEADER, ROWS[:1] + ROWS[3:4]))
    s = import_recipients(store, c.name, write_csv(tmp_path / "b.csv", HEADER, ROWS[1:3] + ROWS[4:5]))
    assert (s.imported, s.already_present, s.duplicates, s.merged) == (2, 1, 1, 1)
    first = rows(store)[0]
    later = [r for r in rows(store) if r["import_id"] == s.import_id]
    assert [(r["duplicate_of"], r["active"]) for r in later] == [(first["id"], False), (None, True)]
    with store.connect() as conn:
        imp = conn.execute(select(imports).where(imports.c.id == s.import_id)).one()
    assert (imp.duplicates, imp.merged, imp.already_present) == (1, 1, 1)
    # importing the same file again: every row is already present, nothing is added
    s2 = import_recipients(store, c.name, tmp_path / "a.csv")
    assert (s2.imported, s2.already_present, s2.duplicates, s2.merged) == (0, 2, 0, 0)
    assert s2.earlier_import is not None and s2.earlier_import.source_file == str(tmp_path / "a.csv")


def test_same_name_and_address_with_another_customer_id_is_listed_as_exact(store: Store, campaign,
                                                                            tmp_path: Path) -> None:
    header = ["Kundennummer", *HEADER]
    import_recipients(store, campaign.name, write_csv(tmp_path / "a.csv", header, [["K1", *ROWS[0]]]))
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "b.csv", header, [["K2", *ROWS[2]]]))
    assert (s.imported, s.already_present, s.duplicates) == (1, 0, 1)
    with store.connect() as conn:
        (pair,) = list_duplicates(conn, campaign_id(store))
    assert (pair.kind, pair.customer_id, pair.of_customer_id) == ("exact", "K2", "K1")
    assert pair.reason == "same name and address (customer ids K2 / K1)"
    assert (pair.file, pair.row, pair.of_file, pair.of_row) == ("b.csv", 2, "a.csv", 2)


def test_spouses_at_one_address_are_never_already_present(store: Store, campaign, tmp_path: Path) -> None:
    import_recipients(store, campaign.name, write_csv(tmp_path / "a.csv", HEADER, [ROWS[0], ROWS[4]]))
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "b.csv", HEADER, [ROWS[3], ROWS[5]]))
    assert (s.imported, s.already_present, s.duplicates) == (2, 0, 0)


def campaign_id(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(campaigns.c.id)).scalar_one())


def test_duplicates_are_listed_not_just_counted(store: Store, campaign, tmp_path: Path, capsys) -> None:
    """Bug: import said "50 duplicates found" and nothing showed which; `mailing duplicates` lists them."""
    evil = ["Herr", "", "=HYPERLINK(\"http://x\";\"y\")", "Ringweg 1", "10115", "Berlin"]
    evil_dup = ["Herr", "K.", "=HYPERLINK(\"http://x\";\"y\")", "Ringweg 1a", "10115", "Berlin"]
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "a.csv", HEADER, [*ROWS, evil, evil_dup]))
    assert s.duplicates == 3
    db = store.url.removeprefix("sqlite:///")
    assert main(["duplicates", campaign.name, "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Klaus Mayer" in out and "Klaus Meier" in out and "sound alike" in out and "likely" in out
    assert "3 duplicate(s) (0 exact, 3 likely), 0 merged; 1 import row(s) already present" in out

    assert main(["duplicates", campaign.name, "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["name"], p["of_name"], p["kind"]) for p in listed] == [
        ("Klaus Mayer", "Klaus Meier", "likely"), ("A. Mueller", "Müller", "likely"),
        ("K. =HYPERLINK(\"http://x\";\"y\")", "=HYPERLINK(\"http://x\";\"y\")", "likely")]
    assert listed[0]["reason"] == "surnames sound alike (Mayer / Meier); same street, house numbers 5a / 5"
    assert listed[1]["reason"] == "same surname; same address; first name missing on one"

    assert main(["duplicates", campaign.name, "--db", db, "--out", str(tmp_path / "d.csv")]) == 0
    with (tmp_path / "d.csv").open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh, delimiter=";"))
    assert table[0][:4] == ["recipient", "customer_id", "name", "address"] and len(table) == 4
    assert table[3][8] == "'=HYPERLINK(\"http://x\";\"y\")"  # of_name: a spreadsheet shows it as text
    assert all(not cell.startswith(("=", "+", "@")) for row in table for cell in row)

    assert main(["duplicates", campaign.name, "--db", db, "--out", str(tmp_path / "d.xlsx")]) == 0
    ws = load_workbook(tmp_path / "d.xlsx").active
    assert ws is not None
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert any(c.value == "=HYPERLINK(\"http://x\";\"y\")" and c.data_type == "s" for c in cells)
    assert main(["duplicates", campaign.name, "--db", db, "--out", str(tmp_path / "d.txt")]) == 1


def test_status_figures_agree_with_the_import_summary(store: Store, campaign, tmp_path: Path) -> None:
    """Bug: status showed `duplicates: 0` after an import that reported duplicates."""
    a = import_recipients(store, campaign.name, write_csv(tmp_path / "a.csv", HEADER, ROWS))
    b = import_recipients(store, campaign.name, tmp_path / "a.csv")
    with store.connect() as conn:
        summary = duplicate_summary(conn, campaign_id(store))
        listed = list_duplicates(conn, campaign_id(store))
    assert summary.duplicates == a.duplicates + b.duplicates == len(listed) == 2
    assert summary.already_present == a.already_present + b.already_present == 1 + 10
    assert summary.as_json() == {"already_present": 11, "duplicates": 2, "exact": 0, "likely": 2, "merged": 0}
