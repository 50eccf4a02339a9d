"""Objections that arrive after a wave was planned (found by the concurrent-stations test): `produce` printed
the letter anyway, because the suppression list was applied only at planning. Real commands, real print
PDFs (read back with pypdf), real scanned coupons, SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import random
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cycle import DROP, coupon_scan, run, scan_json, setup_campaign
from pypdf import PdfReader
from recipients_helper import add_recipients
from sqlalchemy import select

from mailing.campaigns import register_campaign
from mailing.cli import main
from mailing.production import produce
from mailing.store import Store, audit_log, campaigns
from mailing.suppression import add_entry
from tests.web.station_queue import own_schema

pytestmark = pytest.mark.slow

OPTOUT = 2  # slot of the example campaign's opt-out box
PG_URL = os.environ.get("MAILING_TEST_POSTGRES")


def _setup(tmp: Path, capsys, db: str) -> tuple[str, list[dict[str, str]], Path, dict[str, dict[str, str]]]:
    """Wave 1 produced (drop date in the past); (campaign, manifest rows, print folder, recipients by id)."""
    _, name, rows = setup_campaign(tmp, capsys, db=db)
    with (tmp / "c" / "recipients.csv").open(encoding="utf-8-sig") as fh:
        people = {r["Kundennummer"]: r for r in csv.DictReader(fh, delimiter=";")}
    return name, rows, next((tmp / "print").rglob("*.pdf")).parent, people


def _plan_reminder(tmp: Path, capsys, db: str, name: str) -> int:
    """The reminder wave (everyone who did not answer), planned and not produced."""
    result = json.loads(run(capsys, db, "followup", name, "--as-of", (DROP + timedelta(days=22)).isoformat(),
                            "--out", tmp / "nf", "--json"))
    wave = next(r["wave"] for r in result["rules"] if r["rule"] == "reminder")
    assert wave is not None
    return int(wave)


def _object_four_ways(tmp: Path, capsys, db: str, rows: list[dict[str, str]], print_dir: Path) -> list[str]:
    """Four objections after the reminder was planned: a scanned coupon with the opt-out tick, an answer on
    the phone, an imported objection file, an erasure. Returns their customer ids."""
    coupon_scan(print_dir, rows[0], [OPTOUT], tmp / "optout.png", random.Random(3))
    (line,) = scan_json(capsys, db, tmp / "optout.png")
    assert line["status"] == "matched" and line["options"]["optout"] is True
    run(capsys, db, "respond", rows[1]["code"], "--channel", "phone", "optout=yes")
    objection = tmp / "widerspruch.csv"
    objection.write_text(f"Kundennummer\n{rows[2]['customer_id']}\n", encoding="utf-8")
    run(capsys, db, "suppress", "import", objection, "--reason", "objection")
    run(capsys, db, "person", "erase", "--customer-id", rows[3]["customer_id"])
    return [r["customer_id"] for r in rows[:4]]


def _pdf_text(folder: Path) -> str:
    return "\n".join(page.extract_text() or "" for pdf in sorted(folder.glob("*.pdf"))
                     for page in PdfReader(pdf).pages if "docket" not in pdf.name and "laufzettel" not in pdf.name)


def _manifest(folder: Path, wave: int) -> list[dict[str, str]]:
    path = next(p for p in folder.glob("*.csv") if "manifest" in p.name)
    with path.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["wave"] == str(wave) for r in rows)
    return rows


def _objection_after_planning_is_not_printed(tmp: Path, capsys, db: str) -> None:
    name, rows, print_dir, people = _setup(tmp, capsys, db)
    reminder = _plan_reminder(tmp, capsys, db, name)
    planned = json.loads(run(capsys, db, "status", name, "--json"))
    before = next(w for w in planned["waves"] if w["wave"] == reminder)
    objected = _object_four_ways(tmp, capsys, db, rows, print_dir)

    out = json.loads(run(capsys, db, "produce", name, "--wave", reminder, "--out", tmp / "p2", "--jobs", "1",
                         "--json"))
    assert out["taken_out"] == 4
    manifest = _manifest(tmp / "p2", reminder)
    assert not {r["customer_id"] for r in manifest} & set(objected), "the objectors are not in the manifest"
    assert len(manifest) == before["pieces"] - 4 == out["pieces"]
    assert [int(r["seq"]) for r in manifest] == list(range(1, len(manifest) + 1)), "print order without gaps"
    ticket = json.loads(next((tmp / "p2").glob("*.json")).read_text(encoding="utf-8"))
    assert ticket["pieces"] == len(manifest) and sum(f["pieces"] for f in ticket["files"]) == len(manifest)
    pages = {f["file"]: f["pages"] for f in ticket["files"]}
    for f, n in pages.items():
        assert len(PdfReader(tmp / "p2" / f).pages) == n
    printed = _pdf_text(tmp / "p2")
    kept = [people[r["customer_id"]] for r in manifest]
    assert all(p["Straße"] in printed for p in kept[:5]), "the PDF text is readable"
    for cid in objected[:3]:  # the erased person's name is gone from the store; theirs are in the file
        p = people[cid]
        assert f"{p['Vorname']} {p['Nachname']}" not in printed and f"{p['Straße']} {p['Hausnummer']}" not in printed

    status = json.loads(run(capsys, db, "status", name, "--json"))
    wave = next(w for w in status["waves"] if w["wave"] == reminder)
    assert wave["status"] == "produced" and wave["pieces"] == wave["sent"] == len(manifest)
    assert wave["suppressed"] == before["suppressed"] + 4
    store = Store.open(db)
    with store.connect() as conn:
        (detail,) = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "wave.take-out")).scalars()
    store.dispose()
    assert "4 piece(s) taken out before printing" in detail and "objection" in detail and "erased" in detail
    assert not any(people[c]["Nachname"] in detail or c in detail for c in objected)
    # the produced wave prints again byte for byte
    run(capsys, db, "produce", name, "--wave", reminder, "--reprint", "--out", tmp / "p3")
    for f in pages:
        assert (tmp / "p3" / f).read_bytes() == (tmp / "p2" / f).read_bytes()


def test_objection_after_planning_is_not_printed(tmp_path: Path, capsys) -> None:
    """Finding: an objection between planning and `produce` did not take the person out of the wave."""
    _objection_after_planning_is_not_printed(tmp_path, capsys, str(tmp_path / "m.db"))


@pytest.mark.skipif(not PG_URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")
def test_objection_after_planning_is_not_printed_on_postgresql(tmp_path: Path, capsys) -> None:
    assert PG_URL
    _objection_after_planning_is_not_printed(tmp_path, capsys, own_schema(PG_URL, "late_objections"))


def test_wave_emptied_by_objections_is_removed_not_printed(tmp_path: Path, capsys) -> None:
    """A planned wave whose every recipient objected since: nothing printed, the wave removed, exit 1."""
    db = str(tmp_path / "m.db")
    name, rows, print_dir, _ = _setup(tmp_path, capsys, db)
    coupon_scan(print_dir, rows[0], [0], tmp_path / "info.png", random.Random(4))  # info → info-pack wave
    scan_json(capsys, db, tmp_path / "info.png", "--received-on", (DROP + timedelta(days=3)).isoformat())
    result = json.loads(run(capsys, db, "followup", name, "--as-of", (DROP + timedelta(days=5)).isoformat(),
                            "--out", tmp_path / "nf", "--json"))
    info = next(r["wave"] for r in result["rules"] if r["rule"] == "info-pack")
    run(capsys, db, "respond", rows[0]["code"], "--channel", "phone", "optout=yes")
    capsys.readouterr()
    assert main(["--db", db, "produce", name, "--wave", str(info), "--out", str(tmp_path / "p2")]) == 1
    err = capsys.readouterr().err
    assert "nothing to print" in err and len(err.strip().splitlines()) == 1
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert info not in [w["wave"] for w in status["waves"]]
    assert not list((tmp_path / "p2").glob("*.pdf"))


def test_objection_after_production_goes_on_the_pull_list(tmp_path: Path, capsys) -> None:
    """Finding: a wave produced but not posted yet (the lettershop has the letters) silently mailed whoever
    objected after production. Now the pull list names the sheet; confirmed, the piece is not sent."""
    db = str(tmp_path / "m.db")
    name, rows, _, _ = _setup(tmp_path, capsys, db)
    reminder = _plan_reminder(tmp_path, capsys, db, name)
    drop = date.today() + timedelta(days=3)
    run(capsys, db, "produce", name, "--wave", reminder, "--out", tmp_path / "p2", "--jobs", "1",
        "--drop-date", drop.isoformat())
    manifest = {r["customer_id"]: r for r in _manifest(tmp_path / "p2", reminder)}
    target = rows[5]
    assert target["customer_id"] in manifest
    run(capsys, db, "respond", target["code"], "--channel", "phone", "optout=yes")

    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["to_pull"] == 1
    assert next(w for w in status["waves"] if w["wave"] == reminder)["to_pull"] == 1
    listed = json.loads(run(capsys, db, "pull-list", name, "--wave", reminder, "--out", tmp_path / "pull.csv",
                            "--json"))
    (piece,) = listed["pieces"]
    row = manifest[target["customer_id"]]
    assert (piece["file"], piece["page"], piece["seq"], piece["code"]) == (
        row["file"], int(row["page"]), int(row["seq"]), row["code"])
    written = (tmp_path / "pull.csv").read_text(encoding="utf-8")
    assert row["code"] in written and target["customer_id"] not in written  # no more than the sheet needs
    # wave 1 was posted long ago: nothing to pull there
    capsys.readouterr()
    assert main(["--db", db, "pull-list", name, "--wave", "1"]) == 1
    assert "posted" in capsys.readouterr().err

    done = json.loads(run(capsys, db, "pull-list", name, "--confirm", tmp_path / "pull.csv", "--json"))
    assert done["confirmed"] == 1 and done["to_pull"] == 0
    after = json.loads(run(capsys, db, "status", name, "--json"))
    wave = next(w for w in after["waves"] if w["wave"] == reminder)
    assert wave["pulled"] == 1 and wave["to_pull"] == 0 and after["to_pull"] == 0
    assert wave["sent"] == len(manifest) - 1 and after["pulled"] == 1
    from openpyxl import load_workbook  # the report's Übersicht says so too

    run(capsys, db, "report", name, "--out", tmp_path / "bericht.xlsx")
    sheet = load_workbook(tmp_path / "bericht.xlsx", read_only=True).worksheets[0]
    overview = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if len(r) > 1 and r[0]}
    assert overview.get("Gedruckt, aber ausgesteuert (nicht versendet)") == 1
    again = json.loads(run(capsys, db, "pull-list", name, "--confirm", tmp_path / "pull.csv", "--json"))
    assert again["confirmed"] == 0 and again["not_pending"] == [row["code"]]
    # the reprint of the wave is still the package the lettershop has
    run(capsys, db, "produce", name, "--wave", reminder, "--reprint", "--out", tmp_path / "p3")
    for pdf in (tmp_path / "p2").glob("*welle*.pdf"):
        assert (tmp_path / "p3" / pdf.name).read_bytes() == pdf.read_bytes()


def test_a_wave_is_recorded_as_posted_only_once_its_pull_list_is_worked_through(tmp_path: Path, capsys) -> None:
    """Finding: nothing marked a wave dropped (handed to the post), so a wave counted as at the lettershop
    until its drop date passed, and letters of objectors could be posted without anyone deciding so."""
    db = str(tmp_path / "m.db")
    name, rows, _, _ = _setup(tmp_path, capsys, db)
    reminder = _plan_reminder(tmp_path, capsys, db, name)
    capsys.readouterr()
    assert main(["--db", db, "posted", name, "--wave", str(reminder)]) == 1  # planned: nothing printed to post
    assert "not produced yet" in capsys.readouterr().err
    run(capsys, db, "produce", name, "--wave", reminder, "--out", tmp_path / "p2", "--jobs", "1",
        "--drop-date", (date.today() + timedelta(days=3)).isoformat())
    manifest = _manifest(tmp_path / "p2", reminder)
    objector = next(r for r in rows if r["customer_id"] in {m["customer_id"] for m in manifest})
    run(capsys, db, "respond", objector["code"], "--channel", "phone", "optout=yes")

    capsys.readouterr()
    assert main(["--db", db, "posted", name, "--wave", str(reminder)]) == 1
    err = capsys.readouterr().err
    assert "1 letter(s)" in err and "pull-list" in err and len(err.strip().splitlines()) == 1
    posted = json.loads(run(capsys, db, "posted", name, "--wave", reminder, "--with-pending", "--json"))
    assert posted == {"campaign": name, "wave": int(reminder), "sent": len(manifest), "pending": 1}

    status = json.loads(run(capsys, db, "status", name, "--json"))
    wave = next(w for w in status["waves"] if w["wave"] == int(reminder))
    assert wave["status"] == "dropped" and wave["sent"] == len(manifest) and wave["to_pull"] == 0
    assert status["to_pull"] == 0
    capsys.readouterr()
    assert main(["--db", db, "pull-list", name, "--wave", str(reminder)]) == 1  # posted: past pulling
    assert "posted" in capsys.readouterr().err
    assert main(["--db", db, "posted", name, "--wave", str(reminder)]) == 1
    assert "already recorded as posted" in capsys.readouterr().err
    with Store.open(db).begin() as conn:
        line = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "wave.posted")).scalar_one()
    assert "1 of objectors posted anyway" in line and objector["customer_id"] not in line


class ObjectingPool(ThreadPoolExecutor):
    """A real thread pool; while the first batch is rendered, its first recipient objects (a separate
    transaction, as another station would write it)."""

    def __init__(self, store: Store, campaign_id: int) -> None:
        super().__init__(max_workers=1)
        self.store, self.campaign_id, self.objected = store, campaign_id, ""
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        if not self.objected:
            self.objected = args[1][0]["customer_id"]
            with self.store.begin() as conn:
                add_entry(conn, "objection", "import", "telefon", campaign_id=self.campaign_id,
                          customer_id=self.objected)
        return super().submit(fn, *args, **kwargs)


def test_objection_while_the_wave_is_rendered_is_not_printed(store: Store, campaign_file: Path,
                                                             tmp_path: Path) -> None:
    """Finding: the suppression list was read only at planning; an objection recorded while the batches were
    rendered reached the print file. The transaction that marks the wave produced looks again."""
    text_ = campaign_file.read_text(encoding="utf-8").replace("batch_size = 5000", "batch_size = 3")
    campaign_file.write_text(text_, encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    add_recipients(store, c.name, 12)
    with store.connect() as conn:
        cid = conn.execute(select(campaigns.c.id).where(campaigns.c.name == c.name)).scalar_one()
    with ObjectingPool(store, cid) as pool:
        result = produce(store, c.name, tmp_path / "druck", jobs=1, executor=pool)
    assert result.taken_out == 1 and pool.objected
    with (tmp_path / "druck" / Path(result.manifest).name).open(encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    assert pool.objected not in {r["customer_id"] for r in manifest}
    assert [int(r["seq"]) for r in manifest] == list(range(1, len(manifest) + 1))
    assert len(manifest) == result.pieces
    assert pool.submitted > len(result.files), "the batches were rendered again"
    ticket = json.loads(Path(result.job_ticket).read_text(encoding="utf-8"))
    pdfs = {p.name for p in (tmp_path / "druck").glob("*.pdf")} - {Path(result.docket).name}
    assert pdfs == {f["file"] for f in ticket["files"]}, "no stale batch file of the first rendering"
    for f in ticket["files"]:
        assert len(PdfReader(tmp_path / "druck" / f["file"]).pages) == f["pages"]
        assert pool.objected not in "".join(p.extract_text() or "" for p in PdfReader(tmp_path / "druck" / f["file"]).pages)
