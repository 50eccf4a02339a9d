"""Data subjects' rights (issue 13, item 4): person export, person erase, purge, keyed-hash suppression."""

from __future__ import annotations

import csv
import json
import os
import random
import stat
from datetime import date
from pathlib import Path

import pytest
from cycle import DROP, coupon_scan, run, scan_json
from openpyxl import load_workbook
from sqlalchemy import func, select

from mailing.cli import main
from mailing.config import DEFAULT_RETENTION_MONTHS, parse_campaign
from mailing.errors import ConfigError
from mailing.persons import erase_person
from mailing.purge import add_months, purge
from mailing.store import Store, audit, audit_log, meta, pieces, recipients, scans, store_secret, suppression
from mailing.suppression import HashedEntries, person_hashes

INFO, CALL, OPTOUT = 0, 1, 2  # slots of the example campaign's options
NAME = "fruehjahr-2026"
# A person with strings found nowhere else in the example list, so a byte search means them alone.
PERSON = {"customer_id": "K-9001", "first": "Walburga", "last": "Zwetschgenbaum", "street": "Quittenweg",
          "number": "17", "plz": "53111", "city": "Bonn", "email": "w.zwetschgenbaum@example.test",
          "phone": "0228 4711"}
ROW = (f"{PERSON['customer_id']};Frau;;{PERSON['first']};{PERSON['last']};;;{PERSON['street']};{PERSON['number']};"
       f"{PERSON['plz']};{PERSON['city']};;{PERSON['email']};{PERSON['phone']}\n")
SECRETS = (PERSON["last"], PERSON["first"] + " " + PERSON["last"], PERSON["street"], PERSON["email"], PERSON["phone"])


def make_store(tmp: Path, capsys, *, produce: bool = False) -> Path:
    """The example campaign with the test person appended to its list; produced when asked."""
    db = tmp / "m.db"
    run(capsys, db, "init", tmp / "c")
    with (tmp / "c" / "recipients.csv").open("a", encoding="utf-8") as fh:
        fh.write(ROW)
    run(capsys, db, "campaign", "add", tmp / "c" / "campaign.toml")
    run(capsys, db, "import", NAME, tmp / "c" / "recipients.csv")
    if produce:
        run(capsys, db, "produce", NAME, "--out", tmp / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    return db


def manifest_rows(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for manifest in sorted(folder.rglob("*manifest*.csv")):
        with manifest.open(encoding="utf-8-sig") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def raw_hits(db: Path, strings: tuple[str, ...] = SECRETS) -> dict[str, list[str]]:
    """Which of the strings occur (any case, UTF-8) in the raw bytes of the store's files."""
    hits: dict[str, list[str]] = {}
    for part in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if not part.exists():
            continue
        data = part.read_bytes().lower()
        found = [s for s in strings if s.lower().encode("utf-8") in data]
        if found:
            hits[part.name] = found
    return hits


def status(db: Path, capsys) -> dict:
    return json.loads(run(capsys, db, "status", NAME, "--json"))


# ------------------------------------------------------------------------------------------- fast tests
def test_erase_leaves_no_byte_of_the_person_in_the_sqlite_files(tmp_path: Path, capsys) -> None:
    """Finding: erasure was hand-written SQL, and SQLite keeps deleted bytes in free pages and the WAL."""
    db = make_store(tmp_path, capsys)
    # the person is quoted elsewhere too: an objection list naming them, and an audit line typed about them
    optout = tmp_path / "abmelder.csv"
    optout.write_text("Nachname;Vorname;Straße;Hausnummer;PLZ;Ort\n"
                      f"{PERSON['last']};{PERSON['first']};{PERSON['street']};{PERSON['number']};{PERSON['plz']};"
                      f"{PERSON['city']}\n", encoding="utf-8")
    run(capsys, db, "suppress", "import", optout, "--reason", "objection")
    store = Store.open(str(db))
    with store.begin() as conn:
        audit(conn, "note", "recipient", None, f"call from {PERSON['first']} {PERSON['last']} ({PERSON['email']})")
    store.dispose()
    assert raw_hits(db), "the test must see the strings before the erase"

    out = run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    assert "erased 1 record(s)" in out and "1 suppression entr(ies) became keyed hashes" in out
    assert raw_hits(db) == {}
    store = Store.open(str(db))
    with store.connect() as conn:
        details = [d for (d,) in conn.execute(select(audit_log.c.detail))]
        erase_line = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "person.erase")).scalar_one()
    store.dispose()
    assert any("[erased]" in d for d in details if d)
    assert PERSON["customer_id"] not in erase_line and "1 record(s)" in erase_line


