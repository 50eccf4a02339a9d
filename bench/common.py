"""Helpers the benchmarks share: a store filled straight with N recipients, a stack of coupon scans made
from a produced wave, peak memory, and the figures written as JSON (bench/results/NAME.json) so that runs
can be compared. Built on the package only (scanning.simulate), never on tests/."""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
SCAN_DPI = 200  # coupon scans as a sheet-fed scanner delivers them (DESIGN: 200-300 dpi)

_NAMES = (("female", "Dr.", "Anna", "Müller"), ("male", "", "Łukasz", "Wiśniewski"),
          ("male", "Prof. Dr.", "Ondřej", "Dvořák"), ("female", "", "Zoë", "Ñúñez"), ("none", "", "Alex", "Meyer"))


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux VmHWM: it starts afresh at exec, unlike ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def children_peak_rss_mb() -> float:
    """The largest peak of any finished child process (worker processes of a pool)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _recipient_rows(cid: int, iid: int, n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        sal, title, first, last = _NAMES[i % len(_NAMES)]
        yield dict(campaign_id=cid, import_id=iid, source_row=i + 2, customer_id=f"K{i:07d}",
                   salutation=sal, title=title or None, first_name=first, last_name=last,
                   street="Hauptstraße", house_number=str(i % 200 + 1),
                   postal_code=f"{1000 + (i * 7919) % 98000:05d}", city="Köln", country="DE",
                   match_key=f"k{i}", active=True)


def store_with(n: int, folder: Path, name: str = "bench.db",  # type: ignore[no-untyped-def]
               batch_size: int | None = None, marks: str = "none"):
    """A SQLite store in `folder` with the example campaign (optionally another batch size: more batches,
    more parallel work; inserter marks `marks`) and `n` recipients (bulk inserts, in chunks, so that a million rows do not sit in
    memory at once); returns (store, campaign name)."""
    import re

    from sqlalchemy import insert, select

    from mailing.campaigns import register_campaign
    from mailing.config import example_campaign_path
    from mailing.store import Store, campaigns, imports, new_id, recipients

    store = Store.open(str(folder / name))
    toml = example_campaign_path()
    if batch_size is not None or marks != "none":
        toml = folder / "campaign.toml"
        text = example_campaign_path().read_text(encoding="utf-8").replace('inserter = "none"',
                                                                           f'inserter = "{marks}"')
        if batch_size is not None:
            text = re.sub(r"(?m)^batch_size = \d+", f"batch_size = {batch_size}", text)
        toml.write_text(text, encoding="utf-8")
    c, _ = register_campaign(store, toml)
    with store.begin() as conn:
        cid = conn.execute(select(campaigns.c.id)).scalar_one()
        iid = new_id(conn.execute(insert(imports).values(campaign_id=cid, source_file="bench", rows=n, imported=n,
                                                         rejected=0, duplicates=0, merged=0)))
        chunk: list[dict[str, Any]] = []
        for row in _recipient_rows(cid, iid, n):
            chunk.append(row)
            if len(chunk) == 10_000:
                conn.execute(insert(recipients), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(recipients), chunk)
    return store, c.name


def coupon_images(print_dir: Path, count: int, seed: int = 1) -> list[Any]:
    """`count` different coupons of a produced wave, rasterised at SCAN_DPI and ticked (grey numpy arrays)."""
    import csv

    from layouts import geometry as g
    from scanning import simulate as sim

    rng = random.Random(seed)
    manifest = next(print_dir.glob("*.csv"))
    with manifest.open(encoding="utf-8-sig") as fh:
        rows = [r for _, r in zip(range(count), csv.DictReader(fh), strict=False)]
    out = []
    for i, r in enumerate(rows):
        img = sim.render_pdf_page(print_dir / r["file"], int(r["page"]), SCAN_DPI)
        sim.tick(img, sim.box_px(g.on_page(g.checkbox_box(i % 3)), SCAN_DPI), rng, "cross")
        out.append(img[sim.mm_to_px(g.COUPON_TOP_MM, SCAN_DPI):])
    return out


def write_stack(coupons: list[Any], pages: int, folder: Path, per_file: int = 500, seed: int = 1) -> list[Path]:
    """`pages` scanned pages in PDFs of `per_file` pages (JPEG pages, as a scanner writes them): the coupons
    in turn, each page turned by its own small angle, so every page is a different image (a second copy of
    a coupon is a `duplicate`, as a photocopy would be).

    Each file is written by a worker process that is replaced every few files: writing 100,000 pages in
    this process grew it to 16 GB (the page images of each file were freed, but the memory was not given
    back), so the bench ate the machine before the scan began. Same angles, same files as before."""
    import pickle
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    rng = random.Random(seed)
    angles = [rng.uniform(-2.5, 2.5) for _ in range(pages)]
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / ".coupons.pickle"
    source.write_bytes(pickle.dumps(coupons, protocol=pickle.HIGHEST_PROTOCOL))
    jobs = [(start, angles[start:start + per_file], folder / f"stapel-{start // per_file + 1:05d}.pdf")
            for start in range(0, pages, per_file)]
    files: list[Path] = []
    try:
        for group in range(0, len(jobs), 10):  # a fresh process every 10 files (max_tasks_per_child hangs on 3.11)
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), initializer=_load_coupons,
                                     initargs=(str(source),)) as pool:
                files += pool.map(_write_file, *zip(*jobs[group:group + 10], strict=True))
        return files
    finally:
        source.unlink(missing_ok=True)


_COUPONS: list[Any] = []


def _load_coupons(path: str) -> None:
    import pickle

    _COUPONS[:] = pickle.loads(Path(path).read_bytes())


def _write_file(start: int, angles: list[float], path: Path) -> Path:
    from PIL import Image

    from scanning import simulate as sim

    images = [Image.fromarray(sim.rotate(_COUPONS[(start + i) % len(_COUPONS)], a)) for i, a in enumerate(angles)]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=SCAN_DPI, quality=80)
    return path


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "platform": platform.platform(), "when": datetime.now(UTC).isoformat(timespec="seconds")}


def write_results(name: str, figures: dict[str, Any], path: str | Path | None = None) -> Path:
    """The figures as JSON: `path`, else bench/results/NAME-YYYYMMDD-HHMMSS.json (runs stay side by side)."""
    target = Path(path) if path else RESULTS / f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"bench": name, "machine": machine(), **figures}, indent=2, ensure_ascii=False)
                      + "\n", encoding="utf-8")
    return target


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
