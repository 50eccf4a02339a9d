"""Event invitations (issue 14): a number of persons (boxes 1-4) and a date choice on the coupon, read from
real scans into the RSVP list, `status` and the report."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import openpyxl
import pytest

from layouts import geometry as g
from mailing.cli import main
from mailing.config import parse_campaign
from mailing.errors import ConfigError
from tests.mailing.cycle import DROP, coupon_scan, run, scan_json

EVENT_OPTIONS = '''[[coupon.option]]
key = "persons"
label = "Wir kommen mit Personen:"
count = 4

[[coupon.option]]
key = "termin"
label = "am Termin:"
choices = ["12.09.", "13.09."]
'''


def _event_campaign(tmp: Path, capsys, db: Path | str | None = None) -> tuple[Path | str, str, list[dict[str, str]]]:
    db = db or tmp / "m.db"
    run(capsys, db, "init", tmp / "c")
    toml = tmp / "c" / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    call_option = '[[coupon.option]]\nkey = "call"\nlabel = "Bitte rufen Sie mich an."\n'
    call_rule = '[[followup]]\nid = "call-list"\nwhen = "ticked"\noption = "call"\naction = "call"\n'
    assert call_option in text and call_rule in text
    info_pack_options = 'options = ["call", "optout"]'  # the info pack's coupon: no "call" here any more
    assert info_pack_options in text
    toml.write_text(text.replace(call_option, EVENT_OPTIONS).replace(call_rule, "")
                    .replace(info_pack_options, 'options = ["optout"]'), encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    name = "fruehjahr-2026"
    run(capsys, db, "import", name, tmp / "c" / "recipients.csv")
    run(capsys, db, "produce", name, "--out", tmp / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    with next((tmp / "print").rglob("*manifest*.csv")).open(encoding="utf-8-sig") as fh:
        return db, name, list(csv.DictReader(fh))


def test_rsvp_list_sums_the_persons_ticked_on_real_scans(tmp_path: Path, capsys) -> None:
    check_rsvp_list_sums_the_persons_ticked(tmp_path, capsys)


def check_rsvp_list_sums_the_persons_ticked(tmp_path: Path, capsys, db: str | None = None) -> None:
    db, name, rows = _event_campaign(tmp_path, capsys, db)
    layout = json.loads(run(capsys, db, "layout", name, "--json"))
    boxes = {b["key"]: b for b in layout["checkboxes"]}
    assert list(boxes) == ["info", "persons_1", "persons_2", "persons_3", "persons_4", "termin_1", "termin_2",
                           "optout"]
    keep_clear = layout["qr_keep_clear"]
    for b in boxes.values():  # every box left of the QR's keep-clear frame, none overlapping another
        assert b["x_mm"] + b["width_mm"] < keep_clear["x_mm"]
    placed = [g.Box(b["x_mm"], b["y_mm"], b["width_mm"], b["height_mm"]) for b in boxes.values()]
    assert not any(a.intersects(b) for i, a in enumerate(placed) for b in placed[i + 1:])

    slots = {"persons": lambda n: g.grid_slot(1, n - 1), "termin": lambda n: g.grid_slot(2, n - 1)}
    ticks = [  # (persons boxes, date boxes)
        ([3], [1]),
        ([2], [2]),
        ([1, 4], [1]),  # corrected by ticking a second number: the highest counts
        ([], []),  # ticks info only: not an event reply
    ]
    rng = random.Random(14)
    scans = []
    for i, (persons, dates) in enumerate(ticks):
        boxes_to_tick = [slots["persons"](n) for n in persons] + [slots["termin"](n) for n in dates]
        if not boxes_to_tick:
            boxes_to_tick = [0]
        scans.append(coupon_scan(tmp_path / "print", rows[i], boxes_to_tick, tmp_path / f"s{i}.png", rng))
    results = scan_json(capsys, db, *scans)
    assert [r["status"] for r in results] == ["matched"] * 4
    assert results[0]["options"]["persons_3"] is True and results[0]["options"]["termin_1"] is True
    assert results[0]["options"]["persons_2"] is False

    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["rsvp"] == {"replies": 3, "persons": 9, "by_choice": {"12.09.": 7, "13.09.": 2}, "in_review": 0}

    out = run(capsys, db, "rsvp", name, "--out", tmp_path / "liste" / "anmeldungen.xlsx")
    assert "3 replies, 9 person(s) (12.09.: 7, 13.09.: 2)" in out
    with (tmp_path / "liste" / "anmeldungen.csv").open(encoding="utf-8-sig") as fh:
        listed = list(csv.DictReader(fh, delimiter=";"))
    assert sum(int(r["Personen"]) for r in listed) == 9
    assert {r["Kundennummer"]: r["Personen"] for r in listed} == {
        rows[0]["customer_id"]: "3", rows[1]["customer_id"]: "2", rows[2]["customer_id"]: "4"}
    assert "mehrere Zahlen" in next(r["Hinweis"] for r in listed if r["Personen"] == "4")
    ws = openpyxl.load_workbook(tmp_path / "liste" / "anmeldungen.xlsx")["Anmeldungen"]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert ["Personen gesamt", None, None, 9] in [row[:4] for row in cells]

    run(capsys, db, "report", name, "--out", tmp_path / "bericht.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "bericht.xlsx")["Anmeldungen"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert ["Personen am 12.09.", None, None, 7] in [row[:4] for row in values]


def test_rsvp_csv_is_formula_safe(tmp_path: Path) -> None:
    from datetime import date

    from mailing.rsvp import Rsvp, RsvpRow
    from reports.rsvp import write_rsvp_list

    row = RsvpRow(date(2026, 3, 5), 1, "7K3M9QXP2W4X", "=1+1", "female", None, "@Anna", "=HYPERLINK(\"x\")",
                  None, "10115", "Berlin", None, "+49 30 123", 2, ("12.09.",), "")
    write_rsvp_list(Rsvp(rows=[row], persons=2), tmp_path / "a.xlsx", tmp_path / "a.csv")
    text = (tmp_path / "a.csv").read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and "'Frau @Anna =HYPERLINK" not in text and "+49 30 123" in text
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx")["Anmeldungen"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_rsvp_without_event_options_is_refused(tmp_path: Path, capsys) -> None:
    db = tmp_path / "m.db"
    run(capsys, db, "init", tmp_path / "c")
    run(capsys, db, "campaign", "add", tmp_path / "c" / "campaign.toml")
    capsys.readouterr()
    assert main(["--db", str(db), "rsvp", "fruehjahr-2026", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "no counted option" in capsys.readouterr().err


@pytest.mark.parametrize("option, message", [
    ('count = 9', "out of range"),
    ('choices = ["12.09."]', "2 to 4 choices"),
    ('count = 2\nchoices = ["a", "b"]', "either count"),
])
def test_event_option_mistakes_are_named(option: str, message: str) -> None:
    from mailing.config import example_campaign_path

    text = example_campaign_path().read_text(encoding="utf-8").replace(
        'key = "info"\n', f'key = "info"\n{option}\n', 1)
    with pytest.raises(ConfigError, match=message):
        parse_campaign(text)


def test_phone_answer_takes_the_persons_box_keys(tmp_path: Path, capsys) -> None:
    # an online or phone answer chooses among the same boxes as the paper coupon (persons_1 .. persons_4)
    db, name, rows = _event_campaign(tmp_path, capsys)
    run(capsys, db, "respond", rows[0]["code"], "--channel", "phone", "persons_2=yes", "termin_2=yes")
    status = json.loads(run(capsys, db, "status", name, "--json"))
    assert status["rsvp"]["persons"] == 2 and status["rsvp"]["by_choice"] == {"12.09.": 0, "13.09.": 2}
