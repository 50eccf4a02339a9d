"""Issue 10, item 1: tick reading that generalises beyond the pen it was tuned on, and no confident ticks
from a registration that has lost the coupon.

Real coupons from the renderer, marked with the second, held-apart pen (scanning/pens.py), scanned as the
classes of tests/scanning/tickcorpus.py, read by the pipeline.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from layouts import geometry as g
from scanning import pens, ticks
from scanning import simulate as sim
from scanning.decode import locate
from scanning.pipeline import read_page
from scanning.register import register
from scanning.results import CouponReading
from tests.scanning import degrade as d
from tests.scanning import tickcorpus as tc
from tests.scanning.corpus import code_for, coupon_pages

BLACK_THIN = pens.Pen(width_mm=0.25, grey=40, pressure=0.9, skips=0.0, colour="black")
BLACK_FIRM = pens.Pen(width_mm=0.3, grey=40, pressure=0.95, skips=0.0, colour="black")
BLUE_LIGHT = pens.Pen(width_mm=0.2, grey=110, pressure=0.6, skips=0.1, colour="blue")


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, np.ndarray, np.ndarray]:
    """One rendered letter page (coupon in its bottom third) at 300 and at 200 dpi, not yet marked."""
    code = code_for(random.Random(100))
    work = tmp_path_factory.mktemp("ticks")
    return code, coupon_pages([code], 300, work)[0][0], coupon_pages([code], 200, work)[0][0]


def _marked(page: np.ndarray, dpi: float, marks: dict[int, tuple[str, pens.Pen]], seed: int = 1) -> np.ndarray:
    page = page.copy()
    rng = random.Random(seed)
    for slot, (style, pen) in marks.items():
        pens.mark(page, dpi, g.checkbox_box(slot), g.COUPON_TOP_MM, rng, style, pen)
    return d.cut_coupon(page, dpi)


def _coupon(image: np.ndarray, dpi: float, code: str) -> CouponReading:
    reading = read_page("test", 1, image, dpi, slots=3)
    got = [c for c in reading.coupons if c.code == code]
    assert got and got[0].registered, reading
    return got[0]


def _states(c: CouponReading) -> list[str]:
    return [b.state for b in c.boxes]


@pytest.mark.parametrize("dpi", [200, 300])
def test_thin_slash_and_check_over_the_border_on_clean_scans_are_ticked_not_doubtful(blank, dpi) -> None:
    """The independent set's finding: a single thin slash and a clear check running over the border came
    back doubtful on clean 200 and 300 dpi scans (the interior was cut away with the border)."""
    code, p300, p200 = blank
    page = p300 if dpi == 300 else p200
    img = _marked(page, dpi, {0: ("slash", BLACK_THIN), 1: ("check_over", BLUE_LIGHT), 2: ("corner_check", BLACK_THIN)})
    assert _states(_coupon(img, dpi, code)) == ["ticked", "ticked", "ticked"]


def test_light_blue_ballpoint_slash_is_ticked(blank) -> None:
    code, _, p200 = blank
    img = _marked(p200, 200, {1: ("slash", BLUE_LIGHT)})
    assert _states(_coupon(img, 200, code)) == ["empty", "ticked", "empty"]


def test_circle_around_the_box_is_ticked_and_its_neighbours_stay_empty(blank) -> None:
    code, _, p200 = blank
    img = _marked(p200, 200, {1: ("circle", BLACK_THIN)})
    assert _states(_coupon(img, 200, code)) == ["empty", "ticked", "empty"]


def test_cross_larger_than_the_box_is_ticked_and_its_neighbours_stay_empty(blank) -> None:
    code, _, p200 = blank
    img = _marked(p200, 200, {1: ("big_cross", pens.Pen(0.8, 30, 1.0, 0.0, "black"))})
    assert _states(_coupon(img, 200, code)) == ["empty", "ticked", "empty"]


def test_correction_filled_box_with_x_beside_is_doubtful_and_a_filled_box_alone_ticked(blank) -> None:
    code, _, p200 = blank
    pen = pens.Pen(0.6, 40, 1.0, 0.0, "black")
    img = _marked(p200, 200, {0: ("filled", pen), 2: ("correction", pen)})
    assert _states(_coupon(img, 200, code)) == ["ticked", "empty", "doubtful"]


def test_fold_through_an_empty_box_is_not_a_tick(blank) -> None:
    """Round-trip corpus (seed 2024): a crease across an empty box scored as a tick once the interior was
    no longer cut 0.9 mm inside the border; lines running level past the box are not strokes."""
    code, _, p200 = blank
    img = d.cut_coupon(p200.copy(), 200).astype(np.float32)
    y = d.px(g.checkbox_box(1).y_mm + 2.5, 200)
    for dy in range(-6, 7):
        img[y + dy] *= 0.75 + 0.25 * min(1.0, abs(dy) / 6)
    img = sim.jpeg(img.astype(np.uint8), 30)
    assert _states(_coupon(img, 200, code))[1] in ("empty", "doubtful")
    assert "ticked" not in _states(_coupon(img, 200, code))


def test_coupon_with_two_registration_marks_gets_only_doubtful_boxes(blank) -> None:
    """Fewer than three marks: the box positions are extrapolated, so no box is confidently anything."""
    code, _, p200 = blank
    img = _marked(p200, 200, {0: ("slash", BLACK_THIN)})
    for x, y in g.REG_MARKS_MM[:2]:  # torn off: the two top marks gone
        x0, y0 = d.px(x - 1, 200), d.px(y - 1, 200)
        img[max(0, y0):y0 + d.px(7, 200), max(0, x0):x0 + d.px(7, 200)] = 255
    c = _coupon(img, 200, code)
    assert c.marks_found == 2
    assert _states(c) == ["doubtful"] * 3


def test_phone_photo_with_perspective_gives_no_confident_wrong_tick(blank) -> None:
    """The independent set's finding: on phone photos with perspective the far registration marks were not
    found and the boxes extrapolated ~10 mm off, onto label text (read as ticked) or blank paper (empty),
    with no review flag. This photo (one edge a third shorter) read slot 0 'empty' with 2 marks before."""
    code, p300, _ = blank
    marks = {0: ("corner_check", BLACK_THIN), 1: ("corner_check", BLACK_THIN), 2: ("check_over", BLACK_THIN)}
    page = _marked(p300, 300, marks)
    wrong = 0
    for seed in range(4):
        img, dpi = tc.phone(page, 300, random.Random(seed), tilt=0.3)
        c = _coupon(img, dpi, code)
        wrong += sum(1 for s in _states(c) if s == "empty")
        assert all(s in ("ticked", "doubtful") for s in _states(c)), (seed, c.marks_found, c.boxes)
    assert wrong == 0


def _rates(cases: list[tc.TickCase]) -> tuple[Counter[str], list[str]]:
    """(right / doubtful / wrong counts, a note per box not right: "<outcome> <scan> slot ...")."""
    out: Counter[str] = Counter()
    notes = []
    for case in cases:
        c = _coupon(case.image, case.dpi, case.code)
        for box in c.boxes:
            want = case.want[box.slot]
            o = "right" if box.state == want else "doubtful" if box.state == "doubtful" else "wrong"
            out[o] += 1
            if o != "right":
                notes.append(f"{o} {case.scan} slot {box.slot} {case.styles[box.slot] or 'empty'}: {box.state} "
                             f"({box.score}) want {want}")
    return out, notes


# The classes where every stroke of the second pen survives the scan; on bitonal and fax scans a light
# ballpoint stroke (grey ~180) can fall entirely above the threshold and vanish (bench/ticks.py counts it).
GREY_CLASSES = ("clean200", "clean300", "coffee", "photocopy", "recycled", "phone")


def test_second_pen_seeded_sample_meets_the_target_rates(tmp_path: Path) -> None:
    cases = list(tc.build(18, seed=5, workdir=tmp_path, pen="pen2", classes=GREY_CLASSES))
    rates, notes = _rates(cases)
    n = sum(rates.values())
    assert rates["wrong"] == 0, notes
    assert rates["right"] >= 0.995 * n - 1, (rates, notes)  # on 54 boxes: at most one doubtful


@pytest.mark.slow
def test_second_pen_corpus_meets_the_target_rates(tmp_path: Path) -> None:
    """Every scan class: no confidently wrong box; on the grey classes the target (>= 99.5 % right); on bitonal
    and fax scans the rest doubtful where a light pen may have vanished (bench/ticks.py counts the marks that
    left no pixel at all, which no reader can see)."""
    cases = list(tc.build(160, seed=2026, workdir=tmp_path, pen="pen2"))
    rates, notes = _rates(cases)
    n = sum(rates.values())
    assert rates["wrong"] == 0, [x for x in notes if x.startswith("wrong")]
    grey, grey_notes = _rates([c for c in cases if c.scan in GREY_CLASSES])
    assert grey["right"] >= 0.995 * sum(grey.values()), grey_notes
    assert rates["right"] >= 0.9 * n, (rates, notes)


def _ring_through(img: np.ndarray, dpi: float, slot: int) -> np.ndarray:
    """A coffee cup's ring (soft, 35 % darker at its rim, ~1.5 mm wide) whose rim runs across the box."""
    box = g.checkbox_box(slot)
    r = d.px(25, dpi)
    cx, cy = d.px(box.x_mm - 18, dpi), d.px(box.y_mm + 3, dpi) + r - d.px(4, dpi)
    h, w = img.shape
    yy, xx = np.ogrid[:h, :w]
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    ring = np.exp(-((dist - r) ** 2) / (2 * (r * 0.04) ** 2)) * 0.35
    return np.clip(img.astype(np.float32) * (1 - ring), 0, 255).astype(np.uint8)


