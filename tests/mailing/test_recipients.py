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
    assert f"{f}: 5 rows, 5 imported, 0 already present, 0 rejected, 0 likely duplicates found, 0 merged" in out
    bad = write_csv(tmp_path / "bad.csv", HEADER_DE, [BAD[0]])
    assert main(["--db", str(db), "import", campaign.name, str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"error: {bad}, row 2, column PLZ: '1234' is not a valid postal code (a German postal code "
                       "has 5 digits); a leading zero lost in Excel? write e.g. 01067; fix the row or use "
                       "--skip-invalid (nothing was imported)")
    assert main(["--db", str(db), "import", campaign.name, str(bad), "--skip-invalid"]) == 1  # nothing valid
    capsys.readouterr()
    mixed = write_csv(tmp_path / "mixed.csv", HEADER_DE, [BAD[0], GOOD[0]])
    assert main(["--db", str(db), "import", campaign.name, str(mixed), "--skip-invalid"]) == 0
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


def test_importing_the_same_file_twice_adds_nobody_twice(store: Store, campaign, tmp_path: Path, capsys) -> None:
    """Bug: importing recipients.csv twice gave 100 recipients instead of 50 ("50 duplicates found")."""
    from mailing.campaigns import init_example

    init_example(tmp_path / "ex")
    f = tmp_path / "ex" / "recipients.csv"
    db = store.url.removeprefix("sqlite:///")
    assert main(["import", campaign.name, str(f), "--db", db]) == 0
    capsys.readouterr()
    assert main(["import", campaign.name, str(f), "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    day = stored(store)[0]["created_at"].date().isoformat()
    assert out[0] == f"{f} was already imported on {day}; 50 rows already present"
    assert out[1] == f"{f}: 50 rows, 0 imported, 50 already present, 0 rejected, 0 likely duplicates found, 0 merged"
    assert out[2] == "already present (not added again): rows 2-51"
    assert count(store) == 50
    # a renamed copy is recognised by its content
    copy = tmp_path / "kopie.csv"
    copy.write_bytes(f.read_bytes())
    s = import_recipients(store, campaign.name, copy)
    assert s.earlier_import is not None and s.earlier_import.source_file == str(f)
    assert (s.imported, s.already_present) == (0, 50) and count(store) == 50
    with store.connect() as conn:
        hashes = {r.content_sha256 for r in conn.execute(select(imports))}
    assert len(hashes) == 1 and len(next(iter(hashes))) == 64


def test_same_customer_id_is_already_present_even_at_a_new_address(store: Store, campaign, tmp_path: Path,
                                                                     caplog) -> None:
    import_recipients(store, campaign.name, write_csv(tmp_path / "a.csv", HEADER_DE, GOOD[:2]))
    moved = [GOOD[0][:6] + ["Neue Straße", "9", "10117", "Berlin", ""], GOOD[2]]
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "b.csv", HEADER_DE, moved))
    assert (s.imported, s.already_present, s.already_present_rows) == (1, 1, (2,))
    assert any("row 2: customer id K-1 is already in the campaign (with another name or address)" in r.getMessage()
               for r in caplog.records)
    assert [r["customer_id"] for r in stored(store)] == ["K-1", "K-2", "K-3"]
    assert stored(store)[0]["street"] == "Hauptstraße"  # the earlier record is kept as it was


def test_without_customer_id_same_name_and_address_is_already_present(store: Store, campaign,
                                                                       tmp_path: Path) -> None:
    header = [h for h in HEADER_DE if h != "Kundennummer"]
    rows = [r[1:] for r in GOOD[:2]]
    import_recipients(store, campaign.name, write_csv(tmp_path / "a.csv", header, rows))
    respelt = [["Frau", "Dr.", "Anna", "MÜLLER", "", "Hauptstr.", "5", "10115", "Berlin", "DE"]]
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "b.csv", header, respelt + rows[1:]))
    assert (s.imported, s.already_present) == (0, 2) and count(store) == 2
    # one side with a customer id, the other without: still the same record
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "c.csv", HEADER_DE, GOOD[:1]))
    assert (s.imported, s.already_present) == (0, 1)
    # within one file too
    s = import_recipients(store, campaign.name, write_csv(tmp_path / "d.csv", HEADER_DE, [GOOD[4], GOOD[4]]))
    assert (s.imported, s.already_present, s.already_present_rows) == (1, 1, (3,))


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_utf16_unicode_text_imports(store: Store, campaign, tmp_path: Path, delimiter: str) -> None:
    """Bug: Excel's "Unicode-Text" (UTF-16 with BOM, tab-separated) gave row errors instead of importing."""
    f = write_csv(tmp_path / "unicode.txt", HEADER_DE, GOOD, encoding="utf-16", delimiter=delimiter)
    assert f.read_bytes()[:2] == b"\xff\xfe"
    s = import_recipients(store, campaign.name, f)
    assert (s.rows, s.imported, s.rejected) == (5, 5, 0)
    assert [r["last_name"] for r in stored(store)][:2] == ["Müller", "Weiß"]


def test_utf16_without_byte_order_mark_is_named(store: Store, campaign, tmp_path: Path) -> None:
    f = tmp_path / "nobom.csv"
    f.write_bytes(";".join(HEADER_DE).encode("utf-16-le"))
    with pytest.raises(InputError, match="NUL bytes"):
        import_recipients(store, campaign.name, f)


def test_header_and_row_delimiter_mismatch_is_named_as_such(store: Store, campaign, tmp_path: Path) -> None:
    """Bug: a header separated by ';' with rows separated by ',' gave a row error for a missing surname."""
    f = tmp_path / "gemischt.csv"
    f.write_text(";".join(HEADER_DE) + "\n" + "\n".join(",".join(r) for r in GOOD[:2]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_recipients(store, campaign.name, f)
    assert str(info.value) == (f"{f}, row 2: the header is separated by ';' but the rows by ','; use one delimiter "
                               "for the whole file (save it again from Excel as 'CSV UTF-8 (comma delimited)' or "
                               "as .xlsx)")
    assert count(store) == 0


def test_missing_column_messages_use_german_header_words(store: Store, campaign, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "m.csv", ["Vorname", "Straße"], [["Anna", "Weg 1"]])
    with pytest.raises(InputError) as info:
        import_recipients(store, campaign.name, f)
    assert "missing required column(s): Nachname or Firma; PLZ; Ort (found: Vorname, Straße)" in str(info.value)
    assert "last_name" not in str(info.value) and "postal_code" not in str(info.value)


def test_skip_invalid_with_nothing_valid_exits_1(store: Store, campaign, tmp_path: Path, capsys) -> None:
    """Bug: `--skip-invalid` with every row rejected exited 0 and recorded an empty import."""
    f = write_csv(tmp_path / "alle-falsch.csv", HEADER_DE, BAD)
    db = store.url.removeprefix("sqlite:///")
    assert main(["import", campaign.name, str(f), "--skip-invalid", "--db", db]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"error: {f}: no row is valid (4 rejected), nothing was imported; the reasons are in "
                       f"{tmp_path / 'alle-falsch.rejected.csv'}")
    assert count(store) == 0 and count(store, imports) == 0
    assert (tmp_path / "alle-falsch.rejected.csv").is_file()
