"""Round trip with the real renderer: render letters → rasterise (150/200/300 dpi) → tick → degrade →
save as PDF / TIFF G4 / JPEG / PNG → scan → compare with the truth.

Criteria (issue 4): >= 99.5 % of coupons read to the right code and none to a wrong one; >= 99.5 % of tick
boxes right and the rest doubtful, never confidently wrong; every page exactly one PageReading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scanning.pipeline import read_files, read_page
from scanning.results import PageReading
from scanning.ticks import is_bitonal
from tests.scanning.corpus import Case, build
from tests.scanning.stack import save_stack


@dataclass
class Tally:
    coupons: int = 0
    right: int = 0
    wrong: int = 0
    boxes: int = 0
    boxes_right: int = 0
    boxes_doubtful: int = 0
    boxes_wrong: int = 0
    bitonal_blank: int = 0  # bitonal coupons with no tick: every box doubtful (a light pen may have vanished)
    notes: list[str] = field(default_factory=list)

    def add(self, case: Case, reading: PageReading) -> None:
        for truth in case.truths:
            self.coupons += 1
            got = [c for c in reading.coupons if c.code == truth.code and c.check_ok]
            if not got:
                self.notes.append(f"missed {truth.code} ({case.label}): {reading.reason}")
                continue
            self.right += 1
            coupon = got[0]
            assert coupon.registered, case.label
            if not truth.ticked and (is_bitonal(case.image) or reading.source.endswith(".tif")):
                # nothing shows on a bitonal coupon: no box is confidently empty (scanning/ticks.py); only here.
                # (A file stored other than bitonal, say resampled into a PDF, is grey again: read as empty.)
                states = {b.state for b in coupon.boxes[:3]}
                assert states in ({"doubtful"}, {"empty"}), (case.label, states)
                self.bitonal_blank += 1
                continue
            for box in coupon.boxes[:3]:  # the example campaign has three options
                self.boxes += 1
                want = "ticked" if box.slot in truth.ticked else "empty"
                if box.state == want:
                    self.boxes_right += 1
                elif box.state == "doubtful":
                    self.boxes_doubtful += 1
                    self.notes.append(f"box {box.slot} doubtful ({box.score}) want {want}: {case.label} {reading.source}")
                else:
                    self.boxes_wrong += 1
                    self.notes.append(f"box {box.slot} {box.state} ({box.score}) want {want}: {case.label}")
        codes = {t.code for t in case.truths}
        self.wrong += sum(1 for c in reading.coupons if c.check_ok and c.code not in codes)

    def check(self) -> None:
        assert self.wrong == 0, self.notes
        assert self.right >= 0.995 * self.coupons, (self.right, self.coupons, self.notes)
        assert self.boxes_wrong == 0, self.notes
        assert self.boxes_right >= 0.995 * self.boxes, (self.boxes_right, self.boxes, self.notes)


def test_roundtrip_in_memory(tmp_path: Path) -> None:
    tally = Tally()
    for case in build(36, seed=7, workdir=tmp_path):
        tally.add(case, read_page("mem", 1, case.image, case.dpi))
    tally.check()
    assert tally.coupons == 36 and tally.boxes + 3 * tally.bitonal_blank == 108


def test_roundtrip_through_files_with_a_corrupt_file(tmp_path: Path) -> None:
    cases = list(build(16, seed=11, workdir=tmp_path / "render"))
    where = save_stack(cases, tmp_path / "scans")
    broken = tmp_path / "scans" / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF garbage")
    readings = list(read_files([str(tmp_path / "scans")]))
    pages = {(r.source, r.page) for r in readings}
    assert len(pages) == len(readings), "every page exactly one reading"
    assert pages == set(where) | {(str(broken), 1)}
    tally = Tally()
    for r in readings:
        if r.source == str(broken):
            assert r.coupons == () and r.reason == "corrupt file"
            continue
        tally.add(where[(r.source, r.page)], r)
    tally.check()


@pytest.mark.slow
def test_roundtrip_corpus(tmp_path: Path) -> None:
    """~200 coupons, every damage class at every resolution, read from files with two workers."""
    cases = list(build(200, seed=2024, workdir=tmp_path / "render"))
    where = save_stack(cases, tmp_path / "scans")
    readings = list(read_files([str(tmp_path / "scans")], jobs=2))
    assert len(readings) == len(where) == len({(r.source, r.page) for r in readings})
    tally = Tally()
    for r in readings:
        tally.add(where[(r.source, r.page)], r)
    tally.check()
