"""produce end to end: package contents, equal page counts, resume after a kill, preflight catching damage."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from recipients_helper import add_recipients
from sqlalchemy import select, update

from mailing.campaigns import register_campaign
from mailing.cli import main
from mailing.package import manifest_csv_name
from mailing.preflight import preflight
from mailing.production import produce
from mailing.store import Store, pieces, recipients


@pytest.fixture
def small(store: Store, campaign_file: Path) -> str:
    text = campaign_file.read_text(encoding="utf-8").replace("batch_size = 5000", "batch_size = 7")
    campaign_file.write_text(text, encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    add_recipients(store, c.name, 24)
    return c.name


MANIFEST_CSV = manifest_csv_name(1)


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / MANIFEST_CSV).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_package(store: Store, small: str, tmp_path: Path) -> None:
    out = tmp_path / "druck"
    res = produce(store, small, out)
    assert res.wave == 1 and res.pieces == 24 and len(res.files) == 4 and res.rendered == 4
    rows = manifest(out)
    assert list(rows[0])[:7] == ["file", "page", "code", "customer_id", "postal_code", "country", "wave"]
    assert {"variant", "leitregion", "batch", "seq"} <= set(rows[0])
    assert [r["postal_code"] for r in rows] == sorted(r["postal_code"] for r in rows)
    for f in res.files:
        n = len(PdfReader(f).pages)
        mine = [r for r in rows if r["file"] == Path(f).name]
        assert n == len(mine) and [int(r["page"]) for r in mine] == list(range(1, n + 1))
        assert "Müller" not in Path(f).name
    ticket = json.loads((out / "welle-01-auftrag.json").read_text(encoding="utf-8"))
    assert ticket["pieces"] == 24 and ticket["pages_per_piece"] == 1 and len(ticket["files"]) == 4
    assert sum(ticket["leitregions"].values()) == 24 and all(len(f["sha256"]) == 64 for f in ticket["files"])
    assert "Leitregion" in (out / "welle-01-auftrag.txt").read_text(encoding="utf-8")
    ws = load_workbook(out / "welle-01-manifest.xlsx").active
    assert ws["C2"].value == rows[0]["code"] and ws["C2"].data_type == "s"
    assert preflight(out) == []
    assert not list(out.glob("*.part")) and not list(out.glob(".*"))


def test_formula_like_customer_id_stays_text(store: Store, small: str, tmp_path: Path) -> None:
    with store.begin() as conn:
        conn.execute(update(recipients).values(customer_id="=1+2"))
    produce(store, small, tmp_path / "o")
    ws = load_workbook(tmp_path / "o" / "welle-01-manifest.xlsx").active
    assert ws["D2"].value == "=1+2" and ws["D2"].data_type == "s"


def test_killed_run_resumes_without_rendering_twice_or_changing_codes(store: Store, small: str,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "druck"
    calls: list[tuple[int, int]] = []

    def kill_after_two(done: int, total: int) -> None:
        calls.append((done, total))
        if done >= 14:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        produce(store, small, out, progress=kill_after_two)
    with store.connect() as conn:
        codes_before = dict(conn.execute(select(pieces.c.recipient_id, pieces.c.code)).all())
    assert len(list(out.glob("*.pdf"))) == 2 and not (out / MANIFEST_CSV).exists()
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")}
    res = produce(store, small, out)
    assert res.rendered == 2 and res.reused == 2
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf") if p.name in first} == first
    with store.connect() as conn:
        assert dict(conn.execute(select(pieces.c.recipient_id, pieces.c.code)).all()) == codes_before
    rows = manifest(out)
    assert len(rows) == 24 and len({r["code"] for r in rows}) == 24
    assert {r["code"] for r in rows} == set(codes_before.values())
    assert preflight(out) == []


def test_preflight_catches_a_corrupted_file_and_a_wrong_manifest_line(store: Store, small: str,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "druck"
    produce(store, small, out)
    rows = manifest(out)
    rows[3]["code"], rows[4]["code"] = rows[4]["code"], rows[3]["code"]
    with (out / MANIFEST_CSV).open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    damaged = out / "welle-01-teil-002.pdf"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 400] = b"\x00" * 400
    damaged.write_bytes(bytes(data))
    problems = preflight(out)
    text = "\n".join(problems)
    assert "welle-01-manifest.csv: SHA-256 differs" in text
    assert "welle-01-teil-001.pdf, page 4: QR code reads" in text
    assert "welle-01-teil-002.pdf" in text
    assert main(["--db", store.url.removeprefix("sqlite:///"), "preflight", str(out)]) == 1


def test_cli_produce_layout_and_follow_up_wave(store: Store, small: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = store.url.removeprefix("sqlite:///")
    assert main(["--db", db, "produce", small, "--out", str(tmp_path / "w1"), "--jobs", "2",
                 "--drop-date", "2026-03-02"]) == 0
    assert main(["--db", db, "layout", small, "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out.strip().splitlines()[-1])
    assert data["qr"]["page"] == 1 and [c["key"] for c in data["checkboxes"]] == ["info", "call", "optout"]
    assert main(["--db", db, "preflight", str(tmp_path / "w1")]) == 0
    # a follow-up letter wave planned by the lead's follow-up code, then produced
    from mailing.campaigns import load
    from mailing.waves import plan_wave

    with store.begin() as conn:
        cid, c = load(conn, small)
        ids = [r[0] for r in conn.execute(select(recipients.c.id).limit(5))]
        plan_wave(conn, cid, c, kind="letter:infopack", recipient_ids=ids, letter="infopack", rule="info-pack")
    res = produce(store, small, tmp_path / "w2")
    assert res.wave == 2 and res.pieces == 5
    assert "Informationsmaterial" in PdfReader(res.files[0]).pages[0].extract_text()
    assert preflight(tmp_path / "w2") == []
    assert main(["--db", db, "produce", "nope", "--out", str(tmp_path / "x")]) == 1
