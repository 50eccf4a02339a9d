"""A scanning worker that dies mid-stack (as a crashing decoder would) loses no page."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
from pathlib import Path

import pytest
from PIL import Image

from layouts import geometry as g
from layouts.render import render_sample_pdf
from mailing.codes import new_code
from scanning import simulate as sim
from scanning.pipeline import read_files


@pytest.mark.slow
def test_killed_worker_loses_no_page(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    codes = [new_code() for _ in range(10)]
    render_sample_pdf(tmp_path / "letters.pdf", codes)
    stack = tmp_path / "stack"
    stack.mkdir()
    for i in range(len(codes)):
        page = sim.render_pdf_page(tmp_path / "letters.pdf", i + 1, 150)
        Image.fromarray(page[sim.mm_to_px(g.COUPON_TOP_MM, 150):]).save(stack / f"scan-{i:02d}.png")
    caplog.set_level(logging.WARNING)
    readings = read_files([str(stack)], jobs=2)
    got = [next(readings)]
    workers = mp.active_children()
    assert workers, "the stack is read in worker processes"
    for w in workers:
        os.kill(w.pid, signal.SIGKILL)
    got.extend(readings)
    assert "reading the rest page by page" in caplog.text
    assert [Path(r.source).name for r in got] == [f"scan-{i:02d}.png" for i in range(10)], "every page once, in order"
    assert [r.coupons[0].code for r in got] == codes
