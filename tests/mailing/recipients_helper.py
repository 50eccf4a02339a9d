"""Recipients inserted straight into the store, for production tests (no import step needed)."""

from __future__ import annotations

from sqlalchemy import insert, select

from mailing.store import Store, campaigns, imports, recipients

PEOPLE = (
    ("female", "Dr.", "Anna", "Müller", "", "Hauptstraße", "12"),
    ("male", "", "Łukasz", "Wiśniewski", "", "Gartenweg", "3a"),
    ("male", "Prof. Dr.", "Ondřej", "Dvořák", "", "Am Weißen Stein", "7"),
    ("female", "", "Zoë", "Ñúñez", "", "Lindenallee", "101"),
    ("none", "", "Alex", "Meyer", "", "Schillerstraße", "44"),
    ("company", "", "", "", "Gärtnerei Sonnenschein GmbH & Co. KG", "Industriestraße", "5"),
)


def add_recipients(store: Store, campaign_name: str, n: int, start: int = 0) -> list[int]:
    with store.begin() as conn:
        cid = conn.execute(select(campaigns.c.id).where(campaigns.c.name == campaign_name)).scalar_one()
        iid = conn.execute(insert(imports).values(campaign_id=cid, source_file="test", rows=n, imported=n,
                                                  rejected=0, duplicates=0, merged=0)).inserted_primary_key[0]
        rows = []
        for i in range(start, start + n):
            sal, title, first, last, company, street, no = PEOPLE[i % len(PEOPLE)]
            plz = f"{(i * 7919) % 99999:05d}"
            if plz < "01000":
                plz = "01067"
            rows.append(dict(campaign_id=cid, import_id=iid, source_row=i + 2, customer_id=f"K{i:06d}",
                             salutation=sal, title=title or None, first_name=first or None,
                             last_name=last or None, company=company or None, street=street, house_number=no,
                             postal_code=plz, city="Köln", country="DE", match_key=f"k{i}", active=True))
        conn.execute(insert(recipients), rows)
        return [r[0] for r in conn.execute(select(recipients.c.id).where(recipients.c.import_id == iid))]
