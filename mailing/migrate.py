"""Schema migrations (Alembic) and store backups: `mailing db upgrade`, `mailing db backup`.

Every schema change is a migration in `mailing/migrations/versions/`, numbered 0001, 0002, ...; the number
of the newest one is `store.SCHEMA_VERSION`. A new store is created at the current schema directly (and
stamped with it); a store written by an earlier version is refused by every command until `db upgrade`
brought it forward. The first release (schema 1) wrote no Alembic bookkeeping; its store is recognised by
its `meta.schema_version` and stamped 0001 before the upgrade runs.

Before it changes a SQLite store, `upgrade` copies it with SQLite's online backup API next to the original
(`<file>.schema1-<timestamp>.bak`). PostgreSQL stores are backed up with `pg_dump` (README).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, inspect, update

from mailing.errors import MailingError
from mailing.store import SCHEMA_VERSION, Store, alembic_version, meta


@dataclass
class UpgradeResult:
    store: str
    from_version: int
    to_version: int
    backup: str | None  # the copy taken before upgrading (SQLite), None when nothing had to change


def _alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "mailing:migrations")
    return cfg


def head_revision() -> str:
    """The newest migration's revision id ("0002", ...)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise MailingError("no migrations found in mailing/migrations: the installation is incomplete")
    return head


def sqlite_file(store: Store) -> Path | None:
    """The SQLite file behind a store, None for any other database or an in-memory one."""
    if store.engine.dialect.name != "sqlite" or not store.engine.url.database:
        return None
    return Path(store.engine.url.database)


def backup(store: Store, target: str | Path) -> Path:
    """Copy a SQLite store, consistent while others use it (SQLite's online backup API), owner-only."""
    src = sqlite_file(store)
    if src is None:
        raise MailingError(f"store {store.where} is not a SQLite file: back up PostgreSQL with "
                           "`pg_dump --format=custom --file=FILE DBNAME`")
    dst = Path(target)
    if dst.exists():
        raise MailingError(f"{dst} already exists: choose a new file name for the backup")
    if dst.parent and not dst.parent.is_dir():
        raise MailingError(f"{dst.parent} is not a folder: create it or choose another place for the backup")
    part = dst.with_name(dst.name + ".part")
    part.touch(mode=0o600)
    try:
        with sqlite3.connect(str(src)) as source, sqlite3.connect(str(part)) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        part.replace(dst)
    except (sqlite3.Error, OSError) as exc:
        part.unlink(missing_ok=True)
        raise MailingError(f"cannot back up {src} to {dst}: {exc}") from exc
    return dst


def upgrade(db: str | None) -> UpgradeResult:
    """Bring the store to the current schema (a backup of a SQLite file first); nothing to do is fine."""
    from alembic import command

    store = Store.open(db, check_schema=False)
    try:
        version = store.schema_version()
        if version is None:
            raise MailingError(f"{store.where} holds no mailing store: nothing to upgrade")
        if version > SCHEMA_VERSION:
            raise MailingError(f"store {store.where} has schema {version}, newer than this program's "
                               f"{SCHEMA_VERSION}: install the newer version of mailing")
        if version == SCHEMA_VERSION:
            return UpgradeResult(store.where, version, version, None)
        taken = None
        src = sqlite_file(store)
        if src is not None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            taken = str(backup(store, src.with_name(f"{src.name}.schema{version}-{stamp}.bak")))
        cfg = _alembic_config()
        with store.engine.begin() as conn:
            if not inspect(conn).has_table("alembic_version"):  # the first release kept no Alembic bookkeeping
                alembic_version.create(conn)
                conn.execute(insert(alembic_version).values(version_num=f"{version:04d}"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
        return UpgradeResult(store.where, version, SCHEMA_VERSION, taken)
    finally:
        store.dispose()
