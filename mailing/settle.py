"""A clearer copy settles doubtful boxes: the grey rescan of a page first scanned black and white.

A stack scanned black and white loses light ticks without a trace, so its coupons come back with doubtful
boxes (docs/measurements.md, §Tick boxes); `mailing scan` names those pages and asks for a grey scan. When
that scan (or a second copy the person sent) reads a coupon whose counted response still has doubtful boxes,
it is a duplicate as before, not counted again, but what it reads clearly decides those boxes:

- only boxes the response left doubtful (None), while its "doubtful" review item is open: a box already
  decided, by a reading or by a person, is never changed here;
- only when the copy agrees with every box both readings decided: a copy that reads a decided box otherwise
  is another answer, and the matcher sends it to a person as before ("duplicate ticks");
- never into a "call me" and an opt-out ticked together: that stays for a person.

An opt-out so settled is on the suppression list in the same transaction. The settled boxes name their scan
(`response_options.settled_by`), and so does the review item they close, so `runs undo` of the copy's run
makes them doubtful again and reopens the item (`unsettle`), together with what follow-ups made of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from mailing.config import Campaign
from mailing.store import audit, consents, followups, response_options, responses, review_items, scans, utcnow

K = TypeVar("K")  # a box: an option key in the store, a slot in bench/ticks.py


@dataclass(frozen=True)
class Settled:
    """Boxes of a counted response a clearer copy decided."""

    keys: tuple[str, ...]  # the boxes decided
    scan_id: int  # the scan of the first reading (it holds the review item)

    @property
    def note(self) -> str:
        return f"settles doubtful boxes of scan {self.scan_id}: " + ", ".join(self.keys)


def settle(conn: Connection, campaign: Campaign, response_id: int, recorded: Mapping[str, bool | None],
           read: Mapping[str, bool | None], scan_id: int) -> Settled | None:
    """Decide the response's doubtful boxes from the copy read by scan `scan_id`, where the rules above
    allow it; None when nothing was settled."""
    from mailing.matching import apply_objection, call_optout_conflict

    item = _doubtful_item(conn, response_id)
    if item is None or item.status != "open":
        return None
    decided = decides(recorded, read)
    after = {**recorded, **decided}
    if not decided or call_optout_conflict(campaign, after):
        return None
    for k, v in decided.items():
        conn.execute(update(response_options).where(response_options.c.response_id == response_id,
                                                     response_options.c.key == k)
                     .values(ticked=v, settled_by=scan_id))
    apply_objection(conn, item.piece_id, campaign, after, scan_id)
    missing = [k for k, v in after.items() if v is None]
    words = " ".join(f"{k}={'yes' if v else 'no'}" for k, v in decided.items())
    if missing:
        conn.execute(update(review_items).where(review_items.c.id == item.id)
                     .values(note=DOUBTFUL_NOTE + ", ".join(missing)))
    else:
        conn.execute(update(review_items).where(review_items.c.id == item.id).values(
            status="resolved", resolved_at=utcnow(), settled_by=scan_id,
            note=f"settled by scan {scan_id} (a clearer copy): {words}"))
    audit(conn, "response.settle", "piece", item.piece_id, f"scan {scan_id} of a clearer copy: {words}")
    return Settled(tuple(decided), item.scan_id)


def decides(recorded: Mapping[K, bool | None], read: Mapping[K, bool | None]) -> dict[K, bool]:
    """The boxes a copy read as `read` decides of a response recorded as `recorded` (True ticked, False
    empty, None doubtful): those doubtful there and clear here, provided the copy agrees with every box both
    decided; {} otherwise. (bench/ticks.py measures the rescan of black-and-white pages with it.)"""
    if any(v is not None and recorded.get(k) is not None and recorded[k] != v for k, v in read.items()):
        return {}
    return {k: v for k, v in read.items() if v is not None and k in recorded and recorded[k] is None}


DOUBTFUL_NOTE = "doubtful boxes: "  # the matcher's note on a "doubtful" item, the boxes after it


@dataclass(frozen=True)
class _Item:
    id: int
    scan_id: int  # the first reading's scan
    piece_id: int
    status: str


def _doubtful_item(conn: Connection, response_id: int) -> _Item | None:
    """The "doubtful" review item on the scan that recorded the response, if any."""
    row = conn.execute(
        select(review_items.c.id, review_items.c.scan_id, review_items.c.status, responses.c.piece_id)
        .join(responses, responses.c.scan_id == review_items.c.scan_id)
        .where(responses.c.id == response_id, review_items.c.kind == "doubtful")
    ).first()
    return None if row is None else _Item(int(row.id), int(row.scan_id), int(row.piece_id), str(row.status))


@dataclass(frozen=True)
class Unsettled:
    boxes: int  # boxes made doubtful again
    reopened: int  # review items opened again
    followup_ids: tuple[int, ...]  # follow-ups recorded from those responses since they were settled


def unsettle(conn: Connection, scan_ids: Sequence[int]) -> Unsettled:
    """Take back what the scans `scan_ids` settled (for `runs undo`): their boxes doubtful again, and the
    review item of each such response open again, listing them. Returns the follow-ups made from those
    responses since the settling scan, which the caller takes back (or refuses to, for a letter already
    produced) like those of its own responses; their call consents are deleted here."""
    if not scan_ids:
        return Unsettled(0, 0, ())
    since: dict[int, datetime] = {}
    for r in conn.execute(select(response_options.c.response_id, scans.c.created_at)
                          .join(scans, scans.c.id == response_options.c.settled_by)
                          .where(response_options.c.settled_by.in_(scan_ids))):
        rid = int(r.response_id)
        since[rid] = min(since.get(rid, r.created_at), r.created_at)
    if not since:
        return Unsettled(0, 0, ())
    made: list[int] = []
    for rid, when in since.items():
        made += [int(f.id) for f in conn.execute(select(followups.c.id).where(
            followups.c.response_id == rid, followups.c.created_at >= when))]
        # the call consent a call list recorded from a settled "call me" goes with that call
        conn.execute(delete(consents).where(consents.c.response_id == rid, consents.c.recorded_at >= when))
    boxes = conn.execute(update(response_options).where(response_options.c.settled_by.in_(scan_ids))
                         .values(ticked=None, settled_by=None)).rowcount
    reopened = 0
    for rid in since:
        item = _doubtful_item(conn, rid)
        if item is None:
            continue
        doubtful = [str(o.key) for o in conn.execute(select(response_options.c.key).where(
            response_options.c.response_id == rid, response_options.c.ticked.is_(None)))]
        reopened += item.status != "open"
        conn.execute(update(review_items).where(review_items.c.id == item.id).values(
            status="open", resolved_at=None, settled_by=None, note=DOUBTFUL_NOTE + ", ".join(doubtful)))
    return Unsettled(int(boxes or 0), reopened, tuple(sorted(made)))
