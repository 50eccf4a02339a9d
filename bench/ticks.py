"""Tick-box benchmark: score distributions of empty and ticked boxes and the three rates (right / doubtful /
confidently wrong) per pen-stroke class and per scan class, for both pen models (tests/scanning/tickcorpus.py).

Run: .venv/bin/python bench/ticks.py [--coupons 240] [--json out.json]
     .venv/bin/python bench/ticks.py --before main   (the same corpus read by that revision's scanning code)
Targets (issue 10) on the held-apart pen (pen2): >= 99.5 % of boxes right, <= 0.1 % confidently wrong.

"by oracle" splits the bitonal and fax boxes of coupons that carry marks by what any reader could see: a
mark that left no pixel at all after the scan's threshold ("vanished mark"), a box on the same coupon as
such a mark ("beside a vanished mark"), and coupons whose every mark left pixels ("all marks visible").

"by workflow" measures what the operator gets when the bitonal pages whose boxes came out doubtful are
scanned again in grey, as `mailing scan` asks: the rescan settles those boxes by the rule the matcher uses
(`mailing.settle.decides`). "bitonal, rescanned" are the bitonal class's boxes after that; "all, bitonal
rescanned" every box of the pen with it (fax pages cannot be rescanned: the paper is with the sender).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# files of this measurement that an older revision lacks: copied into its export for --before
OWN_FILES = ("bench/ticks.py", "scanning/pens.py", "tests/scanning/tickcorpus.py")


def quantiles(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {}
    s = sorted(xs)
    pick = lambda q: s[min(len(s) - 1, int(round(q * (len(s) - 1))))]  # noqa: E731
    return {"n": len(s), "min": s[0], "p01": pick(0.01), "p05": pick(0.05), "p50": pick(0.5),
            "p95": pick(0.95), "p99": pick(0.99), "max": s[-1]}


def measure(coupons: int, seed: int, pens: tuple[str, ...]) -> dict:
    from scanning.pipeline import read_page
    from tests.scanning.tickcorpus import build

    try:
        from mailing.settle import decides
    except ImportError:  # a revision before the rescan: no workflow rows
        decides = None
    value = {"ticked": True, "empty": False, "doubtful": None}

    rates: dict[str, dict[str, dict[str, int]]] = {k: defaultdict(lambda: defaultdict(int))
                                                   for k in ("pen", "stroke", "scan", "oracle", "workflow")}
    scores: dict[str, list[float]] = defaultdict(list)
    wrong: list[str] = []
    review: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # class → [coupons, coupons with a doubtful box]
    missed = 0
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for pen in pens:
            for case in build(coupons, seed, Path(tmp) / pen, pen=pen, oracle=True, rescan=decides is not None):
                t = time.process_time()
                reading = read_page("bench", 1, case.image, case.dpi, slots=3)
                seconds += time.process_time() - t
                got = [c for c in reading.coupons if c.code == case.code and c.registered]
                if not got:
                    missed += 1
                    continue
                doubtful = any(b.state == "doubtful" for b in got[0].boxes[:3])
                for cls in (pen, f"{pen}:{case.scan}"):
                    review[cls][0] += 1
                    review[cls][1] += doubtful
                # the workflow: a doubtful bitonal page scanned again in grey, settled as the matcher does
                final = {b.slot: value[b.state] for b in got[0].boxes[:3]}
                if decides is not None and case.rescan is not None and None in final.values():
                    again = read_page("bench", 1, case.rescan, 200.0, slots=3)
                    copy = [c for c in again.coupons if c.code == case.code and c.registered]
                    if copy:
                        final.update(decides(final, {b.slot: value[b.state] for b in copy[0].boxes[:3]}))
                if decides is not None:
                    rescanned = None in final.values()
                    for cls in ([f"{pen}:bitonal, rescanned"] if case.scan == "bitonal" else []) + [
                            f"{pen}:all, bitonal rescanned"]:
                        review[cls][0] += 1
                        review[cls][1] += rescanned
                        for slot, v in final.items():
                            state = "doubtful" if v is None else "ticked" if v else "empty"
                            outcome = ("right" if state == case.want[slot] else
                                       "doubtful" if v is None else "wrong")
                            rates["workflow"][cls][outcome] += 1
                            rates["workflow"][cls]["boxes"] += 1
                for box in got[0].boxes[:3]:
                    want = case.want[box.slot]
                    style = case.styles[box.slot] or "empty"
                    outcome = ("right" if box.state == want else
                               "doubtful" if box.state == "doubtful" else "wrong")
                    keys = [("pen", pen), ("stroke", f"{pen}:{style}"), ("scan", f"{pen}:{case.scan}")]
                    if case.visible:  # bitonal and fax: marks that left no pixel, and the boxes beside them
                        lost = not all(case.visible.values())
                        part = ("vanished mark" if case.visible.get(box.slot) is False else
                                "beside a vanished mark" if lost else "all marks visible")
                        keys.append(("oracle", f"{pen}:{case.scan}:{part}"))
                    for key, cls in keys:
                        rates[key][cls][outcome] += 1
                        rates[key][cls]["boxes"] += 1
                    scores[f"{pen}:{'empty' if want == 'empty' else 'ticked' if want == 'ticked' else 'correction'}"
                           ].append(box.score)
                    scores[f"{pen}:{case.scan}:{'empty' if want == 'empty' else 'marked'}"].append(box.score)
                    if outcome == "wrong":
                        wrong.append(f"{pen} {case.scan} slot {box.slot} {style}: {box.state} ({box.score}) "
                                     f"want {want}, marks {got[0].marks_found}")
    return {"rates": {k: {c: dict(v) for c, v in sorted(t.items())} for k, t in rates.items()},
            "scores": {k: quantiles(v) for k, v in sorted(scores.items())},
            "review": {c: {"coupons": v[0], "to_review": v[1]} for c, v in sorted(review.items())},
            "wrong": wrong, "coupons_not_read": missed, "cpu_seconds": round(seconds, 1)}


def show(result: dict, title: str) -> None:
    print(f"== {title}")
    for key, table in result["rates"].items():
        print(f"{'by ' + key:<32} {'boxes':>6} {'right %':>8} {'doubtful %':>11} {'wrong %':>8}")
        for cls, r in table.items():
            n = r["boxes"]
            print(f"  {cls:<30} {n:>6} {100 * r.get('right', 0) / n:>8.2f} {100 * r.get('doubtful', 0) / n:>11.2f}"
                  f" {100 * r.get('wrong', 0) / n:>8.2f}")
    print(f"{'scores':<32} {'n':>5} {'min':>6} {'p01':>6} {'p05':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}")
    for cls, q in result["scores"].items():
        if q:
            print(f"  {cls:<30} {q['n']:>5} " + " ".join(f"{q[k]:>6.3f}" for k in
                                                          ("min", "p01", "p05", "p50", "p95", "p99", "max")))
    if "review" in result:
        print(f"{'coupons to review (ticks)':<32} {'n':>5} {'per 100':>8}")
        for cls, r in result["review"].items():
            print(f"  {cls:<30} {r['coupons']:>5} {100 * r['to_review'] / max(1, r['coupons']):>8.1f}")
    print(f"coupons whose code was not read/registered: {result['coupons_not_read']}; "
          f"CPU {result['cpu_seconds']} s")
    for w in result["wrong"][:40]:
        print("  wrong:", w)


def run_before(rev: str, argv: list[str]) -> dict:
    """Export `rev` to a temporary folder, add this measurement's own files, run there, return its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "rev"
        dest.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        for f in OWN_FILES:
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / f, dest / f)
        out = Path(tmp) / "before.json"
        subprocess.run([sys.executable, str(dest / "bench/ticks.py"), *argv, "--json", str(out)], check=True,
                       cwd=dest)
        return dict(json.loads(out.read_text()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--coupons", type=int, default=240, help="coupons per pen (cycling through the scan classes)")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--pens", default="pen1,pen2")
    ap.add_argument("--before", metavar="REV", help="also measure the scanning code of this git revision")
    ap.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    common = ["--coupons", str(args.coupons), "--seed", str(args.seed), "--pens", args.pens]
    out: dict[str, dict] = {}
    if args.before:
        out["before"] = run_before(args.before, common)["after"]
        show(out["before"], f"before ({args.before})")
    out["after"] = measure(args.coupons, args.seed, tuple(args.pens.split(",")))
    show(out["after"], "after (this tree)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