def test_coffee_rim_across_an_empty_box_is_not_a_tick(blank) -> None:
    """bench/ticks.py, first pen, coffee: a ring's rim across an empty box read as ticked (0.30), because
    its level stretch was cut away as a crease first and the rest no longer ran edge to edge."""
    code, _, p200 = blank
    img = _ring_through(d.cut_coupon(p200.copy(), 200), 200, 1)
    states = _states(_coupon(sim.jpeg(img, 60), 200, code))
    assert states[1] in ("empty", "doubtful") and "ticked" not in states, states


def test_bitonal_coupon_whose_light_tick_vanished_is_doubtful_not_empty(blank) -> None:
    """bench/ticks.py, second pen: a light ballpoint slash falls wholly above a bitonal scan's threshold and
    the coupon read 'empty' everywhere (a missed opt-out). Nothing shows on the coupon: every box doubtful."""
    code, _, p200 = blank
    faint = pens.Pen(width_mm=0.25, grey=120, pressure=0.5, skips=0.0, colour="blue")
    img = sim.bitonal(_marked(p200, 200, {2: ("slash", faint)}))
    assert _states(_coupon(img, 200, code)) == ["doubtful"] * 3
    # a thin dark pen's slash comes through whole: the coupon's pen survives the threshold, the rest is empty
    img = sim.bitonal(_marked(p200, 200, {0: ("slash", BLACK_THIN)}))
    assert _states(_coupon(img, 200, code)) == ["ticked", "empty", "empty"]
    # the same coupon scanned in grey: the light slash shows, the empty box is empty
    img = _marked(p200, 200, {0: ("slash", BLACK_THIN), 2: ("slash", faint)})
    assert _states(_coupon(img, 200, code)) == ["ticked", "empty", "ticked"]


