"""A store with a campaign, planned pieces (codes, no printing) and open review items from real scans of
pages the scanner cannot read (so each item has its picture), plus users to log in with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import select

from mailing.campaigns import init_example, load, register_campaign
from mailing.cli import main
from mailing.recipients import import_recipients
from mailing.review import open_items
from mailing.store import Store, pieces
from mailing.users import add_user
from mailing.waves import plan_wave

PASSWORD = "richtig-geheim-42"
CAMPAIGN = "fruehjahr-2026"


@dataclass
class Queue:
    db: Path | str
    store: Store
    codes: list[str]  # the planned pieces' codes
    items: list[int]  # open review item ids, oldest first


def unreadable_page(path: Path, seed: int) -> Path:
    """A page with writing on it but no code: the scanner records it as unreadable, with its picture."""
    rng = np.random.default_rng(seed)
    img = Image.fromarray((255 - rng.integers(0, 20, (400, 620))).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, 600, 380), outline=0, width=3)
    draw.text((40, 40), f"Antwortabschnitt {seed} (QR-Code abgerissen)", fill=0)
    for i in range(3):
        draw.rectangle((40, 100 + 60 * i, 70, 130 + 60 * i), outline=0, width=2)
    img.save(path)
    return path


def blank_page(path: Path, seed: int) -> Path:
    """A blank page (one stray dot, so each is a different image): unreadable at once, no decoding."""
    a = np.full((300, 400), 255, np.uint8)
    a[seed // 400 % 300, seed % 400] = 0
    Image.fromarray(a).save(path)
    return path


def make_queue(tmp: Path, items: int = 3, url: str | None = None, blank: bool = True) -> Queue:
    """The queue in a new SQLite file in `tmp`, or in an empty database at `url` (see `own_schema`).
    `blank=False`: pages with writing on them (a picture worth looking at; the scanner tries harder, so
    slower)."""
    db: Path | str = url or tmp / "web.db"
    store = Store.open(str(db))
    files = init_example(tmp / "campaign")
    register_campaign(store, files[0])
    import_recipients(store, CAMPAIGN, files[1])
    with store.begin() as conn:
        cid, campaign = load(conn, CAMPAIGN)
        plan_wave(conn, cid, campaign)
    with store.connect() as conn:
        codes = [r.code for r in conn.execute(select(pieces.c.code).order_by(pieces.c.id))]
    pages = [(blank_page if blank else unreadable_page)(tmp / f"page-{i}.png", i) for i in range(items)]
    assert main(["--db", str(db), "scan", *map(str, pages), "--jobs", "1"]) == 0
    ids = [item.id for item in open_items(store)]
    assert len(ids) == items
    add_user(store, "anna", "operator", PASSWORD)
    add_user(store, "chef", "admin", PASSWORD)
    return Queue(db, store, codes, ids)


def own_schema(url: str, schema: str) -> str:
    """The PostgreSQL test database with an empty schema of this test's own: other PostgreSQL tests (run by
    another worker at the same time) use the same database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def copy_queue(template: Queue, tmp: Path) -> Queue:
    """A fresh copy of a queue made once (scanning is the slow part)."""
    import shutil

    template.store.dispose()  # SQLite folds its WAL into the file on the last close
    db = tmp / "web.db"
    shutil.copyfile(str(template.db), db)
    return Queue(db, Store.open(str(db)), list(template.codes), list(template.items))