def test_erase_while_another_process_reads_says_so_and_a_second_run_finishes(tmp_path: Path, capsys) -> None:
    """A reader keeps old pages in the write-ahead log alive: the erase stands, says the file is not clean
    yet, and running it again once the reader is gone removes the last bytes."""
    import sqlite3

    db = make_store(tmp_path, capsys)
    reader = sqlite3.connect(db)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM recipients").fetchone()
    capsys.readouterr()
    assert main(["--db", str(db), "person", "erase", "--customer-id", PERSON["customer_id"]]) == 0
    assert "another process holds the store open" in capsys.readouterr().err
    reader.rollback()
    reader.close()
    assert "already erased" in run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    assert raw_hits(db) == {}


def test_an_erased_person_imported_again_is_not_stored(tmp_path: Path, capsys) -> None:
    """Done-when: a re-import of the same list does not bring the person back (nor mail them)."""
    db = make_store(tmp_path, capsys)
    run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    text = (tmp_path / "c" / "campaign.toml").read_text(encoding="utf-8").replace(NAME, "herbst-2026")
    (tmp_path / "c" / "herbst.toml").write_text(text, encoding="utf-8")
    run(capsys, db, "campaign", "add", tmp_path / "c" / "herbst.toml")
    out = run(capsys, db, "import", "herbst-2026", tmp_path / "c" / "recipients.csv")
    assert "51 rows, 50 imported" in out and "1 row(s) not stored: persons erased" in out
    again = run(capsys, db, "import", NAME, tmp_path / "c" / "recipients.csv")
    assert "1 row(s) not stored" in again
    # without the customer id, by name and address alone, too
    (tmp_path / "ohne-id.csv").write_text(
        "Vorname;Nachname;Straße;Hausnummer;PLZ;Ort\n"
        f"{PERSON['first']};{PERSON['last']};{PERSON['street']} ;{PERSON['number']};{PERSON['plz']};{PERSON['city']}\n"
        f"W.;{PERSON['last']};{PERSON['street']};{PERSON['number']};{PERSON['plz']};{PERSON['city']}\n"
        f"Hubert;{PERSON['last']};{PERSON['street']};{PERSON['number']};{PERSON['plz']};{PERSON['city']}\n",
        encoding="utf-8")
    out = run(capsys, db, "import", "herbst-2026", tmp_path / "ohne-id.csv")
    assert "1 imported" in out and "2 row(s) not stored" in out, "the initial agrees; the husband is someone else"
    assert raw_hits(db, (PERSON["first"], PERSON["email"])) == {}


def test_an_erased_person_on_an_objection_list_is_not_written_down_again(tmp_path: Path, capsys) -> None:
    db = make_store(tmp_path, capsys)
    run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    optout = tmp_path / "abmelder.csv"
    optout.write_text(f"Kundennummer\n{PERSON['customer_id']}\n", encoding="utf-8")
    assert "0 added, 1 already listed" in run(capsys, db, "suppress", "import", optout, "--reason", "objection")


