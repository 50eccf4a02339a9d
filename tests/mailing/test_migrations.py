"""Schema migrations: a store written by the first release is refused until `db upgrade` brings it forward;
the migrations, run from an empty database, give exactly the schema this version creates.

tests/fixtures/store-schema1.sql is a real store of the first release (commit f00e867): `mailing demo` run
with that release's code, the review pictures removed to keep the file small, dumped with `sqlite3 .dump`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from mailing import migrate
from mailing.cli import main
from mailing.config import example_campaign_path
from mailing.errors import StoreError
from mailing.store import SCHEMA_VERSION, Store, metadata
from tests.web.station_queue import own_schema

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store-schema1.sql"


def first_release_store(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(FIXTURE.read_text(encoding="utf-8"))
    conn.close()
    return path


def test_schema_version_is_the_newest_migration() -> None:
    assert f"{SCHEMA_VERSION:04d}" == migrate.head_revision()


def test_first_release_store_is_refused_with_one_line_naming_db_upgrade(tmp_path: Path, capsys) -> None:
    db = first_release_store(tmp_path / "old.db")
    if SCHEMA_VERSION == 1:
        pytest.skip("schema 1 is still current")
    with pytest.raises(StoreError, match="db upgrade"):
        Store.open(str(db))
    assert main(["--db", str(db), "status", "fruehjahr-2026", "--json"]) == 1
    err = capsys.readouterr().err.strip()
    assert "mailing db upgrade" in err and "\n" not in err


def test_db_upgrade_brings_the_first_release_forward_and_keeps_its_figures(tmp_path: Path, capsys) -> None:
    db = first_release_store(tmp_path / "old.db")
    assert main(["--db", str(db), "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    backups = list(tmp_path.glob("old.db.schema1-*.bak"))
    if SCHEMA_VERSION > 1:
        assert "schema 1 →" in out and len(backups) == 1
        assert stat.S_IMODE(os.stat(backups[0]).st_mode) & 0o077 == 0
        with sqlite3.connect(backups[0]) as b:
            assert b.execute("select value from meta where key='schema_version'").fetchone() == ("1",)
    store = Store.open(str(db))
    assert store.schema_version() == SCHEMA_VERSION
    store.dispose()
    assert main(["--db", str(db), "status", "fruehjahr-2026", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert (st["recipients"], st["responses"], st["undeliverable"]) == (50, 20, 3)
    # The upgraded store takes new work: the same list again adds nobody, scan runs are listed.
    recipients_csv = example_campaign_path().with_name("recipients.csv")
    assert main(["--db", str(db), "import", "fruehjahr-2026", str(recipients_csv)]) == 0
    assert main(["--db", str(db), "status", "fruehjahr-2026", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["recipients"] == 50
    assert main(["--db", str(db), "runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--db", str(db), "db", "upgrade"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def _migrated_schema_differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = migrate._alembic_config()
            cfg.attributes["connection"] = conn
            from alembic import command

            command.upgrade(cfg, "head")
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


def test_migrations_from_empty_give_the_schema_this_version_creates(tmp_path: Path) -> None:
    assert _migrated_schema_differences(f"sqlite:///{tmp_path / 'm.db'}") == []


def test_migrations_on_postgresql_give_the_same_schema() -> None:
    url = os.environ.get("MAILING_TEST_POSTGRES")
    if not url:
        pytest.skip("MAILING_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server when it can)")
    assert _migrated_schema_differences(own_schema(url, "mig_test")) == []


def test_db_backup_copies_a_live_store(tmp_path: Path, capsys) -> None:
    db = tmp_path / "live.db"
    Store.open(str(db)).dispose()
    assert main(["--db", str(db), "db", "backup", str(tmp_path / "copy.db")]) == 0
    with sqlite3.connect(tmp_path / "copy.db") as c:
        assert c.execute("select value from meta where key='schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert main(["--db", str(db), "db", "backup", str(tmp_path / "copy.db")]) == 1
    assert "already exists" in capsys.readouterr().err


def test_first_release_store_on_postgresql_upgrades_with_equal_figures(tmp_path: Path, capsys) -> None:
    """The first release's store, moved to PostgreSQL as schema 1 (tables made by migration 0001, rows copied
    from the fixture), is brought forward by `db upgrade` and gives the same `status` as on SQLite."""
    url = os.environ.get("MAILING_TEST_POSTGRES")
    if not url:
        pytest.skip("MAILING_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server when it can)")
    from alembic import command
    from sqlalchemy import MetaData

    sqlite_db = first_release_store(tmp_path / "old.db")
    pg_url = own_schema(url, "mig_first")
    pg = create_engine(pg_url)
    source = create_engine(f"sqlite:///{sqlite_db}")
    try:
        with pg.begin() as conn:
            cfg = migrate._alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        old = MetaData()
        old.reflect(source)
        target = MetaData()
        target.reflect(pg)
        with source.connect() as src, pg.begin() as dst:
            for table in old.sorted_tables:
                if table.name == "meta":
                    continue  # migration 0001 wrote schema_version 1 already
                rows = [dict(r._mapping) for r in src.execute(table.select())]
                if rows:
                    dst.execute(target.tables[table.name].insert(), rows)
                if "id" in table.c:
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
    finally:
        pg.dispose()
        source.dispose()
    with pytest.raises(StoreError, match="db upgrade"):
        Store.open(pg_url)
    assert main(["--db", pg_url, "db", "upgrade"]) == 0
    assert "schema 1 → " in capsys.readouterr().out
    assert main(["--db", pg_url, "status", "fruehjahr-2026", "--json"]) == 0
    on_pg = json.loads(capsys.readouterr().out)
    assert main(["--db", str(sqlite_db), "db", "upgrade"]) == 0
    assert main(["--db", str(sqlite_db), "status", "fruehjahr-2026", "--json"]) == 0
    on_sqlite = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert on_pg == on_sqlite and on_pg["responses"] == 20
    # and it takes new work: the same list imported again adds nobody
    recipients_csv = example_campaign_path().with_name("recipients.csv")
    assert main(["--db", pg_url, "import", "fruehjahr-2026", str(recipients_csv)]) == 0
