"""Recipient import with real files: CSV (UTF-8, UTF-8 with BOM, Windows-1252; `,` and `;`) and XLSX."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from mailing.cli import main
from mailing.errors import InputError
from mailing.recipients import import_recipients
from mailing.store import Store, audit_log, imports, recipients

HEADER_DE = ["Kundennummer", "Anrede", "Titel", "Vorname", "Nachname", "Firma", "Straße", "Hausnummer", "PLZ",
             "Ort", "Land"]
GOOD = [
    ["K-1", "Frau", "Dr.", "Anna", "Müller", "", "Hauptstraße", "5", "10115", "Berlin", ""],
    ["K-2", "Herrn", "", "Jürgen", "Weiß", "", "Gartenweg", "3a", "80331", "München", "Deutschland"],
    ["K-3", "Firma", "", "", "", "Bäckerei Groß GmbH", "Postfach 12 34 56", "", "50667", "Köln", ""],
    ["K-4", "divers", "", "Alex", "Meyer", "", "Ringstr. 8", "", "1070", "Wien", "Österreich"],
    ["K-5", "m", "", "Joost", "de Vries", "", "Prinsengracht", "263", "1016gv", "Amsterdam", "NL"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8",
              delimiter: str = ";") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]], sheet: str = "Adressen") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.create_sheet("Notizen")
    wb.save(path)
    return path


def stored(store: Store) -> list[dict[str, object]]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(recipients).order_by(recipients.c.id))]


def count(store: Store, table=recipients) -> int:  # type: ignore[no-untyped-def]
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(("encoding", "delimiter"), [("utf-8", ";"), ("utf-8-sig", ";"), ("cp1252", ";"),
                                                     ("utf-8", ","), ("cp1252", ",")])
def test_csv_encodings_and_delimiters(store: Store, campaign, tmp_path: Path, encoding: str,
                                      delimiter: str) -> None:
    f = write_csv(tmp_path / "liste.csv", HEADER_DE, GOOD, encoding, delimiter)
    s = import_recipients(store, campaign.name, f)
    assert (s.rows, s.imported, s.rejected) == (5, 5, 0)
    rows = stored(store)
    anna, juergen, firma, alex, joost = rows
    assert (anna["salutation"], anna["title"], anna["last_name"], anna["country"]) == ("female", "Dr.", "Müller", "DE")
    assert anna["source_row"] == 2 and anna["customer_id"] == "K-1"
    assert (juergen["last_name"], juergen["house_number"], juergen["salutation"]) == ("Weiß", "3a", "male")
    assert (firma["salutation"], firma["postbox"], firma["street"]) == ("company", "123456", None)
    assert (alex["salutation"], alex["street"], alex["house_number"], alex["country"]) == ("none", "Ringstr.", "8", "AT")
    assert (joost["postal_code"], joost["country"]) == ("1016 GV", "NL")
    assert anna["match_key"] == "mueller|hauptstr|5|10115|DE"


def test_xlsx_with_sheet_and_english_headers(store: Store, campaign, tmp_path: Path) -> None:
    header = ["salutation", "First Name", "last_name", "Company", "street_address", "ZIP", "City", "Country",
              "Customer ID", "E-Mail"]
    header[4] = "Address"
    f = write_xlsx(tmp_path / "list.xlsx", header, [
        ["female", "Zoë", "Ñúñez", None, "Sonnenweg 3", 79098, "Freiburg", "Germany", 1001, "z@example.org"],
        ["male", "Urs", "Keller", None, "Bahnhofstrasse 21", 8001, "Zürich", "Switzerland", 1002, None],
    ])
    s = import_recipients(store, campaign.name, f, sheet="Adressen")
    assert s.imported == 2
    zoe, urs = stored(store)
    assert (zoe["first_name"], zoe["street"], zoe["house_number"], zoe["postal_code"]) == ("Zoë", "Sonnenweg", "3",
                                                                                            "79098")
    assert zoe["customer_id"] == "1001" and zoe["email"] == "z@example.org"
    assert (urs["country"], urs["postal_code"]) == ("CH", "8001")
    with pytest.raises(InputError, match=r"no sheet named 'Tabelle9'; the workbook has: Adressen, Notizen"):
        import_recipients(store, campaign.name, f, sheet="Tabelle9")


def test_formula_like_values_stay_text(store: Store, campaign, tmp_path: Path) -> None:
    rows = [["K-9", "Herr", "", "+49 Max", '=HYPERLINK("http://x";"y")', "", "-Weg", "1", "10115", "@Berlin", ""]]
    import_recipients(store, campaign.name, write_csv(tmp_path / "f.csv", HEADER_DE, rows))
    (r,) = stored(store)
    assert r["last_name"] == '=HYPERLINK("http://x";"y")'
    assert (r["first_name"], r["street"], r["city"]) == ("+49 Max", "-Weg", "@Berlin")
    xf = write_xlsx(tmp_path / "f.xlsx", HEADER_DE, [["K-10", "Frau", "", "Eva", "=1+2", "", "Weg", "2", "10115",
                                                      "Berlin", ""]])
    import_recipients(store, campaign.name, xf)
    assert stored(store)[-1]["last_name"] == "=1+2"


BAD = [
    ["K-6", "Frau", "", "Eva", "Schulz", "", "Weg", "1", "1234", "Berlin", ""],  # row 3: PLZ
    ["K-7", "Frau", "", "Ina", "", "", "Weg", "2", "10115", "Berlin", ""],  # row 4: no name
    ["K-8", "Frau", "", "Ute", "Lang", "", "Weg", "3", "10115", "Berlin", "Atlantis"],  # row 5: country
    ["K-9", "Fräulein", "", "Ute", "Kurz", "", "Weg", "3", "10115", "Berlin", ""],  # row 6: salutation
]


def test_bad_rows_refuse_the_whole_file(store: Store, campaign, tmp_path: Path, caplog) -> None:
    f = write_csv(tmp_path / "bad.csv", HEADER_DE, [GOOD[0], *BAD], "cp1252")
    with pytest.raises(InputError) as info:
        import_recipients(store, campaign.name, f)
    assert str(info.value) == (
        f"{f}, row 3, column PLZ: '1234' is not a valid postal code (a German postal code has 5 digits); a leading "
        "zero lost in Excel? write e.g. 01067; fix the row or use --skip-invalid (4 bad rows in all, each named in "
        "the warnings; nothing was imported)")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("row 4, column Nachname: neither a surname nor a company" in w for w in warnings)
    assert any("row 5, column Land: unknown country 'Atlantis'" in w for w in warnings)
    assert any("row 6, column Anrede: unknown salutation 'Fräulein'" in w for w in warnings)
    assert count(store) == 0 and count(store, imports) == 0


def test_skip_invalid_writes_rejects(store: Store, campaign, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "mixed.csv", HEADER_DE, [GOOD[0], *BAD, GOOD[1]])
    s = import_recipients(store, campaign.name, f, skip_invalid=True)
    assert (s.rows, s.imported, s.rejected) == (6, 2, 4)
    assert s.rejects_file == str(tmp_path / "mixed.rejected.csv")
    with open(s.rejects_file, encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.reader(fh, delimiter=";"))
    assert rejects[0] == ["row", "column", "reason", *HEADER_DE]
    assert [r[:2] for r in rejects[1:]] == [["3", "PLZ"], ["4", "Nachname"], ["5", "Land"], ["6", "Anrede"]]
    assert rejects[1][3:] == BAD[0]
    assert [r["source_row"] for r in stored(store)] == [2, 7]
    with store.connect() as conn:
        imp = conn.execute(select(imports)).one()
        assert (imp.rows, imp.imported, imp.rejected) == (6, 2, 4)
        assert conn.execute(select(audit_log).where(audit_log.c.action == "recipients.import")).first()


def test_one_line_errors_for_unusable_files(store: Store, campaign, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="the file is empty"):
        import_recipients(store, campaign.name, empty)
    header_only = write_csv(tmp_path / "h.csv", HEADER_DE, [])
    with pytest.raises(InputError, match="header but no data rows"):
        import_recipients(store, campaign.name, header_only)
    missing = write_csv(tmp_path / "m.csv", ["Vorname", "Nachname", "Ort"], [["A", "B", "C"]])
    with pytest.raises(InputError, match=r"row 1: missing required column\(s\): Straße or Postfach; PLZ "
                                         r"\(found: Vorname, Nachname, Ort\)"):
        import_recipients(store, campaign.name, missing)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(InputError, match="cannot read this workbook"):
        import_recipients(store, campaign.name, broken)
    assert count(store) == 0


def test_campaign_column_mapping(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    from mailing.campaigns import register_campaign

    campaign_file.write_text(campaign_file.read_text(encoding="utf-8")
                             + '\n[import.columns]\n"Nom" = "last_name"\n"Code postal" = "postal_code"\n'
                             '"Intern" = "ignore"\n', encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    f = write_csv(tmp_path / "fr.csv", ["Nom", "Rue", "Code postal", "Ville", "Intern"],
                  [["Dupont", "Hauptstr. 1", "10115", "Berlin", "x"]], delimiter=",")
    header = f.read_text().replace("Rue", "Strasse").replace("Ville", "Stadt")
    f.write_text(header)
    import_recipients(store, c.name, f)
    (r,) = stored(store)
    assert (r["last_name"], r["street"], r["house_number"], r["city"]) == ("Dupont", "Hauptstr.", "1", "Berlin")


def test_cli_import(store: Store, campaign, tmp_path: Path, capsys) -> None:
    db = tmp_path / "test.db"
    f = write_csv(tmp_path / "liste.csv", HEADER_DE, GOOD)
    assert main(["--db", str(db), "import", campaign.name, str(f)]) == 0
    out = capsys.readouterr().out
    assert f"{f}: 5 rows, 5 imported, 0 rejected, 0 duplicates found, 0 merged" in out
    bad = write_csv(tmp_path / "bad.csv", HEADER_DE, [BAD[0]])
    assert main(["--db", str(db), "import", campaign.name, str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"error: {bad}, row 2, column PLZ: '1234' is not a valid postal code (a German postal code "
                       "has 5 digits); a leading zero lost in Excel? write e.g. 01067; fix the row or use "
                       "--skip-invalid (nothing was imported)")
    assert main(["--db", str(db), "import", campaign.name, str(bad), "--skip-invalid"]) == 0
    assert "rejected rows with reasons: " in capsys.readouterr().out
    assert main(["--db", str(db), "import", "nope", str(f)]) == 1
    assert count(store) == 5


def test_sample_file_imports(store: Store, campaign, tmp_path: Path) -> None:
    from mailing.campaigns import init_example

    folder = tmp_path / "ex"
    init_example(folder)
    s = import_recipients(store, campaign.name, folder / "recipients.csv")
    assert s.rows == s.imported == 50 and s.rejected == 0
    assert s.duplicates == 1  # Meier, Hauptstr. 5 / Mayer, Hauptstraße 5a; the Webers are a household
    salutations = {r["salutation"] for r in stored(store)}
    assert salutations == {"female", "male", "none", "company"}


def test_streams_many_rows_in_chunks(store: Store, campaign, tmp_path: Path) -> None:
    rows = [[f"K-{i}", "Frau", "", f"Vorname{i}", f"Name{i}", "", "Weg", str(i), f"{10000 + i % 89999:05d}",
             "Ort", ""] for i in range(3500)]
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "big.csv", HEADER_DE, rows))
    assert s.imported == 3500 and count(store) == 3500
