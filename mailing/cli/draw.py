"""`draw`: a prize draw among a campaign's respondents."""

from __future__ import annotations

import click

from mailing.cli.common import DATE, echo_json, example, json_option, open_store
from mailing.draw import draw


@click.command("draw", epilog=example("mailing draw fruehjahr-2026 --winners 3 --seed 20260430 --deadline 30.04.2026",
                                       "mailing draw fruehjahr-2026 --winners 3 --seed 7 --letter gewinn --json"))
@click.argument("campaign")
@click.option("--winners", type=click.IntRange(1, None), required=True, help="How many winners to draw.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Makes the draw reproducible: the same seed over the same respondents draws the same winners "
                   "(default: a random seed, printed and recorded in the audit log).")
@click.option("--deadline", type=DATE, default=None,
              help="Only responses received up to this day, 30.04.2026 or 2026-04-30 (default: all).")
@click.option("--letter", default=None, metavar="KEY",
              help="Plan a letter wave to the winners with the campaign's [letters.KEY] (once per campaign: "
                   "the same draw repeated names that wave again; another draw with --letter is refused).")
@json_option
@click.pass_context
def draw_cmd(ctx: click.Context, campaign: str, winners: int, seed: int | None, deadline, letter: str | None,
             as_json: bool) -> None:
    """Draw winners among the respondents; recorded in the audit log with seed and list hash."""
    result = draw(open_store(ctx), campaign, winners, seed=seed, deadline=deadline, letter=letter)
    if as_json:
        echo_json(result.as_json())
        return
    until = f" up to {result.deadline.isoformat()}" if result.deadline else ""
    click.echo(f"draw for {campaign}: {len(result.winners)} of {result.eligible} respondent(s){until}, "
               f"seed {result.seed}, list SHA-256 {result.sha256}")
    for i, w in enumerate(result.winners, 1):
        click.echo(f"  {i}. {w.code}  {w.customer_id or '-'}  {w.name}")
    if result.wave is not None and result.repeated:
        click.echo(f"the same draw planned wave {result.wave} for the winners before; no new wave")
    elif result.wave is not None:
        click.echo(f"wave {result.wave} planned for the winners; print it with "
                   f"`mailing produce {campaign} --wave {result.wave} --out DIR`")
    if result.left_out:
        click.echo(f"{result.left_out} winner(s) are suppressed or undeliverable: no letter, tell them another way")


COMMANDS: list[click.Command] = [draw_cmd]
