"""Deduplication on import: exact and likely duplicates, households, report vs merge, earlier imports."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from mailing.campaigns import register_campaign
from mailing.recipients import import_recipients
from mailing.store import Store, imports, recipients


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
    assert got[3] == (ids[1], "exact", True)
    assert got[10] == (ids[9], "likely", True)
    for n in (1, 4, 5, 6, 7, 8, 9):
        assert got[n] == (None, None, True), n
    assert (s.duplicates, s.merged) == (3, 0)


def test_merge_mode_and_earlier_imports(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    text = campaign_file.read_text(encoding="utf-8")
    campaign_file.write_text(text.replace('[dedupe]\nmode = "report"', '[dedupe]\nmode = "merge"'),
                             encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    assert c.dedupe_mode == "merge"
    import_recipients(store, c.name, write_csv(tmp_path / "a.csv", HEADER, ROWS[:1] + ROWS[3:4]))
    s = import_recipients(store, c.name, write_csv(tmp_path / "b.csv", HEADER, ROWS[1:3] + ROWS[4:5]))
    assert (s.imported, s.duplicates, s.merged) == (3, 2, 2)
    first = rows(store)[0]
    later = [r for r in rows(store) if r["import_id"] == s.import_id]
    assert [(r["duplicate_of"], r["active"]) for r in later] == [(first["id"], False), (first["id"], False),
                                                                 (None, True)]
    with store.connect() as conn:
        imp = conn.execute(select(imports).where(imports.c.id == s.import_id)).one()
    assert (imp.duplicates, imp.merged) == (2, 2)
    # importing the same file again: everything is a duplicate of the first import, nothing new is mailed
    s2 = import_recipients(store, c.name, tmp_path / "a.csv")
    assert (s2.duplicates, s2.merged) == (2, 2)
