"""Scale figures: produce 1,000,000 letters, scan 100,000 coupon pages, report on 1,000,000 pieces, each
with its time and peak memory. Prints the figures and writes them as JSON, so that runs can be compared.

    .venv/bin/python bench/scale.py                                  # the full run: takes hours on 2 cores
    .venv/bin/python bench/scale.py --letters 100000 --pages 5000 --pieces 100000
    .venv/bin/python bench/scale.py --only produce --letters 1000000 --json-out bench/results/produce-1m.json

Each stage runs in a fresh child process (spawned), so its peak memory (VmHWM) is its own; the store is
filled before, in another process, and is not timed:
- produce: a store with N recipients (bulk inserts) → `produce(..., jobs=J)`: planning the wave, batches
  of the campaign's size, rendering in J worker processes, manifest CSV + XLSX, job ticket. Memory flat
  means: the main process's peak and the workers' peaks do not grow with N; resident memory is also
  sampled at every tenth of the letters, and a reference run at --reference letters gives the peak to
  compare with.
- scan: P pages in PDFs of 500 (JPEG pages at 200 dpi, each a different image: 200 coupons of a produced
  wave, each page turned by its own angle, so after the first copy of a coupon the others are
  `duplicate`) → `scan(..., jobs=J)`: intake, decoding in J workers, one transaction per page.
- report: `reports.response.write_response_report` on a campaign of M pieces and M/10 responses
  (mailing/testing/report_fixtures.py fills it), as bench/report.py measures it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import (
    Timer,
    children_peak_rss_mb,
    coupon_images,
    peak_rss_mb,
    store_with,
    write_results,
    write_stack,
)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


class _Samples:
    """Resident memory of this process at every tenth of the work (progress callback)."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}

    def __call__(self, done: int, total: int) -> None:
        if total:
            tenth = min(10, 10 * done // total)
            if tenth not in self.at:
                self.at[tenth] = round(_rss_mb(), 1)


# ------------------------------------------------------------------------------------------ children
def _produce_child(db: str, out: str, jobs: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from mailing.production import produce
    from mailing.store import Store

    store = Store.open(db)
    samples = _Samples()
    with Timer() as t:
        res = produce(store, "fruehjahr-2026", out, jobs=jobs, progress=samples)
    size = sum(Path(f).stat().st_size for f in res.files)
    queue.put({"letters": res.pieces, "files": len(res.files), "seconds": round(t.seconds, 1),
               "letters_per_s": round(res.pieces / t.seconds, 1), "pdf_bytes_per_letter": round(size / res.pieces),
               "peak_rss_mb": round(peak_rss_mb(), 1), "workers_peak_rss_mb": round(children_peak_rss_mb(), 1),
               "rss_mb_by_tenth": {f"{k * 10}%": v for k, v in sorted(samples.at.items())}})


def _scan_child(db: str, folder: str, jobs: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from mailing.scanrun import scan
    from mailing.store import Store

    store = Store.open(db)
    counts: Counter[str] = Counter()
    samples: dict[int, float] = {}
    with Timer() as t:
        for o in scan(store, [folder], jobs=jobs):
            counts[o.status] += 1
            n = sum(counts.values())
            if n % 1000 == 0:
                samples[n] = round(_rss_mb(), 1)
    pages = sum(counts.values())
    queue.put({"pages": pages, "seconds": round(t.seconds, 1), "pages_per_s": round(pages / t.seconds, 2),
               "outcomes": dict(sorted(counts.items())), "peak_rss_mb": round(peak_rss_mb(), 1),
               "workers_peak_rss_mb": round(children_peak_rss_mb(), 1), "rss_mb_every_1000_pages": samples})


def _report_child(db: str, out: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from mailing.store import Store
    from reports.response import write_response_report

    store = Store.open(db)
    with Timer() as t:
        summary = write_response_report(store, "fruehjahr-2026", out)
    queue.put({"pieces": summary.pieces_sent + summary.control_pieces, "responses": summary.responses,
               "seconds": round(t.seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
               "xlsx_mb": round(Path(out).stat().st_size / 2**20, 1)})


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result  # type: ignore[no-any-return]


def _baseline_child(queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import layouts.render  # noqa: F401 - what every stage loads before its first piece of work
    import reports.response  # noqa: F401
    import scanning.pipeline  # noqa: F401
    from mailing.store import Store

    Store.open("sqlite://")
    queue.put({"peak_rss_mb": round(peak_rss_mb(), 1)})


# ------------------------------------------------------------------------------------------- stages
def _filled(n: int, folder: Path, batch: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    store, _ = store_with(n, folder, batch_size=batch)
    store.dispose()
    print(f"  store with {n:,} recipients filled in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder / "bench.db"


def stage_produce(n: int, jobs: int, folder: Path) -> dict[str, Any]:
    db = _filled(n, folder / f"produce-{n}")
    result = _in_child(_produce_child, str(db), str(folder / f"produce-{n}" / "druck"), jobs)
    print(f"produce {n:>9,} letters, jobs {jobs}: {result['seconds']:8.1f} s, {result['letters_per_s']:7.1f} "
          f"letters/s, peak {result['peak_rss_mb']:.0f} MB (workers {result['workers_peak_rss_mb']:.0f} MB), "
          f"RSS by tenth {list(result['rss_mb_by_tenth'].values())}", flush=True)
    return result


def stage_scan(pages: int, jobs: int, folder: Path) -> dict[str, Any]:
    from mailing.production import produce
    from mailing.store import Store

    base = folder / "scan"
    db = _filled(1000, base, batch=500)
    store = Store.open(str(db))
    produce(store, "fruehjahr-2026", base / "druck", jobs=1)
    store.dispose()
    t0 = time.perf_counter()
    write_stack(coupon_images(base / "druck", 200), pages, base / "stapel", per_file=500)
    print(f"  {pages:,} scan pages written in {time.perf_counter() - t0:.0f} s", flush=True)
    result = _in_child(_scan_child, str(db), str(base / "stapel"), jobs)
    print(f"scan    {result['pages']:>9,} pages,   jobs {jobs}: {result['seconds']:8.1f} s, "
          f"{result['pages_per_s']:7.2f} pages/s, peak {result['peak_rss_mb']:.0f} MB "
          f"(workers {result['workers_peak_rss_mb']:.0f} MB), outcomes {result['outcomes']}", flush=True)
    return result


def stage_report(n: int, folder: Path) -> dict[str, Any]:
    from mailing.campaigns import register_campaign
    from mailing.config import example_campaign_path
    from mailing.store import Store
    from mailing.testing.report_fixtures import build_campaign

    base = folder / f"report-{n}"
    base.mkdir(parents=True, exist_ok=True)
    store = Store.open(str(base / "bench.db"))
    campaign, _ = register_campaign(store, example_campaign_path())
    t0 = time.perf_counter()
    build_campaign(store, campaign.name, n_pieces=n, n_responses=n // 10, seed=1)
    store.dispose()
    print(f"  campaign of {n:,} pieces filled in {time.perf_counter() - t0:.0f} s", flush=True)
    result = _in_child(_report_child, str(base / "bench.db"), str(base / "bericht.xlsx"))
    print(f"report  {result['pieces']:>9,} pieces, {result['responses']:,} responses: {result['seconds']:8.1f} s, "
          f"peak {result['peak_rss_mb']:.0f} MB, xlsx {result['xlsx_mb']} MB", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letters", type=int, default=1_000_000, help="letters to produce")
    ap.add_argument("--reference", type=int, default=10_000,
                    help="a smaller production first, to compare peak memory with (0: none)")
    ap.add_argument("--pages", type=int, default=100_000, help="coupon pages to scan")
    ap.add_argument("--pieces", type=int, default=1_000_000, help="pieces of the reported campaign")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for produce and scan")
    ap.add_argument("--only", choices=["produce", "scan", "report"], action="append",
                    help="run only these stages (repeatable)")
    ap.add_argument("--json-out", default=None, help="where to write the figures (default bench/results/)")
    a = ap.parse_args(argv)
    stages = a.only or ["produce", "scan", "report"]
    figures: dict[str, Any] = {"jobs": a.jobs, "baseline": _in_child(_baseline_child)}
    print(f"baseline (interpreter, libraries, an empty store): {figures['baseline']['peak_rss_mb']:.0f} MB",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        if "produce" in stages:
            runs = []
            if a.reference and a.reference < a.letters:
                runs.append(stage_produce(a.reference, a.jobs, folder))
            runs.append(stage_produce(a.letters, a.jobs, folder))
            figures["produce"] = runs
            if len(runs) == 2:
                figures["produce_peak_growth_mb"] = round(runs[1]["peak_rss_mb"] - runs[0]["peak_rss_mb"], 1)
                print(f"produce: peak memory {runs[0]['peak_rss_mb']:.0f} MB at {a.reference:,} letters, "
                      f"{runs[1]['peak_rss_mb']:.0f} MB at {a.letters:,}", flush=True)
        if "scan" in stages:
            figures["scan"] = stage_scan(a.pages, a.jobs, folder)
        if "report" in stages:
            figures["report"] = stage_report(a.pieces, folder)
    path = write_results("scale", figures, a.json_out)
    print(f"figures: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
