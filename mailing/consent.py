"""Consent on record: a "please call me" tick is the explicit consent a telephone call needs (UWG §7 Abs. 2
Nr. 1). When the call rule puts a person on a call list, the consent is stored (``consents``) with the day
the answer arrived, its channel and where it is on record (the scan of the coupon, the online or phone
answer), and the call list shows it. `withdraw` takes it back for every record of the person: a withdrawn
consent keeps the person off every later call list (unless they tick "call me" again afterwards), and the
result names the call lists already handed out that still hold them, to be struck there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from mailing.store import (
    Store,
    audit,
    campaigns,
    consents,
    followups,
    in_chunks,
    recipients,
    responses,
    utcnow,
)

CHANNEL_NAMES = {"scan": "Antwortkarte (Post)", "review": "Antwortkarte (Post, geprüft)", "online": "Online",
                 "phone": "Telefon"}


@dataclass(frozen=True)
class Consent:
    given_on: date | None
    channel: str
    source: str

    @property
    def text(self) -> str:
        """What the call list shows: channel and source (German, for the call centre)."""
        return f"{CHANNEL_NAMES.get(self.channel, self.channel)}, {self.source}"


def record_call_consents(conn: Connection, campaign_id: int, rows: list[Any]) -> dict[int, Consent]:
    """Store the call consent of each row (a recipient with ``response_id``) once; recipient id → consent."""
    out: dict[int, Consent] = {}
    by_response = {int(r.response_id): r for r in rows}
    for chunk in in_chunks(sorted(by_response)):
        for resp in conn.execute(select(responses.c.id, responses.c.source, responses.c.scan_id,
                                        responses.c.received_on).where(responses.c.id.in_(chunk))):
            row = by_response[int(resp.id)]
            source = (f"Scan {resp.scan_id}" if resp.scan_id is not None
                      else f"{CHANNEL_NAMES.get(resp.source, resp.source)}-Antwort {resp.id}")
            consent = Consent(resp.received_on, resp.source, source)
            known = conn.execute(select(consents.c.id).where(
                consents.c.recipient_id == row.id, consents.c.kind == "call",
                consents.c.response_id == resp.id)).first()
            if known is None:
                conn.execute(insert(consents).values(
                    recipient_id=row.id, campaign_id=campaign_id, kind="call", response_id=resp.id,
                    given_on=resp.received_on, channel=resp.source, source=source))
            out[int(row.id)] = consent
    return out


def withdrawn(conn: Connection, rows: list[Any]) -> set[int]:
    """Recipient ids among rows (with ``received_on``) whose call consent was withdrawn on or after the day
    of their answer, for this record or another record with the same customer id of the same client
    (customer ids are per client)."""
    if not rows:
        return set()
    stmt = (select(consents.c.withdrawn_at, recipients.c.id, recipients.c.customer_id, campaigns.c.client_id)
            .join(recipients, recipients.c.id == consents.c.recipient_id)
            .join(campaigns, campaigns.c.id == recipients.c.campaign_id)
            .where(consents.c.kind == "call", consents.c.withdrawn_at.is_not(None)))
    by_record: dict[int, date] = {}
    by_customer: dict[tuple[int | None, str], date] = {}
    for w in conn.execute(stmt):
        day = w.withdrawn_at.date()
        by_record[int(w.id)] = max(day, by_record.get(int(w.id), day))
        if w.customer_id:
            key = (w.client_id, w.customer_id)
            by_customer[key] = max(day, by_customer.get(key, day))
    client_of: dict[int, int | None] = {}
    if by_customer:
        for chunk in in_chunks(sorted({int(r.id) for r in rows})):
            client_of.update({int(x.id): x.client_id for x in conn.execute(
                select(recipients.c.id, campaigns.c.client_id)
                .join(campaigns, campaigns.c.id == recipients.c.campaign_id).where(recipients.c.id.in_(chunk)))})
    out: set[int] = set()
    for r in rows:
        of_customer = by_customer.get((client_of.get(int(r.id)), r.customer_id)) if r.customer_id else None
        last = max((d for d in (by_record.get(int(r.id)), of_customer) if d), default=None)
        if last is not None and last >= r.received_on:
            out.add(int(r.id))
    return out


@dataclass
class WithdrawResult:
    records: int
    withdrawn: int  # consents on record that were in force
    call_lists: list[dict[str, Any]] = field(default_factory=list)  # earlier call lists that hold the person

    def as_json(self) -> dict[str, Any]:
        return {"records": self.records, "withdrawn": self.withdrawn, "call_lists": self.call_lists}


def withdraw(store: Store, *, customer_id: str | None = None, code: str | None = None,
             actor: str | None = None, client: str | None = None) -> WithdrawResult:
    """Withdraw a person's call consent in every campaign (see the module docstring)."""
    from mailing.persons import find_person

    with store.begin() as conn:
        person = find_person(conn, customer_id=customer_id, code=code, client=client)
        now = utcnow()
        ids = person.ids
        n = 0
        for chunk in in_chunks(ids):
            n += conn.execute(update(consents).where(
                consents.c.recipient_id.in_(chunk), consents.c.kind == "call", consents.c.withdrawn_at.is_(None))
                .values(withdrawn_at=now, withdrawn_by=actor)).rowcount or 0
        # a record without a consent yet (the call rule has not run): the withdrawal alone is kept
        have = {int(x[0]) for chunk in in_chunks(ids) for x in conn.execute(
            select(consents.c.recipient_id).where(consents.c.recipient_id.in_(chunk), consents.c.kind == "call"))}
        for rec in person.records:
            if int(rec.id) not in have:
                conn.execute(insert(consents).values(recipient_id=rec.id, campaign_id=rec.campaign_id, kind="call",
                                                     withdrawn_at=now, withdrawn_by=actor))
        lists = []
        for chunk in in_chunks(ids):
            for f in conn.execute(select(campaigns.c.name, followups.c.created_at).join(
                    campaigns, campaigns.c.id == followups.c.campaign_id).where(
                    and_(followups.c.recipient_id.in_(chunk), followups.c.action == "call",
                         followups.c.status == "done"))):
                lists.append({"campaign": f.name, "date": f.created_at.date().isoformat()})
        for rid in ids:
            audit(conn, "consent.withdraw", "recipient", rid, "call consent withdrawn", actor=actor)
    return WithdrawResult(len(ids), n, lists)
