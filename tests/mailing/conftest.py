"""Fixtures of the mailing tests: a produced example campaign (tests/mailing/cycle.py) to scan against."""

from __future__ import annotations

from pathlib import Path

import pytest
from cycle import setup_campaign


@pytest.fixture
def cycle(tmp_path: Path, capsys):  # type: ignore[no-untyped-def]
    """(store path, campaign name, manifest rows, print folder) of the example campaign, wave 1 produced."""
    db, name, rows = setup_campaign(tmp_path, capsys)
    print_dir = next(tmp_path.joinpath("print").rglob("*.pdf")).parent
    return db, name, rows, print_dir
