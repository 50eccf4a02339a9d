"""A code typed in at the review station while the same letter is answered online (issue 13, item 5; found
by tests/mailing/test_stations_pg.py's race between the station and the answer page). On PostgreSQL the
review decision died on the one-response-per-piece constraint: an HTTP 500 at the station, a traceback on
the command line. Now it is run again and finds the online answer: the page becomes a duplicate."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from station_queue import make_queue, own_schema

from mailing.respond import respond
from mailing.review import get_item, resolve_code
from mailing.store import Store, responses, scans, utcnow, waves

PG_URL = os.environ.get("MAILING_TEST_POSTGRES")
ITEMS = 4


def race(db: str, item: int, code: str) -> tuple[list[str], list[BaseException]]:
    """resolve_code and an online answer to the same letter, released together."""
    start = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def one(work) -> None:  # type: ignore[no-untyped-def]
        store = Store.open(db)
        try:
            start.wait()
            outcomes.append(work(store))
        except BaseException as exc:  # noqa: BLE001 - asserted by the caller
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=one, args=(lambda s: resolve_code(s, item, code, {"info": True}),)),
               threading.Thread(target=one, args=(lambda s: respond(s, code, {"call": True}, "online").status,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes, errors


def check_review_and_online_answer_at_once(tmp: Path, url: str | None = None) -> None:
    q = make_queue(tmp, items=ITEMS, url=url)
    with q.store.begin() as conn:  # sent without printing: what is tested is the answer, not the print file
        conn.execute(update(waves).values(status="produced", produced_at=utcnow()))
    for item, code in zip(q.items, q.codes, strict=False):
        outcomes, errors = race(str(q.db), item, code)
        assert errors == [], errors
        assert sorted(outcomes) == ["duplicate", "matched"], "one of the two counts, the other is a duplicate"
        assert get_item(q.store, item).status == "resolved"
    with q.store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == ITEMS
        assert conn.execute(select(func.count()).select_from(scans).where(scans.c.status == "unreadable")
                            ).scalar_one() == 0
    q.store.dispose()


def test_review_decision_and_online_answer_at_once_on_sqlite(tmp_path: Path) -> None:
    check_review_and_online_answer_at_once(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")
def test_review_decision_and_online_answer_at_once_on_postgresql(tmp_path: Path) -> None:
    assert PG_URL
    check_review_and_online_answer_at_once(tmp_path, own_schema(PG_URL, "review_races"))
