"""Every station on one PostgreSQL store at the same time (issue 13, item 5): three `mailing scan` processes
on stacks of rendered, rotated coupon scans (two of their own, one overlapping both), the review station
(`mailing serve`, a real uvicorn process) with two operators resolving items over HTTP while the scanners
fill the queue, online answers over HTTP to the same server, and `mailing followup` run again and again by
two operators at once. Afterwards the store must hold what the design promises, whatever the order was:
every page one outcome, one counted response per letter (a second answer on another channel is a
duplicate), every follow-up letter planned once, every objection on the suppression list, `status` equal
to counts taken from the rows, and no process or page that failed on a lost race (deadlock, serialisation
failure, unique constraint).

Found with it: two follow-up runs at once died on a unique constraint (tests/mailing/test_followup_concurrency.py);
a code typed in at the station while the same letter was answered online gave an HTTP 500
(tests/web/test_review_races.py).

Its own PostgreSQL schema, so it runs beside the other PostgreSQL tests; skipped without
MAILING_TEST_POSTGRES.
"""

from __future__ import annotations

import csv
import html
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from cycle import DROP, coupon_scan, run
from PIL import Image
from sqlalchemy import func, select

from mailing.campaigns import load
from mailing.store import (
    Store,
    followups,
    pieces,
    recipients,
    response_options,
    responses,
    review_items,
    scans,
    waves,
)
from mailing.suppression import suppressed_recipients
from mailing.users import add_user
from tests.web.station_queue import own_schema

PG_URL = os.environ.get("MAILING_TEST_POSTGRES")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not PG_URL, reason="set MAILING_TEST_POSTGRES to a PostgreSQL URL to run")]

CAMPAIGN = "fruehjahr-2026"
RESPONSE_URL = "https://gartenwelt-schneider.de/r"
PASSWORD = "richtig-geheim-42"
AS_OF = date(2026, 4, 1)  # reminders are due: the drop (DROP) was more than 21 days before
OPTIONS = ("info", "call", "optout")  # the example coupon's boxes, slot by slot
MAILING = ["-c", "import sys; from mailing.cli import main; sys.exit(main())"]

# Which letter (row of the manifest) is answered how. Paper: row i ticks slot i % 3.
PAPER_A, PAPER_B, PAPER_C_NEW = range(0, 6), range(6, 12), range(12, 14)
COPIED_FROM_A, RESCANNED_FROM_B = range(3, 6), range(9, 12)  # stack C: the same images / new scans
# Row 5 objects on paper and in review, so the objection is there from whichever comes first (a thank-you
# planned between a first answer without and a second with an objection would be no fault).
REVIEW = {5: ("optout",), 14: ("info",), 15: ("call",), 16: ("optout",)}  # typed in from blank pages
ONLINE = {4: ("info",), 10: ("info",), 15: ("info",), 17: ("call",), 18: ("optout",), 19: ("info",)}
ANSWERED = set(PAPER_A) | set(PAPER_B) | set(PAPER_C_NEW) | set(REVIEW) | set(ONLINE)
OBJECTED = {i for i in ANSWERED if i < 14 and i % 3 == 2} | {16, 18}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def blank(path: Path, seed: int) -> Path:
    """A blank page (one dot, so each is its own image): unreadable at once, a review item with a picture."""
    a = np.full((300, 400), 255, np.uint8)
    a[seed, seed] = 0
    Image.fromarray(a).save(path)
    return path


def stacks(tmp: Path, print_dir: Path, rows: list[dict[str, str]]) -> list[Path]:
    rng = random.Random(13)
    a, b, c = (tmp / n for n in ("stack-a", "stack-b", "stack-c"))
    for folder in (a, b, c):
        folder.mkdir()
    for folder, numbers in ((a, PAPER_A), (b, PAPER_B), (c, PAPER_C_NEW)):
        for i in numbers:
            coupon_scan(print_dir, rows[i], [i % 3], folder / f"coupon-{i:02d}.png", rng)
    for i in COPIED_FROM_A:  # the very same image again: repeats its first outcome
        shutil.copy(a / f"coupon-{i:02d}.png", c / f"copy-{i:02d}.png")
    for i in RESCANNED_FROM_B:  # another scan of an answered coupon: a duplicate (or first, if C is faster)
        coupon_scan(print_dir, rows[i], [i % 3], c / f"rescan-{i:02d}.png", rng)
    blank(a / "blank-1.png", 1), blank(a / "blank-2.png", 2), blank(b / "blank-3.png", 3), blank(b / "blank-4.png", 4)
    shutil.copy(a / "blank-1.png", c / "blank-1-copy.png")
    return [a, b, c]


