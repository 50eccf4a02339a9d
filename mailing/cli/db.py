"""`db`: bring a store written by an earlier version to the current schema; back a store up."""

from __future__ import annotations

import click

from mailing import migrate
from mailing.cli.common import example
from mailing.store import Store


def _db(ctx: click.Context) -> str | None:
    return ctx.find_root().ensure_object(dict).get("db")


@click.group("db", epilog=example("mailing db upgrade", "mailing db backup sicherung.db"))
def db_group() -> None:
    """The store itself: schema upgrades and backups."""


@db_group.command("upgrade", epilog=example("mailing --db kampagnen.db db upgrade"))
@click.pass_context
def upgrade_cmd(ctx: click.Context) -> None:
    """Bring the store to this version's schema; a SQLite file is backed up first."""
    res = migrate.upgrade(_db(ctx))
    if res.from_version == res.to_version:
        click.echo(f"{res.store}: schema {res.to_version} is current, nothing to do")
        return
    click.echo(f"{res.store}: schema {res.from_version} → {res.to_version}"
               + (f"; backup before the upgrade: {res.backup}" if res.backup else ""))


@db_group.command("backup", epilog=example("mailing db backup sicherung-2026-11-30.db"))
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def backup_cmd(ctx: click.Context, file: str) -> None:
    """Copy a SQLite store to FILE while it may be in use (PostgreSQL: use pg_dump)."""
    store = Store.open(_db(ctx), check_schema=False)
    try:
        click.echo(f"backup written: {migrate.backup(store, file)}")
    finally:
        store.dispose()


COMMANDS: list[click.Command] = [db_group]
