"""Two operators never get the same review item at once (issue 11, item 2): claims with a time-out, taken
concurrently on SQLite (inside a write transaction) and on PostgreSQL (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from station_queue import Queue, make_queue, own_schema

from mailing.errors import MailingError
from mailing.review import claim_next, release, resolve_code, void
from mailing.store import Store, audit_log, utcnow

PG_URL = os.environ.get("MAILING_TEST_POSTGRES")


def claim_all_concurrently(db: str, claimers: int = 2, rounds: int = 40) -> list[list[int]]:
    """`claimers` threads, each with its own store (own connections), claim as fast as they can."""
    got: list[list[int]] = [[] for _ in range(claimers)]
    start = threading.Barrier(claimers)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        store = Store.open(db)
        try:
            start.wait()
            for _ in range(rounds):
                item = claim_next(store, f"op{n}", skip=got[n])  # never back to what it already holds
                if item is None:
                    break
                got[n].append(item)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return got


def check_disjoint(got: list[list[int]], items: list[int]) -> None:
    seen = [i for g in got for i in g]
    assert len(seen) == len(set(seen)), f"an item went to two operators: {got}"
    assert sorted(seen) == sorted(items), "every open item went to somebody"


def test_two_concurrent_claimers_on_sqlite_never_get_the_same_item(tmp_path: Path) -> None:
    q = make_queue(tmp_path, items=12)
    q.store.dispose()
    check_disjoint(claim_all_concurrently(str(q.db)), q.items)


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")
def test_two_concurrent_claimers_on_postgresql_never_get_the_same_item(tmp_path: Path) -> None:
    assert PG_URL
    url = own_schema(PG_URL, "review_claims")
    q = make_queue(tmp_path, items=12, url=url)
    q.store.dispose()
    check_disjoint(claim_all_concurrently(url, claimers=3), q.items)


def test_a_claim_holds_for_its_time_then_the_item_is_free_again(queue: Queue) -> None:
    first = claim_next(queue.store, "anna")
    assert claim_next(queue.store, "anna") == first, "the item one holds comes back to them"
    assert claim_next(queue.store, "chef") != first
    later = utcnow() + timedelta(minutes=6)
    assert claim_next(queue.store, "bert", now=later) == first, "a hold runs out (a closed browser tab)"


def test_a_held_item_is_refused_to_others_also_on_the_command_line(queue: Queue) -> None:
    item = claim_next(queue.store, "anna")
    assert item is not None
    with pytest.raises(MailingError, match="being reviewed by anna"):
        void(queue.store, item)
    with pytest.raises(MailingError, match="being reviewed by anna"):
        resolve_code(queue.store, item, queue.codes[0], actor="chef")
    release(queue.store, item, "anna")
    assert void(queue.store, item, actor="chef") == [item]


def test_review_actions_are_audited_under_the_users_name(queue: Queue) -> None:
    item = claim_next(queue.store, "anna")
    assert item is not None
    assert resolve_code(queue.store, item, queue.codes[0], {"info": True}, actor="anna") == "matched"
    with queue.store.connect() as conn:
        rows = {(r.action, r.actor) for r in conn.execute(select(audit_log.c.action, audit_log.c.actor))}
    assert {("review.resolve", "anna"), ("response.record", "anna")} <= rows
