"""The store on PostgreSQL: the whole demo cycle gives the same figures as on SQLite.

Runs when MAILING_TEST_POSTGRES names a database it may empty (`.ci/run` starts a local server and sets
it when it can install one); skipped otherwise, with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from mailing.demo import run_demo
from mailing.store import alembic_version, metadata

URL = os.environ.get("MAILING_TEST_POSTGRES")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")]


def _empty_database() -> None:
    """Drop the store's tables and Alembic's bookkeeping, so the next Store.open creates a new store."""
    assert URL
    engine = create_engine(URL)
    metadata.drop_all(engine)
    alembic_version.drop(engine, checkfirst=True)
    engine.dispose()


def test_demo_cycle_on_postgresql_matches_sqlite(tmp_path: Path) -> None:
    assert URL
    _empty_database()
    on_pg = run_demo(tmp_path / "pg", db=URL)
    on_sqlite = run_demo(tmp_path / "sqlite")
    assert on_pg.status == on_sqlite.status
    assert on_pg.status["responses"] > 0 and len(on_pg.status["waves"]) == 5  # + thank-you and the winners


def test_reimport_adds_nobody_twice_on_postgresql(tmp_path: Path) -> None:
    """The already-present check (grouped index scans, then deletes) and the duplicate listing on PostgreSQL."""
    from mailing.campaigns import init_example, register_campaign
    from mailing.dedupe import duplicate_summary, list_duplicates
    from mailing.recipients import import_recipients
    from mailing.store import Store

    assert URL
    _empty_database()
    files = init_example(tmp_path / "ex")
    store = Store.open(URL)
    try:
        campaign, _ = register_campaign(store, files[0])
        first = import_recipients(store, campaign.name, files[1])
        again = import_recipients(store, campaign.name, files[1])
        assert (first.imported, again.imported, again.already_present) == (50, 0, 50)
        assert again.earlier_import is not None
        with store.connect() as conn:
            summary = duplicate_summary(conn, 1)
            assert summary.duplicates == len(list_duplicates(conn, 1)) == first.duplicates == 1
            assert summary.already_present == 50
    finally:
        store.dispose()


# Issue 14 (invitations, segments, audiences) on PostgreSQL: the same end-to-end checks as on SQLite. In this
# file, so that they never run beside the tests above on the same database (pytest-xdist --dist loadfile).
def test_segment_sheet_rates_match_the_store_on_postgresql(tmp_path: Path, capsys) -> None:
    from tests.mailing import test_segments

    _empty_database()
    test_segments.check_segment_sheet_rates_match_the_store(tmp_path, capsys, URL)


def test_rsvp_list_sums_the_persons_ticked_on_postgresql(tmp_path: Path, capsys) -> None:
    from tests.mailing import test_rsvp

    _empty_database()
    test_rsvp.check_rsvp_list_sums_the_persons_ticked(tmp_path, capsys, URL)


def test_import_from_earlier_campaign_on_postgresql(tmp_path: Path, capsys) -> None:
    from tests.mailing import test_audiences

    _empty_database()
    test_audiences.check_import_from_earlier_campaign(tmp_path, capsys, URL)


def test_draw_with_letter_run_twice_plans_one_wave_on_postgresql(tmp_path: Path, capsys) -> None:
    from tests.mailing import test_draw_wave

    _empty_database()
    test_draw_wave.check_draw_with_letter_run_twice_plans_one_wave(tmp_path, capsys, URL)
    _empty_database()
    test_draw_wave.check_another_draw_with_letter_is_refused(tmp_path / "again", capsys, URL)
