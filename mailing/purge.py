"""Retention (GDPR Art. 5(1)(e)): personal data and coupon pictures of finished campaigns go after a period.

`purge(store, older_than_days=None)`: a campaign is finished when it has waves, every wave is produced
(or dropped) and no follow-up waits in a pool; its last drop date is the latest wave's drop date (its
production day when it has none). A finished campaign is due when its last drop date lies more than the
period back: `--older-than DAYS` for every campaign, else the campaign's `[retention] months` (default
`config.DEFAULT_RETENTION_MONTHS`). For a due campaign:

- its records' personal fields are blanked as `person erase` does (rows, pieces, codes, responses, ticks
  and every count stay); a record suppressed at that moment keeps the entry that suppressed it, so the
  campaign's figures do not change;
- its suppression entries (opt-outs read from its coupons, its returned letters) become keyed hashes: the
  objection keeps working for later lists, nothing readable stays;
- its scan and tick-box pictures are deleted.

Pictures of pages no letter was found for (unknown, unreadable) are deleted once they are older than the
period, unless their review item is still open (someone must still look at them). A campaign past the
period that is not finished (a planned wave never produced, a pooled follow-up) is named in the result and
kept: produce or give up that wave, then purge again.

Every purge writes one audit line per campaign and one for the run (counts, names of campaigns, no
personal data); a SQLite store is compacted after it (see persons.compact). With dry_run nothing is
written; the result says what would go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.engine import Connection

from mailing.campaigns import load_by_id
from mailing.config import DEFAULT_RETENTION_MONTHS
from mailing.errors import MailingError
from mailing.log import get_logger
from mailing.persons import blank_values, compact, count_pictures, delete_pictures, hash_entries
from mailing.store import (
    Store,
    audit,
    campaigns,
    followups,
    in_chunks,
    pieces,
    recipient_segments,
    recipients,
    review_items,
    scan_marks,
    scans,
    store_secret,
    suppression,
    utcnow,
    waves,
)
from mailing.suppression import suppressed_recipients
from mailing.waves import SENT_STATES

log = get_logger(__name__)


@dataclass(frozen=True)
class CampaignPurge:
    campaign: str
    last_drop: date
    due: date  # the first day its personal data may go
    records: int  # records blanked
    pictures: int  # scan and tick-box pictures deleted
    entries: int  # suppression entries turned into keyed hashes

    def as_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "last_drop": self.last_drop.isoformat(), "due": self.due.isoformat(),
                "records": self.records, "pictures": self.pictures, "entries_hashed": self.entries}


@dataclass
class PurgeResult:
    as_of: date
    older_than_days: int | None  # None: each campaign's retention setting
    dry_run: bool
    campaigns: list[CampaignPurge] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # past the period, but a wave is only planned or pooled
    unassigned_pictures: int = 0  # pictures of pages no letter was found for
    kept_for_review: int = 0  # such pictures kept: their review item is open
    compacted: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "older_than_days": self.older_than_days, "dry_run": self.dry_run,
                "campaigns": [c.as_json() for c in self.campaigns], "unfinished": self.unfinished,
                "unassigned_pictures": self.unassigned_pictures,
                "kept_for_review": self.kept_for_review, "compacted": self.compacted}


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day where it has no such day)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise MailingError(f"no date {months} months after {day}")  # unreachable: every month has a 28th


def _last_drop(wave_rows: Sequence[Any]) -> date | None:
    days = [w.drop_date or (w.produced_at.date() if isinstance(w.produced_at, datetime) else None) for w in wave_rows]
    known = [d for d in days if d is not None]
    return max(known) if known else None


def _finished(conn: Connection, cid: int) -> tuple[date | None, bool]:
    """(last drop date, finished): finished when every wave is produced and no follow-up is pooled."""
    wave_rows = conn.execute(select(waves.c.status, waves.c.drop_date, waves.c.produced_at)
                             .where(waves.c.campaign_id == cid)).all()
    pooled = conn.execute(select(followups.c.id).where(followups.c.campaign_id == cid,
                                                       followups.c.status == "pending").limit(1)).first()
    done = bool(wave_rows) and all(w.status in SENT_STATES for w in wave_rows) and pooled is None
    return _last_drop(wave_rows), done


def _campaign_scan_ids(conn: Connection, cid: int) -> list[int]:
    return [int(x[0]) for x in conn.execute(
        select(scans.c.id).join(pieces, pieces.c.id == scans.c.piece_id).join(waves, waves.c.id == pieces.c.wave_id)
        .where(waves.c.campaign_id == cid, scans.c.snippet.is_not(None) | scans.c.phone_snippet.is_not(None)
               | exists().where(scan_marks.c.scan_id == scans.c.id, scan_marks.c.snippet.is_not(None))))]


def _readable_entries(conn: Connection, cid: int) -> list[Any]:
    s = suppression.c
    return list(conn.execute(select(suppression).where(
        s.campaign_id == cid, s.key_hash.is_(None), s.customer_hash.is_(None),
        s.match_key.is_not(None) | s.customer_id.is_not(None))))


def _purge_campaign(conn: Connection, cid: int, name: str, last_drop: date, due: date,
                    dry_run: bool) -> CampaignPurge | None:
    r = recipients.c
    live = [int(x[0]) for x in conn.execute(select(r.id).where(r.campaign_id == cid, r.erased_at.is_(None)))]
    scan_ids = _campaign_scan_ids(conn, cid)
    entries = _readable_entries(conn, cid)
    if not (live or scan_ids or entries):
        return None  # purged before
    if dry_run:
        return CampaignPurge(name, last_drop, due, len(live), count_pictures(conn, scan_ids), len(entries))
    kept = suppressed_recipients(conn, cid)  # before the entries lose their readable match data
    n_entries = hash_entries(conn, entries, store_secret(conn)) if entries else 0
    now = utcnow()
    for chunk in in_chunks(live):
        conn.execute(update(recipients).where(r.id.in_(chunk)).values(**blank_values(now)))
        conn.execute(delete(recipient_segments).where(recipient_segments.c.recipient_id.in_(chunk)))
    for rid in live:
        if rid in kept:
            conn.execute(update(recipients).where(r.id == rid).values(suppression_id=kept[rid]))
    n_pictures = delete_pictures(conn, scan_ids)
    result = CampaignPurge(name, last_drop, due, len(live), n_pictures, n_entries)
    audit(conn, "purge", "campaign", cid,
          f"retention over (last drop {last_drop.isoformat()}): {len(live)} record(s) blanked, {n_pictures} "
          f"picture(s) deleted, {n_entries} suppression entr(ies) hashed; pieces, responses and counts kept")
    return result


def _unassigned(conn: Connection, before: datetime, dry_run: bool) -> tuple[int, int]:
    """Pictures of pages no letter was found for, recorded before `before`: (deleted, kept for review)."""
    open_item = exists().where(review_items.c.scan_id == scans.c.id, review_items.c.status == "open")
    has_picture = (scans.c.snippet.is_not(None) | scans.c.phone_snippet.is_not(None)
                   | exists().where(scan_marks.c.scan_id == scans.c.id, scan_marks.c.snippet.is_not(None)))
    old = and_(scans.c.piece_id.is_(None), scans.c.created_at < before, has_picture)
    ids = [int(x[0]) for x in conn.execute(select(scans.c.id).where(old, ~open_item))]
    kept = int(conn.execute(select(func.count()).select_from(scans).where(old, open_item)).scalar_one())
    if dry_run:
        return count_pictures(conn, ids), kept
    n = delete_pictures(conn, ids)
    if n:
        audit(conn, "purge", "scan", None, f"{n} picture(s) of {len(ids)} page(s) no letter was found for, "
                                           f"recorded before {before:%Y-%m-%d}; {kept} kept for open review items")
    return n, kept


def purge(store: Store, older_than_days: int | None = None, *, as_of: date | None = None,
          dry_run: bool = False) -> PurgeResult:
    """Delete coupon pictures and personal data of finished campaigns past their retention (module docstring)."""
    if older_than_days is not None and older_than_days < 0:
        raise MailingError(f"--older-than {older_than_days}: give a number of days, 0 or more")
    today = as_of or date.today()
    result = PurgeResult(today, older_than_days, dry_run)
    with store.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        for cid, name in conn.execute(select(campaigns.c.id, campaigns.c.name).order_by(campaigns.c.name)).all():
            last, finished = _finished(conn, int(cid))
            if last is None:
                continue
            if older_than_days is not None:
                due = last + timedelta(days=older_than_days + 1)
            else:
                due = add_months(last, load_by_id(conn, int(cid)).retention_months) + timedelta(days=1)
            if today < due:
                continue
            if not finished:  # a planned wave or a pooled follow-up was left: say so, keep the data
                result.unfinished.append(name)
                continue
            done = _purge_campaign(conn, int(cid), name, last, due, dry_run)
            if done is not None:
                result.campaigns.append(done)
        cutoff_day = (today - timedelta(days=older_than_days) if older_than_days is not None
                      else add_months(today, -DEFAULT_RETENTION_MONTHS))
        result.unassigned_pictures, result.kept_for_review = _unassigned(
            conn, datetime.combine(cutoff_day, datetime.min.time()), dry_run)
        if not dry_run:  # the run itself is on record, also when nothing was due
            audit(conn, "purge.run", "store", None,
                  f"period: {f'{older_than_days} days' if older_than_days is not None else 'each campaign’s retention'}; "
                  f"{len(result.campaigns)} campaign(s) purged"
                  + "".join(f", {c.campaign}: {c.records} record(s)" for c in result.campaigns)
                  + f"; {result.unassigned_pictures} unassigned picture(s) deleted")
    if not dry_run and (result.campaigns or result.unassigned_pictures):
        result.compacted = compact(store)
    log.info("purge: %d campaign(s)", len(result.campaigns))
    return result
