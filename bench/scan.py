"""Scan benchmark: pages/s and read rate for coupon scans at 200 dpi and A4 letter pages at 300 dpi, on one
core and with jobs 2, against the time to merely load the same images.

Target (issue 4): the whole scan at least half as fast as loading alone. Run: .venv/bin/python bench/scan.py
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layouts import geometry as g  # noqa: E402
from scanning import intake  # noqa: E402
from scanning.pipeline import read_files  # noqa: E402
from tests.scanning import degrade as d  # noqa: E402
from tests.scanning.corpus import code_for, coupon_pages  # noqa: E402


def make_stack(kind: str, n: int, folder: Path, rng: random.Random) -> dict[tuple[str, int], str]:
    """n scans as a scanner delivers them (one multi-page PDF of JPEG pages); (path, page) → code."""
    from PIL import Image

    dpi = 200 if kind == "coupon" else 300
    codes = [code_for(rng) for _ in range(n)]
    pages = coupon_pages(codes, dpi, folder / "render")
    images = []
    for code, (page, _) in zip(codes, pages, strict=True):
        page = page.copy()
        d.tick_boxes(page, dpi, g.COUPON_TOP_MM, [rng.randrange(3)], rng, d.Truth(code))
        img = d.cut_coupon(page, dpi) if kind == "coupon" else page
        img = d.scanner(d.geometry(img, "skew", rng), rng.choice(["clean", "noise", "jpeg30", "blur"]), dpi, rng)
        images.append(Image.fromarray(img))
    path = folder / f"{kind}.pdf"
    images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi, quality=80)
    return {(str(path), i + 1): c for i, c in enumerate(codes)}


def time_load(path: str) -> tuple[float, int]:
    t = time.perf_counter()
    n = sum(1 for p in intake.iter_pages([path]) if p.image is not None)
    return time.perf_counter() - t, n


def time_scan(path: str, truth: dict[tuple[str, int], str], jobs: int) -> tuple[float, int, int]:
    t = time.perf_counter()
    # as `mailing scan` does for a store whose campaigns offer three options (the sample campaign)
    readings = list(read_files([path], jobs=jobs, slots=3))
    dt = time.perf_counter() - t
    right = sum(1 for r in readings if truth[(r.source, r.page)] in {c.code for c in r.coupons if c.check_ok})
    return dt, len(readings), right


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--coupons", type=int, default=120)
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'stack':<22} {'pages':>5} {'load p/s':>9} {'scan p/s j1':>12} {'scan p/s j2':>12} "
              f"{'read j1':>8} {'read j2':>8} {'scan/load j1':>13}")
        for kind, n in (("coupon", args.coupons), ("a4", args.pages)):
            folder = Path(tmp) / kind
            truth = make_stack(kind, n, folder, rng)
            path = next(iter(truth))[0]
            load_s, loaded = time_load(path)
            s1, n1, r1 = time_scan(path, truth, 1)
            s2, n2, r2 = time_scan(path, truth, 2)
            name = "coupons 200 dpi" if kind == "coupon" else "A4 letters 300 dpi"
            print(f"{name:<22} {loaded:>5} {loaded / load_s:>9.1f} {n1 / s1:>12.1f} {n2 / s2:>12.1f} "
                  f"{100 * r1 / n1:>7.1f}% {100 * r2 / n2:>7.1f}% {(n1 / s1) / (loaded / load_s):>13.2f}")
    print("target: scan p/s (j1) >= 0.5 x load p/s, i.e. scan/load >= 0.50; jobs 2 includes worker start-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
