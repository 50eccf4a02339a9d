"""`mailing scan`: page images from files → readings (parallel, pure) → outcomes (one transaction per page).

A page that cannot be read never stops the run; it is recorded as `unreadable` with its reason and a
picture for the review queue. Only a store that cannot be written stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from mailing.campaigns import load_by_id
from mailing.errors import StoreError
from mailing.log import get_logger
from mailing.matching import Matcher, Outcome
from mailing.store import Store, campaigns

log = get_logger(__name__)


def max_options(store: Store) -> int:
    """The most coupon options any registered campaign has (all slots when there is none)."""
    from layouts.geometry import CHECKBOX_SLOTS

    with store.connect() as conn:
        rows = conn.execute(select(campaigns.c.id)).all()
        counts = [len(load_by_id(conn, r.id).option_keys) for r in rows]
    return max(counts, default=CHECKBOX_SLOTS)


def scan(
    store: Store,
    paths: Sequence[str],
    *,
    returned_mail: bool = False,
    jobs: int = 1,
    received_on: date | None = None,
    executor: Executor | None = None,
    on_page: Callable[[], None] | None = None,
) -> Iterator[Outcome]:
    """Scan files and folders; yield one Outcome per coupon found, or one per page without a coupon."""
    from scanning.pipeline import read_files  # OpenCV and the decoders load only when scanning

    matcher = Matcher(returned_mail=returned_mail, received_on=received_on)
    # Coupons of any campaign may be mixed in one stack: measure as many tick boxes as the widest has.
    slots = max_options(store)
    for reading in read_files(list(paths), jobs=jobs, executor=executor, slots=slots):
        try:
            with store.begin() as conn:
                outcomes = matcher.record(conn, reading)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record {reading.source} page {reading.page} in the store: {exc}") from exc
        for o in outcomes:
            if o.status in ("unreadable", "invalid", "unknown"):
                log.warning("%s, page %d: %s (%s)", o.source, o.page, o.status, o.reason)
            yield o
        if on_page:
            on_page()
