"""`client add`, `client list`: the clients (Mandanten) whose campaigns the store holds."""

from __future__ import annotations

import click

from mailing.cli.common import echo_json, example, json_option, open_store
from mailing.clients import add_client, list_clients


@click.group("client", epilog=example('mailing client add gartenwelt --name "Gartenwelt Schneider GmbH"',
                                      "mailing client list"))
def client_group() -> None:
    """The companies (Mandanten) the store runs campaigns for; a campaign names its client with
    `client = "KEY"` in its file (without it: the client `default`)."""


@client_group.command("add", epilog=example('mailing client add gartenwelt --name "Gartenwelt Schneider GmbH"'))
@click.argument("key")
@click.option("--name", default=None, help="Display name (default: the key).")
@click.pass_context
def client_add_cmd(ctx: click.Context, key: str, name: str | None) -> None:
    """Add client KEY (lower-case letters, digits, - and _): campaign files name it with `client = "KEY"`."""
    client = add_client(open_store(ctx), key, name)
    click.echo(f"client {client.key} added ({client.name}); campaign files name it with client = \"{client.key}\"")


@client_group.command("list", epilog=example("mailing client list", "mailing client list --json"))
@json_option
@click.pass_context
def client_list_cmd(ctx: click.Context, as_json: bool) -> None:
    """The clients, by key: name, campaigns, when added (JSON: an array of objects with key, name, created,
    default, campaigns)."""
    with open_store(ctx).connect() as conn:
        rows = list_clients(conn)
    if as_json:
        echo_json(rows)
        return
    width = max((len(str(r["key"])) for r in rows), default=0)
    for r in rows:
        click.echo(f"{r['key']:<{width}}  {r['campaigns']:>4} campaign(s)  added {str(r['created'])[:10]}  "
                   f"{r['name']}" + ("  (default: campaign files without client)" if r["default"] else ""))


COMMANDS: list[click.Command] = [client_group]
