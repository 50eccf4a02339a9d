"""One place for the figures: status, report and demo count sent, responses, rates and costs the same way."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from recipients_helper import add_recipients
from sqlalchemy import insert, select

from mailing.campaigns import load, register_campaign
from mailing.cli import main
from mailing.figures import channel_of, collect
from mailing.production import produce
from mailing.status import campaign_status
from mailing.store import Store, pieces, response_options, responses, waves
from mailing.waves import plan_wave
from reports.response import write_response_report

PER_PIECE = 0.12 + 0.38 + 0.05  # the example campaign's [costs]


@pytest.fixture
def fifty(store: Store, campaign_file: Path) -> str:
    text = campaign_file.read_text(encoding="utf-8").replace("control_share = 0 ", "control_share = 10")
    campaign_file.write_text(text, encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    add_recipients(store, c.name, 56)
    return c.name


def _plan_follow_up(store: Store, name: str, n: int) -> int:
    with store.begin() as conn:
        cid, c = load(conn, name)
        ids = [r[0] for r in conn.execute(
            select(pieces.c.recipient_id).where(pieces.c.control.is_(False)).order_by(pieces.c.id).limit(n))]
        wave_id = plan_wave(conn, cid, c, kind="letter:infopack", recipient_ids=ids, letter="infopack",
                            rule="info-pack")
        return int(conn.execute(select(waves.c.number).where(waves.c.id == wave_id)).scalar_one())


def _respond(store: Store, codes_sources: list[tuple[int, str]], ticked: str | None = None) -> None:
    with store.begin() as conn:
        for piece_id, source in codes_sources:
            rid = conn.execute(insert(responses).values(piece_id=piece_id, received_on=date(2026, 3, 9),
                                                        source=source)).inserted_primary_key[0]
            if ticked:
                conn.execute(insert(response_options).values(response_id=rid, key=ticked, ticked=True))


def test_planned_follow_up_wave_never_produced_is_not_counted_as_sent_nor_paid(store: Store, fifty: str,
                                                                              tmp_path: Path) -> None:
    res = produce(store, fifty, tmp_path / "druck")
    assert res.pieces == 50 and res.control == 6
    number = _plan_follow_up(store, fifty, 3)
    st = campaign_status(store, fifty)
    assert st["sent"] == 50 and st["pieces"] == 53 and st["planned"] == 3 and st["control"] == 6
    assert st["cost"] == pytest.approx(50 * PER_PIECE)
    assert st["waves"][1]["cost"] is None
    assert [(w["wave"], w["status"], w["pieces"], w["sent"]) for w in st["waves"]] == [
        (1, "produced", 50, 50), (number, "planned", 3, 0)]
    summary = write_response_report(store, fifty, tmp_path / "bericht.xlsx")
    assert summary.pieces_sent == 50
    kv = {r[0]: r[1] for r in load_workbook(tmp_path / "bericht.xlsx")["Übersicht"].iter_rows(values_only=True)
          if r and isinstance(r[0], str)}
    assert kv["Versendete Sendungen"] == 50 and kv["Geplant, noch nicht gedruckt (nicht versendet)"] == 3
    assert kv["Kosten gesamt (Druck, Porto, Beilagen)"] == pytest.approx(50 * PER_PIECE)
    assert kv["Welle 2 (geplant)"] == "Folgebrief (infopack)"
    produce(store, fifty, tmp_path / "druck2")
    assert campaign_status(store, fifty)["sent"] == 53


def test_status_json_has_the_contract_fields_and_text_output_says_planned(
        store: Store, fifty: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    produce(store, fifty, tmp_path / "druck")
    _plan_follow_up(store, fifty, 3)
    db = store.url.removeprefix("sqlite:///")
    assert main(["--db", db, "status", fifty, "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    for key in ("campaign", "recipients", "suppressed", "pieces", "sent", "responses", "duplicates",
                "undeliverable", "review_open", "options", "waves"):
        assert key in st
    assert all({"wave", "kind", "pieces", "status"} <= set(w) for w in st["waves"])
    assert main(["--db", db, "status", fifty]) == 0
    text = capsys.readouterr().out
    assert "planned, not sent" in text and "of 50 sent" in text


def test_responses_by_channel_rates_and_costs_are_the_same_in_status_and_report(store: Store, fifty: str,
                                                                               tmp_path: Path) -> None:
    produce(store, fifty, tmp_path / "druck")
    with store.connect() as conn:
        sent_ids = [r[0] for r in conn.execute(
            select(pieces.c.id).where(pieces.c.control.is_(False)).order_by(pieces.c.id))]
        control_ids = [r[0] for r in conn.execute(select(pieces.c.id).where(pieces.c.control.is_(True)))]
    _respond(store, [(sent_ids[0], "scan"), (sent_ids[1], "scan"), (sent_ids[2], "review")], ticked="info")
    _respond(store, [(sent_ids[3], "phone"), (sent_ids[4], "online")])
    _respond(store, [(control_ids[0], "scan")], ticked="info")  # a control piece: not a response to a letter
    st = campaign_status(store, fifty)
    assert st["responses"] == 5 and st["responses_by_channel"] == {"paper": 3, "online": 1, "phone": 1}
    assert st["options"]["info"] == 3 and st["response_rate"] == pytest.approx(5 / 50)
    assert st["cost_per_response"] == pytest.approx(50 * PER_PIECE / 5, abs=0.01)
    summary = write_response_report(store, fifty, tmp_path / "bericht.xlsx")
    assert (summary.pieces_sent, summary.responses, summary.control_pieces) == (st["sent"], st["responses"], 6)
    assert summary.response_rate == pytest.approx(st["response_rate"])
    assert summary.cost_per_response == pytest.approx(st["cost_per_response"], abs=0.01)
    with store.connect() as conn:
        cid, c = load(conn, fifty)
        f = collect(conn, cid, c)
    assert f.sent.pieces == 50 and f.waves[0].control.responses == 1


def test_channel_of_response_sources() -> None:
    assert [channel_of(s) for s in ("scan", "review", "online", "phone")] == ["paper", "paper", "online", "phone"]
