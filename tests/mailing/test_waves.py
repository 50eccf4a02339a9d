"""Wave planning: suppression first, codes unique, variants by share (seeded), control group, print order."""

from __future__ import annotations

import dataclasses
from collections import Counter

from recipients_helper import add_recipients
from sqlalchemy import select, update

from mailing.campaigns import load
from mailing.codes import is_valid
from mailing.config import Production
from mailing.store import Store, pieces, recipients, wave_suppressions, waves
from mailing.suppression import add_entry
from mailing.waves import leitregion, plan_wave, quotas


def _plan(store: Store, name: str, **kw):  # type: ignore[no-untyped-def]
    with store.begin() as conn:
        cid, c = load(conn, name)
        c = kw.pop("campaign", c)
        wid = plan_wave(conn, cid, c, **kw)
        rows = conn.execute(select(pieces).where(pieces.c.wave_id == wid).order_by(pieces.c.seq)).all()
        wave = conn.execute(select(waves).where(waves.c.id == wid)).one()
    return wave, rows


def test_suppression_inactive_and_undeliverable_are_left_out(store: Store, campaign) -> None:  # type: ignore[no-untyped-def]
    ids = add_recipients(store, campaign.name, 30)
    with store.begin() as conn:
        row = conn.execute(select(recipients).where(recipients.c.id == ids[0])).mappings().one()
        entry = add_entry(conn, "objection", "import", "optout.csv", customer_id=row["customer_id"])
        conn.execute(update(recipients).where(recipients.c.id == ids[1]).values(active=False))
    wave, rows = _plan(store, campaign.name)
    got = {r.recipient_id for r in rows}
    assert ids[0] not in got and ids[1] not in got and len(rows) == 28
    assert wave.number == 1 and wave.suppressed == 1 and wave.suppression_max_id >= entry
    with store.connect() as conn:
        ws = conn.execute(select(wave_suppressions).where(wave_suppressions.c.wave_id == wave.id)).all()
    assert [(w.recipient_id, w.suppression_id) for w in ws] == [(ids[0], entry)]
    # undeliverable in wave 1 → not in wave 2
    with store.begin() as conn:
        conn.execute(update(pieces).where(pieces.c.recipient_id == ids[2]).values(undeliverable=True))
    wave2, rows2 = _plan(store, campaign.name, kind="reminder", letter="reminder", rule="reminder",
                         recipient_ids=ids[:10])
    assert wave2.number == 2 and wave2.letter == "reminder"
    assert {r.recipient_id for r in rows2} == set(ids[3:10])
    codes = [r.code for r in rows + rows2]
    assert len(set(codes)) == len(codes) and all(is_valid(c) for c in codes)


def test_variants_by_share_reproducible_and_sorted_by_postal_code(tmp_path, campaign_file) -> None:  # type: ignore[no-untyped-def]
    from mailing.campaigns import register_campaign

    results = []
    for run in range(2):
        s = Store.open(str(tmp_path / f"r{run}.db"))
        c, _ = register_campaign(s, campaign_file)
        add_recipients(s, c.name, 101)
        _, rows = _plan(s, c.name)
        with s.connect() as conn:
            plz = dict(conn.execute(select(recipients.c.id, recipients.c.postal_code)).all())
        s.dispose()
        results.append({r.recipient_id: r.variant for r in rows})
        assert [plz[r.recipient_id] for r in rows] == sorted(plz[r.recipient_id] for r in rows)
        assert [r.seq for r in rows] == list(range(1, 102))
    assert results[0] == results[1]
    assert sorted(Counter(results[0].values()).values()) == [50, 51]


def test_control_group(store: Store, campaign) -> None:  # type: ignore[no-untyped-def]
    add_recipients(store, campaign.name, 200)
    c = dataclasses.replace(campaign, production=Production(control_share=10.0, seed=7))
    _, rows = _plan(store, campaign.name, campaign=c)
    assert sum(r.control for r in rows) == 20 and len(rows) == 200


def test_quotas_and_leitregion() -> None:
    assert quotas(10, [50, 50]) == [5, 5] and sum(quotas(7, [1, 1, 1])) == 7
    assert leitregion("50667") == "50" and leitregion("1010", "AT") == "AT"
