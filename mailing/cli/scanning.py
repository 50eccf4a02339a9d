"""Reading returns: `scan`, the `review` queue (and `runs`, from mailing.cli.runs)."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date

import click

from mailing import review as review_lib
from mailing.cli.common import (
    DATE,
    cluster_option,
    default_jobs,
    echo_json,
    example,
    existing_store,
    jobs_option,
    json_option,
    on_cluster,
    open_store,
)
from mailing.cli.runs import runs_group
from mailing.matching import Outcome
from mailing.scanrun import max_options, scan


@click.command("scan", epilog=example("mailing scan scans/ --json", "mailing scan ruecklauf.pdf --returned-mail",
                                       "mailing scan scans/ --cluster tcp://rechner1:8786"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--returned-mail", is_flag=True, help="These are returned undeliverable letters: flag and suppress.")
@click.option("--received-on", type=DATE, default=None,
              help="Date the post arrived, 30.11.2026 or 2026-11-30 (default: today).")
@json_option
@jobs_option
@cluster_option
@click.pass_context
def scan_cmd(ctx: click.Context, paths: tuple[str, ...], returned_mail: bool, received_on, as_json: bool,
             jobs: int | None, cluster: str | None) -> None:
    """Read returned coupons from PDF, TIFF, JPEG and PNG files or folders (recognised by content).

    Every scan is a run; `mailing runs undo RUN` takes a wrong one back.
    """
    store = open_store(ctx)
    day: date | None = received_on
    counts: Counter[str] = Counter()
    review = [0]
    rescan: list[tuple[str, int]] = []  # pages scanned black and white whose boxes are doubtful
    run: list[int | None] = [None]

    def tally(o: Outcome) -> None:
        counts[o.status] += 1
        review[0] += o.needs_review
        if o.bitonal_doubt:
            rescan.append((o.source, o.page))
        run[0] = run[0] or (o.run if not o.repeated else None)

    outcomes = on_cluster(cluster, lambda executor: scan(
        store, paths, returned_mail=returned_mail, jobs=default_jobs(jobs), received_on=day, executor=executor,
        on_notice=lambda line: click.echo(line, err=True)))
    show_progress = not as_json and sys.stderr.isatty()
    if show_progress:
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
            task = bar.add_task("scanning", total=None)
            for o in outcomes:
                tally(o)
                bar.update(task, description=f"scanning {o.source} page {o.page}")
    else:
        for o in outcomes:
            tally(o)
            if as_json:
                echo_json(o.as_json())
    if not as_json:
        _summary(counts, review[0], rescan)
        if run[0]:
            click.echo(f"scan run {run[0]}: take it back with `mailing runs undo {run[0]}`")


def _summary(counts: Counter[str], review: int, rescan: list[tuple[str, int]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="scan outcomes")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for status in ("matched", "duplicate", "returned", "unknown", "invalid", "unreadable"):
        if counts[status]:
            table.add_row(status, str(counts[status]))
    table.add_row("total", str(sum(counts.values())))
    Console().print(table)
    if review:
        click.echo(f"{review} item(s) need review: run `mailing review`")
    if rescan:
        click.echo(f"{len(rescan)} of them have doubtful boxes on pages scanned in black and white, where a light "
                   "tick can vanish without a trace. Scan these pages again in grey (8 bit): the rescan settles "
                   "their boxes without a person:")
        for source, page in rescan[:RESCAN_LISTED]:
            click.echo(f"  {source} page {page}")
        if len(rescan) > RESCAN_LISTED:
            click.echo(f"  and {len(rescan) - RESCAN_LISTED} more (`mailing review --rescan` lists them all)")


RESCAN_LISTED = 30  # pages to scan again in grey named after a run; the review queue has the rest


@click.group("review", invoke_without_command=True,
             epilog=example("mailing review", "mailing review --client gartenwelt --json", "mailing review --rescan",
                            "mailing review resolve 12 --code 7K3M-9QXP-2W4 info=yes"))
@click.option("--campaign", default=None, help="Only this campaign's items.")
@click.option("--client", default=None, metavar="KEY",
              help="Only the items of this client's letters (pages without a known letter are left out, unless "
                   "the store has no other client).")
@click.option("--pictures", type=click.Path(file_okay=False), default="review-pictures", show_default=True,
              help="Folder where each item's picture is written.")
@click.option("--rescan", is_flag=True,
              help="Only the pages to scan again in grey: doubtful boxes on a page scanned black and white, which "
                   "the grey rescan settles without a person (no pictures are written).")
@json_option
@click.pass_context
def review_group(ctx: click.Context, campaign: str | None, client: str | None, pictures: str, rescan: bool,
                 as_json: bool) -> None:
    """List open review items (unreadable, invalid, unknown, doubtful boxes, conflicts) with their pictures.
    """
    if ctx.invoked_subcommand is not None:
        return
    from mailing.clients import access_for_key

    store = open_store(ctx)
    with store.connect() as conn:
        access = access_for_key(conn, client)
    # --rescan lists pages to scan again: no picture of every open item is written for it
    items = review_lib.open_items(store, campaign, None if rescan else pictures, access)
    if rescan:
        items = [item for item in items if item.rescan]
    if as_json:
        echo_json([item.as_json() for item in items])
        return
    if not items:
        click.echo("no page to scan again in grey" if rescan else "no open review items")
        return
    if rescan:
        for item in items:
            click.echo(f"{item.source} page {item.page}")
        click.echo(f"{len(items)} page(s): scan them again in grey (8 bit) and `mailing scan` the files; the rescan "
                   "settles their doubtful boxes")
        return
    for item in items:
        opts = " ".join(f"{k}={'?' if v is None else ('x' if v else '-')}" for k, v in item.options.items())
        click.echo(f"#{item.id:<5} {item.kind:<10} {item.source} p.{item.page}  {item.code or '-':<13} "
                   f"{item.note or ''}  {opts}  {item.picture or ''}" + ("  (black and white: rescan in grey)"
                                                                        if item.rescan else ""))
    click.echo("resolve: mailing review resolve ID --code CODE [KEY=yes|no ...] | mailing review set ID KEY=yes|no ... "
               "| mailing review void ID")


@review_group.command("resolve", epilog=example("mailing review resolve 12 --code 7K3M-9QXP-2W4 info=yes call=no"))
@click.argument("item_id", type=int)
@click.option("--code", "typed", required=True, help="The code printed under the QR code (hyphens optional).")
@click.argument("boxes", nargs=-1)
@click.pass_context
def review_resolve(ctx: click.Context, item_id: int, typed: str, boxes: tuple[str, ...]) -> None:
    """Resolve an unreadable/invalid/unknown item by the code read off the coupon; name the ticked boxes
    (boxes not named and not read as ticked count as not ticked). The item is closed.
    """
    status = review_lib.resolve_code(open_store(ctx), item_id, typed, review_lib.parse_assignments(list(boxes)))
    click.echo(f"review item {item_id}: {status}, closed")


@review_group.command("set", epilog=example("mailing review set 12 info=yes optout=no"))
@click.argument("item_id", type=int)
@click.argument("boxes", nargs=-1, required=True)
@click.pass_context
def review_set(ctx: click.Context, item_id: int, boxes: tuple[str, ...]) -> None:
    """Set doubtful boxes: mailing review set 12 info=yes optout=no."""
    after = review_lib.set_boxes(open_store(ctx), item_id, review_lib.parse_assignments(list(boxes)))
    click.echo(f"review item {item_id}: " + " ".join(f"{k}={v}" for k, v in after.items()))


@review_group.command("void", epilog=example("mailing review void 12 13 17 --note \"business cards\"", "mailing review void --run 4"))
@click.argument("item_ids", type=int, nargs=-1, metavar="ID...")
@click.option("--run", "run_id", type=int, default=None, help="Void every open item of this scan run.")
@click.option("--note", default="", help="Why (kept in the audit log).")
@click.pass_context
def review_void(ctx: click.Context, item_ids: tuple[int, ...], run_id: int | None, note: str) -> None:
    """Close items without a response (not a coupon, illegible, ...): several ids, or all of a run."""
    if not item_ids and run_id is None:
        raise click.UsageError("name the items to void (mailing review void 12 13) or a run (--run 4)")
    voided = review_lib.void(open_store(ctx), list(item_ids), note, run_id=run_id)
    click.echo(f"voided {len(voided)} review item(s): " + (" ".join(f"#{i}" for i in voided) or "none open"))


@click.command("scan-gallery", epilog=example("mailing scan-gallery scans/ --out tick-boxes.png"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out_png", type=click.Path(dir_okay=False), default="tick-boxes.png", show_default=True)
@jobs_option
@click.pass_context
def gallery_cmd(ctx: click.Context, paths: tuple[str, ...], out_png: str, jobs: int | None) -> None:
    """For tuning: one PNG of every tick box in PATHS, sorted by ink score (nothing is recorded)."""
    from layouts.geometry import CHECKBOX_SLOTS
    from scanning.gallery import write_gallery
    from scanning.pipeline import read_files

    store = existing_store(ctx)  # a tuning look: never creates a store
    slots = max_options(store) if store is not None else CHECKBOX_SLOTS
    n = write_gallery(read_files(list(paths), jobs=default_jobs(jobs), crops=True, slots=slots), out_png)
    click.echo(f"{n} tick boxes, sorted by score → {out_png}")


COMMANDS: list[click.Command] = [scan_cmd, gallery_cmd, review_group, runs_group]
