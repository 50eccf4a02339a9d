"""Setting up: `init`, `campaign add`, `import`, `suppress`."""

from __future__ import annotations

import click

from mailing.campaigns import init_example, register_campaign
from mailing.cli.common import open_store


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


COMMANDS: list[click.Command] = [init_cmd, campaign_group]
