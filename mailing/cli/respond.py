"""`respond`: an answer given on the phone (or by another channel than paper), by the letter's code."""

from __future__ import annotations

import click

from mailing import codes
from mailing.cli.common import echo_json, example, json_option, open_store
from mailing.respond import CHANNELS, respond
from mailing.review import parse_assignments

_CHANNEL_WORDS = {"scan": "paper", "review": "paper"}


@click.command("respond", epilog=example("mailing respond 7K3M-9QXP-2W4H --channel phone info=yes call=no",
                                         "mailing respond 7k3m9qxp2w4h --channel phone optout=yes --json"))
@click.argument("code")
@click.argument("ticks", nargs=-1, metavar="[KEY=yes|no]...")
@click.option("--channel", type=click.Choice(CHANNELS), default="phone", show_default=True,
              help="How the answer came in.")
@json_option
@click.pass_context
def respond_cmd(ctx: click.Context, code: str, ticks: tuple[str, ...], channel: str, as_json: bool) -> None:
    """Record the answer to the letter with CODE: options named yes are ticked, the others not.

    The first answer of a letter counts, whatever its channel; a later one is a duplicate, but an opt-out in
    it still goes on the suppression list at once.
    """
    res = respond(open_store(ctx), code, parse_assignments(list(ticks)), channel)
    if as_json:
        echo_json(res.as_json())
        return
    ticked = ", ".join(k for k, v in res.options.items() if v) or "nothing ticked"
    where = f"{res.campaign} wave {res.wave}"
    if res.status == "duplicate":
        first = _CHANNEL_WORDS.get(res.first_source or "", res.first_source)
        click.echo(f"duplicate: {codes.format_code(res.code)} ({where}) was already answered ({first}); "
                   "not counted again" + ("; the objection is on the suppression list" if res.objection else ""))
        return
    click.echo(f"recorded: {codes.format_code(res.code)} ({where}), {channel}: {ticked}"
               + ("; on the suppression list" if res.objection else ""))


COMMANDS: list[click.Command] = [respond_cmd]
