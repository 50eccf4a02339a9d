"""Follow-up rules on a store filled directly (fast): idempotent opt-outs, no empty follow-up wave."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from recipients_helper import add_recipients
from sqlalchemy import func, insert, select

from mailing.campaigns import register_campaign
from mailing.followup import run_followups
from mailing.production import produce
from mailing.status import campaign_status
from mailing.store import (
    Store,
    followups,
    pieces,
    recipients,
    response_options,
    responses,
    suppression,
    waves,
)
from mailing.suppression import add_entry


@pytest.fixture
def produced(store: Store, campaign_file: Path, tmp_path: Path) -> str:
    c, _ = register_campaign(store, campaign_file)
    add_recipients(store, c.name, 12)
    produce(store, c.name, tmp_path / "druck", drop_date=date(2026, 3, 2))
    return c.name


def _answer(store: Store, piece_id: int, **ticks: bool) -> int:
    with store.begin() as conn:
        rid = int(conn.execute(insert(responses).values(piece_id=piece_id, received_on=date(2026, 3, 6),
                                                        source="scan")).inserted_primary_key[0])
        for key, value in ticks.items():
            conn.execute(insert(response_options).values(response_id=rid, key=key, ticked=value))
    return rid


def _piece_ids(store: Store) -> list[int]:
    with store.connect() as conn:
        return [r[0] for r in conn.execute(select(pieces.c.id).order_by(pieces.c.id))]


def _entries(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(suppression)).scalar_one())


def test_optout_already_suppressed_at_scan_time_gets_no_second_entry(store: Store, produced: str) -> None:
    first, second = _piece_ids(store)[:2]
    _answer(store, first, optout=True)
    _answer(store, second, optout=True)
    with store.begin() as conn:  # what the scan now does at once for the first one (another reason wording)
        row = conn.execute(select(recipients).join(pieces, pieces.c.recipient_id == recipients.c.id)
                           .where(pieces.c.id == first)).mappings().one()
        add_entry(conn, "objection", "review", "scan 1", recipient_row=row)
    assert _entries(store) == 1
    result = run_followups(store, produced, as_of=date(2026, 3, 10))
    optout = next(r for r in result.rules if r.action == "suppress")
    assert (optout.count, optout.skipped) == (1, 1)
    assert _entries(store) == 2
    run_followups(store, produced, as_of=date(2026, 3, 10))
    assert _entries(store) == 2, "running the rules again adds nothing"
    with store.connect() as conn:
        assert int(conn.execute(select(func.count()).select_from(followups)
                                .where(followups.c.action == "suppress")).scalar_one()) == 2


def test_letter_rule_whose_people_are_all_suppressed_since_plans_no_empty_wave(store: Store, produced: str) -> None:
    piece = _piece_ids(store)[0]
    _answer(store, piece, info=True)
    with store.begin() as conn:
        row = conn.execute(select(recipients).join(pieces, pieces.c.recipient_id == recipients.c.id)
                           .where(pieces.c.id == piece)).mappings().one()
        add_entry(conn, "objection", "import", "telefon.csv", recipient_row=row)
    result = run_followups(store, produced, as_of=date(2026, 3, 10))
    info = next(r for r in result.rules if r.rule == "info-pack")
    assert info.wave is None and info.skipped == 1
    with store.connect() as conn:
        assert [r[0] for r in conn.execute(select(waves.c.number))] == [1]
    assert [w["wave"] for w in campaign_status(store, produced)["waves"]] == [1]
