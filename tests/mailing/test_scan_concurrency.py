"""Two or more scanners on one store (issue 9, item 4): real `mailing scan` processes started at once on
the same and on overlapping images. The later one treats an image already recorded as recorded and goes on.

Finding: the slower scanner died on a unique constraint with a multi-line SQL dump and left the rest of its
stack unread (SQLite and PostgreSQL).
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cycle import DROP, coupon_scan, run
from PIL import Image
from sqlalchemy import func, select

from mailing.store import Store, responses, scan_runs, scans
from tests.web.station_queue import own_schema

pytestmark = pytest.mark.slow

PG_URL = os.environ.get("MAILING_TEST_POSTGRES")
IMAGES = 8
BLANKS = 300  # pages that decode in a millisecond: recording dominates, so the scanners collide on most pages


def produce(db: str, tmp: Path, capsys) -> tuple[Path, list[dict[str, str]]]:
    run(capsys, db, "init", tmp / "c")
    run(capsys, db, "campaign", "add", tmp / "c" / "campaign.toml")
    run(capsys, db, "import", "fruehjahr-2026", tmp / "c" / "recipients.csv")
    run(capsys, db, "produce", "fruehjahr-2026", "--out", tmp / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    manifest = next((tmp / "print").rglob("*manifest*.csv"))
    with manifest.open(encoding="utf-8-sig") as fh:
        return manifest.parent, list(csv.DictReader(fh))


def blank_pages(path: Path) -> None:
    """BLANKS small pages in one PDF, each a different image (one dot moved along)."""
    pages = []
    for i in range(BLANKS):
        a = np.full((64, 64), 255, np.uint8)
        a[i // 64 % 64, i % 64] = 0
        pages.append(Image.fromarray(a))
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=72)


def stacks(tmp: Path, print_dir: Path, rows: list[dict[str, str]]) -> tuple[Path, Path]:
    """`all`: IMAGES coupons and a PDF of BLANKS pages; `overlap`: copies of the second half of the
    coupons, two more coupons and the same PDF."""
    rng = random.Random(11)
    every, overlap = tmp / "all", tmp / "overlap"
    every.mkdir()
    overlap.mkdir()
    blank_pages(every / "blanks.pdf")
    shutil.copy(every / "blanks.pdf", overlap / "blanks.pdf")
    for i in range(IMAGES):
        coupon_scan(print_dir, rows[i], [i % 3], every / f"coupon-{i:02d}.png", rng)
    for i in range(IMAGES // 2, IMAGES):
        shutil.copy(every / f"coupon-{i:02d}.png", overlap / f"copy-{i:02d}.png")
    for i in range(IMAGES, IMAGES + 2):
        coupon_scan(print_dir, rows[i], [0], overlap / f"coupon-{i:02d}.png", rng)
    return every, overlap


def scanners(db: str, *folders: Path) -> list[subprocess.CompletedProcess[str]]:
    code = "import sys; from mailing.cli import main; sys.exit(main())"
    procs = [subprocess.Popen([sys.executable, "-c", code, "--db", db, "scan", str(f), "--json", "--jobs", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in folders]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def check(db: str, results: list[subprocess.CompletedProcess[str]], folders: list[Path]) -> None:
    for res, folder in zip(results, folders, strict=True):
        assert res.returncode == 0, res.stderr[-2000:]
        assert "Traceback" not in res.stderr and "IntegrityError" not in res.stderr
        lines = [json.loads(x) for x in res.stdout.splitlines()]
        assert len(lines) == len(list(folder.iterdir())) - 1 + BLANKS, "every page of every scanner's stack was read"
        assert [ln["status"] for ln in lines if ln["source"].endswith(".png")] == ["matched"] * (len(lines) - BLANKS), \
            "an image another scanner recorded repeats its outcome"
        assert {ln["status"] for ln in lines if ln["source"].endswith(".pdf")} == {"unreadable"}
    store = Store.open(db)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == IMAGES + 2 + BLANKS
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == IMAGES + 2
        assert conn.execute(select(func.count()).select_from(scan_runs)).scalar_one() == len(results)
    store.dispose()


def undo_all(db: str, capsys, folders: list[Path]) -> None:
    """Each run is taken back with what it recorded; together they leave nothing."""
    listed = json.loads(run(capsys, db, "runs", "--json"))
    pages_given = sum(len(list(f.iterdir())) - 1 + BLANKS for f in folders)
    assert sum(r["pages"] for r in listed) == pages_given, "every run counts every page it read, repeats too"
    assert sum(sum(r["counts"].values()) for r in listed) == IMAGES + 2 + BLANKS, "each image belongs to one run"
    for r in listed:
        run(capsys, db, "runs", "undo", r["run"])
    store = Store.open(db)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == 0
    store.dispose()


def test_concurrent_scanners_on_sqlite_same_and_overlapping_images(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "m.db")
    print_dir, rows = produce(db, tmp_path, capsys)
    every, overlap = stacks(tmp_path, print_dir, rows)
    folders = [every, every, overlap, overlap]
    check(db, scanners(db, *folders), folders)
    undo_all(db, capsys, folders)


@pytest.mark.skipif(not PG_URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")
def test_concurrent_scanners_on_postgresql_same_and_overlapping_images(tmp_path: Path, capsys) -> None:
    assert PG_URL
    url = own_schema(PG_URL, "scan_concurrency")
    print_dir, rows = produce(url, tmp_path, capsys)
    every, overlap = stacks(tmp_path, print_dir, rows)
    folders = [every, every, overlap, overlap]
    check(url, scanners(url, *folders), folders)
    undo_all(url, capsys, folders)