def test_bitonal_coupon_with_a_solid_or_unbroken_tick_reads_its_other_boxes_empty(blank) -> None:
    """Every empty-looking box of a bitonal scan was doubtful (TICK_BITONAL_EMPTY_DOUBTFUL), so nearly every
    bitonal coupon went to a person; then only a tick 0.6 mm wide vouched for the coupon's pen, and a thin
    black ballpoint's ticks (and every circle) left 40-50 % of bitonal boxes doubtful. A person fills in a
    coupon with one pen: a tick that came through solid or unbroken shows that pen survives the threshold."""
    code, _, p200 = blank
    solid = pens.Pen(width_mm=0.8, grey=30, pressure=1.0, skips=0.0, colour="black")
    img = sim.bitonal(_marked(p200, 200, {1: ("slash", solid)}))
    assert _states(_coupon(img, 200, code)) == ["empty", "ticked", "empty"]
    img = sim.fax(_marked(p200, 200, {1: ("slash", solid)}), 200)
    assert _states(_coupon(img, 204, code)) == ["empty", "ticked", "empty"]
    # a circle around the box: nothing inside it, its line around the box whole
    img = sim.fax(_marked(p200, 200, {2: ("circle", BLACK_THIN)}), 200)
    assert _states(_coupon(img, 204, code)) == ["empty", "empty", "ticked"]


