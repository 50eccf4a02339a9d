"""Production commands: `produce`, `preflight`, `layout`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click

from mailing.cli.common import (
    DATE,
    cluster_executor,
    cluster_option,
    default_jobs,
    echo_json,
    example,
    jobs_option,
    json_option,
    open_store,
)


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when output is piped."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@click.command("produce", epilog=example("mailing produce fruehjahr-2026 --out druck/ --drop-date 30.11.2026",
                                          "mailing produce fruehjahr-2026 --wave 1 --reprint --out nachdruck/",
                                          "mailing produce fruehjahr-2026 --out druck/ --cluster tcp://rechner1:8786"))
@click.argument("campaign")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the print package.")
@click.option("--wave", type=click.IntRange(1), default=None,
              help="Wave number (default: the oldest wave not produced yet; wave 1 on the first run).")
@click.option("--reprint", is_flag=True,
              help="Print a produced wave (--wave N) again: byte-identical files in --out; the store is unchanged.")
@jobs_option
@click.option("--drop-date", type=DATE, default=None,
              help="Day the wave is posted, 30.11.2026 or 2026-11-30 (default: today).")
@cluster_option
@json_option
@click.pass_context
def produce_cmd(ctx: click.Context, campaign: str, out: str, wave: int | None, reprint: bool, jobs: int | None,
                drop_date: date | None, cluster: str | None, as_json: bool) -> int:
    """Print PDFs, manifest and job ticket for a wave (plans wave 1 on the first run; resumes)."""
    from mailing.production import produce, result_json

    store = open_store(ctx)
    with cluster_executor(cluster) as executor, _progress("Briefe", not as_json) as progress:
        result = produce(store, campaign, out, wave=wave, reprint=reprint, jobs=default_jobs(jobs),
                         drop_date=drop_date, progress=progress, executor=executor)
    if as_json:
        echo_json(result_json(result))
    else:
        for name in result.removed_parts:
            click.echo(f"removed {name}, a temporary file left by an interrupted run", err=True)
        if result.reprint:
            click.echo(f"wave {result.wave} reprinted: {len(result.files)} file(s), identical to the original")
        click.echo(f"wave {result.wave}: {result.pieces} letters ({result.pages_per_piece} page(s) each) in "
                   f"{len(result.files)} file(s), {result.control} in the control group; "
                   f"{result.rendered} batch(es) rendered, {result.reused} already complete")
        if result.taken_out:
            click.echo(f"{result.taken_out} letter(s) left out: their recipients objected, were erased or are "
                       "undeliverable since the wave was planned")
        click.echo(f"manifest: {result.manifest}, job ticket: {result.job_ticket}, docket: {result.docket}")
        if result.truncated_addresses:
            click.echo(f"warning: {result.truncated_addresses} address line(s) shortened to fit the window",
                       err=True)
    return 0


@click.command("preflight", epilog=example("mailing preflight druck/"))
@click.argument("folder", type=click.Path(file_okay=False))
@jobs_option
@json_option
def preflight_cmd(folder: str, jobs: int | None, as_json: bool) -> int:
    """Check a print package: pages, sizes, fonts, colour, manifest, and every QR code read back.

    \b
    Example:
      mailing preflight druck-welle-1
    """
    from mailing.preflight import preflight

    with _progress("Prüfung", not as_json) as progress:
        problems = preflight(Path(folder), jobs=default_jobs(jobs), progress=progress)
    if as_json:
        echo_json({"folder": folder, "ok": not problems, "problems": problems})
    else:
        for p in problems:
            click.echo(p)
        click.echo(f"{folder}: " + ("OK" if not problems else f"{len(problems)} problem(s)"),
                   err=bool(problems))
    return 1 if problems else 0


@click.command("layout", epilog=example("mailing layout fruehjahr-2026 --json"))
@click.argument("campaign")
@json_option
@click.pass_context
def layout_cmd(ctx: click.Context, campaign: str, as_json: bool) -> int:
    """Geometry of the first wave's letter: address field, coupon, QR code and tick boxes (mm).

    \b
    Example:
      mailing layout fruehjahr-2026 --json
    """
    from sqlalchemy import select

    from layouts.letter import layout_json
    from mailing.campaigns import load
    from mailing.production import wave_campaign
    from mailing.store import waves

    store = open_store(ctx)
    with store.connect() as conn:
        cid, camp = load(conn, campaign)
        first = conn.execute(select(waves).where(waves.c.campaign_id == cid, waves.c.number == 1)).first()
    letter = None
    if first is not None:  # the first wave as it was planned, not as the campaign file reads today
        camp, letter = wave_campaign(first, camp), first.letter
    data = layout_json(camp, letter)
    if as_json:
        echo_json(data)
    else:
        for key in ("address_field", "coupon", "qr"):
            b = data[key]
            assert isinstance(b, dict)  # noqa: S101
            click.echo(f"{key:14} x {b['x_mm']} y {b['y_mm']} w {b['width_mm']} h {b['height_mm']} (mm)")
        for cb in data["checkboxes"]:  # type: ignore[attr-defined]
            click.echo(f"checkbox {cb['key']:5} x {cb['x_mm']} y {cb['y_mm']} w {cb['width_mm']} h {cb['height_mm']}")
    return 0


@click.command("pull-list", epilog=example("mailing pull-list fruehjahr-2026 --wave 2 --out aussteuern.csv",
                                           "mailing pull-list fruehjahr-2026 --confirm aussteuern.csv"))
@click.argument("campaign")
@click.option("--wave", type=click.IntRange(1), default=None,
              help="Only this wave (default: every produced wave not posted yet).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the list as CSV for the lettershop (file, page, seq, code, postal code; no names).")
@click.option("--confirm", "confirm", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A pull list the lettershop worked through: record its pieces as pulled (not sent).")
@json_option
@click.pass_context
def pull_list_cmd(ctx: click.Context, campaign: str, wave: int | None, out: str | None, confirm: str | None,
                  as_json: bool) -> int:
    """Aussteuerliste: printed letters not posted yet whose recipient objected since production.

    A wave counts as at the lettershop while it is produced and its drop date is today or later. Letters of
    a wave not produced yet need no list: `produce` leaves them out itself.
    """
    from mailing.lateobjections import pull_list

    result = pull_list(open_store(ctx), campaign, wave=wave, out=out, confirm=confirm)
    if as_json:
        echo_json(result.as_json())
        return 0
    if confirm is not None:
        click.echo(f"{result.confirmed} piece(s) recorded as pulled"
                   + (f"; {len(result.not_pending)} code(s) of the list were not to pull (already pulled, "
                      "or not this campaign's)" if result.not_pending else ""))
    for r in result.rows:
        click.echo(f"wave {r.wave}  {r.file}  pages {r.page}-{r.last_page}  seq {r.seq}  code {r.code}  "
                   f"PLZ {r.postal_code}")
    click.echo(f"{len(result.rows)} piece(s) to pull" + (f"; list written to {result.out}" if result.out else ""))
    return 0


@click.command("posted", epilog=example("mailing posted fruehjahr-2026 --wave 2"))
@click.argument("campaign")
@click.option("--wave", type=click.IntRange(1), required=True, help="The wave the lettershop handed to the post.")
@click.option("--with-pending", is_flag=True,
              help="Post it although letters of people who objected are still to pull (they count as sent).")
@json_option
@click.pass_context
def posted_cmd(ctx: click.Context, campaign: str, wave: int, with_pending: bool, as_json: bool) -> int:
    """Record that a produced wave was handed to the post (its state becomes dropped; no more pulling).

    Refused while the wave's pull list is not worked through (`mailing pull-list --confirm`).
    """
    from mailing.lateobjections import mark_posted

    result = mark_posted(open_store(ctx), campaign, wave, with_pending=with_pending)
    if as_json:
        echo_json(result.as_json())
    else:
        click.echo(f"wave {result.wave} of {result.campaign} recorded as posted: {result.sent} letter(s)"
                   + (f", {result.pending} of them to people who objected" if result.pending else ""))
    return 0


COMMANDS: list[click.Command] = [produce_cmd, preflight_cmd, layout_cmd, pull_list_cmd, posted_cmd]
