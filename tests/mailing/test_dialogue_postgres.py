"""Issue 14 (invitations, segments, audiences) on PostgreSQL: the same end-to-end checks as on SQLite.

Runs when MAILING_TEST_POSTGRES names a database it may empty; skipped otherwise, with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from mailing.store import alembic_version, metadata
from tests.mailing import test_audiences, test_rsvp, test_segments

URL = os.environ.get("MAILING_TEST_POSTGRES")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")]


@pytest.fixture
def url() -> str:
    assert URL
    engine = create_engine(URL)
    metadata.drop_all(engine)
    alembic_version.drop(engine, checkfirst=True)
    engine.dispose()
    return URL


def test_segment_sheet_rates_match_the_store_on_postgresql(tmp_path: Path, capsys, url: str) -> None:
    test_segments.check_segment_sheet_rates_match_the_store(tmp_path, capsys, url)


def test_rsvp_list_sums_the_persons_ticked_on_postgresql(tmp_path: Path, capsys, url: str) -> None:
    test_rsvp.check_rsvp_list_sums_the_persons_ticked(tmp_path, capsys, url)


def test_import_from_earlier_campaign_on_postgresql(tmp_path: Path, capsys, url: str) -> None:
    test_audiences.check_import_from_earlier_campaign(tmp_path, capsys, url)
