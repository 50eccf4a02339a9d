"""The suppression list: file import, matching by customer id and name + address, expiry, CLI."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from mailing.cli import main
from mailing.errors import InputError
from mailing.recipients import import_recipients
from mailing.store import Store, recipients, suppression
from mailing.suppression import add_entry, expiry_for, import_file, list_entries, suppressed_recipients

HEADER = ["Kundennummer", "Anrede", "Vorname", "Nachname", "Firma", "Straße", "PLZ", "Ort"]
PEOPLE = [
    ["K-1", "Frau", "Anna", "Müller", "", "Hauptstraße 5", "10115", "Berlin"],
    ["K-2", "Herr", "Max", "Müller", "", "Hauptstraße 5", "10115", "Berlin"],
    ["K-3", "Frau", "Eva", "Schulz", "", "Ringweg 1", "80331", "München"],
    ["K-4", "Firma", "", "", "Muster GmbH", "Postfach 12 34 56", "50667", "Köln"],
    ["K-5", "Herr", "Jan", "Krause", "", "Königstr. 50", "47051", "Duisburg"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="cp1252", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def ids(store: Store, campaign, tmp_path: Path) -> dict[str, int]:
    import_recipients(store, campaign.name, write_csv(tmp_path / "people.csv", HEADER, PEOPLE))
    with store.connect() as conn:
        return {r.customer_id: r.id for r in conn.execute(select(recipients.c.customer_id, recipients.c.id))}


def campaign_id(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(recipients.c.campaign_id)).scalars().first() or 0)


def test_import_by_name_and_address_and_by_customer_id(store: Store, ids: dict[str, int], tmp_path: Path) -> None:
    f = write_csv(tmp_path / "widerspruch.csv", ["Vorname", "Nachname", "Firma", "Straße", "PLZ", "Ort"], [
        ["Anna", "Mueller", "", "Hauptstr. 5", "10115", "Berlin"],  # Anna only, not her husband Max
        ["", "", "Muster GmbH", "Postfach 123456", "50667", "Köln"],
    ])
    s = import_file(store, f, "objection")
    assert (s.rows, s.added, s.already) == (2, 2, 0)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Kundennummer"])
    ws.append(["K-3"])
    wb.save(tmp_path / "robinson.xlsx")
    import_file(store, tmp_path / "robinson.xlsx", "robinson", as_of=date(2024, 3, 1))
    cid = campaign_id(store)
    with store.connect() as conn:
        hits = suppressed_recipients(conn, cid, as_of=date(2025, 1, 1))
        entries = list_entries(conn, as_of=date(2025, 1, 1))
        assert set(hits) == {ids["K-1"], ids["K-3"], ids["K-4"]}
        assert suppressed_recipients(conn, cid, as_of=date(2029, 3, 1)).keys() == {ids["K-1"], ids["K-4"]}
    objection, company, robinson = entries
    assert (objection["reason"], objection["source"], objection["source_ref"]) == ("objection", "import",
                                                                                   "widerspruch.csv")
    assert objection["expires_at"] is None and objection["created_at"] is not None
    assert robinson["expires_at"] == date(2029, 3, 1)
    assert hits[ids["K-3"]] == robinson["id"] and hits[ids["K-4"]] == company["id"]
    # the same file again adds nothing
    again = import_file(store, f, "objection")
    assert (again.added, again.already) == (0, 2)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(suppression)).scalar_one() == 3


def test_add_entry_from_a_recipient_and_inactive_recipients(store: Store, ids: dict[str, int]) -> None:
    cid = campaign_id(store)
    with store.begin() as conn:
        row = conn.execute(select(recipients).where(recipients.c.id == ids["K-5"])).one()
        e1 = add_entry(conn, "undeliverable", "returned-mail", "scan 7", recipient_row=row._mapping, campaign_id=cid)
        e2 = add_entry(conn, "undeliverable", "returned-mail", "scan 8", recipient_row=row._mapping, campaign_id=cid)
        assert e1 == e2
        assert suppressed_recipients(conn, cid) == {ids["K-5"]: e1}
        conn.execute(recipients.update().where(recipients.c.id == ids["K-5"]).values(active=False))
        assert suppressed_recipients(conn, cid) == {}


def test_expiry_rules() -> None:
    assert expiry_for("objection", date(2024, 2, 29)) is None
    assert expiry_for("deceased", date(2024, 1, 1)) is None
    assert expiry_for("robinson", date(2024, 2, 29)) == date(2029, 2, 28)


def test_bad_suppression_file_is_refused(store: Store, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "bad.csv", ["Nachname", "Straße", "PLZ", "Ort"], [["Müller", "Weg 1", "123", "Berlin"]])
    with pytest.raises(InputError, match=r"bad.csv, row 2, column PLZ: '123' is not a valid postal code"):
        import_file(store, f, "objection")
    with pytest.raises(InputError, match="missing required column"):
        import_file(store, write_csv(tmp_path / "x.csv", ["Farbe"], [["blau"]]), "objection")


def test_cli(store: Store, ids: dict[str, int], tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "test.db")
    f = write_csv(tmp_path / "ids.csv", ["Kundennummer"], [["K-2"], ["K-2"]])
    assert main(["--db", db, "suppress", "import", str(f), "--reason", "objection"]) == 0
    assert "2 rows, 1 added, 1 already listed (reason objection)" in capsys.readouterr().out
    assert main(["--db", db, "suppress", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["customer_id"], entry["reason"], entry["source_ref"], entry["expires_at"]) == (
        "K-2", "objection", "ids.csv", None)
    assert main(["--db", db, "suppress", "list"]) == 0
    assert "objection" in capsys.readouterr().out
    assert main(["--db", db, "suppress", "import", str(f), "--reason", "holiday"]) == 2
