"""Two `mailing followup` runs of one campaign at the same moment (two operators, or a cron job and a
person): found by tests/mailing/test_stations_pg.py. The later run died on a unique constraint
(uq_consent_once, uq_followup_once, uq_wave_number) with a traceback, and its call list was already written
although its transaction was rolled back, so a person could be on two call lists.

Now the later run is repeated, finds what the first recorded and adds nothing; call lists are written only
after the commit. On SQLite (a stale snapshot: "database is locked") and PostgreSQL (unique constraint).
"""

from __future__ import annotations

import csv
import os
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from mailing.campaigns import init_example, load, register_campaign
from mailing.followup import FollowupResult, run_followups
from mailing.recipients import import_recipients
from mailing.respond import respond
from mailing.store import Store, followups, pieces, utcnow, waves
from mailing.waves import plan_wave

PG_URL = os.environ.get("MAILING_TEST_POSTGRES")
CAMPAIGN = "fruehjahr-2026"
CALLERS, INFO = 6, 3


def sent_campaign(tmp: Path, url: str) -> list[str]:
    """The example campaign, its first wave sent (without printing), CALLERS phone answers asking for a call
    and INFO asking for the info pack; the codes of the letters."""
    store = Store.open(url)
    files = init_example(tmp / "ex")
    register_campaign(store, files[0])
    import_recipients(store, CAMPAIGN, files[1])
    with store.begin() as conn:
        cid, c = load(conn, CAMPAIGN)
        wave_id = plan_wave(conn, cid, c, drop_date=date(2026, 3, 2))
        conn.execute(update(waves).where(waves.c.id == wave_id).values(status="produced", produced_at=utcnow()))
    with store.connect() as conn:
        codes = [r[0] for r in conn.execute(select(pieces.c.code).where(pieces.c.control.is_(False))
                                            .order_by(pieces.c.seq))]
    for code in codes[:CALLERS]:
        respond(store, code, {"call": True}, "phone")
    for code in codes[CALLERS:CALLERS + INFO]:
        respond(store, code, {"info": True}, "phone")
    store.dispose()
    return codes


def followups_at_once(url: str, tmp: Path, runs: int = 2) -> tuple[list[FollowupResult], list[BaseException]]:
    start = threading.Barrier(runs)
    results: list[FollowupResult] = []
    errors: list[BaseException] = []

    def one(n: int) -> None:
        store = Store.open(url)
        try:
            start.wait()
            results.append(run_followups(store, CAMPAIGN, as_of=date(2026, 4, 1), out_dir=tmp / f"out-{n}"))
        except BaseException as exc:  # noqa: BLE001 - asserted by the caller
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def check_once(url: str, tmp: Path) -> None:
    results, errors = followups_at_once(url, tmp)
    assert errors == [], errors
    listed = []
    for path in tmp.glob("out-*/anrufliste-*.csv"):
        with path.open(encoding="utf-8-sig") as fh:
            listed += list(csv.reader(fh, delimiter=";"))[1:]
    assert len(listed) == CALLERS, "every caller on one call list, once"
    assert sum(len(r.files) for res in results for r in res.rules) == 2, "one run wrote the call list (xlsx, csv)"
    store = Store.open(url)
    with store.connect() as conn:
        per_rule = dict(conn.execute(select(waves.c.rule, func.count()).where(waves.c.rule.is_not(None))
                                     .group_by(waves.c.rule)).all())
        assert per_rule == {"info-pack": 1, "reminder": 1, "thank-you": 1}, "each follow-up wave planned once"
        calls = conn.execute(select(func.count()).select_from(followups).where(followups.c.rule == "call-list"))
        assert calls.scalar_one() == CALLERS
    store.dispose()


def test_two_followup_runs_at_once_on_sqlite_add_nothing_twice(tmp_path: Path) -> None:
    url = str(tmp_path / "m.db")
    sent_campaign(tmp_path, url)
    check_once(url, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")
def test_two_followup_runs_at_once_on_postgresql_add_nothing_twice(tmp_path: Path) -> None:
    from tests.web.station_queue import own_schema

    assert PG_URL
    url = own_schema(PG_URL, "followup_concurrency")
    sent_campaign(tmp_path, url)
    check_once(url, tmp_path)
