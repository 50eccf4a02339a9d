"""`user add`, `user list`: the people who log in to the web front end (`mailing serve`)."""

from __future__ import annotations

import sys

import click

from mailing.cli.common import echo_json, example, json_option, open_store
from mailing.errors import MailingError
from mailing.users import ROLES, add_user, check_password_rules, list_users, set_user_clients


@click.group("user", epilog=example("mailing user add anna --role operator", "mailing user list",
                                    "mailing user clients anna --client gartenwelt"))
def user_group() -> None:
    """Users of the review station and the campaign pages."""


@user_group.command("add", epilog=example("mailing user add anna --role operator",
                                          "mailing user add ben --role operator --client gartenwelt --client moebel-k",
                                          "printf '%s\\n' \"$PW\" | mailing user add chef --role admin --password-stdin"))
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="operator: the review station; admin: also the campaign pages.")
@click.option("--client", "clients", multiple=True, metavar="KEY",
              help="A client the user may see (repeat for several; without it: every client).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input "
              "instead of asking twice.")
@click.pass_context
def user_add_cmd(ctx: click.Context, name: str, role: str, clients: tuple[str, ...], password_stdin: bool) -> None:
    """Add user NAME with a password (asked twice, not shown)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise MailingError("no password on standard input: pipe it in, e.g. printf '%s\\n' \"$PW\" | ...")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password",
                                value_proc=_checked)
    user = add_user(open_store(ctx), name, role, password, clients=clients)
    click.echo(f"user {user.name} added ({user.role})" + (f"; sees clients {', '.join(user.clients)}" if user.clients
                                                         else ""))


@user_group.command("clients", epilog=example("mailing user clients anna --client gartenwelt --client moebel-k",
                                              "mailing user clients anna --all"))
@click.argument("name")
@click.option("--client", "clients", multiple=True, metavar="KEY", help="A client the user may see (repeat).")
@click.option("--all", "all_clients", is_flag=True, help="The user may see every client.")
@click.pass_context
def user_clients_cmd(ctx: click.Context, name: str, clients: tuple[str, ...], all_clients: bool) -> None:
    """Set the clients user NAME may see in the web (takes effect at their next page)."""
    if bool(clients) == all_clients:
        raise click.UsageError("name the clients with --client KEY (repeat) or give --all (one of them)")
    user = set_user_clients(open_store(ctx), name, () if all_clients else clients)
    click.echo(f"user {user.name} sees: {', '.join(user.clients) or 'every client'}")


def _checked(password: str) -> str:
    try:
        check_password_rules(password)
    except MailingError as exc:
        raise click.UsageError(str(exc)) from None
    return password


@user_group.command("list", epilog=example("mailing user list", "mailing user list --json"))
@json_option
@click.pass_context
def user_list_cmd(ctx: click.Context, as_json: bool) -> None:
    """The users, by name."""
    found = list_users(open_store(ctx))
    if as_json:
        echo_json([{"name": u.name, "role": u.role, "clients": list(u.clients)} for u in found])
        return
    for u in found:
        click.echo(f"{u.name}\t{u.role}\t{', '.join(u.clients) or 'all clients'}")


COMMANDS: list[click.Command] = [user_group]
