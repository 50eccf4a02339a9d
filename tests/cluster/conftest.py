"""A real Dask cluster for the cluster tests: `dask scheduler` and two `dask worker` processes on 127.0.0.1
(free ports), started once per test session and stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("distributed", reason="the cluster extra is not installed: pip install -e '.[dev,cluster]'")


@pytest.fixture(scope="session")
def cluster() -> Iterator[str]:
    from mailing.cluster import local_cluster

    with local_cluster(workers=2, threads=1) as address:
        yield address
