"""Response report speed and memory on large campaigns (prints figures; not a timed test).

For each size a temporary SQLite store is filled directly (bulk executemany inserts, mailing/testing/
report_fixtures.py), then the report is written in a fresh child process, which measures its own wall
time, peak RSS (VmHWM) and, in a second run, the peak of Python allocations (tracemalloc).
The target (issue 6): 1,000,000 pieces / 100,000 responses in <= 60 s, memory flat across sizes.

    .venv/bin/python bench/report.py                 # 100k/10k and 1M/100k
    .venv/bin/python bench/report.py --sizes 100000:10000
    .venv/bin/python bench/report.py --picture docs/report-summary.png   # also the Übersicht picture
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailing.campaigns import register_campaign  # noqa: E402
from mailing.config import example_campaign_path  # noqa: E402
from mailing.store import Store  # noqa: E402
from mailing.testing.report_fixtures import build_campaign  # noqa: E402
from reports.response import write_response_report  # noqa: E402

LO_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>de-DE</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooLocale" oor:op="fuse"><value>de-DE</value></prop></item>
</oor:items>
"""


def peak_rss_kb() -> int:
    """Peak resident memory of this process in KiB. Linux: VmHWM, which starts afresh at exec (ru_maxrss
    would carry the parent's peak over into a spawned child and blur the comparison)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(db: str, out: str, trace: bool, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    store = Store.open(db)
    if trace:
        tracemalloc.start()
    t = time.perf_counter()
    summary = write_response_report(store, "fruehjahr-2026", out)
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    rss_kb = peak_rss_kb()
    queue.put((seconds, rss_kb, peak, summary.pieces_sent + summary.control_pieces, summary.responses))


def run_child(db: str, out: str, trace: bool) -> tuple[float, int, int, int, int]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    p = ctx.Process(target=_child, args=(db, out, trace, queue))
    p.start()
    result = queue.get()
    p.join()
    return result  # type: ignore[no-any-return]


def baseline_rss() -> int:
    """Peak RSS of a child that only imports and opens a store: the interpreter + libraries."""
    code = ("import sys; sys.path[:0] = ['bench']; import report as r; "
            "r.Store.open('sqlite://'); print(r.peak_rss_kb())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.strip())


def bench(n_pieces: int, n_responses: int, folder: Path, trace: bool) -> Path:
    db = folder / f"bench-{n_pieces}.db"
    out = folder / f"bericht-{n_pieces}.xlsx"
    store = Store.open(str(db))
    campaign, _ = register_campaign(store, example_campaign_path())
    t = time.perf_counter()
    exp = build_campaign(store, campaign.name, n_pieces=n_pieces, n_responses=n_responses, seed=1)
    build = time.perf_counter() - t
    store.dispose()
    seconds, rss_kb, _, pieces, responses = run_child(str(db), str(out), trace=False)
    print(f"{pieces:>9,} pieces {responses:>8,} responses | build {build:6.1f} s | report {seconds:5.1f} s | "
          f"peak RSS {rss_kb / 1024:6.1f} MB | xlsx {out.stat().st_size / 2**20:5.1f} MB | "
          f"db {db.stat().st_size / 2**20:6.1f} MB", flush=True)
    assert responses == exp.total_responses + exp.variant_responses[(1, "control")]
    if trace:  # a second run: tracemalloc slows Python down several times, so it is not the timed one
        _, _, peak, _, _ = run_child(str(db), str(out), trace=True)
        print(f"{'':>36}tracemalloc peak of Python allocations while writing: {peak / 2**20:5.1f} MB", flush=True)
    return out


def picture(target: Path, folder: Path) -> None:
    """Render the Übersicht sheet of a mid-sized report: LibreOffice → PDF → PNG (first page)."""
    import pypdfium2
    from PIL import ImageChops

    db = folder / "picture.db"
    store = Store.open(str(db))
    campaign, _ = register_campaign(store, example_campaign_path())
    build_campaign(store, campaign.name, n_pieces=24_000, n_responses=2_100, seed=5)
    xlsx = folder / "bericht.xlsx"
    write_response_report(store, campaign.name, xlsx)
    profile = folder / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(LO_PROFILE, encoding="utf-8")  # German number format
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(folder), str(xlsx)], check=True, capture_output=True, timeout=300)
    page = pypdfium2.PdfDocument(str(folder / "bericht.pdf"))[0]
    image = page.render(scale=200 / 72).to_pil().convert("RGB")
    background = image.copy()
    background.paste((255, 255, 255), (0, 0, *image.size))
    box = ImageChops.difference(image, background).getbbox()
    if box:
        m = 40
        image = image.crop((max(0, box[0] - m), max(0, box[1] - m), min(image.width, box[2] + m),
                            min(image.height, box[3] + m)))
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, optimize=True)
    print(f"picture of the Übersicht sheet: {target} ({image.width}x{image.height})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=["100000:10000", "1000000:100000"],
                    help="PIECES:RESPONSES pairs")
    ap.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false",
                    help="skip the (slow) second run that measures Python allocations")
    ap.add_argument("--picture", type=Path, default=None, help="also render the Übersicht sheet to this PNG")
    args = ap.parse_args()
    print(f"baseline RSS of a child (interpreter + libraries): {baseline_rss() / 1024:.1f} MB")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        for size in args.sizes:
            pieces, responses = (int(x) for x in size.split(":"))
            bench(pieces, responses, folder, args.tracemalloc)
        if args.picture:
            picture(args.picture, folder)


if __name__ == "__main__":
    main()
