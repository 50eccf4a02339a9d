"""All physical geometry of a letter and its response coupon, in millimetres from the top-left corner.

The renderer (layouts.render) and the scanner (scanning) both read these numbers, so where a tick box is
printed and where it is looked for cannot drift apart. Convert to points or pixels only at the edge.
Sources: docs/domain-standards.md §Letter page, §Address field, §Fold and hole marks, §Envelope windows,
§Deutsche Post zones and §QR sizing. Coupon coordinates are relative to the coupon's own top-left corner
(the perforation line), so they hold for a torn-off coupon as well as for a whole page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

MM_PER_INCH = 25.4
PT_PER_MM = 72.0 / MM_PER_INCH


@dataclass(frozen=True)
class Box:
    """A rectangle in mm; `page` is 1-based within one piece."""

    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    page: int = 1

    @property
    def right_mm(self) -> float:
        return self.x_mm + self.width_mm

    @property
    def bottom_mm(self) -> float:
        return self.y_mm + self.height_mm

    def shifted(self, dx_mm: float = 0.0, dy_mm: float = 0.0) -> Box:
        return Box(self.x_mm + dx_mm, self.y_mm + dy_mm, self.width_mm, self.height_mm, self.page)

    def contains(self, other: Box, margin_mm: float = 0.0) -> bool:
        return (
            other.x_mm >= self.x_mm + margin_mm - 1e-9
            and other.y_mm >= self.y_mm + margin_mm - 1e-9
            and other.right_mm <= self.right_mm - margin_mm + 1e-9
            and other.bottom_mm <= self.bottom_mm - margin_mm + 1e-9
        )

    def intersects(self, other: Box) -> bool:
        return not (
            other.x_mm >= self.right_mm
            or other.right_mm <= self.x_mm
            or other.y_mm >= self.bottom_mm
            or other.bottom_mm <= self.y_mm
        )

    def as_json(self) -> dict[str, float | int]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


# ----------------------------------------------------------------------------------------- the sheet
PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0
LEFT_MARGIN_MM = 25.0  # Fluchtlinie
RIGHT_MARGIN_MM = 20.0
TEXT_WIDTH_MM = PAGE_WIDTH_MM - LEFT_MARGIN_MM - RIGHT_MARGIN_MM  # 165
LINE_MM = 4.23  # 12 pt grid of DIN 5008

# DIN 5008:2020 forms. Address field 85 x 45 at x 20; its Zusatz- und Vermerkzone (5 lines, filled from the
# bottom up) is 17.7 mm high, the Anschriftzone (6 lines, top down) 27.3 mm.
FORM_ADDRESS_TOP_MM = {"A": 27.0, "B": 45.0}
FORM_INFO_TOP_MM = {"A": 32.0, "B": 50.0}
FORM_FOLD_MARKS_MM = {"A": (87.0, 192.0), "B": (105.0, 210.0)}
HOLE_MARK_MM = 148.5
ADDRESS_FIELD_X_MM = 20.0
ADDRESS_FIELD_WIDTH_MM = 85.0
ADDRESS_FIELD_HEIGHT_MM = 45.0
ADDRESS_TEXT_INDENT_MM = 5.0  # text starts at x 25 inside the field
VERMERK_ZONE_HEIGHT_MM = 17.7
ANSCHRIFT_ZONE_HEIGHT_MM = 27.3
ADDRESS_MAX_LINES = 6
ADDRESS_FONT_PT = 10.0  # Deutsche Post: 10-12 pt so the capital height is >= 2.3 mm
RETURN_LINE_FONT_PT = 7.0  # Zusatz- und Vermerkzone: 8 pt recommended, 6 pt minimum
INFO_BLOCK_X_MM = 125.0
INFO_BLOCK_WIDTH_MM = 75.0
INFO_BLOCK_MIN_HEIGHT_MM = 40.0
FOLD_MARK_X_MM = 3.0
FOLD_MARK_LENGTH_MM = 5.0
HOLE_MARK_LENGTH_MM = 8.0
BODY_FONT_PT = 10.5
FOOTER_FONT_PT = 7.0
LETTERHEAD_TOP_MM = 12.0


@dataclass(frozen=True)
class LetterGeometry:
    """Positions of one DIN 5008 letter page with the coupon at the bottom third."""

    form: str
    address_field: Box
    vermerk_zone: Box
    anschrift_zone: Box
    info_block: Box
    subject_y_mm: float  # baseline area top of the Betreff
    body: Box  # where subject, salutation, body, closing and the objection notice must fit
    footer: Box
    fold_marks_y_mm: tuple[float, float]
    hole_mark_y_mm: float


def letter_geometry(form: str = "B") -> LetterGeometry:
    top = FORM_ADDRESS_TOP_MM[form]
    field = Box(ADDRESS_FIELD_X_MM, top, ADDRESS_FIELD_WIDTH_MM, ADDRESS_FIELD_HEIGHT_MM)
    vermerk = Box(ADDRESS_FIELD_X_MM, top, ADDRESS_FIELD_WIDTH_MM, VERMERK_ZONE_HEIGHT_MM)
    anschrift = Box(ADDRESS_FIELD_X_MM, top + VERMERK_ZONE_HEIGHT_MM, ADDRESS_FIELD_WIDTH_MM, ANSCHRIFT_ZONE_HEIGHT_MM)
    info = Box(INFO_BLOCK_X_MM, FORM_INFO_TOP_MM[form], INFO_BLOCK_WIDTH_MM, INFO_BLOCK_MIN_HEIGHT_MM)
    # Betreff two blank lines below whichever ends lower: address field or information block.
    subject_y = max(field.bottom_mm, info.bottom_mm) + 2 * LINE_MM
    footer = Box(LEFT_MARGIN_MM, COUPON_TOP_MM - FOOTER_HEIGHT_MM - 2.0, TEXT_WIDTH_MM, FOOTER_HEIGHT_MM)
    body = Box(LEFT_MARGIN_MM, subject_y, TEXT_WIDTH_MM, footer.y_mm - 2.0 - subject_y)
    return LetterGeometry(
        form=form,
        address_field=field,
        vermerk_zone=vermerk,
        anschrift_zone=anschrift,
        info_block=info,
        subject_y_mm=subject_y,
        body=body,
        footer=footer,
        fold_marks_y_mm=FORM_FOLD_MARKS_MM[form],
        hole_mark_y_mm=HOLE_MARK_MM,
    )


# ------------------------------------------------------------------------------- envelope windows
ADDRESS_WINDOW_CLEARANCE_MM = 3.0  # Deutsche Post: address >= 3 mm from every window edge


@dataclass(frozen=True)
class Envelope:
    name: str
    width_mm: float
    height_mm: float
    window: Box  # in envelope coordinates, from its top-left corner
    insert_width_mm: float = 210.0  # A4 Z-folded to 210 x 105
    insert_height_mm: float = 105.0

    @property
    def play_x_mm(self) -> float:
        return self.width_mm - self.insert_width_mm

    @property
    def play_y_mm(self) -> float:
        return self.height_mm - self.insert_height_mm

    def window_on_sheet(self, dx_mm: float, dy_mm: float) -> Box:
        """The window in sheet coordinates when the folded sheet sits at (dx, dy) inside the envelope."""
        return self.window.shifted(-dx_mm, -dy_mm)

    def slide_positions(self) -> list[tuple[float, float]]:
        return [(dx, dy) for dx in (0.0, self.play_x_mm) for dy in (0.0, self.play_y_mm)]

    def visible_region(self) -> Box:
        """Union over all slide positions: anything here may show through the window."""
        return Box(
            self.window.x_mm - self.play_x_mm,
            self.window.y_mm - self.play_y_mm,
            self.window.width_mm + self.play_x_mm,
            self.window.height_mm + self.play_y_mm,
        )

    def always_readable_region(self) -> Box:
        """Intersection over all slide positions, minus the 3 mm clearance: where the address must lie."""
        c = ADDRESS_WINDOW_CLEARANCE_MM
        return Box(
            self.window.x_mm + c,
            self.window.y_mm + c,
            self.window.width_mm - self.play_x_mm - 2 * c,
            self.window.height_mm - self.play_y_mm - 2 * c,
        )


def _window(env_w: float, env_h: float) -> Box:
    # DIN 680: 90 x 45 window, 20 mm from the left and 15 mm from the bottom edge.
    return Box(20.0, env_h - 15.0 - 45.0, 90.0, 45.0)


ENVELOPES = {
    "DL": Envelope("DL", 220.0, 110.0, _window(220.0, 110.0)),
    "C6/5": Envelope("C6/5", 229.0, 114.0, _window(229.0, 114.0)),
}

# ------------------------------------------------------------------------------------- the coupon
COUPON_TOP_MM = 198.0  # perforation: the bottom third of A4
COUPON_WIDTH_MM = 210.0
COUPON_HEIGHT_MM = 99.0
FOOTER_HEIGHT_MM = 7.0

# Registration marks: solid squares on the coupon itself, so it reads after tear-off. Four marks, any three
# suffice; kept out of the coding zone (bottom 15 mm) and 5 mm in from the torn edges.
REG_MARK_SIZE_MM = 5.0
REG_MARK_INSET_MM = 6.0
REG_MARKS_MM: tuple[tuple[float, float], ...] = (  # top-left corners of the marks, coupon coordinates
    (REG_MARK_INSET_MM, REG_MARK_INSET_MM),
    (COUPON_WIDTH_MM - REG_MARK_INSET_MM - REG_MARK_SIZE_MM, REG_MARK_INSET_MM),
    (REG_MARK_INSET_MM, 77.0),
    (COUPON_WIDTH_MM - REG_MARK_INSET_MM - REG_MARK_SIZE_MM, 77.0),
)

# Postal zones on the coupon as a reply card (docs/domain-standards.md §Deutsche Post zones).
FRANKING_ZONE = Box(COUPON_WIDTH_MM - 74.0, 0.0, 74.0, 40.0)
CODING_ZONE = Box(COUPON_WIDTH_MM - 150.0, COUPON_HEIGHT_MM - 15.0, 150.0, 15.0)

COUPON_HEADING_Y_MM = 9.0
CHECKBOX_SIZE_MM = 6.0  # >= 5 mm so a pen tick lands inside
CHECKBOX_X_MM = 22.0
CHECKBOX_FIRST_Y_MM = 22.0
CHECKBOX_PITCH_MM = 10.0
CHECKBOX_SLOTS = 5  # the coupon holds at most five options
CHECKBOX_LINE_MM = 0.35  # printed border width
CHECKBOX_LABEL_X_MM = CHECKBOX_X_MM + CHECKBOX_SIZE_MM + 3.0
RECIPIENT_NAME_Y_MM = 76.0  # pre-printed name line (nothing to fill in)

# Grid boxes (issue 14): an option row may hold a row of up to GRID_COLUMNS boxes instead of its one box in
# the left column: a number of persons (1-4) or a date choice. They sit right of a shortened label, in the
# row's height, and end well before the QR's keep-clear frame (x 144.8): the last box's label ends at
# about 136 mm. Slots: 0..CHECKBOX_SLOTS-1 are the left column; grid box (row r, column i) is slot
# CHECKBOX_SLOTS + r * GRID_COLUMNS + i, so the scanner reads every box by one number.
GRID_COLUMNS = 4
GRID_X_MM = 72.0  # first grid box: the option's label has 31..70 mm
GRID_PITCH_MM = 16.0  # a box (6 mm) and its label (a digit, or a short date such as "12.09.": up to 8 mm)
GRID_LABEL_GAP_MM = 1.5  # between a grid box and its label
BOX_SLOTS = CHECKBOX_SLOTS + CHECKBOX_SLOTS * GRID_COLUMNS  # every box slot the coupon can hold

# QR code: module 0.8 mm so a standard fax (98 dpi vertical) still gives about 3 px per module; quiet zone
# 4 modules kept white and framed with a "do not write here" line; never in the window, franking or coding
# zone. The symbol's top-left corner is fixed; its size follows the QR version.
QR_MODULE_MM = 0.8
QR_QUIET_MODULES = 4
QR_X_MM = 150.0
QR_Y_MM = 46.0
QR_KEEP_CLEAR_MARGIN_MM = 2.0  # extra white beyond the quiet zone, inside the keep-clear frame
CODE_TEXT_PT = 12.0  # human-readable code, monospace, large enough to type from
CODE_BASELINE_BELOW_FRAME_MM = 4.6  # the code's baseline below the keep-clear frame (its left edge: the frame's)
# DejaVu Sans Mono (layouts/fonts): every glyph advances 0.602 em; capitals and digits are 0.729 em high.
# The scanner reads the printed code back from exactly this box when no QR code is read (scanning/ocr.py).
CODE_ADVANCE_EM = 0.602
CODE_CAP_HEIGHT_EM = 0.729
CODE_PRINTED_CHARS = 14  # 12 symbols in groups of four: 7K3M-9QXP-2W4H


# Write-in line for a telephone number (issue 10): printed when the campaign offers a call option, in the
# fifth option row (such a coupon holds at most PHONE_MAX_OPTIONS options) and well left of the QR's
# keep-clear frame. The scanner crops PHONE_WRITE_BOX (the line and the writing on it; digits are written
# 4-8 mm tall) and the call list shows that picture. Renderer and scanner read these same numbers.
PHONE_LABEL = "Telefon für Rückruf:"
PHONE_LABEL_PT = 8.0
PHONE_LINE_Y_MM = 69.0  # the line people write on, coupon coordinates
PHONE_LINE_X_MM = 54.0  # the line starts right of its label (28 mm at 8 pt)
PHONE_LINE_RIGHT_MM = 128.0  # 16 mm before the keep-clear frame (x 144.8 for every QR version we print)
PHONE_LINE_MM = 0.25  # printed line width
PHONE_WRITE_BOX = Box(PHONE_LINE_X_MM - 2.0, 59.5, PHONE_LINE_RIGHT_MM - PHONE_LINE_X_MM + 4.0, 10.5)  # to 1 mm below
PHONE_MAX_OPTIONS = CHECKBOX_SLOTS - 1
PHONE_SNIPPET_PX_PER_MM = 5.0  # ~130 dpi: handwritten digits 20-40 px tall, a 4-10 KB PNG


def qr_modules(version: int) -> int:
    return 17 + 4 * version


def qr_box(version: int) -> Box:
    """The printed QR symbol (without quiet zone) in coupon coordinates."""
    size = qr_modules(version) * QR_MODULE_MM
    return Box(QR_X_MM, QR_Y_MM, size, size)


def qr_keep_clear_box(version: int) -> Box:
    """Quiet zone plus margin: the framed area people are asked not to write in."""
    q = QR_QUIET_MODULES * QR_MODULE_MM + QR_KEEP_CLEAR_MARGIN_MM
    b = qr_box(version)
    return Box(b.x_mm - q, b.y_mm - q, b.width_mm + 2 * q, b.height_mm + 2 * q)


def code_text_box(version: int) -> Box:
    """The printed human-readable code (capital height, all 14 characters) in coupon coordinates."""
    kc = qr_keep_clear_box(version)
    pt_mm = MM_PER_INCH / 72.0
    height = CODE_CAP_HEIGHT_EM * CODE_TEXT_PT * pt_mm
    width = CODE_PRINTED_CHARS * CODE_ADVANCE_EM * CODE_TEXT_PT * pt_mm
    baseline = kc.bottom_mm + CODE_BASELINE_BELOW_FRAME_MM
    return Box(kc.x_mm, baseline - height, width, height)


def checkbox_box(slot: int) -> Box:
    """Tick box `slot` (0-based) in coupon coordinates: the left column, then the grid boxes (GRID_*)."""
    if not 0 <= slot < BOX_SLOTS:
        raise ValueError(f"checkbox slot {slot} outside 0..{BOX_SLOTS - 1}")
    if slot >= CHECKBOX_SLOTS:
        row, column = divmod(slot - CHECKBOX_SLOTS, GRID_COLUMNS)
        return Box(GRID_X_MM + column * GRID_PITCH_MM, CHECKBOX_FIRST_Y_MM + row * CHECKBOX_PITCH_MM,
                   CHECKBOX_SIZE_MM, CHECKBOX_SIZE_MM)
    return Box(CHECKBOX_X_MM, CHECKBOX_FIRST_Y_MM + slot * CHECKBOX_PITCH_MM, CHECKBOX_SIZE_MM, CHECKBOX_SIZE_MM)


def grid_slot(row: int, column: int) -> int:
    """The slot of grid box `column` (0-based) in option row `row`."""
    if not (0 <= row < CHECKBOX_SLOTS and 0 <= column < GRID_COLUMNS):
        raise ValueError(f"grid box ({row}, {column}) outside the coupon's {CHECKBOX_SLOTS} x {GRID_COLUMNS}")
    return CHECKBOX_SLOTS + row * GRID_COLUMNS + column


def coupon_box(page: int = 1) -> Box:
    return Box(0.0, COUPON_TOP_MM, COUPON_WIDTH_MM, COUPON_HEIGHT_MM, page)


def on_page(coupon_local: Box, page: int = 1) -> Box:
    """Coupon coordinates → page coordinates."""
    return Box(coupon_local.x_mm, coupon_local.y_mm + COUPON_TOP_MM, coupon_local.width_mm, coupon_local.height_mm, page)


# ------------------------------------------------------------------------------ tick-box thresholds
# How scanning/ticks.py reads a box (see its docstring). Set on the first pen (scanning/simulate.py: the
# round-trip corpus, 200 coupons seed 2024, and bench/ticks.py's pen1 corpus, 96 coupons seed 10, 2026-11-30)
# and only then measured on the second, held-apart pen (scanning/pens.py); figures in bench/ticks.py's output.
# Score = share of the box interior within TICK_STROKE_REACH_MM of a stroke (0..1).
TICK_INTERIOR_INSET_MM = 0.5  # border 0.35 mm centred on the box edge, plus 0.3 mm for what the border search
# leaves (it finds the border to 0.1 mm; the 0.9 mm of the old cut-away interior missed small corner ticks)
TICK_EMPTY_MAX = 0.06  # below: empty. Empty boxes on the tuning corpora score at most 0.038 (JPEG q30 at
# 150 dpi; every other class 0.00-0.03): 1.5 times that
TICK_TICKED_MIN = 0.12  # above: ticked. First-pen ticks score 0.30 and more; the line sits at three times the
# highest empty box, low enough for a single thin slash (which the first pen never draws)
TICK_ALIGN_SEARCH_MM = 1.5  # crumpled paper and a QR-only registration are off by up to ~1 mm at the boxes
TICK_INK_LEVEL = 0.5  # ink: darker than the paper by at most this share of the paper-to-border contrast ...
TICK_INK_LEVEL_MIN = 0.2  # ... and at least this: a light blue ballpoint (grey ~180 on paper 250, a third of
# the way to the border's darkness) is ink on a clean scan
TICK_NOISE_STRIP_MM = (0.8, 3.0)  # blank paper left of each box, where the coupon's noise is measured
TICK_NOISE_FACTOR = 1.5  # ... and above 1.5 x the 99th-percentile darkness of the quietest such strip
# (per-coupon calibration): that percentile reaches 26 grey levels on recycled paper, 20 on a photocopy, 0
# on clean, bitonal and fax scans (88 where a coffee ring crosses a strip: hence the quietest strip)
TICK_MIN_CONTRAST = 60.0  # grey levels: a faint border on a dark fax must not turn paper texture into ink
TICK_BORDER_MIN_DARK = 40.0  # grey levels below the paper along three of four sides, else the box is not
# where it was looked for (label text, blank paper): doubtful. The second-weakest side reads 150-255 on
# every tuning scan; a box mapped onto blank paper 0-3, onto label text at most one side
TICK_SPECK_MM2 = 0.12  # smaller ink components are toner dust, salt and pepper, fibre dots (a 0.2 mm pen
# stroke 0.6 mm long is larger)
TICK_LINE_MM = 9.0  # ink running exactly level or upright this far (longer than the 6 mm box) is a fold,
# a crease or a scanner streak (round-trip corpus: a fold through an empty box scored 0.18 without this)
TICK_STROKE_REACH_MM = 0.3  # score counts the interior within this of a stroke: a 0.2 mm slash counts about
# like a 0.8 mm one, by its length
TICK_CROSSING_SCORE_MIN = 0.04  # with ink through the border at one place or more, this interior score is a
# tick (a check running over the border, a cross larger than the box); no empty box of the tuning corpora
# shows a crossing
TICK_CROSSING_RUN_MAX_MM = 2.5  # a crossing stroke meets the border over at most ~2 mm (a 1 mm pen at 30°);
# a coffee ring's rim running along the border meets it over more (round trip and bench: rims crossing empties)
TICK_STAIN_MAX_DARK = 0.5  # a coffee ring's rim darkens the paper by 35-45 % of the border's contrast: ink
# running across the patch that is darker than this share, in and around the box, is a pen's stroke touching
# the rim and stays ink (so does an "X" over a rim in the strip left of a box); the rest is never a tick, only
# doubt
TICK_STAIN_STRIP_MM = (0.6, 2.4)  # the paper just outside each side of a box, whose level a stain under the box
# shows: a coffee blot's centre on a box read as a fill (bench/ticks.py, second pen, coffee: 0.23-0.50)
TICK_CIRCLE_RING_MM = (0.5, 2.7)  # ring around the box where a circle around it is looked for: outside the
# printed border, inside the 3 mm to the option's label
TICK_CIRCLE_MIN = 0.5  # circle: on every side at least half of its directions inked; a neighbour's stroke
# passing along one side scores 0 (the first pen's spill strokes reached 7 of 16 directions of the next box)
TICK_RIM_BEND_MM = 1.0  # a stain's rim across a box bends by at most this from a straight band (a ring of 9 mm
# radius over a 6 mm box: 0.5 mm); an empty box with only such a band across it is empty, not doubtful
TICK_PEN_MAX_MM = 1.3  # no pen's line is wider (1.0 mm, a little more blurred): only what is this thin can be a
# circle around the box (a coffee blot around an empty box read as one: bench/ticks.py, second pen, coffee)
TICK_CIRCLE_EMPTY_MAX = 0.25  # ink on every side but thinly: doubtful
TICK_BESIDE_SCORE_MIN = TICK_TICKED_MIN  # a marked box (a filled one above all: 0.9-1.0, but a light pen's fill
# faxed scores 0.64-0.74, which the 0.8 once asked for here read as a tick; no first-pen mark shows ink in the
# strip below, bench/ticks.py) ...
TICK_BESIDE_MM = (3.6, 7.5)  # ... with ink in this strip left of it (an "X" beside it: a correction; a cross
# larger than the box or a circle around it stays within 3.3 mm) ...
TICK_BLOT_MM = 2.0  # ink wider than this in that strip is a stain's blot, not an "X": a 1 mm pen's X, blurred
# by a phone photo to 1.3 mm strokes, is 1.8 mm wide where they cross (at 1.3 mm, the second pen's thick X's
# beside filled boxes were taken for blots and the corrections read as ticks: bench/ticks.py, phone, coffee)
TICK_BESIDE_MIN = 0.02  # ... covering at least this share: doubtful, a person decides what the correction means
# (a stain's blot there is no "X": ink wider than TICK_BLOT_MM is left out; before that rule, counting any
# marked box with ink beside it sent a cross next to a coffee stain to review, round-trip corpus, seed 11)
TICK_BITONAL_SHARE = 0.995  # a scan with this share of its pixels on two levels is bitonal: there a light
# ballpoint (grey ~180) can fall wholly above the threshold and leave no trace (second pen: 7 of 180
# bitonal/fax boxes, bench/ticks.py), so an empty-looking box there is not confidently empty
TICK_BITONAL_PEN_MIN_MM = 0.6  # on a bitonal scan a coupon's boxes are believed only where the same coupon shows
# its pen survives the threshold: a confidently ticked box whose strokes inside are at least this wide on
# average (2 x area / perimeter of the ink: a solid stroke; the first pen's measure 0.66 mm and more) ...
TICK_BITONAL_STROKE_MM = 3.0  # ... or unbroken: at least this much stroke on and around the box (half a side's
# length: a small corner check), in pieces of TICK_SPECK_MM2 or more, no two closer than TICK_BITONAL_GAP_MM. A
# pen darker than the threshold by a margin keeps its lines whole however thin (a 0.2 mm black ballpoint
# leaves a 1-2 pixel line); one near the threshold breaks into dashes where its darkness dips. Where no tick
# vouches so, every box of the bitonal coupon is doubtful: an empty-looking one may hold a mark that vanished,
# a ticked one may be a correction whose "X" beside it vanished (second pen, fax: light fills read as ticks).
TICK_BITONAL_GAP_MM = 0.9  # gaps up to this are a stroke broken by the threshold (wider: two strokes)
TICK_BITONAL_BORDER_MM = 0.4  # the printed border ± this is left out there: a bitonal scan thickens its
# 0.35 mm by a pixel or two each side, and what is left of it would count as crumbs; the band (1.15 mm) is wider
# than the gap, so a stroke crossing the border is not a broken one
TICK_SPECK_NOISE_FACTOR = 2.0  # on a bitonal scan an empty-looking box holding dots is doubtful (what a light
# stroke leaves after the threshold) when its interior's dotted share exceeds this times the coupon's paper
# (the median over the strips beside its boxes): a photocopy's toner dust is on the paper beside the boxes too
TICK_SPECK_MIN_SHARE = 0.004  # ... and at least this share of the interior (10 pixels of 0.1 mm): the round-trip
# corpus's empty boxes on 150 dpi photocopies saved as bitonal TIFF hold up to 0.0024 (a few pixels of the
# border's frayed edge); before this floor they went to review (seed 2024: 4 boxes)

# Registration a coupon's ticks may be believed on (scanning/register.py): at least REG_MIN_MARKS of the four
# marks found and agreeing, and the QR corners and marks within REG_MAX_RESIDUAL_MM (RMS) of the fitted
# mapping. Otherwise the box positions are extrapolated (a phone photo's far marks missed put boxes ~10 mm
# off, on label text or blank paper) and every box is doubtful, whatever its score (issue 10).
REG_MIN_MARKS = 3
REG_MAX_RESIDUAL_MM = 1.0
REG_PERSPECTIVE_GAIN = 0.7  # with three or four marks a homography replaces the affine map only when its RMS
# error is below this share of the affine one (unchanged from before issue 10; 0.95 gave the same readings on
# 60 phone photos)

# ------------------------------------------------------------------------- inserter control marks
# The zone for the inserting machine's marks (layouts.inserter), on the front of every sheet: at the right
# edge, on the middle panel of the Z-fold for both forms (Form A folds at 87/192, Form B at 105/210), so no
# mark sits on a fold; right of the body text (which ends at x 190), below the information block and the
# envelope window (which may show x 1-110, y 27-99 on the sheet for any form and envelope), above the coupon
# (198). 4 mm from the paper edge: outside the unprintable margin of sheet-fed laser and inkjet printers.
INSERTER_ZONE = Box(194.0, 112.0, 12.0, 74.0)
# OMR, the default lettershop profile: bars 8 mm long and 0.5 mm thick at a pitch of 1/6 inch (4.23 mm), the
# reading-head spacing most inserters default to; the first bar's centre line 4 mm below the zone's top.
OMR_X_MM = 196.0
OMR_FIRST_Y_MM = 116.0
OMR_PITCH_MM = 4.23
OMR_LENGTH_MM = 8.0
OMR_THICKNESS_MM = 0.5
OMR_DARK_MIN = 0.5  # share of a bar's area that must be dark when read back for the bar to count as printed
OMR_LIGHT_MAX = 0.15  # below: no bar; between the two: the mark is unreadable (smudge, toner dropout)
# DataMatrix (ECC 200): 0.5 mm modules, about 6 px at the 300 dpi an inserter camera or preflight reads at;
# a 14 x 14 symbol (7 mm) holds the 14 digits of wave, batch, piece and sheet i of n; 1 mm quiet zone.
DATAMATRIX_MODULE_MM = 0.5
DATAMATRIX_X_MM = 197.0
DATAMATRIX_Y_MM = 116.0
DATAMATRIX_QUIET_MM = 1.0

# --------------------------------------------------------------------------------- DIN A6 postcard
# A follow-up letter may be a postcard (`[letters.KEY] format = "postkarte"`, layouts/postcard.py): DIN A6
# landscape, 148 x 105 mm (Deutsche Post: postcards 140-235 x 90-125 mm, length >= 1.4 x width; 148 >= 147).
# Page 1 is the message side, page 2 the address side. Sources and reasons: docs/postcards.md.
POSTCARD_WIDTH_MM = 148.0
POSTCARD_HEIGHT_MM = 105.0
POSTCARD_MARGIN_MM = 8.0  # message side: text 8 mm from every edge, outside a sheet-fed printer's margin
# Deutsche Post's reading zone for the address (Lesezone): >= 40 mm from the top, >= 15 mm from left, right
# and bottom. The bottom 15 mm across the whole card are the coding zone (150 x 15 mm at the lower right:
# wider than the card), the top right 74 x 40 mm the franking zone.
POSTCARD_READING_TOP_MM = 40.0
POSTCARD_READING_EDGE_MM = 15.0
POSTCARD_FRANKING_ZONE = Box(POSTCARD_WIDTH_MM - 74.0, 0.0, 74.0, 40.0, 2)
POSTCARD_CODING_ZONE = Box(POSTCARD_WIDTH_MM - 150.0, POSTCARD_HEIGHT_MM - 15.0, 150.0, 15.0, 2)
# A card without a window needs a separating line (>= 50 mm long, 1.2 mm wide, ideally 74 mm from the right
# edge) or 20 mm unprinted all round the address. We print the line: its right edge 74.1 mm from the right edge,
# from 30 mm (below the sender block, left of the franking zone) to 88 mm (above the coding zone): 58 mm.
POSTCARD_SEPARATOR_WIDTH_MM = 1.2
POSTCARD_SEPARATOR_X_MM = POSTCARD_WIDTH_MM - 74.1 - POSTCARD_SEPARATOR_WIDTH_MM / 2  # 0.1 mm clear of the franking zone
POSTCARD_SEPARATOR_Y_MM = (30.0, 88.0)
# The address zone (Aufschrift: the sender line on top, then up to 6 address lines) in the right half: right
# of the line with 4 mm white, inside the reading zone, below the franking zone. 55 x 50 mm.
POSTCARD_ADDRESS_ZONE = Box(78.0, POSTCARD_READING_TOP_MM, POSTCARD_WIDTH_MM - POSTCARD_READING_EDGE_MM - 78.0,
                            POSTCARD_HEIGHT_MM - POSTCARD_READING_EDGE_MM - POSTCARD_READING_TOP_MM, 2)
POSTCARD_RETURN_BASELINE_MM = 45.0  # the sender line's (last) baseline: 6-6.5 pt, underlined, one or two lines
# at the top of the address zone (a second line above it still starts below 40 mm)
POSTCARD_ADDRESS_TOP_MM = 47.0  # top of the first address line's capitals area
# The franking area: a thin frame inside the franking zone, 5 mm from the top and right edges, where the
# lettershop prints the franking mark (Dialogpost: Deutsche Post's Frankierwelle) or a franking machine imprint.
POSTCARD_FRANKING_BOX = Box(POSTCARD_WIDTH_MM - 5.0 - 40.0, 5.0, 40.0, 25.0, 2)
