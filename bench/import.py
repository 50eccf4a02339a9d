"""Recipient import speed and memory (prints figures; not a timed test).

Writes German-Excel-style files (Windows-1252, `;`) and an XLSX of synthetic recipients, imports each into a
fresh SQLite store in a fresh child process, and prints rows/s and the child's peak RSS. The import streams
its input, so peak memory must not grow with the number of rows (issue 2).

    .venv/bin/python bench/import.py    # 10,000 and 100,000 rows CSV over ~8,000 postal codes; 100,000 rows
                                        # in only 8 postal codes (dedupe's worst case); 20,000 rows XLSX
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

FIRST = ["Anna", "Jürgen", "Özlem", "Łukasz", "Sophie", "Hans-Peter", "Zoë", "Mehmet", "Birgit", "Ondřej"]
LAST = ["Müller", "Schmidt", "Meier", "Weiß", "von Hausen", "Nowak", "Groß", "Dvořák", "Yılmaz", "Schäfer"]
STREETS = ["Hauptstraße", "Lindenallee", "Am Markt", "Bahnhofstr.", "Goethestraße", "Kirchweg"]
CITIES = [("50667", "Köln"), ("10115", "Berlin"), ("80331", "München"), ("20095", "Hamburg"),
          ("01067", "Dresden"), ("70173", "Stuttgart"), ("04109", "Leipzig"), ("90402", "Nürnberg")]
HEADER = ["Kundennummer", "Anrede", "Titel", "Vorname", "Nachname", "Straße", "Hausnummer", "PLZ", "Ort", "Land"]


def rows(n: int, seed: int = 1, spread: bool = True):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    for i in range(n):
        plz, city = rng.choice(CITIES)
        if spread:
            plz = f"{int(plz[:2]):02d}{rng.randrange(1000):03d}"  # ~8,000 postal codes, as real lists have
        yield [f"K-{i:07d}", rng.choice(["Frau", "Herr", "", "divers"]), rng.choice(["", "", "Dr.", "Prof. Dr."]),
               rng.choice(FIRST), rng.choice(LAST), rng.choice(STREETS), str(rng.randint(1, 200)), plz, city,
               "Deutschland"]


def write_csv(path: Path, n: int, spread: bool = True) -> None:
    with path.open("w", encoding="cp1252", errors="replace", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(HEADER)
        w.writerows(rows(n, spread=spread))


def write_xlsx(path: Path, n: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Adressen")
    ws.append(HEADER)
    for r in rows(n):
        ws.append(r)
    wb.save(path)


def child(path: str, db: str, q: mp.Queue) -> None:  # type: ignore[type-arg]
    from mailing.campaigns import register_campaign
    from mailing.config import example_campaign_path
    from mailing.recipients import import_recipients
    from mailing.store import Store

    store = Store.open(db)
    register_campaign(store, example_campaign_path())
    base = _vmhwm()
    t = time.perf_counter()
    summary = import_recipients(store, "fruehjahr-2026", path)
    q.put((time.perf_counter() - t, summary.imported, summary.duplicates, base, _vmhwm()))


def _vmhwm() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(path: Path, tmp: Path) -> tuple[float, int, int, float, float]:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    p = ctx.Process(target=child, args=(str(path), str(tmp / f"{path.stem}.db"), q))
    p.start()
    result = q.get()
    p.join()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--csv-rows", default="10000,100000")
    ap.add_argument("--xlsx-rows", type=int, default=20000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        files = []
        for n in (int(x) for x in args.csv_rows.split(",")):
            write_csv(tmp / f"adressen-{n}.csv", n)
            files.append((f"CSV cp1252 ;        {n:>7,} rows", tmp / f"adressen-{n}.csv"))
        n = max(int(x) for x in args.csv_rows.split(","))
        write_csv(tmp / "konzentriert.csv", n, spread=False)
        files.append((f"CSV, 8 postal codes {n:>7,} rows", tmp / "konzentriert.csv"))
        if args.xlsx_rows:
            write_xlsx(tmp / f"adressen-{args.xlsx_rows}.xlsx", args.xlsx_rows)
            files.append((f"XLSX                {args.xlsx_rows:>7,} rows", tmp / f"adressen-{args.xlsx_rows}.xlsx"))
        for label, path in files:
            secs, imported, dups, base, peak = measure(path, tmp)
            print(f"{label}: {imported / secs:8,.0f} rows/s ({secs:5.1f} s), {dups:,} likely duplicates, "
                  f"peak RSS {peak:5.0f} MB (before the import {base:4.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
