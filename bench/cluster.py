"""Benchmark: speed-up of a Dask cluster with 1 and 2 workers against `--jobs 1` and `--jobs 2`, for produce
(letters/s) and scan (pages/s). Prints the figures and writes them as JSON. Not a timed test.

    .venv/bin/python bench/cluster.py [--letters 4000] [--batch 250] [--pages 400] [--json-out FILE]

The cluster is real and local: `dask scheduler` and 1 or 2 `dask worker` processes (one thread each) on
127.0.0.1, as `mailing.cluster.local_cluster` starts them; on several machines the same code runs with
workers elsewhere. Start-up of the cluster is not timed (it is up before a production starts); connecting
to it is, as `--cluster` does on every command. Every configuration works on its own copy of one store, so
that each produces the same wave size and scans the same stack from the start. On one machine a worker
is a process like a `--jobs` process: the figures show the cluster's overhead (PDFs and scans travel
as bytes), and with workers on more machines the speed-up grows with their cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import Executor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from common import Timer, coupon_images, store_with, write_results, write_stack

from mailing.store import Store


def _configs(cluster_sizes: tuple[int, ...]) -> list[tuple[str, int, int]]:
    """(label, jobs, cluster workers: 0 = no cluster)."""
    return [("--jobs 1", 1, 0), ("--jobs 2", 2, 0)] + [(f"cluster {k} worker(s)", 1, k) for k in cluster_sizes]


def _executor(stack: ExitStack, workers: int) -> tuple[Executor | None, float]:
    if not workers:
        return None, 0.0
    from mailing.cluster import connect, local_cluster

    address = stack.enter_context(local_cluster(workers=workers, threads=1))
    t0 = time.perf_counter()
    executor = stack.enter_context(connect(address))
    return executor, time.perf_counter() - t0


def bench_produce(base: Path, folder: Path, label: str, jobs: int, workers: int) -> dict[str, Any]:
    from mailing.production import produce

    db = folder / "store.db"
    shutil.copyfile(base, db)
    store = Store.open(str(db))
    with ExitStack() as stack:
        executor, connect_s = _executor(stack, workers)
        with Timer() as t:
            res = produce(store, "fruehjahr-2026", folder / "druck", jobs=jobs, executor=executor)
    store.dispose()
    return {"config": label, "jobs": jobs, "workers": workers, "letters": res.pieces, "files": len(res.files),
            "seconds": round(t.seconds + connect_s, 2), "connect_s": round(connect_s, 2),
            "letters_per_s": round(res.pieces / (t.seconds + connect_s), 1)}


def bench_scan(produced: Path, stack_dir: Path, folder: Path, label: str, jobs: int,
               workers: int) -> dict[str, Any]:
    from mailing.scanrun import scan

    db = folder / "store.db"
    shutil.copyfile(produced, db)
    store = Store.open(str(db))
    with ExitStack() as stack:
        executor, connect_s = _executor(stack, workers)
        with Timer() as t:
            counts = Counter(o.status for o in scan(store, [str(stack_dir)], jobs=jobs, executor=executor))
    store.dispose()
    pages = sum(counts.values())
    return {"config": label, "jobs": jobs, "workers": workers, "pages": pages, "outcomes": dict(sorted(counts.items())),
            "seconds": round(t.seconds + connect_s, 2), "connect_s": round(connect_s, 2),
            "pages_per_s": round(pages / (t.seconds + connect_s), 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letters", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=250, help="letters per print PDF (one task each)")
    ap.add_argument("--pages", type=int, default=400, help="coupon pages to scan")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="cluster sizes to measure")
    ap.add_argument("--json-out", default=None, help="where to write the figures (default bench/results/)")
    a = ap.parse_args(argv)
    configs = _configs(tuple(a.workers))
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        t = Path(tmp)
        store, _ = store_with(a.letters, t, "base.db", batch_size=a.batch)
        store.dispose()
        produce_rows = []
        for i, (label, jobs, workers) in enumerate(configs):
            folder = t / f"p{i}"
            folder.mkdir()
            produce_rows.append(bench_produce(t / "base.db", folder, label, jobs, workers))
            print(f"produce {label:<22} {produce_rows[-1]['letters_per_s']:8.1f} letters/s", flush=True)
        coupons = coupon_images(t / "p0" / "druck", 40)
        stack_dir = t / "scans"
        write_stack(coupons, a.pages, stack_dir, per_file=100)
        scan_rows = []
        for i, (label, jobs, workers) in enumerate(configs):
            folder = t / f"s{i}"
            folder.mkdir()
            scan_rows.append(bench_scan(t / "p0" / "store.db", stack_dir, folder, label, jobs, workers))
            print(f"scan    {label:<22} {scan_rows[-1]['pages_per_s']:8.2f} pages/s", flush=True)
    for rows, key in ((produce_rows, "letters_per_s"), (scan_rows, "pages_per_s")):
        for row in rows:
            row["speedup_vs_jobs1"] = round(row[key] / rows[0][key], 2)
    if len({tuple(sorted(r["outcomes"].items())) for r in scan_rows}) != 1:
        print("warning: the configurations gave different scan outcomes", file=sys.stderr)
    print(f"\n{'':8}{'configuration':<24}{'rate':>12}{'speed-up':>10}{'connect s':>11}")
    for name, rows, key, unit in (("produce", produce_rows, "letters_per_s", "letters/s"),
                                  ("scan", scan_rows, "pages_per_s", "pages/s")):
        for row in rows:
            print(f"{name:<8}{row['config']:<24}{row[key]:>8.1f} {unit:<9}{row['speedup_vs_jobs1']:>5.2f}"
                  f"{row['connect_s']:>11.2f}")
    path = write_results("cluster", {"letters": a.letters, "batch": a.batch, "pages": a.pages,
                                     "produce": produce_rows, "scan": scan_rows}, a.json_out)
    print(f"figures: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