def test_unbroken_tells_a_whole_stroke_from_one_the_threshold_broke(blank) -> None:
    """The measure behind the rule above: the same thin black slash, whole and with a gap in it such as a pen
    near the threshold leaves (0.4 mm across, 0.5 mm along the stroke). Broken, it vouches for nothing."""
    code, _, p200 = blank
    whole = sim.bitonal(_marked(p200, 200, {0: ("slash", BLACK_THIN)}))
    broken = whole.copy()
    box = g.checkbox_box(0)
    cx = d.px(box.x_mm + box.width_mm / 2, 200)
    # the gap: down the middle of the box, its printed border left whole
    broken[d.px(box.y_mm + 1, 200):d.px(box.bottom_mm - 1, 200), cx - 1:cx + 2] = 255
    got = []
    for img in (whole, broken):
        loc = locate(img, 200)
        reg = register(loc.image, loc.symbols[0])
        assert reg is not None
        measured, levels = ticks.measure(loc.image, reg, 1)
        got.append(ticks.unbroken(measured[0], levels[0]))
    assert got == [True, False]
    # nothing shows the pen survives: an empty-looking box may hold a vanished mark, a tick may be a
    # correction whose "X" vanished
    assert _states(_coupon(broken, 200, code)) == ["doubtful"] * 3


@pytest.mark.parametrize("seed", [5, 9])
def test_faxed_corner_check_whose_tip_the_border_band_cut_off_still_vouches_for_its_pen(blank, seed) -> None:
    """Fax, a firm black pen: a small check in a corner runs into the printed border, and leaving the border's
    band out cut a crumb off its tip. That crumb was taken for a break of the threshold's, so the coupon's
    empty boxes were doubtful although its pen came through whole (fax class, firm pens: 4 of 12 such coupons
    on seed 10). A crumb touching the band is the cut's."""
    code, _, p200 = blank
    img = sim.fax(_marked(p200, 200, {0: ("corner_check", BLACK_FIRM)}, seed=seed), 200)
    assert _states(_coupon(img, 204, code)) == ["ticked", "empty", "empty"]


def test_faxed_correction_whose_fill_scores_below_a_full_box_is_doubtful(blank) -> None:
    """A correction (a filled box with an X beside it) drawn with a light pen and faxed: the fill scored
    0.64-0.74, under the 0.8 above which the X beside it was looked for, and read as a tick."""
    code, _, p200 = blank
    pen = pens.Pen(width_mm=0.25, grey=90, pressure=0.6, skips=0.0, colour="blue")
    img = sim.fax(_marked(p200, 200, {1: ("correction", pen)}, seed=2), 200)
    box = _coupon(img, 204, code).boxes[1]
    assert box.score < 0.8 and box.state == "doubtful", box


