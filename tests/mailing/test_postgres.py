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
from mailing.store import metadata

URL = os.environ.get("MAILING_TEST_POSTGRES")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")]


def test_demo_cycle_on_postgresql_matches_sqlite(tmp_path: Path) -> None:
    assert URL
    engine = create_engine(URL)
    metadata.drop_all(engine)
    engine.dispose()
    on_pg = run_demo(tmp_path / "pg", db=URL)
    on_sqlite = run_demo(tmp_path / "sqlite")
    assert on_pg.status == on_sqlite.status
    assert on_pg.status["responses"] > 0 and len(on_pg.status["waves"]) == 3
