"""`followup`: run a campaign's follow-up rules."""

from __future__ import annotations

import click

from mailing.cli.common import DATE, echo_json, example, json_option, open_store
from mailing.followup import run_followups


@click.command("followup", epilog=example("mailing followup fruehjahr-2026 --as-of 30.11.2026 --dry-run",
                                           "mailing followup fruehjahr-2026 --out nachfass/"))
@click.argument("campaign")
@click.option("--as-of", type=DATE, default=None,
              help="Run the rules as of this day, 30.11.2026 or 2026-11-30 (default: today); decides which "
                   "reminders are due.")
@click.option("--dry-run", is_flag=True, help="List who would get what; write nothing.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for call lists (default: ./followup-CAMPAIGN).")
@json_option
@click.pass_context
def followup_cmd(ctx: click.Context, campaign: str, as_of, dry_run: bool, out_dir: str | None,
                 as_json: bool) -> None:
    """Info packs, call lists, opt-outs and reminders from the responses so far."""
    result = run_followups(open_store(ctx), campaign, as_of=as_of, dry_run=dry_run,
                           out_dir=out_dir)
    if as_json:
        echo_json(result.as_json())
        return
    verb = "would" if dry_run else "did"
    click.echo(f"follow-ups for {campaign} as of {result.as_of.isoformat()}" + (" (dry run)" if dry_run else ""))
    for r in result.rules:
        if r.action == "suppress":
            line = f"{r.count} opt-out(s) added to the suppression list" + (
                f", {r.skipped} already on it" if r.skipped else "")
        elif r.action == "call":
            line = f"{r.count} on the call list" + (f": {', '.join(r.files)}" if r.files else "")
        elif r.wave is not None:
            line = f"wave {r.wave} planned with {r.count} letter(s)" + (
                f", {r.skipped} left out (suppressed/undeliverable)" if r.skipped else "") + (
                f"; print it with `mailing produce {campaign} --wave {r.wave} --out DIR`" if not dry_run else "")
        elif r.skipped:
            line = f"no wave: all {r.skipped} waiting were suppressed or undeliverable since"
        elif r.pending:
            line = f"{r.pending} letter(s) waiting until the rule's minimum volume is reached"
        else:
            line = "nothing new"
        click.echo(f"  {r.rule} ({verb}): {line}")
        if dry_run and r.recipients:
            shown = r.recipients[:20]
            click.echo("    " + "; ".join(shown) + (f"; … {len(r.recipients) - 20} more" if len(r.recipients) > 20 else ""))


COMMANDS: list[click.Command] = [followup_cmd]
