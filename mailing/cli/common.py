"""Options shared by several commands (--db, --json, --jobs), defined once, and the store hand-off."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from mailing.store import Store


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", metavar="URL", default=None,
              help="Store: a SQLite file or a SQLAlchemy URL (default: $MAILING_DB, else ./mailing.db).")
@click.pass_context
def root(ctx: click.Context, db: str | None) -> None:
    """Paper response mailings: letters with QR reply coupons, scanning, follow-ups, reports."""
    ctx.obj = {"db": db}


def open_store(ctx: click.Context) -> Store:
    """The store named by --db; opened once per command."""
    obj = ctx.find_root().obj
    if "store" not in obj:
        obj["store"] = Store.open(obj["db"])
        ctx.call_on_close(obj["store"].dispose)
    return obj["store"]


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
jobs_option = click.option("--jobs", type=click.IntRange(1, 256), default=None,
                           help="Parallel processes (default: all cores).")


def default_jobs(jobs: int | None) -> int:
    return jobs or os.cpu_count() or 1


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))
