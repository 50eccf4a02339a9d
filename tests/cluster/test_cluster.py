"""`produce --cluster` and `scan --cluster` on a real Dask cluster (scheduler and workers as processes):
the same bytes and the same outcomes as a local run, the files written by the caller only, and one line
with exit 1 when the cluster cannot be used."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from layouts import geometry as g
from mailing.cli import main
from scanning import simulate as sim

DROP = "2026-03-02"
DPI = 200
NAME = "fruehjahr-2026"


def run(capsys, db: Path, *args: object) -> str:
    capsys.readouterr()
    code = main(["--db", str(db), *map(str, args)])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def fails(capsys, *args: object) -> str:
    capsys.readouterr()
    code = main([*map(str, args)])
    out = capsys.readouterr()
    assert code == 1, out
    assert "Traceback" not in out.err
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    return lines[0]


def campaign_store(tmp: Path, capsys) -> Path:
    """The example campaign with 50 recipients in batches of 7 (several PDFs), not produced yet."""
    db = tmp / "m.db"
    run(capsys, db, "init", tmp / "c")
    toml = tmp / "c" / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    assert "batch_size = 5000" in text
    toml.write_text(text.replace("batch_size = 5000", "batch_size = 7"), encoding="utf-8")
    run(capsys, db, "campaign", "add", toml)
    run(capsys, db, "import", NAME, tmp / "c" / "recipients.csv")
    return db


def sha256s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*-teil-*.pdf"))}


def test_produce_on_cluster_gives_the_local_bytes_and_only_the_caller_writes(cluster: str, tmp_path: Path,
                                                                               capsys, monkeypatch) -> None:
    db = campaign_store(tmp_path, capsys)
    monkeypatch.chdir(tmp_path)  # a relative --out: a worker writing the path itself would write elsewhere
    out = json.loads(run(capsys, db, "produce", NAME, "--out", "druck", "--cluster", cluster,
                         "--drop-date", DROP, "--json"))
    # codes are drawn at random when the wave is planned: the local run to compare with prints the same wave
    run(capsys, db, "produce", NAME, "--wave", "1", "--reprint", "--out", "local", "--jobs", "1")
    local, remote = sha256s(tmp_path / "local"), sha256s(tmp_path / "druck")
    assert len(remote) == len(out["files"]) >= 5
    assert remote == local
    assert not list((tmp_path / "druck").glob(".*.part"))
    ticket = json.loads((tmp_path / out["job_ticket"]).read_text(encoding="utf-8"))
    assert {f["file"]: f["sha256"] for f in ticket["files"]} == remote
    # a reprint on the cluster gives the same bytes again
    run(capsys, db, "produce", NAME, "--wave", "1", "--reprint", "--out", "nachdruck", "--cluster", cluster)
    assert sha256s(tmp_path / "nachdruck") == local


def _coupon(pdf: Path, page: int, ticks: list[int], rng: random.Random) -> Image.Image:
    img = sim.render_pdf_page(pdf, page, DPI)
    for slot in ticks:
        sim.tick(img, sim.box_px(g.on_page(g.checkbox_box(slot)), DPI), rng, "cross")
    return Image.fromarray(sim.rotate(img[sim.mm_to_px(g.COUPON_TOP_MM, DPI):], rng.uniform(-2, 2)))


def _scans(tmp: Path, print_dir: Path) -> Path:
    """A folder as a response desk has it: a 12-page stack (two chunks), a duplicate, a blank page, a JPEG,
    a corrupt PDF."""
    rng = random.Random(13)
    with (print_dir / next(iter(sorted(p.name for p in print_dir.glob("*manifest*.csv"))))).open(
            encoding="utf-8-sig") as fh:
        import csv

        rows = list(csv.DictReader(fh))
    pages = [_coupon(print_dir / r["file"], int(r["page"]), [i % 3], rng) for i, r in enumerate(rows[:10])]
    pages.append(pages[0].copy().rotate(0.5, fillcolor=255))  # a second copy of an answered coupon
    pages.append(Image.new("L", pages[0].size, 255))  # a blank page
    folder = tmp / "scans"
    folder.mkdir()
    pages[0].save(folder / "a-stack.pdf", save_all=True, append_images=pages[1:], resolution=DPI)
    _coupon(print_dir / rows[11]["file"], int(rows[11]["page"]), [1, 2], rng).save(
        folder / "b-phone.jpg", quality=85, dpi=(DPI, DPI))
    (folder / "c-broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    return folder


@pytest.mark.slow
def test_scan_on_cluster_gives_the_local_outcomes(cluster: str, tmp_path: Path, capsys, monkeypatch) -> None:
    db = campaign_store(tmp_path, capsys)
    run(capsys, db, "produce", NAME, "--out", tmp_path / "druck", "--jobs", "1", "--drop-date", DROP)
    _scans(tmp_path, tmp_path / "druck")
    shutil.copyfile(db, tmp_path / "local.db")
    monkeypatch.chdir(tmp_path)  # relative paths: a worker opening them itself would find nothing

    def outcomes(text: str) -> list[dict[str, object]]:
        return [{k: v for k, v in json.loads(line).items() if k != "run"} for line in text.splitlines()]

    local = outcomes(run(capsys, tmp_path / "local.db", "scan", "scans", "--json", "--jobs", "2"))
    remote = outcomes(run(capsys, db, "scan", "scans", "--json", "--cluster", cluster))
    assert remote == local
    statuses = [o["status"] for o in remote]
    assert statuses.count("matched") == 11 and statuses.count("duplicate") == 1, statuses
    assert [o["reason"] for o in remote if o["status"] == "unreadable"] == ["blank page", "corrupt file"]
    assert {o["source"] for o in remote} == {"scans/a-stack.pdf", "scans/b-phone.jpg", "scans/c-broken.pdf"}
    # scanned again on the cluster: the same images, nothing new
    again = outcomes(run(capsys, db, "scan", "scans", "--json", "--cluster", cluster))
    assert [o["status"] for o in again] == statuses
    status_local = json.loads(run(capsys, tmp_path / "local.db", "status", NAME, "--json"))
    status_remote = json.loads(run(capsys, db, "status", NAME, "--json"))
    assert status_remote == status_local


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


def test_unreachable_scheduler_is_one_line_and_exit_1(tmp_path: Path, capsys) -> None:
    db = campaign_store(tmp_path, capsys)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    line = fails(capsys, "--db", db, "produce", NAME, "--out", tmp_path / "druck", "--cluster", address)
    assert line.startswith(f"error: cannot reach the Dask scheduler at {address}"), line
    assert "dask scheduler" in line
    assert time.monotonic() - t0 < 10
    line = fails(capsys, "--db", db, "scan", str(tmp_path / "c" / "recipients.csv"), "--cluster", address)
    assert line.startswith(f"error: cannot reach the Dask scheduler at {address}"), line
    assert not (tmp_path / "druck").exists()


def test_cluster_address_that_is_not_host_and_port_is_named(tmp_path: Path, capsys) -> None:
    db = campaign_store(tmp_path, capsys)
    line = fails(capsys, "--db", db, "produce", NAME, "--out", tmp_path / "druck", "--cluster", "http://x")
    assert "tcp://HOST:PORT" in line and "'http://x'" in line


@pytest.mark.slow
def test_worker_without_the_project_is_named(tmp_path: Path, capsys) -> None:
    """A worker that cannot import the project: one line naming the worker and the install command, exit 1."""
    from mailing.cluster import local_cluster

    blocked = ("import sys; sys.modules['mailing'] = None; "  # as on a machine without the project
               "from distributed.cli.dask_worker import main; main()")
    db = campaign_store(tmp_path, capsys)
    with local_cluster(workers=0) as address:
        worker = subprocess.Popen([sys.executable, "-c", blocked, address, "--no-nanny", "--nthreads", "1",
                                   "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            line = fails(capsys, "--db", db, "produce", NAME, "--out", tmp_path / "druck", "--cluster", address)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert "does not have the project installed" in line and "[cluster]" in line, line


@pytest.mark.slow
def test_scheduler_without_workers_is_named(tmp_path: Path, capsys) -> None:
    from mailing.cluster import local_cluster

    db = campaign_store(tmp_path, capsys)
    with local_cluster(workers=0) as address:
        line = fails(capsys, "--db", db, "scan", str(tmp_path / "c" / "recipients.csv"), "--cluster", address)
    assert line == (f"error: the Dask scheduler at {address} has no workers; start them with "
                    f"`dask worker {address}` on each machine"), line
