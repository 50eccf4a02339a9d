"""Options shared by several commands (--db, --json, --jobs, dates), defined once, and the store hand-off.

`--db` belongs to every command: the root group takes it (`mailing --db FILE status ...`) and
`add_db_option` gives each subcommand the same option (`mailing status NAME --json --db FILE`); both land in
the root context, where `open_store` reads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import click

from mailing import __version__
from mailing.store import Store, database_url

T = TypeVar("T")
DB_HELP = "Store: a SQLite file or a SQLAlchemy URL (default: $MAILING_DB, else ./mailing.db)."


def example(*lines: str) -> str:
    """A help epilog showing how the command is used (every command's --help has one)."""
    return "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog=example("mailing init meine-aktion", "mailing --db kunden.db campaign list"))
@click.option("--db", "db", metavar="URL", default=None, help=DB_HELP)
@click.version_option(__version__, "--version", prog_name="mailing", message="%(prog)s %(version)s")
@click.pass_context
def root(ctx: click.Context, db: str | None) -> None:
    """Paper response mailings: letters with QR reply coupons, scanning, follow-ups, reports."""
    ctx.ensure_object(dict)
    if db is not None or "db" not in ctx.obj:
        ctx.obj["db"] = db


def _remember_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_root().ensure_object(dict)["db"] = value


def add_db_option(command: click.Command) -> None:
    """Give `command` (and, for a group, every command below it) the shared `--db` option."""
    if not any(p.name == "db_after" for p in command.params):
        command.params.append(click.Option(["--db", "db_after"], metavar="URL", default=None, expose_value=False,
                                           callback=_remember_db, help=DB_HELP))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_db_option(sub)


def open_store(ctx: click.Context) -> Store:
    """The store named by --db; opened once per command."""
    obj = ctx.find_root().ensure_object(dict)
    if "store" not in obj:
        obj["store"] = Store.open(obj.get("db"))
        ctx.call_on_close(obj["store"].dispose)
    return obj["store"]


def existing_store(ctx: click.Context) -> Store | None:
    """The store named by --db when it exists; None for a SQLite file that is not there (never created)."""
    url = database_url(ctx.find_root().ensure_object(dict).get("db"))
    if url.startswith("sqlite:///") and not os.path.exists(url.removeprefix("sqlite:///")):
        return None
    return open_store(ctx)


class DateParam(click.ParamType):
    """A day as `30.11.2026` (German) or `2026-11-30` (ISO) → datetime.date."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = str(value).strip()
        for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.fail(f"{value!r} is not a date; write it as 30.11.2026 or 2026-11-30", param, ctx)

    def get_metavar(self, param: click.Parameter, *args: Any, **kwargs: Any) -> str:
        return "DATE"


DATE = DateParam()

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
jobs_option = click.option("--jobs", type=click.IntRange(1, 256), default=None,
                           help="Parallel processes (default: all cores).")

def client_option(help_text: str = "Only what belongs to this client (its key, see `mailing client list`).") \
        -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--client KEY`: the client (Mandant) a command is limited to or acts for."""
    return click.option("--client", "client", metavar="KEY", default=None, help=help_text)


cluster_option = click.option("--cluster", metavar="tcp://HOST:PORT", default=None,
                              help="Run on the Dask cluster whose scheduler listens there (the workers need "
                                   "only the project installed); files and store stay on this machine.")


@contextmanager
def cluster_executor(address: str | None) -> Iterator[Executor | None]:
    """The executor of `--cluster` (None without it), closed when the command ends."""
    if address is None:
        yield None
        return
    from mailing.cluster import connect

    with connect(address) as executor:
        yield executor


def on_cluster(address: str | None, work: Callable[[Executor | None], Iterator[T]]) -> Iterator[T]:
    """`work(executor)` iterated inside `cluster_executor(address)`, so that a cluster failing half-way is
    still turned into one line (click closes resources without the exception)."""
    with cluster_executor(address) as executor:
        yield from work(executor)


def default_jobs(jobs: int | None) -> int:
    return jobs or os.cpu_count() or 1


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))
