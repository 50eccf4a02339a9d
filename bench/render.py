"""Benchmark: letters of the sample campaign → print files. Prints figures; not a timed test.

    .venv/bin/python bench/render.py [--letters 10000] [--big 100000] [--skip-big]

Each measurement runs in a fresh child process (so peak memory is that run's own):
- render only: `render_batch` on prepared piece data, batches of 5,000, one core (CPU time and wall);
- produce end to end: a temporary SQLite store with N recipients, `produce --jobs 1` (planning, batches,
  rendering, manifest CSV + XLSX, job ticket), one core;
- peak memory (VmHWM) of render-only for N and for the big count: independent of the count;
- speed-up of `produce` with --jobs 2 against --jobs 1 (wall time);
- preflight of the produced package (every QR code read back).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_render(n: int, out: Path) -> dict[str, float]:
    from layouts.render import BatchJob, render_batch, sample_pieces
    from mailing.codes import new_code
    from mailing.config import example_campaign_path, load_campaign

    c = load_campaign(example_campaign_path())
    batch = 5000
    render_batch(BatchJob(c, sample_pieces([new_code() for _ in range(5)], c)), out / "warm.pdf")
    base = _peak_mb()
    cpu = wall = 0.0
    size = 0
    for b in range(0, n, batch):
        pieces = sample_pieces([new_code() for _ in range(min(batch, n - b))], c)  # prepared, not timed
        t0, c0 = time.perf_counter(), time.process_time()
        res = render_batch(BatchJob(c, pieces, batch=b // batch + 1), out / "batch.pdf")
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        size += res.bytes
    return {"letters": n, "wall_s": wall, "cpu_s": cpu, "bytes": size, "peak_mb": _peak_mb(), "base_mb": base}


def child_produce(n: int, out: Path, jobs: int) -> dict[str, float]:
    from common import store_with

    from mailing.production import produce

    store, name = store_with(n, out)
    t0, c0 = time.perf_counter(), time.process_time()
    res = produce(store, name, out / "druck", jobs=jobs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = sum(Path(f).stat().st_size for f in res.files)
    return {"letters": res.pieces, "wall_s": wall, "cpu_s": cpu, "bytes": size, "peak_mb": _peak_mb(),
            "files": len(res.files), "out": str(out / "druck")}


def run_child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _round(t: Path, n: int) -> dict[str, Any]:
    """One round: render-only with one and two processes, then produce with --jobs 1 and 2."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    r = run_child(["render", str(n), str(_mk(t / "r"))])
    one_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--child", "render", str(n // 2), str(_mk(t / d))],
                              stdout=subprocess.PIPE, env=env) for d in ("r2a", "r2b")]
    for proc in procs:
        proc.communicate()
    two_wall = time.perf_counter() - t0
    p1 = run_child(["produce", str(n), str(_mk(t / "p1")), "1"])
    p2 = run_child(["produce", str(n), str(_mk(t / "p2")), "2"])
    return {"r": r, "p1": p1, "p2": p2, "one_wall": one_wall, "two_wall": two_wall,
            "p1_wall": p1["wall_s"], "p2_wall": p2["wall_s"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--letters", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="rounds per figure (the median is printed)")
    ap.add_argument("--child", nargs="+")
    a = ap.parse_args()
    if a.child:
        kind, n, folder = a.child[0], int(a.child[1]), Path(a.child[2])
        result = child_render(n, folder) if kind == "render" else child_produce(n, folder, int(a.child[3]))
        sys.stdout.write(json.dumps(result) + "\n")
        return
    n = a.letters
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        # The machine is shared: each figure is the median of `--repeat` rounds, and the one- and two-process
        # runs of a round follow each other so that both see the same background load.
        for k in range(a.repeat):
            rounds.append(_round(t / f"round{k}", n))
        big = None if a.skip_big else run_child(["render", str(a.big), str(_mk(t / "rb"))])
        from mailing.preflight import preflight

        t0 = time.perf_counter()
        problems = preflight(rounds[-1]["p2"]["out"], jobs=2)
        pf = time.perf_counter() - t0
    med = {key: statistics.median(rd[key] for rd in rounds) for key in ("one_wall", "two_wall", "p1_wall", "p2_wall")}
    r, p1 = rounds[-1]["r"], rounds[-1]["p1"]
    r_cpu = statistics.median(rd["r"]["cpu_s"] for rd in rounds)
    r_wall = statistics.median(rd["r"]["wall_s"] for rd in rounds)
    p1_cpu = statistics.median(rd["p1"]["cpu_s"] for rd in rounds)
    out = sys.stdout.write
    out(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}\n")
    out(f"each figure: median of {a.repeat} rounds\n")
    out(f"render only   {n:>7} letters: {n / r_cpu:7.0f} letters/CPU-s, {n / r_wall:7.0f} letters/s wall, "
        f"{r['bytes'] / n:6.0f} bytes/letter, peak {r['peak_mb']:.0f} MB (after imports {r['base_mb']:.0f} MB)\n")
    out(f"render only, 2 processes x {n // 2} letters: speed-up {med['one_wall'] / med['two_wall']:.2f} "
        f"(wall incl. process start: {med['one_wall']:.1f} s vs {med['two_wall']:.1f} s)\n")
    if big:
        out(f"render only   {a.big:>7} letters: {a.big / big['cpu_s']:7.0f} letters/CPU-s, "
            f"{a.big / big['wall_s']:7.0f} letters/s wall, peak {big['peak_mb']:.0f} MB "
            f"(difference to {n}: {big['peak_mb'] - r['peak_mb']:+.0f} MB)\n")
    out(f"produce -j1   {n:>7} letters: {n / med['p1_wall']:7.0f} letters/s wall ({n / p1_cpu:.0f} per CPU-s "
        f"in the main process), {p1['bytes'] / n:6.0f} bytes/letter, {p1['files']:.0f} files\n")
    out(f"produce -j2   {n:>7} letters: {n / med['p2_wall']:7.0f} letters/s wall, "
        f"speed-up {med['p1_wall'] / med['p2_wall']:.2f}\n")
    out(f"preflight (-j2, every QR read back at 200 dpi): {pf:.1f} s, "
        f"{'OK' if not problems else f'{len(problems)} problem(s): ' + problems[0]}\n")


if __name__ == "__main__":
    main()