def test_erase_dry_run_changes_nothing(tmp_path: Path, capsys) -> None:
    db = make_store(tmp_path, capsys)
    store = Store.open(str(db))
    with store.connect() as conn:
        before = [tuple(r) for r in conn.execute(select(recipients).order_by(recipients.c.id))]
    out = run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"], "--dry-run")
    assert out.startswith("would erase 1 record(s)")
    with store.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(recipients).order_by(recipients.c.id))] == before
        assert conn.execute(select(func.count()).select_from(suppression)).scalar_one() == 0
        assert conn.execute(select(meta.c.value).where(meta.c.key == "secret")).first() is None
    store.dispose()


def test_erase_twice_says_already_erased(tmp_path: Path, capsys) -> None:
    db = make_store(tmp_path, capsys)
    run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    assert "already erased" in run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    (entry,) = json.loads(run(capsys, db, "suppress", "list", "--json"))
    assert entry["reason"] == "erased" and entry["hashed"] is True and "key_hash" not in entry


def test_export_after_an_erase_shows_what_is_left(tmp_path: Path, capsys) -> None:
    """Art. 15 after Art. 17: the blanked record, the keyed-hash entry and the erasure's audit line, nothing
    readable."""
    db = make_store(tmp_path, capsys)
    run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    out = tmp_path / "auskunft.json"
    run(capsys, db, "person", "export", "--customer-id", PERSON["customer_id"], "--out", out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["summary"]["erased"] is True
    (record,) = doc["records"]
    assert record["last_name"] is None and record["erased_at"] and record["postal_code"] == PERSON["plz"][:2]
    (entry,) = doc["suppression"]
    assert entry["reason"] == "erased" and entry["hashed"] and "key_hash" not in entry
    assert [a["action"] for a in doc["audit"]] == ["person.erase"]
    assert not any(s.lower() in out.read_text(encoding="utf-8").lower() for s in SECRETS)


def test_person_commands_name_the_person_once(tmp_path: Path, capsys) -> None:
    """Wrong usage is one line, never a traceback: neither or both of --customer-id/--code, unknown ids/codes."""
    db = make_store(tmp_path, capsys)
    assert main(["--db", str(db), "person", "erase"]) == 2
    assert main(["--db", str(db), "person", "erase", "--customer-id", "K-1001", "--code", "X"]) == 2
    capsys.readouterr()
    assert main(["--db", str(db), "person", "erase", "--customer-id", "K-0000"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no record with customer id 'K-0000'" in err
    assert main(["--db", str(db), "person", "export", "--code", "7K3M-9QXP-2W4H", "--out", str(tmp_path / "a.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "code" in err and not (tmp_path / "a.json").exists()


def test_export_into_a_missing_folder_is_one_line(tmp_path: Path, capsys) -> None:
    db = make_store(tmp_path, capsys)
    assert main(["--db", str(db), "person", "export", "--customer-id", PERSON["customer_id"],
                 "--out", str(tmp_path / "fehlt" / "a.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_store_secret_is_made_once_and_kept(store: Store) -> None:
    with store.begin() as conn:
        first = store_secret(conn)
    with store.begin() as conn:
        assert store_secret(conn) == first
    assert len(bytes.fromhex(first)) == 32


def test_hashed_entries_keep_the_first_name_rule(store: Store) -> None:
    """A hashed entry matches like a readable one: customer id, or key with first names agreeing."""
    with store.begin() as conn:
        secret = store_secret(conn)
        key = "mueller|hauptstr|12|10115|DE"
        conn.execute(suppression.insert().values(reason="erased", source="erasure",
                                                 **person_hashes(secret, "K-1", key, "Anna").columns()))
        conn.execute(suppression.insert().values(reason="erased", source="erasure",
                                                 **person_hashes(secret, None, "x|y|1|12345|DE", None).columns()))
        hashed = HashedEntries.load(conn)
    assert hashed is not None
    assert hashed.match("K-1", None, None) == 1
    assert hashed.match(None, key, "Anna") == 1
    assert hashed.match(None, key, "A.") == 1  # an initial agrees
    assert hashed.match(None, key, None) == 1  # no first name agrees
    assert hashed.match(None, key, "Hans") is None  # the spouse is someone else
    assert hashed.match(None, "x|y|1|12345|DE", "Anyone") == 2  # an address entry without a first name
    assert hashed.match("K-2", "other|key", "Anna") is None


def test_retention_is_a_campaign_setting_with_a_default() -> None:
    text = (Path(__file__).parents[2] / "mailing" / "data" / "campaign.toml").read_text(encoding="utf-8")
    assert parse_campaign(text).retention_months == DEFAULT_RETENTION_MONTHS == 24
    without = text.replace("[retention]", "[retention_unused]").split("[retention_unused]")[0]
    assert parse_campaign(without).retention_months == 24
    assert parse_campaign(text.replace("months = 24", "months = 36")).retention_months == 36
    with pytest.raises(ConfigError, match="retention.months"):
        parse_campaign(text.replace("months = 24", "months = 0"))


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(date(2026, 3, 2), 24) == date(2028, 3, 2)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), -24) == date(2024, 11, 30)


# ------------------------------------------------------------------------------------- whole cycle (slow)
@pytest.fixture
def produced(tmp_path: Path, capsys):
    db = make_store(tmp_path, capsys, produce=True)
    rows = manifest_rows(tmp_path / "print")
    print_dir = next((tmp_path / "print").rglob("*.pdf")).parent
    (mine,) = [r for r in rows if r["customer_id"] == PERSON["customer_id"]]
    return db, rows, mine, print_dir


@pytest.mark.slow
def test_export_holds_the_persons_answer_and_pictures(produced, tmp_path: Path, capsys) -> None:
    """Done-when: an export holds the person's answer (ticks), their codes and the coupon picture."""
    db, _rows, mine, print_dir = produced
    coupon_scan(print_dir, mine, [INFO, OPTOUT], tmp_path / "antwort.png", random.Random(3))
    (line,) = scan_json(capsys, db, tmp_path / "antwort.png")
    assert line["status"] == "matched"
    out = tmp_path / "auskunft" / "auskunft.json"
    out.parent.mkdir()
    text = run(capsys, db, "person", "export", "--code", mine["code"].lower(), "--out", out)
    assert "1 record(s) in 1 campaign(s), 1 letter(s), 1 response(s)" in text
    doc = json.loads(out.read_text(encoding="utf-8"))
    (record,) = doc["records"]
    assert record["last_name"] == PERSON["last"] and record["email"] == PERSON["email"]
    (letter,) = record["letters"]
    assert letter["code"] == mine["code"]
    assert letter["response"]["options"] == {"info": True, "call": False, "optout": True}
    (scan,) = letter["scans"]
    pictures = out.parent / "auskunft-pictures"
    assert (pictures / scan["picture"]).read_bytes()[:2] in (b"\x89P", b"\xff\xd8")  # PNG or JPEG, as stored
    assert scan["picture"].startswith(f"scan-{scan['id']}.")
    assert all(PERSON["last"].lower() not in p.name.lower() for p in pictures.iterdir())
    assert {t["key"]: t["state"] for t in scan["ticks"]} == {"info": "ticked", "call": "empty", "optout": "ticked"}
    assert all((pictures / t["picture"]).exists() for t in scan["ticks"] if "picture" in t)
    assert any(e["reason"] == "objection" and e["last_name"] == PERSON["last"] for e in doc["suppression"])
    assert any(a["action"] == "response.record" for a in doc["audit"])
    for path in (out, *pictures.iterdir()):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(pictures).st_mode) & 0o077 == 0


@pytest.mark.slow
def test_erase_after_a_scanned_answer_keeps_the_statistics_and_the_report(produced, tmp_path: Path, capsys) -> None:
    """Statistics stay: pieces, responses and ticks; the report still works; pictures and names are gone; a
    produce after a re-import sends the person nothing; a late coupon of theirs is recorded without error."""
    db, _rows, mine, print_dir = produced
    # the scan file is named after the person: file names people give are cleaned too
    scan_file = tmp_path / f"{PERSON['last']}-antwort.png"
    coupon_scan(print_dir, mine, [INFO, OPTOUT], scan_file, random.Random(4))
    scan_json(capsys, db, scan_file)
    before = status(db, capsys)
    assert raw_hits(db)
    out = run(capsys, db, "person", "erase", "--code", mine["code"])
    assert "erased 1 record(s) in 1 campaign(s) (fruehjahr-2026), 2 picture(s)" in out  # coupon + phone line
    after = status(db, capsys)
    assert after == before, "the person was suppressed by their opt-out before and after"
    assert raw_hits(db) == {}
    store = Store.open(str(db))
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans).where(scans.c.snippet.is_not(None))).scalar_one() == 0
    store.dispose()
    run(capsys, db, "report", NAME, "--out", tmp_path / "bericht.xlsx")
    sheet = load_workbook(tmp_path / "bericht.xlsx").worksheets
    assert not any(PERSON["last"] in str(c.value) for ws in sheet for row in ws.iter_rows() for c in row)

    # a second copy of the coupon, arriving after the erase
    coupon_scan(print_dir, mine, [OPTOUT], tmp_path / "spaet.png", random.Random(5))
    (late,) = scan_json(capsys, db, tmp_path / "spaet.png")
    assert late["status"] == "duplicate"
    store = Store.open(str(db))
    with store.connect() as conn:
        erasure = conn.execute(select(suppression.c.id).where(suppression.c.reason == "erased")).scalar_one()
        late_entry = conn.execute(select(scans.c.suppression_id).order_by(scans.c.id.desc()).limit(1)).scalar()
    store.dispose()
    assert late_entry in (None, erasure), "the late opt-out points to the erasure entry; nothing readable is added"

    text = (tmp_path / "c" / "campaign.toml").read_text(encoding="utf-8").replace(NAME, "herbst-2026")
    (tmp_path / "c" / "herbst.toml").write_text(text, encoding="utf-8")
    run(capsys, db, "campaign", "add", tmp_path / "c" / "herbst.toml")
    run(capsys, db, "import", "herbst-2026", tmp_path / "c" / "recipients.csv")
    run(capsys, db, "produce", "herbst-2026", "--out", tmp_path / "print2", "--jobs", "1")
    sent = manifest_rows(tmp_path / "print2")
    assert len(sent) == 50 and PERSON["customer_id"] not in {r["customer_id"] for r in sent}


@pytest.mark.slow
def test_followups_after_an_erase_send_the_person_nothing(produced, tmp_path: Path, capsys) -> None:
    """An erased record is never mailed again: the reminder (no answer after 21 days) leaves it out."""
    db, rows, mine, _print_dir = produced
    run(capsys, db, "person", "erase", "--customer-id", PERSON["customer_id"])
    run(capsys, db, "followup", NAME, "--as-of", "2026-04-30")
    st = status(db, capsys)
    assert [(w["wave"], w["kind"], w["pieces"]) for w in st["waves"]] == [(1, "initial", len(rows)),
                                                                         (2, "reminder", len(rows) - 1)]
    store = Store.open(str(db))
    try:
        with store.connect() as conn:
            rid = conn.execute(select(pieces.c.recipient_id).where(pieces.c.code == mine["code"])).scalar_one()
            assert conn.execute(select(func.count()).select_from(pieces).where(pieces.c.recipient_id == rid)
                                ).scalar_one() == 1
    finally:
        store.dispose()
    # the reminder is only planned: the campaign is not finished, so purge keeps it and says why
    capsys.readouterr()
    assert main(["--db", str(db), "purge", "--older-than", "30"]) == 0
    out = capsys.readouterr()
    assert "no finished campaign" in out.out and f"kept {NAME}: past its retention period" in out.err


@pytest.mark.slow
def test_purge_removes_finished_campaigns_personal_data_and_pictures(produced, tmp_path: Path, capsys) -> None:
    db, _rows, mine, print_dir = produced
    coupon_scan(print_dir, mine, [OPTOUT], tmp_path / "optout.png", random.Random(6))
    scan_json(capsys, db, tmp_path / "optout.png")
    before = status(db, capsys)
    assert "no finished campaign" in run(capsys, db, "purge")  # 24 months after 2.3.2026 are not over
    dry = run(capsys, db, "purge", "--older-than", "30", "--dry-run")
    assert dry.startswith(f"would purge {NAME} (last drop 02.03.2026): 51 record(s), 2 picture(s), 1 ")  # coupon + phone line
    assert raw_hits(db)
    out = run(capsys, db, "purge", "--older-than", "30")
    assert out.startswith(f"purged {NAME}")
    assert status(db, capsys) == before
    assert raw_hits(db, ("Müller", "Schmidt", *SECRETS)) == {}
    assert "no finished campaign" in run(capsys, db, "purge", "--older-than", "30")
    store = Store.open(str(db))
    with store.connect() as conn:
        line = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "purge")).scalar_one()
        runs = conn.execute(select(func.count()).where(audit_log.c.action == "purge.run")).scalar_one()
        entry = conn.execute(select(suppression)).one()
    store.dispose()
    assert "51 record(s) blanked" in line and entry.key_hash and entry.last_name is None
    assert runs == 3, "every purge run is on record, the one that found nothing too (dry runs are not)"
    # the hashed objection still holds: the objector, imported again, is stored but not mailed
    text = (tmp_path / "c" / "campaign.toml").read_text(encoding="utf-8").replace(NAME, "herbst-2026")
    (tmp_path / "c" / "herbst.toml").write_text(text, encoding="utf-8")
    run(capsys, db, "campaign", "add", tmp_path / "c" / "herbst.toml")
    assert "51 imported" in run(capsys, db, "import", "herbst-2026", tmp_path / "c" / "recipients.csv")
    run(capsys, db, "produce", "herbst-2026", "--out", tmp_path / "print2", "--jobs", "1")
    sent = manifest_rows(tmp_path / "print2")
    assert len(sent) == 50 and PERSON["customer_id"] not in {r["customer_id"] for r in sent}


@pytest.mark.slow
def test_purge_library_by_retention_months(produced) -> None:
    db, *_ = produced
    store = Store.open(str(db))
    try:
        assert purge(store, as_of=date(2028, 3, 2)).campaigns == []
        done = purge(store, as_of=date(2028, 3, 3), dry_run=True)
        assert [c.campaign for c in done.campaigns] == [NAME] and done.campaigns[0].records == 51
    finally:
        store.dispose()


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("MAILING_TEST_POSTGRES"), reason="set MAILING_TEST_POSTGRES to run")
def test_erase_and_reimport_on_postgresql(tmp_path: Path, capsys) -> None:
    from sqlalchemy import create_engine

    from mailing.store import alembic_version, metadata

    url = os.environ["MAILING_TEST_POSTGRES"]
    engine = create_engine(url)
    metadata.drop_all(engine)
    alembic_version.drop(engine, checkfirst=True)
    engine.dispose()
    run(capsys, url, "init", tmp_path / "c")
    with (tmp_path / "c" / "recipients.csv").open("a", encoding="utf-8") as fh:
        fh.write(ROW)
    run(capsys, url, "campaign", "add", tmp_path / "c" / "campaign.toml")
    run(capsys, url, "import", NAME, tmp_path / "c" / "recipients.csv")
    store = Store.open(url)
    try:
        res = erase_person(store, customer_id=PERSON["customer_id"])
        assert res.records == 1 and res.compacted is None
        with store.connect() as conn:
            texts = " ".join(str(v) for row in conn.execute(select(recipients)) for v in row)
        assert PERSON["last"] not in texts
    finally:
        store.dispose()
    assert "1 row(s) not stored" in run(capsys, url, "import", NAME, tmp_path / "c" / "recipients.csv")
