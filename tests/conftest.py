"""Shared fixtures: a temporary SQLite store and the example campaign registered in it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailing.campaigns import register_campaign
from mailing.config import example_campaign_path
from mailing.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(str(tmp_path / "test.db"))
    yield s
    s.dispose()


@pytest.fixture
def campaign_file(tmp_path: Path) -> Path:
    dst = tmp_path / "campaign" / "campaign.toml"
    dst.parent.mkdir()
    shutil.copyfile(example_campaign_path(), dst)
    return dst


@pytest.fixture
def campaign(store: Store, campaign_file: Path):
    c, _ = register_campaign(store, campaign_file)
    return c
