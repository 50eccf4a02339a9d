"""`report`: the Excel response report of a campaign; `rsvp`: the RSVP list of an event invitation."""

from __future__ import annotations

from pathlib import Path

import click

from mailing.cli.common import client_option, example, open_store
from mailing.errors import MailingError


@click.command("report", epilog=example("mailing report fruehjahr-2026 --out bericht.xlsx",
                                        "mailing report fruehjahr-2026 --client gartenwelt --out bericht.xlsx"))
@click.argument("campaign")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The workbook to write (.xlsx).")
@client_option("Only a campaign of this client (another client's campaign is not found).")
@click.pass_context
def report_cmd(ctx: click.Context, campaign: str, out: Path, client: str | None) -> None:
    """Write the response report of CAMPAIGN (Übersicht, Wellen, Varianten, ...) to FILE.xlsx."""
    from reports.response import write_response_report

    if out.suffix.lower() != ".xlsx":
        raise MailingError(f"{out}: the report is an Excel workbook; give a file name ending in .xlsx")
    if out.parent and not out.parent.exists():
        raise MailingError(f"{out}: folder {out.parent} does not exist; create it first")
    s = write_response_report(open_store(ctx), campaign, out, client=client)
    rate = f"{s.response_rate:.2%}".replace(".", ",")
    line = (f"report {s.path}: {s.pieces_sent} pieces sent, {s.responses} responses ({rate}), "
            f"{s.undeliverable} undeliverable, {s.review_open} open review item(s)")
    if s.cost_per_response is not None:
        line += f", {s.cost_per_response:.2f} EUR per response".replace(".", ",")
    click.echo(line)


@click.command("rsvp", epilog=example("mailing rsvp sommerfest-2026 --out anmeldungen.xlsx"))
@click.argument("campaign")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The list to write (.xlsx); the CSV goes beside it (same name, .csv).")
@click.pass_context
def rsvp_cmd(ctx: click.Context, campaign: str, out: Path) -> None:
    """Write the RSVP list of CAMPAIGN (an invitation with a number of persons and/or a date choice on the
    coupon): who replies, with how many persons, for which date; totals below."""
    from mailing.campaigns import load
    from mailing.rsvp import is_event, rsvp_list
    from reports.rsvp import write_rsvp_list

    if out.suffix.lower() != ".xlsx":
        raise MailingError(f"{out}: the RSVP list is an Excel workbook; give a file name ending in .xlsx")
    with open_store(ctx).connect() as conn:
        cid, c = load(conn, campaign)
        if not is_event(c):
            raise MailingError(f"campaign {campaign!r} has no counted option (count = 4) or date choice "
                               "(choices = [...]) on its coupon; there is nothing to list")
        rsvp = rsvp_list(conn, cid, c)
    csv_path = out.with_suffix(".csv")
    n = write_rsvp_list(rsvp, out, csv_path, c.title)
    by_date = ", ".join(f"{k}: {v}" for k, v in rsvp.by_choice.items())
    click.echo(f"rsvp {out} and {csv_path}: {n} repl{'y' if n == 1 else 'ies'}, {rsvp.persons} person(s)"
               + (f" ({by_date})" if by_date else "")
               + (f", {rsvp.in_review} with doubtful boxes in review" if rsvp.in_review else ""))


COMMANDS: list[click.Command] = [report_cmd, rsvp_cmd]
