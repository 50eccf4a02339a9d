"""Setting up: `init`, `campaign add|list`, `import`, `duplicates`, `suppress`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from mailing.campaigns import init_example, register_campaign
from mailing.cli.common import client_option, echo_json, example, json_option, open_store
from mailing.store import DEFAULT_CLIENT


@click.command("init", epilog=example("mailing init meine-aktion"))
@click.argument("folder", type=click.Path(file_okay=False))
def init_cmd(folder: str) -> None:
    """Write FOLDER/campaign.toml and FOLDER/recipients.csv, a working example."""
    for path in init_example(folder):
        click.echo(f"wrote {path}")
    click.echo(f"next: mailing campaign add {folder}/campaign.toml")


@click.group("campaign", epilog=example("mailing campaign add meine-aktion/campaign.toml", "mailing campaign list"))
def campaign_group() -> None:
    """Register and inspect campaigns."""


@campaign_group.command("add", epilog=example("mailing campaign add meine-aktion/campaign.toml"))
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def campaign_add(ctx: click.Context, file: str) -> None:
    """Validate FILE (TOML) and register the campaign it names."""
    campaign, created = register_campaign(open_store(ctx), file)
    click.echo(f"{'registered' if created else 'updated'} campaign {campaign.name!r} for client "
               f"{campaign.client or DEFAULT_CLIENT!r} "
               f"({len(campaign.variants)} variant(s), options: {', '.join(campaign.option_keys)})")


@campaign_group.command("list", epilog=example("mailing campaign list", "mailing campaign list --json",
                                               "mailing campaign list --client gartenwelt"))
@client_option("Only the campaigns of this client (its key).")
@json_option
@click.pass_context
def campaign_list(ctx: click.Context, client: str | None, as_json: bool) -> None:
    """The registered campaigns: name, title, client, when registered, recipients (JSON: an array of objects)."""
    from mailing.campaigns import list_campaigns
    from mailing.clients import client_by_key

    with open_store(ctx).connect() as conn:
        rows = list_campaigns(conn, None if client is None else [client_by_key(conn, client).id])
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no campaigns yet; register one with `mailing campaign add FILE.toml`")
        return
    width = max(len(str(r["name"])) for r in rows)
    for r in rows:
        created = datetime.fromisoformat(str(r["created"]))
        click.echo(f"{r['name']:<{width}}  {r['recipients']:>7} recipients  registered {created:%Y-%m-%d}  "
                   f"client {r['client']}  {r['title']}")


def _rows_text(rows: tuple[int, ...], limit: int = 8) -> str:
    """Row numbers as short ranges: (2, 3, 4, 7) → "2-4, 7"."""
    ranges: list[str] = []
    start = prev = None
    for n in [*rows, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            ranges.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    shown = ", ".join(ranges[:limit])
    return shown + (f", … ({len(ranges) - limit} more)" if len(ranges) > limit else "")


@click.command("import", epilog=example("mailing import fruehjahr-2026 meine-aktion/recipients.csv",
                                        "mailing import fruehjahr-2026 liste.xlsx --sheet Adressen --skip-invalid",
                                        "mailing import herbst-2026 --from fruehjahr-2026 --non-responders"))
@click.argument("campaign")
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--sheet", default=None, help="Worksheet of an XLSX file (default: the first).")
@click.option("--skip-invalid", is_flag=True,
              help="Import the good rows; write the bad ones with reasons to FILE-STEM.rejected.csv.")
@click.option("--from", "from_campaign", default=None, metavar="OTHER",
              help="Take the recipients of an earlier campaign instead of a file (all of them, or by response).")
@click.option("--responders", "selection", flag_value="responders", help="With --from: those who answered.")
@click.option("--non-responders", "selection", flag_value="non-responders",
              help="With --from: those mailed who did not answer (undeliverable left out).")
@click.option("--option", "option", default=None, metavar="KEY",
              help="With --from: those who answered with option KEY ticked.")
@click.pass_context
def import_cmd(ctx: click.Context, campaign: str, file: str | None, sheet: str | None, skip_invalid: bool,
               from_campaign: str | None, selection: str | None, option: str | None) -> None:
    """Import recipients of CAMPAIGN from FILE (CSV or XLSX), or from an earlier campaign (--from OTHER).

    A record already in the campaign (same customer id; without one, same name and address) is never added
    again: it is counted as already present. With --from, people on the suppression list are not added
    (counted), and the import records the campaign and selection they came from.
    """
    from mailing.errors import MailingError
    from mailing.recipients import import_from_campaign, import_recipients

    if from_campaign is not None:
        if file is not None or sheet or skip_invalid:
            raise MailingError("--from takes no FILE, --sheet or --skip-invalid; give either a file or --from OTHER")
        if selection and option:
            raise MailingError("give one of --responders, --non-responders, --option KEY")
        s = import_from_campaign(open_store(ctx), campaign, from_campaign,
                                 "option" if option else (selection or "all"), option)
        click.echo(f"{s.source_file}: {s.rows} chosen, {s.imported} imported, {s.already_present} already present, "
                   f"{s.suppressed} suppressed (not added), {s.duplicates} likely duplicates found, {s.merged} merged")
        return
    if selection or option:
        raise MailingError("--responders, --non-responders and --option need --from OTHER")
    if file is None:
        raise MailingError("give a FILE to import, or --from OTHER")
    s = import_recipients(open_store(ctx), campaign, file, sheet=sheet, skip_invalid=skip_invalid)
    if s.earlier_import is not None:
        click.echo(f"{s.source_file} was already imported on {s.earlier_import.at:%Y-%m-%d}"
                   + (f" (as {s.earlier_import.source_file})"
                      if Path(s.earlier_import.source_file).name != Path(s.source_file).name else "")
                   + f"; {s.already_present} rows already present")
    click.echo(f"{s.source_file}: {s.rows} rows, {s.imported} imported, {s.already_present} already present, "
               f"{s.rejected} rejected, {s.duplicates} likely duplicates found, {s.merged} merged")
    if s.already_present_rows:
        click.echo(f"already present (not added again): rows {_rows_text(s.already_present_rows)}")
    if s.erased:
        click.echo(f"{s.erased} row(s) not stored: persons erased from this store (GDPR Art. 17), never mailed")
    if s.duplicates:
        click.echo(f"list them: mailing duplicates {campaign}")
    if s.rejects_file:
        click.echo(f"rejected rows with reasons: {s.rejects_file}")


@click.command("duplicates", epilog=example("mailing duplicates fruehjahr-2026",
                                            "mailing duplicates fruehjahr-2026 --out doppelte.xlsx"))
@click.argument("campaign")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the list to FILE (.csv or .xlsx) instead of showing it.")
@json_option
@click.pass_context
def duplicates_cmd(ctx: click.Context, campaign: str, out: Path | None, as_json: bool) -> None:
    """List the likely duplicates of CAMPAIGN found at import: each recipient, the earlier one it repeats,
    kind (exact: same name and address, other customer id; likely: similar surname) and reason."""
    from mailing.campaigns import load
    from mailing.dedupe import duplicate_summary, list_duplicates, write_duplicates

    with open_store(ctx).connect() as conn:
        campaign_id, _ = load(conn, campaign)
        pairs = list_duplicates(conn, campaign_id)
        summary = duplicate_summary(conn, campaign_id)
    if as_json:
        echo_json([p.as_json() for p in pairs])
        return
    if out is not None:
        write_duplicates(pairs, out)
        click.echo(f"{len(pairs)} duplicate(s) → {out}")
        return
    if not pairs:
        click.echo(f"{campaign}: no likely duplicates ({summary.already_present} import row(s) were already "
                   "present and not added)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{campaign}: duplicates", show_lines=True)
    for label in ("recipient", "duplicate of", "kind", "reason"):
        table.add_column(label)
    for p in pairs:
        table.add_row(f"#{p.recipient} {p.name}\n{p.address}\n{p.file} row {p.row}",
                      f"#{p.duplicate_of} {p.of_name}\n{p.of_address}\n{p.of_file} row {p.of_row}",
                      p.kind + ("\n(merged)" if p.merged else ""), p.reason)
    Console().print(table, markup=False)
    click.echo(f"{summary.duplicates} duplicate(s) ({summary.exact} exact, {summary.likely} likely), "
               f"{summary.merged} merged; {summary.already_present} import row(s) already present and not added")


@click.group("suppress", epilog=example("mailing suppress import abmelder.csv --reason objection",
                                        "mailing suppress list"))
def suppress_group() -> None:
    """The suppression list: objections (per client), Robinson, undeliverable, deceased (for every client)."""


@suppress_group.command("import", epilog=example("mailing suppress import abmelder.csv --reason objection",
                                                 "mailing suppress import abmelder.csv --reason objection "
                                                 "--client gartenwelt"))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reason", required=True, type=click.Choice(["objection", "robinson", "undeliverable", "deceased"]),
              help="Why these people are suppressed (objections never expire, Robinson entries after 5 years).")
@click.option("--sheet", default=None, help="Worksheet of an XLSX file (default: the first).")
@client_option("The client whose list this is: its customer ids are matched, and objections bind it alone "
               "(Robinson, undeliverable, deceased bind every client). Needed when the store has several.")
@click.pass_context
def suppress_import(ctx: click.Context, file: str, reason: str, sheet: str | None, client: str | None) -> None:
    """Add FILE (CSV/XLSX of customer ids and/or names + addresses) to the suppression list."""
    from mailing.suppression import import_file

    s = import_file(open_store(ctx), file, reason, sheet=sheet, client=client)
    click.echo(f"{s.source_file}: {s.rows} rows, {s.added} added, {s.already} already listed (reason {reason})")


@suppress_group.command("list", epilog=example("mailing suppress list --json"))
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
                   f"{e['source']}:{e['source_ref'] or ''}  added {e['created_at']:%Y-%m-%d}  expires {expires}  "
                   f"{'all clients' if e['all_clients'] else 'client ' + str(e['client'])}"
                   f"{'' if e['in_force'] else ' (expired)'}")


COMMANDS: list[click.Command] = [init_cmd, campaign_group, import_cmd, duplicates_cmd, suppress_group]
