"""Benchmark: letters of the sample campaign → print files. Prints figures; not a timed test.

    .venv/bin/python bench/render.py [--letters 10000] [--big 100000] [--skip-big] [--marks omr|datamatrix|all]

Each measurement runs in a fresh child process (so peak memory is that run's own):
- render only: `render_batch` on prepared piece data, batches of 5,000, one core (CPU time and wall);
- produce end to end: a temporary SQLite store with N recipients, `produce --jobs 1` (planning, batches,
  rendering, manifest CSV + XLSX, job ticket), one core;
- peak memory (VmHWM) of render-only for N and for the big count: independent of the count;
- speed-up of `produce` with --jobs 2 against --jobs 1 (wall time);
- preflight of the produced package (every QR code read back; with marks, every mark too).

`--marks omr` (or `datamatrix`) renders and produces with `[production] inserter` set to it; `--marks all`
runs render only and preflight once per kind (none, omr, datamatrix) and prints what each costs.
`--elements` prints what each element of a marketer's letter costs (render only, one core, interleaved
rounds): the plain letter (DejaVu, no P.S.), then the default typeface, P.S., logo (the example logo.svg),
signature image and a one-page enclosure added one at a time. `--logo` renders the main figures with the
logo on.
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


def _with_marks(c, marks: str):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(c, production=dataclasses.replace(c.production, inserter=marks))


ELEMENTS = ("plain", "+typeface", "+ps", "+logo", "+signature", "+enclosure")


def _signature_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("L", (360, 120), 255)
    ImageDraw.Draw(img).line([(10, 90), (80, 20), (140, 100), (220, 30), (340, 80)], fill=0, width=6)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _enclosure_pdf() -> bytes:
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    from layouts import fonts

    fonts.register_fonts()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1, initialFontName=fonts.REGULAR)
    c.setFont(fonts.REGULAR, 24)
    c.drawString(72, 720, "Unser Katalog – Beilage")
    c.showPage()
    c.save()
    return buf.getvalue()


def bench_campaign(elements: str) -> Any:
    """The example campaign with the letter elements up to `elements` (one of ELEMENTS) switched on."""
    import dataclasses

    from mailing.config import example_campaign_path, load_campaign

    c = load_campaign(example_campaign_path())
    upto = ELEMENTS.index(elements)
    data: dict[str, bytes] = {}
    if upto < 1:
        c = dataclasses.replace(c, typeface="dejavu")
    if upto < 2:
        c = dataclasses.replace(c, ps="")
    if upto >= 3:
        data["logo"] = example_campaign_path().with_name("logo.svg").read_bytes()
    if upto >= 4:
        data["signature_image"] = _signature_png()
    if upto >= 5:
        data["enclosure"] = _enclosure_pdf()
    return dataclasses.replace(c, assets=dataclasses.replace(c.assets, data=tuple(sorted(data.items()))))


def child_render(n: int, out: Path, marks: str = "none", elements: str = "+ps") -> dict[str, float]:
    from layouts.render import BatchJob, render_batch, sample_pieces
    from mailing.codes import new_code

    c = _with_marks(bench_campaign(elements), marks)
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


def child_produce(n: int, out: Path, jobs: int, marks: str = "none") -> dict[str, float]:
    from common import store_with

    from mailing.production import produce

    store, name = store_with(n, out, marks=marks)
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


def _round(t: Path, n: int, marks: str = "none") -> dict[str, Any]:
    """One round: render-only with one and two processes, then produce with --jobs 1 and 2."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    r = run_child(["render", str(n), str(_mk(t / "r")), marks, LOGO[0]])
    one_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--child", "render", str(n // 2), str(_mk(t / d)), marks,
                               LOGO[0]],
                              stdout=subprocess.PIPE, env=env) for d in ("r2a", "r2b")]
    for proc in procs:
        proc.communicate()
    two_wall = time.perf_counter() - t0
    p1 = run_child(["produce", str(n), str(_mk(t / "p1")), "1", marks])
    p2 = run_child(["produce", str(n), str(_mk(t / "p2")), "2", marks])
    return {"r": r, "p1": p1, "p2": p2, "one_wall": one_wall, "two_wall": two_wall,
            "p1_wall": p1["wall_s"], "p2_wall": p2["wall_s"]}


