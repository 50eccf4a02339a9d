"""One exception family. The command line turns a MailingError into one line and exit status 1.

Messages name the file, row, column or page and say what to do, e.g.
``recipients.csv, row 14, column PLZ: "1234" is not a German postal code (5 digits); fix the row or use --skip-invalid``.
"""

from __future__ import annotations

from pathlib import Path


class MailingError(Exception):
    """Base of every error the user can act on."""


class ConfigError(MailingError):
    """A campaign file is wrong; the message names the file, line and what is allowed."""

    def __init__(self, file: str | Path, message: str, line: int | None = None) -> None:
        where = f"{file}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {message}")
        self.file, self.line = str(file), line


class InputError(MailingError):
    """A data file (recipients, suppression list, scan) is wrong at a named place."""

    def __init__(
        self,
        file: str | Path,
        message: str,
        row: int | None = None,
        column: str | None = None,
        page: int | None = None,
    ) -> None:
        parts = [str(file)]
        if row is not None:
            parts.append(f"row {row}")
        if column:
            parts.append(f"column {column}")
        if page is not None:
            parts.append(f"page {page}")
        super().__init__(", ".join(parts) + ": " + message)
        self.file, self.row, self.column, self.page, self.reason = str(file), row, column, page, message


class NotFoundError(MailingError):
    """A campaign, wave or review item named on the command line does not exist."""


class StoreError(MailingError):
    """The store cannot be opened or written."""
