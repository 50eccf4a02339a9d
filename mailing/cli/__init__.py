"""The `mailing` command: parses options, opens the store, calls one library function, prints.

No business rule lives here. `main(argv)` returns an exit code so tests call it in-process. A
MailingError becomes one line on stderr and exit status 1; wrong usage exits 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import click

from mailing.cli import campaigns, db, demo, followup, production, reporting, scanning, status
from mailing.cli.common import root
from mailing.errors import MailingError

for module in (campaigns, production, scanning, followup, reporting, status, demo, db):
    for command in module.COMMANDS:
        root.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
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
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
