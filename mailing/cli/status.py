"""`status`: a campaign's counts."""

from __future__ import annotations

import click

from mailing.cli.common import client_option, echo_json, example, json_option, open_store
from mailing.status import campaign_status


@click.command("status", epilog=example("mailing status fruehjahr-2026", "mailing status fruehjahr-2026 --json",
                                        "mailing status fruehjahr-2026 --client gartenwelt --json"))
@click.argument("campaign")
@client_option("Only a campaign of this client (another client's campaign is not found).")
@json_option
@click.pass_context
def status_cmd(ctx: click.Context, campaign: str, client: str | None, as_json: bool) -> None:
    """Recipients, pieces, responses, review items and waves of CAMPAIGN."""
    st = campaign_status(open_store(ctx), campaign, client)
    if as_json:
        echo_json(st)
        return
    click.echo(f"campaign {st['campaign']} (client {st['client']}): {st['recipients']} recipients, {st['suppressed']} suppressed")
    for w in st["waves"]:
        sent = f"{w['sent']} sent" if w["status"] != "planned" else "planned, not sent"
        click.echo(f"  wave {w['wave']} ({w['kind']}, {w['status']}, drop {w['drop_date'] or '-'}): "
                   f"{w['pieces']} pieces, {sent}" + (f", {w['control']} control" if w["control"] else "")
                   + (f", {w['capped']} held back by the contact cap" if w["capped"] else "")
                   + (f", {w['pulled']} pulled" if w["pulled"] else "")
                   + (f", {w['to_pull']} to pull" if w["to_pull"] else ""))
    if st["pulled"] or st["to_pull"]:
        click.echo(f"late objections: {st['to_pull']} printed letter(s) to pull at the lettershop"
                   + (f" (mailing pull-list {st['campaign']})" if st["to_pull"] else "")
                   + f", {st['pulled']} pulled")
    click.echo(f"responses {st['responses']} of {st['sent']} sent ({st['response_rate']:.1%}), "
               f"duplicates {st['duplicates']}, undeliverable {st['undeliverable']}, review open {st['review_open']}")
    click.echo("by channel: " + ", ".join(f"{k} {v}" for k, v in st["responses_by_channel"].items()))
    click.echo("options: " + ", ".join(f"{k} {v}" for k, v in st["options"].items()))
    if st["followups_waiting"]:
        click.echo("follow-ups waiting for minimum volume: "
                   + ", ".join(f"{k} {v}" for k, v in st["followups_waiting"].items()))
    dup = st.get("import_duplicates") or {}
    found = dup.get("duplicates", dup.get("found", 0))
    if found or dup.get("already_present"):
        click.echo(f"at import: {found} likely duplicate(s), {dup.get('merged', 0)} merged"
                   + (f", {dup['already_present']} row(s) already present and not added"
                      if "already_present" in dup else "")
                   + (f"; list them: mailing duplicates {st['campaign']}" if found else ""))


COMMANDS: list[click.Command] = [status_cmd]