class Server:
    """`mailing serve` in a process of its own, on a free port; its log kept in a file."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as fh:
            self.proc = subprocess.Popen([sys.executable, *MAILING, "--db", url, "serve", "--port", str(self.port)],
                                         stdout=fh, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                httpx.get(self.base + "/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not start: {log.read_text(errors='replace')}")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        return self.log.read_text(errors="replace")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


class Stations:
    """The threads of the test: the operator at the review station, the online answers, the follow-ups.
    Each one records what went wrong instead of raising (checked at the end)."""

    def __init__(self, base: str, url: str, tmp: Path, codes: list[str]) -> None:
        self.base, self.url, self.tmp, self.codes = base, url, tmp, codes
        self.scanners_done = threading.Event()
        self.errors: list[str] = []
        self.resolved: dict[int, tuple[str, str]] = {}  # review item → (code typed, kind)
        self.followup_runs: list[subprocess.CompletedProcess[str]] = []
        self.to_type = list(REVIEW.items())  # what the blank pages' letters said, shared by the operators
        self.lock = threading.Lock()

    def review(self, operator: str) -> None:
        """One operator at the station: takes the next item, types the code of the blank page's letter (or
        keeps every tick read on a second copy), until the scanners are done and the queue is empty."""
        with httpx.Client(base_url=self.base, timeout=60, follow_redirects=False) as c:
            token = csrf_of(c.get("/login").text)
            r = c.post("/login", data={"name": operator, "password": PASSWORD, "csrf_token": token, "next": "/review"})
            if r.status_code != 303:
                self.errors.append(f"login: HTTP {r.status_code}")
                return
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                page = c.get("/review")
                if page.status_code != 200:
                    self.errors.append(f"GET /review: HTTP {page.status_code}: {page.text[:300]}")
                    return
                found = re.search(r'data-item="(\d+)" data-kind="(\w+)"', page.text)
                if found is None:  # the queue is empty for now
                    if self.scanners_done.is_set():
                        return
                    time.sleep(0.2)
                    continue
                item, kind = int(found.group(1)), found.group(2)
                data = {"csrf_token": csrf_of(page.text), "action": "confirm"}
                if kind in ("doubtful", "conflict"):
                    # a second copy ticks more than the first: the operator keeps every tick read on either
                    marks = json.loads(html.unescape(re.search(r'data-marks="([^"]*)"', page.text).group(1)))
                    ticked = set(re.findall(r'name="opt_(\w+)"\s*checked', page.text))
                    ticked |= {k for k, state in marks.items() if state == "ticked"}
                    data.update({f"opt_{k}": "on" for k in ticked})
                    code = ""
                else:
                    with self.lock:
                        told = self.to_type.pop(0) if self.to_type else None
                    if told is None:
                        self.errors.append(f"review item {item} of kind {kind} was not expected")
                        return
                    code = self.codes[told[0]]
                    data.update({"code": code, **{f"opt_{k}": "on" for k in told[1]}})
                done = c.post(f"/review/items/{item}", data=data)
                if done.status_code != 303:
                    self.errors.append(f"resolving item {item}: HTTP {done.status_code}: {done.text[:300]}")
                    return
                self.resolved[item] = (code, kind)

    def answer_online(self) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as c:
            for row, ticked in ONLINE.items():
                time.sleep(random.uniform(0.2, 1.5))  # spread over the scanners' run
                path = f"/r/{self.codes[row]}"
                page = c.get(path)
                if page.status_code != 200:
                    self.errors.append(f"GET answer page: HTTP {page.status_code}")
                    continue
                done = c.post(path, data={"csrf_token": csrf_of(page.text), "option": list(ticked)})
                # 422: the letter was answered on paper meanwhile and only an objection may still be added
                if done.status_code not in (200, 422):
                    self.errors.append(f"answer to row {row}: HTTP {done.status_code}: {done.text[:300]}")

    def followups(self, who: int, times: int = 3) -> None:
        for n in range(times):
            time.sleep(random.uniform(0.5, 2.0))
            res = subprocess.run([sys.executable, *MAILING, "--db", self.url, "followup", CAMPAIGN,
                                  "--as-of", AS_OF.isoformat(), "--out", str(self.tmp / f"followup-{who}-{n}")],
                                 capture_output=True, text=True, timeout=300)
            self.followup_runs.append(res)


def start(target: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=target, args=args)
    t.start()
    return t


def no_lost_race(text: str) -> bool:
    low = text.lower()
    return not any(w in low for w in ("traceback", "deadlock", "could not serialize", "integrityerror",
                                      "unique constraint", "uniqueviolation"))


def test_all_stations_at_once_on_postgresql(tmp_path: Path, capsys) -> None:
    assert PG_URL
    url = own_schema(PG_URL, "stations_at_once")
    run(capsys, url, "init", tmp_path / "c")
    toml = tmp_path / "c" / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(f'# response_url = "{RESPONSE_URL}"',
                                                             f'response_url = "{RESPONSE_URL}"'), encoding="utf-8")
    run(capsys, url, "campaign", "add", toml)
    run(capsys, url, "import", CAMPAIGN, tmp_path / "c" / "recipients.csv")
    run(capsys, url, "produce", CAMPAIGN, "--out", tmp_path / "print", "--jobs", "1", "--drop-date", DROP.isoformat())
    manifest = next((tmp_path / "print").rglob("*manifest*.csv"))
    with manifest.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    codes = [r["code"] for r in rows]
    store = Store.open(url)
    add_user(store, "anna", "operator", PASSWORD)
    add_user(store, "bert", "operator", PASSWORD)
    folders = stacks(tmp_path, manifest.parent, rows)

    server = Server(url, tmp_path / "serve.log")
    try:
        stations = Stations(server.base, url, tmp_path, codes)
        scanners = [subprocess.Popen([sys.executable, *MAILING, "--db", url, "scan", str(f), "--json", "--jobs", "1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in folders]
        threads = [start(stations.review, "anna"), start(stations.review, "bert"), start(stations.answer_online),
                   start(stations.followups, 1), start(stations.followups, 2)]
        scanned = [p.communicate(timeout=600) for p in scanners]
        stations.scanners_done.set()
        for t in threads:
            t.join(timeout=600)
    finally:
        log = server.stop()
    run(capsys, url, "followup", CAMPAIGN, "--as-of", AS_OF.isoformat(), "--out", tmp_path / "followup-last")

    # --- nothing failed on a lost race
    assert stations.errors == []
    for p, (_, err) in zip(scanners, scanned, strict=True):
        assert p.returncode == 0 and no_lost_race(err), err[-3000:]
    for res in stations.followup_runs:
        assert res.returncode == 0 and no_lost_race(res.stderr), res.stderr[-3000:]
    assert len(stations.followup_runs) == 6
    assert no_lost_race(log) and "ERROR" not in log, log[-3000:]

    # --- every page one outcome
    for folder, (out, _) in zip(folders, scanned, strict=True):
        lines = [json.loads(x) for x in out.splitlines()]
        assert sorted(Path(ln["source"]).name for ln in lines) == sorted(p.name for p in folder.iterdir())
        assert {ln["status"] for ln in lines} <= {"matched", "duplicate", "unreadable"}
    images = {p.read_bytes() for f in folders for p in f.iterdir()}
    with store.connect() as conn:
        by_status = Counter(s for (s,) in conn.execute(select(scans.c.status)))
        assert sum(by_status.values()) == len(images), "one scan row per distinct image"
        assert by_status["unreadable"] == 0, "review resolved every blank page"
        assert sum(1 for _, kind in stations.resolved.values() if kind == "unreadable") == len(REVIEW)

        # --- one counted response per letter; the others are duplicates
        answered = {r.code for r in conn.execute(select(pieces.c.code).join(responses,
                                                                             responses.c.piece_id == pieces.c.id))}
        assert answered == {codes[i] for i in ANSWERED}
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == len(ANSWERED)
        # paper copies beyond the first of each letter (rescans, a scan after an online or typed answer)
        paper = Counter(r.piece_id for r in conn.execute(select(scans.c.piece_id).where(scans.c.piece_id.is_not(None))))
        from_paper = {i for i in ANSWERED if i < 14 or i in REVIEW}
        assert by_status["duplicate"] == sum(paper.values()) - sum(
            1 for r in conn.execute(select(responses.c.source)) if r.source in ("scan", "review"))
        assert len(paper) == len(from_paper)

        # --- every objection on the suppression list, at once and for good
        cid, campaign = load(conn, CAMPAIGN)
        suppressed = suppressed_recipients(conn, cid)
        objectors = {conn.execute(select(pieces.c.recipient_id).where(pieces.c.code == codes[i])).scalar_one()
                     for i in OBJECTED}
        assert objectors <= set(suppressed)

        # --- each follow-up letter planned once
        once = conn.execute(select(waves.c.rule, pieces.c.recipient_id, func.count())
                            .select_from(pieces.join(waves, waves.c.id == pieces.c.wave_id))
                            .where(waves.c.rule.is_not(None)).group_by(waves.c.rule, pieces.c.recipient_id)
                            .having(func.count() > 1)).all()
        assert once == [], "a follow-up letter was planned twice"
        planned = {(r.rule, r.recipient_id) for r in conn.execute(
            select(waves.c.rule, pieces.c.recipient_id).join(waves, waves.c.id == pieces.c.wave_id)
            .where(waves.c.rule.is_not(None)))}
        recorded = {(r.rule, r.recipient_id) for r in conn.execute(
            select(followups.c.rule, followups.c.recipient_id).where(followups.c.wave_id.is_not(None)))}
        assert planned == recorded
        info = {conn.execute(select(pieces.c.recipient_id).where(pieces.c.code == c)).scalar_one() for (c,) in
                conn.execute(select(pieces.c.code).join(responses, responses.c.piece_id == pieces.c.id)
                             .join(response_options, response_options.c.response_id == responses.c.id)
                             .where(response_options.c.key == "info", response_options.c.ticked.is_(True)))}
        assert info - objectors <= {rid for rule, rid in planned if rule == "info-pack"}
        assert not objectors & {rid for rule, rid in planned if rule in ("info-pack", "thank-you")}

        # --- `status` says what the rows say
        ticked = dict(conn.execute(select(response_options.c.key, func.count())
                                   .where(response_options.c.ticked.is_(True)).group_by(response_options.c.key)).all())
        wave_rows = conn.execute(select(waves.c.number, waves.c.kind, waves.c.status, func.count(pieces.c.id))
                                 .join(pieces, pieces.c.wave_id == waves.c.id).where(pieces.c.control.is_(False))
                                 .group_by(waves.c.number, waves.c.kind, waves.c.status).order_by(waves.c.number)).all()
        n_recipients = conn.execute(select(func.count()).select_from(recipients)).scalar_one()
        still_open = conn.execute(select(func.count()).select_from(review_items)
                                  .where(review_items.c.status == "open")).scalar_one()
    store.dispose()
    st = json.loads(run(capsys, url, "status", CAMPAIGN, "--json"))
    assert st["responses"] == len(ANSWERED) and st["duplicates"] == by_status["duplicate"]
    assert st["recipients"] == n_recipients and st["suppressed"] == len(suppressed)
    assert st["review_open"] == still_open == 0
    assert st["options"] == {k: ticked.get(k, 0) for k in OPTIONS}
    assert [(w["wave"], w["kind"], w["status"], w["pieces"]) for w in st["waves"]] == \
        [tuple(r) for r in wave_rows]
