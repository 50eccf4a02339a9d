"""Setting up: `init`, `campaign add`, `import`, `suppress`."""

from __future__ import annotations

import click

from mailing.campaigns import init_example, register_campaign
from mailing.cli.common import echo_json, json_option, open_store


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False))
def init_cmd(folder: str) -> None:
    """Write FOLDER/campaign.toml and FOLDER/recipients.csv, a working example."""
    for path in init_example(folder):
        click.echo(f"wrote {path}")
    click.echo(f"next: mailing campaign add {folder}/campaign.toml")


@click.group("campaign")
def campaign_group() -> None:
    """Register and inspect campaigns."""


@campaign_group.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def campaign_add(ctx: click.Context, file: str) -> None:
    """Validate FILE (TOML) and register the campaign it names."""
    campaign, created = register_campaign(open_store(ctx), file)
    click.echo(f"{'registered' if created else 'updated'} campaign {campaign.name!r} "
               f"({len(campaign.variants)} variant(s), options: {', '.join(campaign.option_keys)})")


@click.command("import")
@click.argument("campaign")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sheet", default=None, help="Worksheet of an XLSX file (default: the first).")
@click.option("--skip-invalid", is_flag=True,
              help="Import the good rows; write the bad ones with reasons to FILE-STEM.rejected.csv.")
@click.pass_context
def import_cmd(ctx: click.Context, campaign: str, file: str, sheet: str | None, skip_invalid: bool) -> None:
    """Import recipients of CAMPAIGN from FILE (CSV or XLSX)."""
    from mailing.recipients import import_recipients

    s = import_recipients(open_store(ctx), campaign, file, sheet=sheet, skip_invalid=skip_invalid)
    click.echo(f"{s.source_file}: {s.rows} rows, {s.imported} imported, {s.rejected} rejected, "
               f"{s.duplicates} duplicates found, {s.merged} merged")
    if s.rejects_file:
        click.echo(f"rejected rows with reasons: {s.rejects_file}")


@click.group("suppress")
def suppress_group() -> None:
    """The suppression list (objections, Robinson, undeliverable, deceased), shared by all campaigns."""


@suppress_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reason", required=True, type=click.Choice(["objection", "robinson", "undeliverable", "deceased"]),
              help="Why these people are suppressed (objections never expire, Robinson entries after 5 years).")
@click.option("--sheet", default=None, help="Worksheet of an XLSX file (default: the first).")
@click.pass_context
def suppress_import(ctx: click.Context, file: str, reason: str, sheet: str | None) -> None:
    """Add FILE (CSV/XLSX of customer ids and/or names + addresses) to the suppression list."""
    from mailing.suppression import import_file

    s = import_file(open_store(ctx), file, reason, sheet=sheet)
    click.echo(f"{s.source_file}: {s.rows} rows, {s.added} added, {s.already} already listed (reason {reason})")


@suppress_group.command("list")
@json_option
@click.pass_context
def suppress_list(ctx: click.Context, as_json: bool) -> None:
    """Show every suppression entry."""
    from mailing.suppression import list_entries

    with open_store(ctx).connect() as conn:
        entries = list_entries(conn)
    if as_json:
        echo_json(entries)
        return
    if not entries:
        click.echo("the suppression list is empty")
        return
    for e in entries:
        who = e["customer_id"] or ""
        name = " ".join(x for x in (e["first_name"], e["last_name"] or e["company"]) if x)
        where = " ".join(x for x in (e["street"], e["house_number"], e["postal_code"], e["city"]) if x)
        expires = e["expires_at"].isoformat() if e["expires_at"] else "never"
        click.echo(f"{e['id']:>6}  {e['reason']:<13} {who:<12} {name[:30]:<30} {where[:40]:<40} "
                   f"{e['source']}:{e['source_ref'] or ''}  added {e['created_at']:%Y-%m-%d}  expires {expires}"
                   f"{'' if e['in_force'] else ' (expired)'}")


COMMANDS: list[click.Command] = [init_cmd, campaign_group, import_cmd, suppress_group]
