"""Load test of the answer page: answers per second and latency of `mailing serve` on this machine.

Bounded and local: the server is `mailing serve` in a subprocess on 127.0.0.1 (a free port), over a fresh
SQLite store in a temporary folder; the load is a fixed number of answers (default 1000, at most 20,000)
from a few concurrent clients, each answer being what a phone does: GET the answer page (session cookie and
CSRF token), then POST the ticks. Nothing leaves the machine.

The store: the example campaign with a response URL, N generated recipients imported, one wave planned and
marked produced (printing PDFs is not what is measured here; bench/render.py measures that).

Prints the figures and writes them as JSON (--json, default web-bench.json). Afterwards it checks that
every answer was recorded once, with channel online, and that the server's log holds no code.

    .venv/bin/python bench/web.py
    .venv/bin/python bench/web.py --answers 3000 --concurrency 16 --json docs/web-bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailing import codes  # noqa: E402
from mailing.campaigns import load, register_campaign  # noqa: E402
from mailing.config import example_campaign_path  # noqa: E402
from mailing.recipients import import_recipients  # noqa: E402
from mailing.store import Store, pieces, responses, utcnow, waves  # noqa: E402
from mailing.waves import plan_wave  # noqa: E402

HOST = "127.0.0.1"  # never anything else: this is a local measurement
CAMPAIGN = "fruehjahr-2026"
RESPONSE_URL = "https://gartenwelt-schneider.de/r"
MAX_ANSWERS = 20_000
DEADLINE_S = 300  # the whole load phase stops after this, whatever is left
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SURNAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann"]
FIRST = ["Anna", "Hans", "Eva", "Jonas", "Lea", "Paul", "Mia", "Felix", "Emma", "Lukas"]


def build_store(folder: Path, letters: int) -> tuple[Path, list[str]]:
    db = folder / "web.db"
    toml = folder / "campaign.toml"
    text = example_campaign_path().read_text(encoding="utf-8")
    toml.write_text(text.replace(f'# response_url = "{RESPONSE_URL}"', f'response_url = "{RESPONSE_URL}"', 1),
                    encoding="utf-8")
    rows = folder / "recipients.csv"
    with rows.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["Kundennummer", "Anrede", "Vorname", "Nachname", "Straße", "Hausnummer", "PLZ", "Ort"])
        for i in range(letters):
            w.writerow([f"K-{i:06d}", "Frau" if i % 2 else "Herr", FIRST[i % 10], f"{SURNAMES[i % 10]}{i}",
                        "Hauptstraße", str(i % 200 + 1), f"{10000 + i % 89999:05d}", "Berlin"])
    store = Store.open(str(db))
    try:
        register_campaign(store, toml)
        import_recipients(store, CAMPAIGN, rows)
        with store.begin() as conn:
            cid, campaign = load(conn, CAMPAIGN)
            wave_id = plan_wave(conn, cid, campaign, drop_date=date.today())
            # marked produced without printing (see the module docstring)
            conn.execute(update(waves).where(waves.c.id == wave_id).values(status="produced", produced_at=utcnow()))
        with store.connect() as conn:
            all_codes = [r[0] for r in conn.execute(select(pieces.c.code).where(pieces.c.control.is_(False)))]
    finally:
        store.dispose()
    return db, all_codes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from mailing.cli import main; sys.exit(main())", "--db", str(db), "serve", "--host", HOST,
                                 "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=db.parent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped at start:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"http://{HOST}:{port}/", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the server did not answer within 30 s")


async def one_answer(client: httpx.AsyncClient, code: str, option: str) -> tuple[float, float, int]:
    """GET the page, POST the answer; (seconds for both, seconds for the POST, POST status)."""
    url = f"/r/{codes.format_code(code)}"
    t0 = time.perf_counter()
    page = await client.get(url)
    token = CSRF.search(page.text)
    if page.status_code != 200 or token is None:
        return time.perf_counter() - t0, 0.0, page.status_code
    t1 = time.perf_counter()
    res = await client.post(url, data={"csrf_token": token.group(1), "option": option})
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1, res.status_code


async def load_phase(port: int, todo: list[str], concurrency: int) -> tuple[list[tuple[float, float, int]], float]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for code in todo:
        queue.put_nowait(code)
    results: list[tuple[float, float, int]] = []
    rng = random.Random(7)
    deadline = time.monotonic() + DEADLINE_S

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=10) as client:
            while not queue.empty() and time.monotonic() < deadline:
                code = queue.get_nowait()
                client.cookies.clear()  # a new phone for every answer: a session of its own
                results.append(await one_answer(client, code, rng.choice(["info", "call"])))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def check_store(db: Path) -> dict[str, int]:
    store = Store.open(str(db))
    try:
        with store.connect() as conn:
            by_source = {str(s): int(n) for s, n in conn.execute(
                select(responses.c.source, func.count(responses.c.id)).group_by(responses.c.source))}
    finally:
        store.dispose()
    return by_source


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--letters", type=int, default=5000, help="letters in the store (default 5000)")
    ap.add_argument("--answers", type=int, default=1000, help=f"answers to send (default 1000, at most {MAX_ANSWERS})")
    ap.add_argument("--concurrency", type=int, default=8, help="clients at once (default 8)")
    ap.add_argument("--json", type=Path, default=Path("web-bench.json"), help="where to write the figures")
    args = ap.parse_args(argv)
    answers = max(1, min(args.answers, MAX_ANSWERS, args.letters))
    load_before = os.getloadavg()[0]  # the figures depend on what else the machine is doing
    with tempfile.TemporaryDirectory(prefix="mailing-web-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        db, all_codes = build_store(folder, args.letters)
        print(f"store: {len(all_codes)} letters in {time.perf_counter() - t:.1f} s (SQLite, {db.name})")
        todo = random.Random(1).sample(all_codes, answers)
        port = free_port()
        log = folder / "server.log"
        server = start_server(db, port, log)
        try:
            results, wall = asyncio.run(load_phase(port, todo, args.concurrency))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        recorded = check_store(db)
        log_text = log.read_text(errors="replace").upper().replace("-", "")
        leaked = sum(1 for c in todo if c in log_text)
        log_lines = sum(1 for line in log_text.splitlines() if "[ANSWER]" in line)
    ok = [r for r in results if r[2] == 200]
    both = [r[0] * 1000 for r in ok]
    posts = [r[1] * 1000 for r in ok]
    figures: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_1min_at_start": round(load_before, 2)},
        "store": "sqlite", "letters": len(all_codes), "answers_sent": len(results), "answers_ok": len(ok),
        "concurrency": args.concurrency, "seconds": round(wall, 2),
        "answers_per_second": round(len(ok) / wall, 1) if wall else None,
        "requests_per_second": round(2 * len(results) / wall, 1) if wall else None,
        "answer_ms": {"p50": round(statistics.median(both), 1) if both else None,
                      "p95": round(percentile(both, 95), 1), "p99": round(percentile(both, 99), 1)},
        "post_ms": {"p50": round(statistics.median(posts), 1) if posts else None,
                    "p95": round(percentile(posts, 95), 1), "p99": round(percentile(posts, 99), 1)},
        "recorded_by_source": recorded, "access_log_lines": log_lines, "codes_in_log": leaked,
        "statuses": {str(s): sum(1 for r in results if r[2] == s) for s in sorted({r[2] for r in results})},
    }
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} at the start")
    print(f"{figures['answers_ok']} answers in {wall:.1f} s with {args.concurrency} clients: "
          f"{figures['answers_per_second']} answers/s ({figures['requests_per_second']} requests/s)")
    print(f"answer (GET page + POST): p50 {figures['answer_ms']['p50']} ms, p95 {figures['answer_ms']['p95']} ms, "
          f"p99 {figures['answer_ms']['p99']} ms")
    print(f"POST alone: p50 {figures['post_ms']['p50']} ms, p95 {figures['post_ms']['p95']} ms")
    print(f"recorded: {recorded}; access log lines {log_lines}, codes in the log: {leaked}")
    args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.json}")
    good = recorded.get("online", 0) == len(ok) and leaked == 0 and len(ok) == len(results)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
