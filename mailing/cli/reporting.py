"""`report`: the Excel response report of a campaign."""

from __future__ import annotations

from pathlib import Path

import click

from mailing.cli.common import example, open_store
from mailing.errors import MailingError


@click.command("report", epilog=example("mailing report fruehjahr-2026 --out bericht.xlsx"))
@click.argument("campaign")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The workbook to write (.xlsx).")
@click.pass_context
def report_cmd(ctx: click.Context, campaign: str, out: Path) -> None:
    """Write the response report of CAMPAIGN (Übersicht, Wellen, Varianten, ...) to FILE.xlsx."""
    from reports.response import write_response_report

    if out.suffix.lower() != ".xlsx":
        raise MailingError(f"{out}: the report is an Excel workbook; give a file name ending in .xlsx")
    if out.parent and not out.parent.exists():
        raise MailingError(f"{out}: folder {out.parent} does not exist; create it first")
    s = write_response_report(open_store(ctx), campaign, out)
    rate = f"{s.response_rate:.2%}".replace(".", ",")
    line = (f"report {s.path}: {s.pieces_sent} pieces sent, {s.responses} responses ({rate}), "
            f"{s.undeliverable} undeliverable, {s.review_open} open review item(s)")
    if s.cost_per_response is not None:
        line += f", {s.cost_per_response:.2f} EUR per response".replace(".", ",")
    click.echo(line)


COMMANDS: list[click.Command] = [report_cmd]
