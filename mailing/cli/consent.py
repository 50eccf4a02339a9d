"""`consent withdraw`: a person takes back their consent to be called."""

from __future__ import annotations

import click

from mailing.cli.common import echo_json, example, json_option, open_store
from mailing.cli.persons import _who, code_option, customer_option, person_client_option


@click.group("consent", epilog=example("mailing consent withdraw --customer-id K-1001"))
def consent_group() -> None:
    """Consent to telephone calls (UWG §7), given by a "call me" tick: on record, and withdrawn."""


@consent_group.command("withdraw", epilog=example("mailing consent withdraw --customer-id K-1001",
                                                  "mailing consent withdraw --code 7K3M-9QXP-2W4H --json"))
@customer_option
@person_client_option
@code_option
@json_option
@click.pass_context
def withdraw_cmd(ctx: click.Context, customer_id: str | None, client: str | None, code: str | None,
                 as_json: bool) -> None:
    """Withdraw a person's consent to be called, in every campaign: no later call list holds them."""
    from mailing.consent import withdraw

    result = withdraw(open_store(ctx), **_who(customer_id, code, client))
    if as_json:
        echo_json(result.as_json())
        return
    click.echo(f"call consent withdrawn for {result.records} record(s) ({result.withdrawn} consent(s) on record); "
               "no later call list holds them")
    for cl in result.call_lists:
        click.echo(f"  still on the call list of {cl['date']} ({cl['campaign']}): strike them there")


COMMANDS: list[click.Command] = [consent_group]
