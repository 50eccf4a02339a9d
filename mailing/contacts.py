"""The contact calendar and the contact cap (issue 14: two departments mailing the same customers).

Every produced wave is a contact with each person it mailed (control pieces excepted) on its drop date; the
calendar is derived from those pieces, across all campaigns of one client (Mandant): the cap is a sender's
promise not to write too often, and letters of another company neither break it nor may be learnt from it
(customer ids are per client, too; docs/clients.md). A person is matched across
campaigns by customer id, else by the normalised address and surname with the same folded first name (the
way `mailing person` finds a person). A campaign's ``[production] contact_cap = { letters = 2, days = 30 }``
makes wave planning leave out, and count (``waves.capped``), whoever already had ``letters`` letters in the
``days`` days up to the new wave's drop date (today when none is set): the new letter would be one too many.
The cap holds back unsolicited letters only (the main wave and reminders); a letter a person asked for (an
info pack), a thank-you or a winner's letter is never held back, but counts as a contact like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from mailing.config import ContactCap
from mailing.normalise import fold
from mailing.store import campaigns, pieces, recipients, waves

CAPPED_KINDS = ("initial", "reminder")  # unsolicited letters: the cap holds these back


def _person_key(row: Any) -> tuple[str, str]:
    return (row.match_key or "", fold(row.first_name or ""))


class ContactCalendar:
    """The letters of produced waves in the cap's window, by customer id and by person, of the campaigns of
    client `client_id` (None: of every client; see the module docstring); `over(row)` tells whether one more
    letter to that recipient (a row with customer_id, match_key, first_name) would exceed the cap. Built once
    per wave, asked row by row, so a wave's recipients never need to be in memory at once."""

    def __init__(self, conn: Connection, cap: ContactCap, as_of: date, client_id: int | None = None) -> None:
        self.cap = cap
        sent = ("produced", "dropped")
        stmt = (select(pieces.c.id, recipients.c.customer_id, recipients.c.match_key, recipients.c.first_name)
                .select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id)
                             .join(recipients, recipients.c.id == pieces.c.recipient_id)
                             .join(campaigns, campaigns.c.id == waves.c.campaign_id))
                .where(waves.c.status.in_(sent), pieces.c.control.is_(False), waves.c.drop_date.is_not(None),
                       waves.c.drop_date > as_of - timedelta(days=cap.days), waves.c.drop_date <= as_of))
        if client_id is not None:
            stmt = stmt.where(campaigns.c.client_id == client_id)
        self.by_customer: dict[str, set[int]] = {}
        self.by_person: dict[tuple[str, str], set[int]] = {}
        for p in conn.execute(stmt):
            if p.customer_id:
                self.by_customer.setdefault(p.customer_id, set()).add(int(p.id))
            self.by_person.setdefault(_person_key(p), set()).add(int(p.id))

    def over(self, row: Any) -> bool:
        letters = self.by_customer.get(row.customer_id, set()) if row.customer_id else set()
        letters = letters | self.by_person.get(_person_key(row), set())
        return len(letters) >= self.cap.letters


def over_cap(conn: Connection, rows: Sequence[Any], cap: ContactCap, as_of: date,
             client_id: int | None = None) -> set[int]:
    """Ids of rows (recipients with customer_id, match_key, first_name) who had `cap.letters` letters or more
    in the `cap.days` days up to `as_of` from campaigns of client `client_id` (None: of every client; see the
    module docstring)."""
    if not rows:
        return set()
    calendar = ContactCalendar(conn, cap, as_of, client_id)
    return {int(r.id) for r in rows if calendar.over(r)}
