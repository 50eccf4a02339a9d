"""The `mailing` command: parses options, opens the store, calls one library function, prints.

No business rule lives here. `main(argv)` returns an exit code so tests call it in-process. A
MailingError becomes one line on stderr and exit status 1; wrong usage exits 2.

Files hold personal data (the store, manifests, call lists, reports), so `main` makes everything it creates
owner-only: the process umask gains 0o077 (a stricter umask stays as it is) for the command's duration.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import click

from mailing.cli import (
    campaigns,
    clients,
    consent,
    db,
    demo,
    draw,
    followup,
    persons,
    production,
    reporting,
    respond,
    scanning,
    status,
    users,
    web,
)
from mailing.cli.common import add_db_option, root
from mailing.errors import MailingError

OWNER_ONLY_UMASK = 0o077  # no group or world access to anything a command creates

for module in (clients, campaigns, production, scanning, followup, draw, consent, reporting, status, demo, db, persons,
               respond, users, web):
    for command in module.COMMANDS:
        add_db_option(command)
        root.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    previous_umask = os.umask(OWNER_ONLY_UMASK)
    os.umask(previous_umask | OWNER_ONLY_UMASK)
    try:
        result = root.main(args=list(argv) if argv is not None else None, prog_name="mailing",
                           standalone_mode=False)
    except MailingError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted; finished work is saved, run the command again to resume", err=True)
        return 130
    finally:
        os.umask(previous_umask)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
