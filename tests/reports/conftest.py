"""Report tests: a campaign filled straight into the store (see mailing/testing/report_fixtures.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mailing.testing.report_fixtures import Expected, build_campaign  # noqa: E402


@pytest.fixture
def built(store, campaign) -> Expected:  # type: ignore[no-untyped-def]
    return build_campaign(store, campaign.name, n_pieces=600, n_responses=90, seed=11)
