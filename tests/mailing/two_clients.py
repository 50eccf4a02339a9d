"""A store with two clients (Mandanten) whose customer ids collide: "gartenwelt" and "moebel" each have a
campaign of the example's 50 people; in moebel's list the customer ids run backwards, so its K-1001 is
gartenwelt's K-1050 (another person under the same number). Each campaign has a planned wave (codes, no
printing)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from mailing.campaigns import init_example, load, register_campaign
from mailing.clients import add_client
from mailing.recipients import import_recipients
from mailing.store import Store, campaigns, pieces, recipients, waves
from mailing.waves import plan_wave

A, B = "gartenwelt", "moebel"
CAMPAIGN_A, CAMPAIGN_B = "garten-2026", "moebel-2026"


@dataclass
class TwoClients:
    store: Store
    db: str
    folder: Path
    list_a: Path
    list_b: Path


def campaign_file(folder: Path, name: str, client: str | None) -> Path:
    """The example campaign under another name, for `client` (None: no `client` line)."""
    text = (folder / "campaign.toml").read_text(encoding="utf-8")
    line = f'name = "{name}"' + (f'\nclient = "{client}"' if client else "")
    text = text.replace('name = "fruehjahr-2026"', line, 1)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def reversed_ids(src: Path, dst: Path) -> Path:
    """The same people with their customer ids in reverse order (K-1001 ↔ K-1050)."""
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    ids = [r[0] for r in rows[1:]]
    for row, cid in zip(rows[1:], reversed(ids), strict=True):
        row[0] = cid
    with dst.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    return dst


def make_two_clients(tmp: Path, url: str | None = None, plan: bool = True) -> TwoClients:
    db = url or str(tmp / "two.db")
    store = Store.open(db)
    folder = tmp / "c"
    files = init_example(folder)
    add_client(store, A, "Gartenwelt Schneider GmbH")
    add_client(store, B, "Möbelhaus Krause KG")
    register_campaign(store, campaign_file(folder, CAMPAIGN_A, A))
    register_campaign(store, campaign_file(folder, CAMPAIGN_B, B))
    list_b = reversed_ids(files[1], folder / "moebel.csv")
    import_recipients(store, CAMPAIGN_A, files[1])
    import_recipients(store, CAMPAIGN_B, list_b)
    if plan:
        with store.begin() as conn:
            for name in (CAMPAIGN_A, CAMPAIGN_B):
                cid, campaign = load(conn, name)
                plan_wave(conn, cid, campaign)
    return TwoClients(store, db, folder, files[1], list_b)


def code_of(store: Store, campaign: str, customer_id: str) -> str:
    with store.connect() as conn:
        return str(conn.execute(
            select(pieces.c.code).join(recipients, recipients.c.id == pieces.c.recipient_id)
            .join(waves, waves.c.id == pieces.c.wave_id).join(campaigns, campaigns.c.id == waves.c.campaign_id)
            .where(campaigns.c.name == campaign, recipients.c.customer_id == customer_id)).scalar_one())