def _stain(img: np.ndarray, dpi: float, centre_mm: tuple[float, float], radius_mm: float, blot: float,
           rim: float = 0.0) -> np.ndarray:
    """A coffee stain as scanning.simulate draws one (a blot darkest at its centre, a soft rim), placed."""
    h, w = img.shape
    yy, xx = np.ogrid[:h, :w]
    dist = np.sqrt((xx - d.px(centre_mm[0], dpi)) ** 2 + (yy - d.px(centre_mm[1], dpi)) ** 2)
    r = d.px(radius_mm, dpi)
    dark = np.clip(1 - dist / r, 0, 1) * blot + np.exp(-((dist - r) ** 2) / (2 * (r * 0.04) ** 2)) * rim
    return sim.jpeg(np.clip(img.astype(np.float32) * (1 - np.clip(dark, 0, 0.6)), 0, 255).astype(np.uint8), 60)


@pytest.mark.parametrize(("blot", "radius_mm"), [(0.2, 10.0), (0.3, 14.0)])
def test_coffee_blot_over_an_empty_box_is_not_a_tick(blank, blot, radius_mm) -> None:
    """bench/ticks.py, second pen, coffee: a blot's dark middle on an empty box read as a fill (0.23-0.50).
    The paper just outside the box's four sides shows the stain under it too."""
    code, _, p200 = blank
    box = g.checkbox_box(1)
    img = _stain(d.cut_coupon(p200.copy(), 200), 200, (box.x_mm + 4, box.y_mm + 2), radius_mm, blot)
    assert _states(_coupon(img, 200, code)) == ["empty", "empty", "empty"]


@pytest.mark.parametrize("centre", [(-9.0, 9.0), (9.0, 9.0), (-10.0, 10.0)])
def test_coffee_rim_through_a_corner_of_the_patch_is_not_a_tick(blank, centre) -> None:
    """bench/ticks.py, second pen, coffee: a rim's arc across an empty box that leaves its patch by two
    neighbouring edges (not opposite ones) was ink and read as ticked."""
    code, _, p200 = blank
    box = g.checkbox_box(1)
    c = (box.x_mm + 3 + centre[0], box.y_mm + 3 + centre[1])
    img = _stain(d.cut_coupon(p200.copy(), 200), 200, c, abs(centre[0]) + 1, 0.1, rim=0.35)
    assert _states(_coupon(img, 200, code))[1] in ("empty", "doubtful")


@pytest.mark.parametrize("seed", range(3))
def test_thick_x_beside_a_filled_box_in_a_blurred_photo_is_a_correction(blank, seed) -> None:
    """bench/ticks.py, second pen, phone: a 1 mm pen's X beside a filled box, blurred, has strokes 1.3 mm wide
    and was taken for a stain's blot: the correction read as a tick."""
    code, p300, _ = blank
    page = _marked(p300, 300, {1: ("correction", pens.Pen(1.0, 30, 1.0, 0.0, "black"))}, seed=seed)
    img = sim.jpeg(cv2.GaussianBlur(page, (0, 0), 2.0), 70)
    assert _states(_coupon(img, 300, code)) == ["empty", "doubtful", "empty"]


@pytest.mark.parametrize("seed", [12, 51])
def test_phone_photo_whose_far_marks_the_first_search_misses_registers_on_the_marks(blank, seed) -> None:
    """bench/ticks.py, phone: the first search, around where the QR code alone puts a far mark, took the
    heading's blurred "J" for it (or found two marks only), and every box was doubtful, on label text."""
    code, p300, _ = blank
    page = _marked(p300, 300, {0: ("slash", BLACK_THIN), 2: ("circle", BLACK_THIN)})
    img, dpi = tc.phone(page, 300, random.Random(seed), tilt=0.3)
    c = _coupon(img, dpi, code)
    assert c.marks_found >= 3 and _states(c) == ["ticked", "empty", "ticked"], (c.marks_found, c.boxes)
