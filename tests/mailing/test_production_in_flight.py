"""produce keeps a bounded number of batches in flight, so that memory stays flat for a large wave."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from recipients_helper import add_recipients

from mailing.campaigns import register_campaign
from mailing.production import produce
from mailing.store import Store


class CountingPool(ThreadPoolExecutor):
    """A real thread pool that records how many submitted batches were not finished at once."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.lock = threading.Lock()
        self.open = self.most = self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self.lock:
            self.open += 1
            self.submitted += 1
            self.most = max(self.most, self.open)
        fut = super().submit(fn, *args, **kwargs)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _fut: Future[Any]) -> None:
        with self.lock:
            self.open -= 1


def test_produce_does_not_submit_every_batch_at_once(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    """Finding: every batch's recipients rows were submitted at once (and held until the end): for a wave of a
    million letters that is every recipient in memory at the same time."""
    text = campaign_file.read_text(encoding="utf-8").replace("batch_size = 5000", "batch_size = 3")
    campaign_file.write_text(text, encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    add_recipients(store, c.name, 40)
    with CountingPool() as pool:
        result = produce(store, c.name, tmp_path / "druck", jobs=1, executor=pool)
    assert len(result.files) == pool.submitted >= 10
    assert pool.most <= 2, f"{pool.most} of {pool.submitted} batches in flight at once"
    assert all(Path(f).is_file() for f in result.files)
