"""`person export`, `person erase` (GDPR Art. 15 and 17) and `purge` (retention): parse, call, print."""

from __future__ import annotations

import click

from mailing.cli.common import client_option, echo_json, example, json_option, open_store


def _who(customer_id: str | None, code: str | None, client: str | None = None) -> dict[str, str | None]:
    if (customer_id is None) == (code is None):
        raise click.UsageError("name the person by --customer-id ID or by --code CODE (one of them)")
    return {"customer_id": customer_id, "code": code, "client": client}


customer_option = click.option("--customer-id", "customer_id", metavar="ID", default=None,
                               help="The person's customer id (Kundennummer), in every campaign of its client.")
person_client_option = client_option("The client whose customer id --customer-id is (needed when the id is "
                                     "known under several clients; customer ids are per client).")
code_option = click.option("--code", metavar="CODE", default=None,
                           help="A response code of a letter the person got (as printed, hyphens optional).")
dry_run_option = click.option("--dry-run", is_flag=True, help="Show what would go; change nothing.")


@click.group("person", epilog=example("mailing person export --customer-id K-1001 --out auskunft-K-1001.json",
                                      "mailing person erase --customer-id K-1001"))
def person_group() -> None:
    """A data subject's rights: what is stored about a person (Art. 15 GDPR), erasure (Art. 17)."""


@person_group.command("export", epilog=example("mailing person export --customer-id K-1001 --out auskunft.json",
                                               "mailing person export --customer-id K-1001 --client gartenwelt "
                                               "--out auskunft.json",
                                               "mailing person export --code 7K3M-9QXP-2W4H --out auskunft.json"))
@customer_option
@person_client_option
@code_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), metavar="FILE.json",
              help="The JSON file to write (owner-only); pictures go into FILE-pictures/ beside it.")
@click.pass_context
def export_cmd(ctx: click.Context, customer_id: str | None, client: str | None, code: str | None, out: str) -> None:
    """Everything stored about one person: records, letters and codes, responses, ticks, scan pictures,
    suppression entries and audit lines."""
    from mailing.persons import export_person

    res = export_person(open_store(ctx), out, **_who(customer_id, code, client))
    click.echo(f"{res.out}: {res.records} record(s) in {res.campaigns} campaign(s), {res.pieces} letter(s), "
               f"{res.responses} response(s), {res.suppression_entries} suppression entr(ies), "
               f"{res.audit_entries} audit line(s)")
    if res.pictures_dir is not None:
        click.echo(f"{res.pictures} picture(s) in {res.pictures_dir}")


@person_group.command("erase", epilog=example("mailing person erase --customer-id K-1001 --dry-run",
                                              "mailing person erase --customer-id K-1001 --client gartenwelt",
                                              "mailing person erase --code 7K3M-9QXP-2W4H"))
@customer_option
@person_client_option
@code_option
@dry_run_option
@json_option
@click.pass_context
def erase_cmd(ctx: click.Context, customer_id: str | None, client: str | None, code: str | None, dry_run: bool,
              as_json: bool) -> None:
    """Erase a person's name, address, contact data and pictures everywhere; counts stay, and a keyed hash
    on the suppression list keeps them from being mailed again."""
    from mailing.persons import erase_person

    res = erase_person(open_store(ctx), dry_run=dry_run, **_who(customer_id, code, client))
    if as_json:
        echo_json(res.as_json())
        return
    if res.already_erased and not res.pictures:
        click.echo("already erased: nothing readable of this person is left (the suppression list holds a keyed hash)")
        return
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb} {res.records} record(s) in {len(res.campaigns)} campaign(s)"
               + (f" ({', '.join(res.campaigns)})" if res.campaigns else "")
               + f", {res.pictures} picture(s); {res.entries_hashed} suppression entr(ies) "
               + ("would become" if dry_run else "became") + f" keyed hashes, {res.entries_added} erasure "
               + f"entr(ies); {res.texts_cleaned} audit/note text(s) cleaned; {res.pieces} letter(s) and "
               + f"{res.responses} response(s) stay in the statistics")
    if res.compacted is False:
        click.echo("warning: another process holds the store open, so freed space could not be overwritten yet; "
                   "run this command again when it has finished", err=True)
    for folder in res.print_folders:
        click.echo(f"note: print files in {folder} still name the person; delete them if they are not needed",
                   err=True)


@click.command("purge", epilog=example("mailing purge --dry-run", "mailing purge --older-than 730"))
@click.option("--older-than", "older_than", type=click.IntRange(0, None), default=None, metavar="DAYS",
              help="Purge finished campaigns whose last drop is more than DAYS back (default: each campaign's "
                   "[retention] months, 24 when not set).")
@dry_run_option
@json_option
@click.pass_context
def purge_cmd(ctx: click.Context, older_than: int | None, dry_run: bool, as_json: bool) -> None:
    """Delete coupon pictures and personal data of finished campaigns after the retention period; statistics
    and the (hashed) suppression list stay."""
    from mailing.purge import purge

    res = purge(open_store(ctx), older_than, dry_run=dry_run)
    if as_json:
        echo_json(res.as_json())
        return
    verb = "would purge" if dry_run else "purged"
    if not res.campaigns:
        click.echo("no finished campaign is past its retention period")
    for c in res.campaigns:
        click.echo(f"{verb} {c.campaign} (last drop {c.last_drop:%d.%m.%Y}): {c.records} record(s), "
                   f"{c.pictures} picture(s), {c.entries} suppression entr(ies) to keyed hashes")
    for name in res.unfinished:
        click.echo(f"kept {name}: past its retention period, but a wave is only planned or a follow-up is pooled; "
                   "produce it or give it up, then purge again", err=True)
    if res.unassigned_pictures or res.kept_for_review:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {res.unassigned_pictures} picture(s) of pages no "
                   f"letter was found for; {res.kept_for_review} kept for open review items")
    if res.compacted is False:
        click.echo("warning: another process holds the store open; the freed space is overwritten at the next "
                   "purge or erase", err=True)


COMMANDS: list[click.Command] = [person_group, purge_cmd]
