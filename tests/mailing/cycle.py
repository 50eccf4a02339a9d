"""Helpers for tests that drive the real commands: a produced campaign, rasterised and ticked coupons."""

from __future__ import annotations

import csv
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from layouts import geometry as g
from mailing.cli import main
from mailing.store import Store, pieces, waves
from scanning import simulate as sim

DROP = date(2026, 3, 2)
DPI = 200


def run(capsys, db: Path, *args: object) -> str:
    capsys.readouterr()
    code = main(["--db", str(db), *map(str, args)])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def setup_campaign(tmp: Path, capsys, min_volume: int = 0,
                   db: Path | str | None = None) -> tuple[Any, str, list[dict[str, str]]]:
    """The example campaign registered, imported and its wave 1 produced (drop date DROP) in the store `db`
    (a path or URL; default tmp/m.db): (store, campaign name, manifest rows)."""
    db = tmp / "m.db" if db is None else db
    run(capsys, db, "init", tmp / "c")
    toml = tmp / "c" / "campaign.toml"
    if min_volume:
        text = toml.read_text(encoding="utf-8")
        text = text.replace('letter = "infopack"\n', f'letter = "infopack"\nmin_volume = {min_volume}\n', 1)
        toml.write_text(text, encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    name = "fruehjahr-2026"
    run(capsys, db, "import", name, tmp / "c" / "recipients.csv")
    run(capsys, db, "produce", name, "--out", tmp / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    manifest = next((tmp / "print").rglob("*manifest*.csv"))
    with manifest.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    return db, name, rows


def coupon_scan(print_dir: Path, row: dict[str, str], ticks: list[int], out: Path, rng: random.Random,
                whole_page: bool = False, damage=None) -> Path:
    page = sim.render_pdf_page(print_dir / row["file"], int(row["page"]), DPI)
    if damage:
        damage(page)
    for slot in ticks:
        sim.tick(page, sim.box_px(g.on_page(g.checkbox_box(slot)), DPI), rng, "cross")
    img = page if whole_page else page[sim.mm_to_px(g.COUPON_TOP_MM, DPI):]
    img = sim.rotate(img, rng.uniform(-3, 3))
    Image.fromarray(img).save(out, dpi=(DPI, DPI))
    return out


def scan_json(capsys, db: Path, *args: object) -> list[dict]:
    return [json.loads(line) for line in run(capsys, db, "scan", *args, "--json").splitlines() if line.strip()]


def wave_members(store: Store, number: int) -> set[str]:
    with store.connect() as conn:
        return {r.code for r in conn.execute(
            select(pieces.c.code).join(waves, waves.c.id == pieces.c.wave_id).where(waves.c.number == number))}


def recipient_of(store: Store, code: str) -> int:
    with store.connect() as conn:
        return conn.execute(select(pieces.c.recipient_id).where(pieces.c.code == code)).scalar_one()


def count(db: Path, table, *where) -> int:  # type: ignore[no-untyped-def]
    """Rows of `table` (matching `where`) in the store at `db`."""
    from sqlalchemy import func, select

    store = Store.open(str(db))
    with store.connect() as conn:
        n = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    store.dispose()
    return int(n)
