"""`user add`, `user list`: the people who log in to the web front end (`mailing serve`)."""

from __future__ import annotations

import sys

import click

from mailing.cli.common import echo_json, example, json_option, open_store
from mailing.errors import MailingError
from mailing.users import ROLES, add_user, check_password_rules, list_users


@click.group("user", epilog=example("mailing user add anna --role operator", "mailing user list"))
def user_group() -> None:
    """Users of the review station and the campaign pages."""


@user_group.command("add", epilog=example("mailing user add anna --role operator",
                                          "printf '%s\\n' \"$PW\" | mailing user add chef --role admin --password-stdin"))
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="operator: the review station; admin: also the campaign pages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input "
              "instead of asking twice.")
@click.pass_context
def user_add_cmd(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add user NAME with a password (asked twice, not shown)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise MailingError("no password on standard input: pipe it in, e.g. printf '%s\\n' \"$PW\" | ...")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password",
                                value_proc=_checked)
    user = add_user(open_store(ctx), name, role, password)
    click.echo(f"user {user.name} added ({user.role})")


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
        echo_json([{"name": u.name, "role": u.role} for u in found])
        return
    for u in found:
        click.echo(f"{u.name}\t{u.role}")


COMMANDS: list[click.Command] = [user_group]
