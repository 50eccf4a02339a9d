"""Scan runs: `mailing runs [--json]` lists them, `mailing runs undo RUN` takes one back."""

from __future__ import annotations

import click

from mailing.cli.common import echo_json, example, json_option, open_store
from mailing.scanrun import list_runs, undo_run


@click.group("runs", invoke_without_command=True,
             epilog=example("mailing runs", "mailing runs --json", "mailing runs undo 3"))
@json_option
@click.pass_context
def runs_group(ctx: click.Context, as_json: bool) -> None:
    """List scan runs (id, when, pages, outcomes); undo one with `mailing runs undo RUN`.
    """
    if ctx.invoked_subcommand is not None:
        return
    runs = list_runs(open_store(ctx))
    if as_json:
        echo_json([r.as_json() for r in runs])
        return
    if not runs:
        click.echo("no scan runs yet: `mailing scan PATH...` makes one")
        return
    for r in runs:
        counts = " ".join(f"{k}={v}" for k, v in sorted(r.counts.items())) or "-"
        state = f"undone {r.undone:%Y-%m-%d %H:%M}" if r.undone else ("running or stopped" if r.finished is None else "")
        if r.returned_mail:
            state = ("returned mail " + state).strip()
        sources = ", ".join(r.sources[:3]) + (f" (+{len(r.sources) - 3})" if len(r.sources) > 3 else "")
        click.echo(f"run {r.run:<5} {r.started:%Y-%m-%d %H:%M}  {r.pages:>6} page(s)  {counts}  {sources}  {state}".rstrip())


@runs_group.command("undo", epilog=example("mailing runs undo 3"))
@click.argument("run_id", type=int, metavar="RUN")
@click.pass_context
def runs_undo(ctx: click.Context, run_id: int) -> None:
    """Take back everything scan run RUN recorded (responses, review items, its opt-outs' suppression
    entries); the same images can then be scanned anew.
    """
    click.echo(undo_run(open_store(ctx), run_id).summary())


COMMANDS: list[click.Command] = [runs_group]
