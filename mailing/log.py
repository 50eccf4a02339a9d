"""Logging policy for the whole project.

- error: input that cannot be used at all (the command then fails with a MailingError);
- warning: a skipped row, page or piece, always with its location (file, row, page);
- info: progress of long work (batches written, pages scanned);
- debug: decoder attempts and thresholds, for tuning.

Library modules log through `get_logger(__name__)`; only the command-line layer configures handlers,
progress bars and printing.
"""

from __future__ import annotations

import logging


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("mailing") else f"mailing.{name}")