LOGO = ["+ps"]  # the elements of the main render figure (--logo: "+logo")


def elements_table(n: int, repeat: int) -> None:
    """Letters per CPU-second and bytes per letter for each element, rounds interleaved (a loaded machine
    slows all of them alike)."""
    runs: dict[str, list[dict[str, float]]] = {e: [] for e in ELEMENTS}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeat):
            for e in ELEMENTS:
                runs[e].append(run_child(["render", str(n), str(_mk(Path(tmp) / f"{k}{e}")), "none", e]))
    out = sys.stdout.write
    out(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {n} letters, median of {repeat} rounds\n")
    prev = None
    for e in ELEMENTS:
        rate = statistics.median(n / r["cpu_s"] for r in runs[e])
        size = statistics.median(r["bytes"] / n for r in runs[e])
        step = "" if prev is None else f"  ({(1 / rate - 1 / prev[0]) * 1e6:+6.0f} µs, {size - prev[1]:+5.0f} B per letter)"
        out(f"{e:<11} {rate:7.0f} letters/CPU-s {size:6.0f} bytes/letter{step}\n")
        prev = (rate, size)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--letters", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="rounds per figure (the median is printed)")
    ap.add_argument("--marks", choices=("none", "omr", "datamatrix", "all"), default="none",
                    help="render with [production] inserter set to this; all: compare the three")
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--elements", action="store_true", help="only the cost of each letter element")
    ap.add_argument("--logo", action="store_true", help="main figures with the example logo on")
    a = ap.parse_args()
    if a.logo:
        LOGO[0] = "+logo"
    if a.child:
        kind, n, folder = a.child[0], int(a.child[1]), Path(a.child[2])
        if kind == "render":
            result = child_render(n, folder, *a.child[3:5])
        elif kind == "preflight":
            result = child_preflight(n, folder, a.child[3])
        else:
            result = child_produce(n, folder, int(a.child[3]), *a.child[4:5])
        sys.stdout.write(json.dumps(result) + "\n")
        return
    if a.elements:
        elements_table(a.letters, a.repeat)
        return
    if a.marks == "all":
        compare_marks(a.letters, a.repeat)
        return
    n = a.letters
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        # The machine is shared: each figure is the median of `--repeat` rounds, and the one- and two-process
        # runs of a round follow each other so that both see the same background load.
        for k in range(a.repeat):
            rounds.append(_round(t / f"round{k}", n, a.marks))
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
    out(f"each figure: median of {a.repeat} rounds; inserter marks: {a.marks}\n")
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


def child_preflight(n: int, out: Path, marks: str) -> dict[str, float]:
    """Produce n letters (one core) and time preflight of the package, one process."""
    from mailing.preflight import preflight

    res = child_produce(n, out, 1, marks)
    t0 = time.perf_counter()
    problems = preflight(res["out"])
    return {"letters": n, "wall_s": time.perf_counter() - t0, "problems": len(problems)}


def compare_marks(n: int, repeat: int) -> None:
    """What the inserter marks cost: render only (letters/CPU-s, bytes/letter) and preflight, per kind."""
    out = sys.stdout.write
    out(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; render-only figures are the median "
        f"of {repeat} rounds of {n} letters; preflight of {min(n, 2000)} letters, one process\n")
    base: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for marks in ("none", "omr", "datamatrix"):
            runs = [run_child(["render", str(n), str(_mk(t / f"{marks}{k}")), marks]) for k in range(repeat)]
            rate = statistics.median(n / r["cpu_s"] for r in runs)
            size = runs[-1]["bytes"] / n
            pf = run_child(["preflight", str(min(n, 2000)), str(_mk(t / f"pf-{marks}")), marks])
            pf_rate = pf["letters"] / pf["wall_s"]
            base = base or {"rate": rate, "size": size, "pf": pf_rate}
            out(f"marks {marks:<10}: {rate:6.0f} letters/CPU-s ({rate / base['rate'] - 1:+.1%}), "
                f"{size:5.0f} bytes/letter ({size / base['size'] - 1:+.1%}); preflight {pf_rate:5.0f} letters/s "
                f"({pf_rate / base['pf'] - 1:+.1%}), {pf['problems']:.0f} problem(s)\n")


if __name__ == "__main__":
    main()
