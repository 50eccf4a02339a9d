"""Segments (issue 14): extra columns kept per recipient, the report's "Segmente" sheet."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from mailing.figures import Group
from mailing.segments import band
from mailing.store import Store, pieces, recipient_segments, recipients, responses, waves
from reports.stats import wilson_interval
from tests.mailing.cycle import DROP, run

GROUPS = ("Gold", "Silber", "Bronze", "=HYPERLINK(1)")


def _campaign_with_segments(tmp: Path, capsys, db: Path | str | None = None
                            ) -> tuple[Path | str, str, list[dict[str, str]]]:
    db = db or tmp / "m.db"
    run(capsys, db, "init", tmp / "c")
    toml = tmp / "c" / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8")
                    + '\n[import]\nsegments = ["Kundengruppe", "Umsatz", "Letzter Kauf"]\n', encoding="utf-8")
    src = tmp / "c" / "recipients.csv"
    with src.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    rows[0] += ["Kundengruppe", "Umsatz", "Letzter Kauf"]
    for i, row in enumerate(rows[1:]):
        row += [GROUPS[i % len(GROUPS)] if i % 7 else "", f"{(i * 37) % 500},50",
                f"{1 + i % 28:02d}.{1 + i % 12:02d}.2025"]
    with src.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    run(capsys, db, "campaign", "add", toml)
    name = "fruehjahr-2026"
    run(capsys, db, "import", name, src)
    run(capsys, db, "produce", name, "--out", tmp / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    with next((tmp / "print").rglob("*manifest*.csv")).open(encoding="utf-8-sig") as fh:
        manifest = list(csv.DictReader(fh))
    return db, name, manifest


def test_segment_sheet_rates_match_the_store(tmp_path: Path, capsys) -> None:
    check_segment_sheet_rates_match_the_store(tmp_path, capsys)


def check_segment_sheet_rates_match_the_store(tmp_path: Path, capsys, db: str | None = None) -> None:
    db, name, manifest = _campaign_with_segments(tmp_path, capsys, db)
    rng = random.Random(5)
    for row in rng.sample(manifest, 14):
        run(capsys, db, "respond", row["code"], "--channel", "phone", "info=yes")
    out = tmp_path / "bericht.xlsx"
    run(capsys, db, "report", name, "--out", out)

    # the store, counted by hand: sent letters and responses per customer group
    store = Store.open(str(db))
    try:
        with store.connect() as conn:
            sent: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
            q = (select(recipient_segments.c.value, responses.c.id)
                 .select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id)
                              .join(recipient_segments, recipient_segments.c.recipient_id == pieces.c.recipient_id)
                              .outerjoin(responses, responses.c.piece_id == pieces.c.id))
                 .where(recipient_segments.c.key == "Kundengruppe", pieces.c.control.is_(False),
                        waves.c.status.in_(("produced", "dropped"))))
            for value, response in conn.execute(q):
                sent[value][0] += 1
                sent[value][1] += response is not None
            n_recipients = conn.execute(select(recipients.c.id)).all()
            n_segments = conn.execute(select(recipient_segments.c.key)).all()
    finally:
        store.dispose()
    assert len(n_segments) == 3 * len(n_recipients)
    total_pieces = sum(p for p, _ in sent.values())
    total_responses = sum(r for _, r in sent.values())
    assert total_responses == 14

    ws = openpyxl.load_workbook(out)["Segmente"]
    sheet = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    by_group = {r[1]: r for r in sheet if r[0] == "Kundengruppe"}
    assert set(by_group) == {*GROUPS, "(leer)"}
    for value, (n, resp) in sent.items():
        row = by_group[value or "(leer)"]
        assert row[2:5] == [n, resp, pytest.approx(resp / n)]
        ci = wilson_interval(resp, n)
        assert (row[5], row[6]) == (pytest.approx(ci.low), pytest.approx(ci.high))
        assert row[7] == pytest.approx((resp / n) / (total_responses / total_pieces))
    formula_row = next(i for i, r in enumerate(sheet, start=4) if r[1] == "=HYPERLINK(1)")
    assert ws.cell(row=formula_row, column=2).data_type == "s"  # stays text, never a formula
    for key in ("Umsatz", "Letzter Kauf"):
        bands = [r for r in sheet if r[0] == key]
        assert 2 <= len(bands) <= 4 and sum(r[2] for r in bands) == total_pieces
        assert sum(r[3] for r in bands) == total_responses


def test_missing_segment_column_refuses_the_import(tmp_path: Path, capsys) -> None:
    from mailing.cli import main

    db = tmp_path / "m.db"
    run(capsys, db, "init", tmp_path / "c")
    toml = tmp_path / "c" / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[import]\nsegments = ["Kundengruppe"]\n', encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    capsys.readouterr()
    assert main(["--db", str(db), "import", "fruehjahr-2026", str(tmp_path / "c" / "recipients.csv")]) == 1
    err = capsys.readouterr().err
    assert "Kundengruppe" in err and "row 1" in err and err.count("\n") == 1


def test_bands_keep_one_value_in_one_band_and_follow_quantiles() -> None:
    values = {str(v): Group(pieces=10, responses=v % 3) for v in range(1, 13)}
    rows = band(values, 4)
    assert [label for label, _, _ in rows] == ["1 – 3", "4 – 6", "7 – 9", "10 – 12"]
    assert sum(g.pieces for _, g, _ in rows) == 120
    few = band({"1": Group(pieces=5), "3": Group(pieces=5), "2": Group(pieces=5)}, 4)
    assert [label for label, _, _ in few] == ["1", "2", "3"]
    dates = band({"01.02.2025": Group(pieces=1), "2024-12-31": Group(pieces=1), "15.03.2025": Group(pieces=1),
                  "01.01.2023": Group(pieces=1), "01.06.2025": Group(pieces=1)}, 2)
    assert [label for label, _, _ in dates] == ["01.01.2023 – 01.02.2025", "15.03.2025 – 01.06.2025"]


def test_person_erase_removes_the_segment_values(tmp_path: Path, capsys) -> None:
    db, _, manifest = _campaign_with_segments(tmp_path, capsys)
    customer = next(r["customer_id"] for r in manifest if r["customer_id"])
    run(capsys, db, "person", "erase", "--customer-id", customer)
    store = Store.open(str(db))
    try:
        with store.connect() as conn:
            left = conn.execute(select(recipient_segments.c.key)
                                .join(recipients, recipients.c.id == recipient_segments.c.recipient_id)
                                .where(recipients.c.erased_at.is_not(None))).all()
            kept = conn.execute(select(recipient_segments.c.key)).all()
    finally:
        store.dispose()
    assert left == [] and kept


def test_person_export_names_the_segment_values(tmp_path: Path, capsys) -> None:
    import json

    db, _, manifest = _campaign_with_segments(tmp_path, capsys)
    customer = next(r["customer_id"] for r in manifest if r["customer_id"])
    run(capsys, db, "person", "export", "--customer-id", customer, "--out", tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    text = json.dumps(doc, ensure_ascii=False)
    assert '"segments": {' in text and "Kundengruppe" in text and "Letzter Kauf" in text
