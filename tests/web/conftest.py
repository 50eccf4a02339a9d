"""Fixtures of the web tests: a review queue made once per session and copied for each test."""

from __future__ import annotations

from pathlib import Path

import pytest
from station_queue import Queue, copy_queue, make_queue


@pytest.fixture(scope="session")
def queue_template(tmp_path_factory: pytest.TempPathFactory) -> Queue:
    return make_queue(tmp_path_factory.mktemp("queue"))


@pytest.fixture
def queue(queue_template: Queue, tmp_path: Path) -> Queue:
    q = copy_queue(queue_template, tmp_path)
    yield q
    q.store.dispose()
