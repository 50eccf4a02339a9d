"""Composition: campaign + one piece's data → page model of a DIN 5008 letter with its response coupon.

`LetterLayout` is built once per wave (campaign, letter text, date). It splits the page into
- the wave's static page (letterhead, return line, information block labels, marks, objection notice,
  footer, the coupon's frame, options, tick boxes, registration marks, keep-clear frame, duplex back),
- static blocks per variant (subject, fixed paragraphs, closing) that move down when a text above them
  is longer for one piece (a greeting or a paragraph with merge fields),
- per-piece elements (address block, customer number, greeting, paragraphs with merge fields, the name on
  the coupon, the code and its QR symbol).
The renderer draws the first two once per PDF as Form XObjects; `page_model()` gives every element of a
piece with absolute positions, for tests and `mailing layout --json`.

Rules where text does not fit:
- address block: the whole block shrinks (same size for every line, DIN 5008) from 10 pt down to 8 pt
  until its widest line fits the window's always-readable width; a line still too wide at 8 pt is cut
  at the last word that fits and ends with "…" (counted in the batch result and logged);
- body text: wrapped to the text width; more lines than the page holds is a LayoutError naming the
  variant (or follow-up letter), never a silent overflow;
- short single lines (info block values, coupon heading, option labels, the name on the coupon) shrink
  down to a stated minimum size; an option label that does not fit even then is a LayoutError.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from layouts import assets, fonts
from layouts import geometry as g
from layouts.inserter import layout_json as inserter_layout_json
from layouts.model import Element, Image, Line, PageModel, QRSymbol, Rect, Text, on_page, shifted
from layouts.qr import qr_matrix, qr_version
from mailing.addressing import fit_lines
from mailing.codes import CODE_LENGTH, format_code, qr_payload
from mailing.config import WORD_FORM_INDEX, WORD_FORMS, Campaign, Option
from mailing.errors import MailingError

log = logging.getLogger(__name__)

REG, BOLD, MONO = fonts.REGULAR, fonts.BOLD, fonts.MONO
MM_PER_PT = fonts.MM_PER_PT

ADDRESS_LINE_PITCH_MM = 4.0  # 6 lines of 10 pt fit the always-readable part of the DL window (Form B)
ADDRESS_MIN_PT = 8.0  # DIN 5008 minimum in the Anschriftzone
RETURN_LINE_MIN_PT = 6.0
BODY_PT = g.BODY_FONT_PT
SUBJECT_PT = g.BODY_FONT_PT
NOTICE_PT = 6.5
NOTICE_PITCH_MM = 2.8
NOTICE_PAD_MM = 1.2
FOOTER_PT = 6.5
FOOTER_PITCH_MM = 2.7
INFO_LABEL_PT = 7.0
INFO_VALUE_PT = 8.5
INFO_VALUE_X_MM = 148.0
INFO_RIGHT_MM = 200.0
COUPON_HEADING_PT = 11.0
COUPON_NOTE_PT = 7.0
OPTION_PT = 10.0
OPTION_MIN_PT = 8.0
GRID_LABEL_MIN_PT = 6.5  # a grid box's label (a digit, a short date): small, but read beside its box
NAME_PT = 10.0
REPLY_PT = 8.0
BLACK_LINE_MM = 0.3
SIGNATURE_GAP_LINES = 2  # blank lines left for the handwritten signature
SIGNATURE_IMAGE_HEIGHT_MM = 9.0  # a scanned signature in the two blank lines (8.46 mm) and a little of the next
SIGNATURE_IMAGE_MAX_WIDTH_MM = 60.0
LOGO_TOP_MM = 8.0  # the logo sits top right of the letterhead, above the rule at 23.5 mm
LOGO_MAX_HEIGHT_MM = 14.0
LOGO_MAX_WIDTH_MM = 60.0
LETTERHEAD_RULE_MM = 23.5
# Follow-on pages (DIN 5008 "Folgeseiten"): a page header with sender, recipient, date and page number,
# the text below it; no letterhead, window, notice or coupon.
FOLLOW_HEADER_MM = 12.0  # top of the header's first line
FOLLOW_BODY_TOP_MM = 27.0  # two blank lines below the header
FOLLOW_BODY_BOTTOM_MM = 272.0  # 25 mm bottom margin
FOLLOW_HEADER_PT = 8.5
MAX_LETTER_PAGES = 4

ROLE_ADDRESS = "address"
ROLE_RETURN = "return_line"
WINDOW_ROLES = frozenset({ROLE_ADDRESS, ROLE_RETURN})  # the only roles allowed in the envelope window


class LayoutError(MailingError):
    """Text that does not fit the page; the message names the variant or letter and what to shorten."""


@dataclass(frozen=True)
class PieceData:
    """What varies per letter (plain data, no database): everything the renderer needs for one piece."""

    code: str  # normalised, no hyphens
    variant: str
    address_lines: tuple[str, ...]
    greeting: str
    display_name: str
    customer_id: str = ""
    merge: Mapping[str, str] = field(default_factory=dict)  # vorname, nachname, titel, firma, strasse, plz, ort
    salutation: str = "none"  # female | male | none | company: picks the form of {Kunde} and its kin


@dataclass(frozen=True)
class Block:
    """A stretch of the body: static (drawn once as a form, `elements` relative to its top) or dynamic."""

    key: str
    height_mm: float = 0.0
    elements: tuple[Element, ...] = ()
    template: str | None = None  # dynamic: text with merge fields
    font: str = REG
    size_pt: float = BODY_PT
    role: str = "body"


def window_regions(form: str, envelope: str) -> tuple[g.Box, g.Box]:
    """(visible, always readable) parts of the envelope window in sheet coordinates for this form.

    geometry.ENVELOPES gives them for the folded packet (= a Form B sheet); a Form A sheet's top panel is
    18 mm shorter (87 mm), so on the sheet the window sits 18 mm higher.
    """
    env = g.ENVELOPES[envelope]
    dy = g.FORM_ADDRESS_TOP_MM[form] - g.FORM_ADDRESS_TOP_MM["B"]
    return env.visible_region().shifted(0, dy), env.always_readable_region().shifted(0, dy)


def _baseline(top_mm: float, size_pt: float, font: str = REG) -> float:
    return top_mm + fonts.ascent_descent(font)[0] * size_pt * MM_PER_PT


def fit_size(text: str, font: str, size_pt: float, min_pt: float, width_mm: float) -> float:
    """The largest size from size_pt down to min_pt (0.5 pt steps) at which text fits; min_pt if none."""
    size = size_pt
    while size > min_pt and fonts.width_mm(text, font, size) > width_mm:
        size -= 0.5
    return max(size, min_pt)


def wrap_rich(text: str, wrapper: Wrapper, bold_wrap: Wrapper, space: float, width_mm: float) -> list[list[Run]]:
    """A paragraph with `**bold**` stretches wrapped to `width_mm` (bold words measured with `bold_wrap`,
    words joined by `space` mm unless a run is glued to the one before)."""
    lines: list[list[Run]] = []
    cur: list[Run] = []
    width = 0.0
    for run in rich_words(text):
        w = (bold_wrap if run[1] else wrapper).word(run[0])
        gap = 0.0 if (run[2] or not cur) else space
        if cur and not run[2] and width + gap + w > width_mm:
            lines.append(cur)
            cur, width = [run], w
        else:
            cur.append(run)
            width += gap + w
    if cur:
        lines.append(cur)
    return lines


def fit_address(lines: tuple[str, ...], width: float, where: str, who: str = "") -> tuple[tuple[str, ...], float, int]:
    """An address block fitted to `width` mm: a too-wide line wraps onto a free line of the 6 first (the rule
    in mailing.addressing.fit_lines); then the whole block shrinks towards 8 pt; a line still too wide is cut
    as the last resort, with a warning naming the piece (`who`) and `where` it did not fit. Returns (lines,
    font size, lines cut); a size below ADDRESS_FONT_PT means the block was shrunk."""
    lines = tuple(" ".join(line.split()) for line in lines if line and line.strip())[: g.ADDRESS_MAX_LINES]
    size = g.ADDRESS_FONT_PT
    lines = tuple(fit_lines(lines, lambda t: fonts.width_mm(t, REG, size) > width, g.ADDRESS_MAX_LINES))
    widest = max((fonts.width_mm(line, REG, size) for line in lines), default=0.0)
    if widest <= width:
        return lines, size, 0
    size = int(max(ADDRESS_MIN_PT, size * width / widest) * 4) / 4.0
    fixed, cut = [], 0
    for line in lines:
        if fonts.width_mm(line, REG, size) > width:
            cut += 1
            log.warning("%s: an address line is too wide for %s even at %g pt and was shortened; check the "
                        "address or set an address override", who or "address block", where, size)
            line = truncate(line, REG, size, width)
        fixed.append(line)
    return tuple(fixed), size, cut


def truncate(text: str, font: str, size_pt: float, width_mm: float) -> str:
    """Cut at the last whole word that fits (else at a character) and end with an ellipsis."""
    words = text.split(" ")
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words) + " …"
        if fonts.width_mm(candidate, font, size_pt) <= width_mm:
            return candidate
    chars = text
    while chars and fonts.width_mm(chars + "…", font, size_pt) > width_mm:
        chars = chars[:-1]
    return chars + "…"


class Wrapper:
    """Greedy word wrap with cached word widths (the renderer wraps merge paragraphs per letter)."""

    def __init__(self, font: str, size_pt: float, width_mm: float) -> None:
        self.font, self.size_pt, self.width_mm = font, size_pt, width_mm
        self.space = fonts.width_mm(" ", font, size_pt)
        self._cache: dict[str, float] = {}

    def word(self, w: str) -> float:
        v = self._cache.get(w)
        if v is None:
            v = self._cache[w] = fonts.width_mm(w, self.font, self.size_pt)
        return v

    def wrap(self, text: str) -> list[str]:
        lines: list[str] = []
        cur: list[str] = []
        width = 0.0
        for w in text.split():
            ww = self.word(w)
            if cur and width + self.space + ww > self.width_mm:
                lines.append(" ".join(cur))
                cur, width = [w], ww
            else:
                width += (self.space if cur else 0.0) + ww
                cur.append(w)
        if cur:
            lines.append(" ".join(cur))
        return lines


Run = tuple[str, bool, bool]  # (word, bold, follows the previous word without a space)


def rich_words(text: str) -> list[Run]:
    """Words of a paragraph with their emphasis: `**so**` sets a stretch in bold; the marks may touch a
    word (`**20 %**-Rabatt`: "-Rabatt" follows without a space). An odd number of `**` prints as typed."""
    if "**" not in text or text.count("**") % 2:
        return [(w, False, False) for w in text.split()]
    out: list[Run] = []
    before = " "  # the character in front of the current chunk
    for i, chunk in enumerate(text.split("**")):
        if not chunk:
            continue
        glue_first = bool(out) and not chunk[0].isspace() and not before.isspace()
        for j, w in enumerate(chunk.split()):
            out.append((w, i % 2 == 1, glue_first and j == 0))
        before = chunk[-1]
    return out


def _fields(text: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def _paragraphs(body: str) -> list[str]:
    paras = [" ".join(p.split()) for p in body.strip().split("\n\n")]
    return [p for p in paras if p]


def objection_notice(campaign: Campaign, offered: frozenset[str] | None = None) -> str:
    """The GDPR Art. 21 notice every letter carries."""
    s = campaign.sender
    ways = f"per Post an {s.name}, {s.street}, {s.postal_code} {s.city}"
    if s.email:
        ways += f", per E-Mail an {s.email}"
    if "optout" in campaign.option_keys and (offered is None or "optout" in offered):
        ways += " oder mit einem Kreuz bei „keine Werbung“ auf dem Antwortabschnitt"
    return (
        "Ihr Widerspruchsrecht: Sie können der Verwendung Ihrer Daten für Werbung jederzeit ohne Angabe von "
        f"Gründen widersprechen (Art. 21 Abs. 2 und 3 DSGVO), {ways}. Danach verwenden wir Ihre Daten nicht "
        "mehr für Werbung und speichern nur noch, dass Sie keine Werbung wünschen."
    )


def german_date(d: date) -> str:
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def merge_values(piece: PieceData, url: str = "") -> dict[str, str]:
    """The values of a letter text's merge fields for one piece (letter and postcard alike)."""
    values = {k: "" for k in ("vorname", "nachname", "titel", "firma", "strasse", "plz", "ort", "kundennummer")}
    values.update({k: str(v) for k, v in piece.merge.items() if v is not None})
    values["anrede"] = piece.greeting
    values["kundennummer"] = values.get("kundennummer") or piece.customer_id
    values["code"] = format_code(piece.code)
    values["antwort_url"] = qr_payload(piece.code, url) if url else ""
    form = WORD_FORM_INDEX.get(piece.salutation, WORD_FORM_INDEX["none"])
    values.update({k: forms[form] for k, forms in WORD_FORMS.items()})
    return values


class LetterLayout:
    """The layout of one wave's letters; build once, then compose or render many pieces."""

    postcard = False  # layouts.postcard.PostcardLayout: the DIN A6 card
    page_size_mm = (g.PAGE_WIDTH_MM, g.PAGE_HEIGHT_MM)

    def __init__(self, campaign: Campaign, letter: str | None = None, letter_date: date | None = None) -> None:
        fonts.register_fonts()
        self.campaign = campaign
        self.form = campaign.layout.form
        self.geo = g.letter_geometry(self.form)
        self.letter_key = letter
        self.date = letter_date or date.today()
        if letter is not None:
            if letter not in campaign.letters:
                raise LayoutError(f"letter {letter!r} is not defined in campaign {campaign.name!r}; "
                                  f"known: {', '.join(campaign.letters) or 'none'}")
            lt = campaign.letters[letter]
            self.has_coupon = lt.coupon
            self.texts = {v.key: (lt.subject, lt.body) for v in campaign.variants}
            rows = [o.key for o in campaign.coupon.options]  # option rows (a counted row has several boxes)
            self.offered = frozenset(lt.options if lt.options is not None else rows)
            self.ps = lt.ps or ""
            enclosure_key = f"enclosure:{letter}"
        else:
            self.has_coupon = True
            self.texts = {v.key: (v.subject or campaign.subject, v.body) for v in campaign.variants}
            self.offered = frozenset(o.key for o in campaign.coupon.options)
            self.ps = campaign.ps
            enclosure_key = "enclosure"
        self.reg, self.bold = fonts.FAMILIES[campaign.typeface]
        self.asset_data = dict(campaign.assets.data)
        self.enclosure = self.asset_data.get(enclosure_key)
        self.enclosure_pages = 0
        if self.enclosure is not None:
            try:
                self.enclosure_pages = assets.enclosure_page_count(self.enclosure)
            except assets.AssetError as exc:
                raise LayoutError(f"{self.what('')}: enclosure: {exc}") from None
        self.back_pages = 1 if (campaign.layout.duplex_back and self.has_coupon) else 0
        self.letter_pages = MAX_LETTER_PAGES  # fixed below, once the longest variant is known
        self.pages_per_piece = 1 + self.back_pages
        self.ecc = campaign.layout.qr_ecc
        self.url = campaign.coupon.response_url
        self.qr_version = qr_version(len(qr_payload("X" * CODE_LENGTH, self.url or None)), self.ecc)
        self.visible, self.readable = window_regions(self.form, campaign.layout.envelope)
        self.address_width_mm = self.readable.right_mm - (g.ADDRESS_FIELD_X_MM + g.ADDRESS_TEXT_INDENT_MM)
        self.address_x_mm = g.ADDRESS_FIELD_X_MM + g.ADDRESS_TEXT_INDENT_MM
        # DIN 5008 allows the Betreff a line or two lower so it cannot show through a slipped window
        # (Form A in a C6/5 envelope); it starts below every window position.
        self.subject_y_mm = max(self.geo.subject_y_mm, self.visible.bottom_mm + 0.5)
        self.body_wrap = Wrapper(self.reg, BODY_PT, g.TEXT_WIDTH_MM)
        self.bold_wrap = Wrapper(self.bold, BODY_PT, g.TEXT_WIDTH_MM)
        self.subject_wrap = Wrapper(self.bold, SUBJECT_PT, g.TEXT_WIDTH_MM)
        self.shrunk = 0
        self.truncated = 0
        self.static: list[Element] = []
        self.back: list[Element] = []
        self._compose_static()
        self.body_bottom_mm = self._notice_top - 2.0
        self.blocks = {v: self._compose_blocks(v) for v in self.texts}
        self.letter_pages = self._longest_letter()
        if self.letter_pages > 1 and self.back_pages:
            raise LayoutError(f"{self.what('')}: a letter of {self.letter_pages} pages cannot have the printed "
                              "coupon back (layout.duplex_back); shorten the text to one page or set "
                              "duplex_back = false")
        self.pages_per_piece = self.letter_pages + self.back_pages + self.enclosure_pages
        self.follow: dict[int, list[Element]] = {k: self._follow_header(k) for k in range(2, self.letter_pages + 1)}

    # ------------------------------------------------------------------------ what the name says
    def what(self, variant: str) -> str:
        if not variant and not self.letter_key:
            return f"campaign {self.campaign.name!r}"
        if self.letter_key:
            return f"letter {self.letter_key!r} (campaign {self.campaign.name!r})"
        return f"variant {variant!r} (campaign {self.campaign.name!r})"

    @property
    def qr_box(self) -> g.Box:
        return g.on_page(g.qr_box(self.qr_version))

    @property
    def keep_clear_box(self) -> g.Box:
        return g.on_page(g.qr_keep_clear_box(self.qr_version))

    @property
    def code_baseline_mm(self) -> float:
        return g.on_page(g.code_text_box(self.qr_version)).bottom_mm

    # --------------------------------------------------------------------------- static page
    def _text(self, x: float, top: float, text: str, font: str, size: float, role: str, page: int = 1) -> Text:
        return Text(x, _baseline(top, size, font), text, font, size, role, page)

    def _compose_static(self) -> None:
        c, s, geo, add = self.campaign, self.campaign.sender, self.geo, self.static.append
        # Letterhead, above every window position of Form A and B.
        head_w = g.TEXT_WIDTH_MM
        logo = self._picture("logo", min(c.assets.logo_height_mm, LOGO_MAX_HEIGHT_MM), LOGO_MAX_WIDTH_MM)
        if logo is not None:
            w, h = logo
            box = g.Box(g.PAGE_WIDTH_MM - g.RIGHT_MARGIN_MM - w, LOGO_TOP_MM, w, h)
            add(Image(box, "logo", "logo"))
            head_w = box.x_mm - 4.0 - g.LEFT_MARGIN_MM
        size = fit_size(s.name, self.bold, 15.0, 9.0, head_w)
        add(self._text(g.LEFT_MARGIN_MM, g.LETTERHEAD_TOP_MM, s.name, self.bold, size, "letterhead"))
        contact = " · ".join(x for x in (f"{s.street}, {s.postal_code} {s.city}", s.phone and f"Tel. {s.phone}",
                                         s.website) if x)
        size = fit_size(contact, self.reg, 8.0, 6.0, head_w)
        if fonts.width_mm(contact, self.reg, size) > head_w:
            contact = truncate(contact, self.reg, size, head_w)
        add(self._text(g.LEFT_MARGIN_MM, g.LETTERHEAD_TOP_MM + 7.0, contact, self.reg, size, "letterhead"))
        add(Line(g.LEFT_MARGIN_MM, LETTERHEAD_RULE_MM, g.PAGE_WIDTH_MM - g.RIGHT_MARGIN_MM, LETTERHEAD_RULE_MM,
                 0.25, "letterhead"))
        # Return line: bottom line of the Zusatz- und Vermerkzone.
        ret = s.return_address_line
        size = fit_size(ret, REG, g.RETURN_LINE_FONT_PT, RETURN_LINE_MIN_PT, self.address_width_mm)
        if fonts.width_mm(ret, REG, size) > self.address_width_mm:
            ret = truncate(ret, REG, size, self.address_width_mm)
        add(Text(self.address_x_mm, geo.vermerk_zone.bottom_mm - 1.2, ret, REG, size, ROLE_RETURN))
        add(Line(self.address_x_mm, geo.vermerk_zone.bottom_mm - 0.6,
                 self.address_x_mm + fonts.width_mm(ret, REG, size), geo.vermerk_zone.bottom_mm - 0.6, 0.15,
                 ROLE_RETURN))
        # Information block.
        self._info_rows: dict[str, float] = {}
        rows = [("Ansprechpartner", s.contact_name), ("Telefon", s.phone), ("E-Mail", s.email),
                ("Kundennummer", None), ("", ""), ("Datum", german_date(self.date))]
        top = geo.info_block.y_mm
        for label, value in rows:
            if value is None or value or not label:
                if label:
                    add(self._text(g.INFO_BLOCK_X_MM, top + 0.6, label, self.reg, INFO_LABEL_PT, "info"))
                if value:
                    add(self._info_value(value, top))
                if value is None:
                    self._info_rows["customer_id"] = top
                top += g.LINE_MM
        # Fold and hole marks at the left edge. Form B's lower fold mark (210 mm) falls on the coupon beside
        # a registration mark; it is left out so the scanner's mark finder sees only the marks it looks for.
        for y in geo.fold_marks_y_mm:
            if y < g.COUPON_TOP_MM:
                add(Line(g.FOLD_MARK_X_MM, y, g.FOLD_MARK_X_MM + g.FOLD_MARK_LENGTH_MM, y, 0.25, "mark"))
        add(Line(g.FOLD_MARK_X_MM, geo.hole_mark_y_mm, g.FOLD_MARK_X_MM + g.HOLE_MARK_LENGTH_MM,
                 geo.hole_mark_y_mm, 0.25, "mark"))
        # Footer (company details) and, framed above it, the objection notice.
        footer = list(s.footer) or [s.return_address_line]
        if len(footer) > 2:
            raise LayoutError(f"sender.footer has {len(footer)} lines; the footer holds 2")
        for i, text in enumerate(footer):
            size = fit_size(text, self.reg, FOOTER_PT, 5.5, g.TEXT_WIDTH_MM)
            add(Text(g.LEFT_MARGIN_MM, geo.footer.y_mm + 2.4 + i * FOOTER_PITCH_MM, text, self.reg, size, "footer"))
        notice_lines = Wrapper(self.reg, NOTICE_PT, g.TEXT_WIDTH_MM - 2 * NOTICE_PAD_MM - 1).wrap(
            objection_notice(c, self.offered))
        height = len(notice_lines) * NOTICE_PITCH_MM + 2 * NOTICE_PAD_MM
        self._notice_top = geo.footer.y_mm - 1.5 - height
        add(Rect(g.Box(g.LEFT_MARGIN_MM, self._notice_top, g.TEXT_WIDTH_MM, height), "notice", stroke_mm=0.25))
        for i, text in enumerate(notice_lines):
            add(Text(g.LEFT_MARGIN_MM + NOTICE_PAD_MM + 0.5,
                     self._notice_top + NOTICE_PAD_MM + 2.1 + i * NOTICE_PITCH_MM, text,
                     self.reg, NOTICE_PT, "notice"))
        if self.has_coupon:
            self._compose_coupon()
            if self.pages_per_piece == 2:
                self._compose_back()

    def _info_value(self, value: str, top: float) -> Text:
        width = INFO_RIGHT_MM - INFO_VALUE_X_MM
        size = fit_size(value, self.reg, INFO_VALUE_PT, 6.5, width)
        if fonts.width_mm(value, self.reg, size) > width:
            value = truncate(value, self.reg, size, width)
        return self._text(INFO_VALUE_X_MM, top, value, self.reg, size, "info")

    def _compose_coupon(self) -> None:
        c, add = self.campaign, self.static.append
        top = g.COUPON_TOP_MM
        # Perforation with a gap for the scissors.
        add(Line(0.0, top, 9.0, top, BLACK_LINE_MM, "perforation", dash_mm=(2.0, 1.5)))
        add(Line(16.0, top, g.PAGE_WIDTH_MM, top, BLACK_LINE_MM, "perforation", dash_mm=(2.0, 1.5)))
        add(Text(10.0, top + 1.3, "✂", REG, 10.0, "perforation"))
        kc = self.keep_clear_box
        heading_w = kc.x_mm - 6.0 - g.CHECKBOX_X_MM
        size = fit_size(c.coupon.heading, BOLD, COUPON_HEADING_PT, 9.0, heading_w)
        add(self._text(g.CHECKBOX_X_MM, top + g.COUPON_HEADING_Y_MM - 1.0, c.coupon.heading, BOLD, size,
                       "coupon_text"))
        note_size = fit_size(c.coupon.note, REG, COUPON_NOTE_PT, 6.0, heading_w)
        add(Text(g.CHECKBOX_X_MM, top + 17.5, c.coupon.note, REG, note_size, "coupon_text"))
        label_w = kc.x_mm - 3.0 - g.CHECKBOX_LABEL_X_MM
        for slot, option in enumerate(c.coupon.options):
            if option.key not in self.offered:
                continue  # this letter does not offer it; the slot stays empty so slot → key never changes
            box = g.on_page(g.checkbox_box(slot))
            if option.box_labels:
                self._compose_grid_row(slot, option)
            else:
                add(Rect(box, "checkbox", stroke_mm=g.CHECKBOX_LINE_MM))
            width = g.GRID_X_MM - 2.0 - g.CHECKBOX_LABEL_X_MM if option.box_labels else label_w
            size = fit_size(option.label, REG, OPTION_PT, OPTION_MIN_PT, width)
            if fonts.width_mm(option.label, REG, size) > width:
                raise LayoutError(f"coupon option {option.key!r}: label too long for the coupon even at "
                                  f"{OPTION_MIN_PT:g} pt ({width:.0f} mm available); shorten it")
            add(Text(g.CHECKBOX_LABEL_X_MM, box.y_mm + box.height_mm / 2 + 1.3, option.label, REG, size,
                     "option_label"))
        if offers_call(c):
            self._compose_phone_line()
        # Reply address, top right of the coupon.
        x = kc.x_mm - 4.0
        add(Text(x, top + 14.0, "Antwort an:", REG, 6.5, "reply_address"))
        width = g.COUPON_WIDTH_MM - g.REG_MARK_INSET_MM - g.REG_MARK_SIZE_MM - 2.0 - x
        for i, line in enumerate(c.coupon.reply_address[:5]):
            size = fit_size(line, REG, REPLY_PT, 6.0, width)
            add(Text(x, top + 17.6 + i * 3.4, line, REG, size, "reply_address"))
        # Registration marks on the coupon itself.
        for mx, my in g.REG_MARKS_MM:
            add(Rect(g.on_page(g.Box(mx, my, g.REG_MARK_SIZE_MM, g.REG_MARK_SIZE_MM)), "registration", fill=True))
        # Keep-clear frame around the QR quiet zone, with the request not to write there.
        add(Rect(kc, "keep_clear", stroke_mm=0.2, dash_mm=(1.0, 1.0)))
        add(Text(kc.x_mm, kc.y_mm - 0.9, "Bitte hier nicht beschreiben", REG, 5.5, "keep_clear_text"))
        label = "Ihr Antwortcode:"
        add(Text(kc.x_mm - 2.0 - fonts.width_mm(label, REG, 6.5), self.code_baseline_mm, label, REG, 6.5,
                 "code_label"))
        add(Text(g.CHECKBOX_X_MM, top + g.RECIPIENT_NAME_Y_MM - 1.5, "Absender:", REG, 6.5, "name_label"))

    def _compose_grid_row(self, row: int, option: Option) -> None:
        """A number of persons (boxes 1..count) or a date choice: a row of grid boxes, each with its label
        (layouts.geometry §GRID_*)."""
        add = self.static.append
        width = g.GRID_PITCH_MM - g.CHECKBOX_SIZE_MM - g.GRID_LABEL_GAP_MM - 0.5
        for i, text in enumerate(option.box_labels):
            box = g.on_page(g.checkbox_box(g.grid_slot(row, i)))
            add(Rect(box, "checkbox", stroke_mm=g.CHECKBOX_LINE_MM))
            size = fit_size(text, REG, OPTION_PT, GRID_LABEL_MIN_PT, width)
            if fonts.width_mm(text, REG, size) > width:
                raise LayoutError(f"coupon option {option.key!r}: choice {text!r} too long for its box even at "
                                  f"{GRID_LABEL_MIN_PT:g} pt ({width:.1f} mm available); shorten it (e.g. \"12.09.\")")
            add(Text(box.right_mm + g.GRID_LABEL_GAP_MM, box.y_mm + box.height_mm / 2 + 1.3, text, REG, size,
                     "option_label"))

    def _compose_phone_line(self) -> None:
        """The write-in line for the telephone number to call back (layouts.geometry §PHONE_*)."""
        c, add, top = self.campaign, self.static.append, g.COUPON_TOP_MM
        if len(c.coupon.options) > g.PHONE_MAX_OPTIONS:
            raise LayoutError(f"campaign {c.name!r}: a coupon with a call option holds at most "
                              f"{g.PHONE_MAX_OPTIONS} options (the fifth row is the telephone line); "
                              f"it has {len(c.coupon.options)}, remove one")
        width = g.PHONE_LINE_X_MM - 2.0 - g.CHECKBOX_X_MM
        size = fit_size(g.PHONE_LABEL, REG, g.PHONE_LABEL_PT, 6.0, width)
        add(Text(g.CHECKBOX_X_MM, top + g.PHONE_LINE_Y_MM - 0.6, g.PHONE_LABEL, REG, size, "phone_label"))
        y = top + g.PHONE_LINE_Y_MM
        add(Line(g.PHONE_LINE_X_MM, y, g.PHONE_LINE_RIGHT_MM, y, g.PHONE_LINE_MM, "phone_line"))

    def _compose_back(self) -> None:
        """Page 2: the back of the coupon as a reply card (address side) with the franking box."""
        c, add, top = self.campaign, self.back.append, g.COUPON_TOP_MM
        add(Line(0.0, top, g.PAGE_WIDTH_MM, top, BLACK_LINE_MM, "perforation", 2, (2.0, 1.5)))
        frank = g.Box(g.PAGE_WIDTH_MM - 15.0 - 22.0, top + 6.0, 22.0, 26.0, 2)
        add(Rect(frank, "franking_box", stroke_mm=0.6))
        for i, word in enumerate(("Entgelt", "zahlt", "Empfänger")):
            w = fonts.width_mm(word, REG, 6.5)
            add(Text(frank.x_mm + (frank.width_mm - w) / 2, frank.y_mm + 10.0 + i * 3.0, word, REG, 6.5,
                     "franking_box", 2))
        for i, line in enumerate(c.coupon.reply_address[:6]):
            font = BOLD if line.strip().lower() == "antwort" else REG
            add(self._text(25.0, top + 45.0 + i * 4.6, line, font, 11.0, "reply_address", 2))

    # ---------------------------------------------------------------------------- pictures
    def _picture(self, kind: str, height_mm: float, max_width_mm: float) -> tuple[float, float] | None:
        """(width, height) in mm of the campaign's picture `kind` at the given height (narrower if it would
        be wider than max_width_mm); None without one."""
        data = self.asset_data.get(kind)
        if data is None:
            return None
        try:
            w_pt, h_pt = assets.natural_size_pt(data)
        except assets.AssetError as exc:
            raise LayoutError(f"campaign {self.campaign.name!r}: {kind}: {exc}") from None
        w = height_mm * w_pt / h_pt
        if w > max_width_mm:
            w, height_mm = max_width_mm, max_width_mm * h_pt / w_pt
        return w, height_mm

    # ---------------------------------------------------------------------------- body text
    def rich_lines(self, text: str, wrapper: Wrapper) -> list[list[Run]]:
        """A paragraph with `**bold**` stretches, wrapped to the text width (bold words measured in bold)."""
        return wrap_rich(text, wrapper, self.bold_wrap, self.body_wrap.space, g.TEXT_WIDTH_MM)

    def line_texts(self, top: float, runs: list[Run], role: str, size: float = BODY_PT) -> list[Text]:
        """One wrapped line as Text runs: consecutive words of one weight share one Text. Widths come from
        the wrappers' word caches (this runs per piece for paragraphs with merge fields)."""
        out: list[Text] = []
        space = self.body_wrap.space
        x = start = g.LEFT_MARGIN_MM
        words: list[str] = []
        bold = runs[0][1]
        for w, b, glue in runs:
            if words and not glue:
                x += space
            if b != bold:
                out.append(self._text(start, top, "".join(words).rstrip(" "), self.bold if bold else self.reg,
                                      size, role))
                words, bold, start = [], b, x
            words.append(w if (glue or not words) else " " + w)
            x += (self.bold_wrap if b else self.body_wrap).word(w)
        out.append(self._text(start, top, "".join(words), self.bold if bold else self.reg, size, role))
        if x > g.LEFT_MARGIN_MM + g.TEXT_WIDTH_MM + 1e-6:
            raise LayoutError(f"{self.what('')}: the word {runs[-1][0]!r} does not fit the text width "
                              f"({g.TEXT_WIDTH_MM:g} mm); shorten it")
        return out

    def _compose_blocks(self, variant: str) -> list[Block]:
        subject, body = self.texts[variant]
        items: list[tuple[str, str, float]] = []  # (kind, text, gap lines before)
        items.append(("subject", subject, 0))
        items.append(("greeting", "{anrede}", 2))
        for para in _paragraphs(body):
            items.append(("para", para, 1))
        blocks: list[Block] = []
        pending: list[Element] = []
        cursor = 0.0  # relative to the start of the current static run
        n = 0

        def flush() -> None:
            nonlocal pending, cursor, n
            if cursor > 0 or pending:
                blocks.append(Block(f"{variant}-{n}", cursor, tuple(pending)))
                n += 1
            pending, cursor = [], 0.0

        def dynamic(kind: str, text: str) -> None:
            flush()
            role = "subject" if kind == "subject" else "greeting" if kind == "greeting" else "body"
            blocks.append(Block(f"{variant}-{kind}-{len(blocks)}", template=text,
                                font=self.bold if kind == "subject" else self.reg,
                                size_pt=SUBJECT_PT if kind == "subject" else BODY_PT, role=role))

        for kind, text, gap in items:
            cursor += gap * g.LINE_MM
            if kind == "greeting" or _fields(text):
                dynamic(kind, text)
                continue
            if kind == "subject":
                for line in self.subject_wrap.wrap(text):
                    self._check_line(line, self.bold, variant)
                    pending.append(self._text(g.LEFT_MARGIN_MM, cursor, line, self.bold, BODY_PT, "subject"))
                    cursor += g.LINE_MM
                continue
            for runs in self.rich_lines(text, self.body_wrap):
                pending.extend(self.line_texts(cursor, runs, "body"))
                cursor += g.LINE_MM
        # Closing, room for the signature (or the signature image), name and title.
        cursor += g.LINE_MM
        pending.append(self._text(g.LEFT_MARGIN_MM, cursor, self.campaign.closing, self.reg, BODY_PT, "closing"))
        cursor += g.LINE_MM
        sig = self._picture("signature_image", SIGNATURE_IMAGE_HEIGHT_MM, SIGNATURE_IMAGE_MAX_WIDTH_MM)
        if sig is not None:
            # in the blank lines left for a handwritten signature: from below the closing's descenders to
            # above the name's capitals
            pending.append(Image(g.Box(g.LEFT_MARGIN_MM, cursor + 0.4, sig[0], sig[1]), "signature_image",
                                 "signature_image"))
        cursor += SIGNATURE_GAP_LINES * g.LINE_MM
        for line, size in ((self.campaign.signature, BODY_PT), (self.campaign.signature_title, 8.5)):
            if line:
                pending.append(self._text(g.LEFT_MARGIN_MM, cursor, line, self.reg, size, "closing"))
                cursor += g.LINE_MM
        # P.S. below the signature, one blank line apart: the lines most readers read first.
        if self.ps.strip():
            ps = " ".join(self.ps.split())
            if not ps.upper().startswith(("P.S.", "PS", "P. S.")):
                ps = "P.S. " + ps
            cursor += g.LINE_MM
            if _fields(ps):
                dynamic("ps", ps)
            else:
                for runs in self.rich_lines(ps, self.body_wrap):
                    pending.extend(self.line_texts(cursor, runs, "ps"))
                    cursor += g.LINE_MM
        flush()
        return blocks

    def _follow_header(self, page: int) -> list[Element]:
        """The static part of a follow-on page's header: sender, date, "Seite k von n", a rule."""
        s, top = self.campaign.sender, FOLLOW_HEADER_MM
        right = g.PAGE_WIDTH_MM - g.RIGHT_MARGIN_MM
        label = f"Seite {page} von {self.letter_pages}"
        date_text = german_date(self.date)
        out: list[Element] = [
            Text(g.LEFT_MARGIN_MM, _baseline(top, FOLLOW_HEADER_PT, self.bold), s.name, self.bold, FOLLOW_HEADER_PT,
                 "followon_header", page),
            Text(right - fonts.width_mm(label, self.reg, FOLLOW_HEADER_PT), _baseline(top, FOLLOW_HEADER_PT, self.reg),
                 label, self.reg, FOLLOW_HEADER_PT, "followon_header", page),
            Text(right - fonts.width_mm(date_text, self.reg, FOLLOW_HEADER_PT),
                 _baseline(top + g.LINE_MM, FOLLOW_HEADER_PT, self.reg), date_text, self.reg, FOLLOW_HEADER_PT,
                 "followon_header", page),
            Line(g.LEFT_MARGIN_MM, top + 2 * g.LINE_MM, right, top + 2 * g.LINE_MM, 0.25, "followon_header", page),
        ]
        return out

    def _follow_name(self, piece: PieceData, page: int) -> Text:
        name = piece.display_name or (piece.address_lines[0] if piece.address_lines else "")
        text = f"Schreiben an {name}"
        width = g.TEXT_WIDTH_MM - 50.0
        if fonts.width_mm(text, self.reg, FOLLOW_HEADER_PT) > width:
            text = truncate(text, self.reg, FOLLOW_HEADER_PT, width)
        return Text(g.LEFT_MARGIN_MM, _baseline(FOLLOW_HEADER_MM + g.LINE_MM, FOLLOW_HEADER_PT, self.reg), text,
                    self.reg, FOLLOW_HEADER_PT, "followon_header", page)

    def _longest_letter(self) -> int:
        """Pages of the longest variant with long merge values: every piece of the wave gets that many."""
        most = 1
        for variant in self.texts:
            _, _, pages = self._flow(self._sample(variant), limit=MAX_LETTER_PAGES)
            most = max(most, pages)
        return most

    def _check_line(self, line: str, font: str, variant: str) -> None:
        if fonts.width_mm(line, font, BODY_PT) > g.TEXT_WIDTH_MM + 1e-6:
            raise LayoutError(f"{self.what(variant)}: the word {line!r} is wider than the text width "
                              f"({g.TEXT_WIDTH_MM:g} mm); shorten it")

    # ------------------------------------------------------------------------------ per piece
    def merge_values(self, piece: PieceData) -> dict[str, str]:
        return merge_values(piece, self.url)

    def address_block(self, lines: tuple[str, ...], who: str = "") -> list[Text]:
        """The recipient's block: a too-wide line wraps onto a free line of the 6 first (the rule in
        mailing.addressing.fit_lines); then the whole block shrinks towards 8 pt; a line still too wide is
        cut as the last resort, with a warning naming the piece (`who`: code and customer id)."""
        lines, size, cut = fit_address(lines, self.address_width_mm, "the window", who)
        self.shrunk += size < g.ADDRESS_FONT_PT
        self.truncated += cut
        top = self.geo.anschrift_zone.y_mm
        first = _baseline(top, size)
        return [Text(self.address_x_mm, first + i * ADDRESS_LINE_PITCH_MM, line, REG, size, ROLE_ADDRESS)
                for i, line in enumerate(lines)]

    def _flow(self, piece: PieceData, limit: int) -> tuple[list[Element], list[tuple[str, float, int]], int]:
        """Lay the body of the piece's variant out from the Betreff on, over as many pages as it needs (up
        to `limit`). Returns the per-piece body lines, where each static block goes (key, dy, page) and the
        number of pages. A static block that crosses a page end is placed line by line instead."""
        out: list[Element] = []
        placements: list[tuple[str, float, int]] = []
        y, page = self.subject_y_mm, 1
        values: dict[str, str] | None = None

        def bottom() -> float:
            return self.body_bottom_mm if page == 1 else FOLLOW_BODY_BOTTOM_MM

        def too_long() -> LayoutError:
            return LayoutError(
                f"{self.what(piece.variant)}: the letter text does not fit on {limit} page(s) (piece {piece.code}); "
                "shorten the body text")

        for block in self.blocks[piece.variant]:
            if block.template is None:
                if y + block.height_mm <= bottom() + 1e-6:
                    placements.append((block.key, y, page))
                    y += block.height_mm
                    continue
                shift, moved_top = y, None
                for e in block.elements:
                    top = e.box.y_mm
                    if top != moved_top and shift + e.box.bottom_mm > bottom() + 1e-6:
                        page += 1
                        if page > limit:
                            raise too_long()
                        shift = FOLLOW_BODY_TOP_MM - top
                    moved_top = top
                    out.append(shifted(e, shift) if page == 1 else on_page(e, page, shift))
                y = shift + block.height_mm
                continue
            if block.role == "greeting":
                text = piece.greeting
            else:
                if values is None:
                    values = self.merge_values(piece)
                text = " ".join(block.template.format_map(values).split())
            if block.role == "subject":
                wrapper = self.subject_wrap
                lines = [[(text, True, False)]] if wrapper.word(text) <= g.TEXT_WIDTH_MM else \
                    [[(line, True, False)] for line in wrapper.wrap(text)]
            else:
                lines = self.rich_lines(text, self.body_wrap)
            for runs in lines:
                if y + g.LINE_MM > bottom() + 1e-6:
                    page += 1
                    if page > limit:
                        raise too_long()
                    y = FOLLOW_BODY_TOP_MM
                if block.role == "subject":
                    texts = [Text(g.LEFT_MARGIN_MM, _baseline(y, block.size_pt, self.bold), runs[0][0], self.bold,
                                  block.size_pt, "subject")]
                    if texts[0].width_mm > g.TEXT_WIDTH_MM + 1e-6:
                        raise LayoutError(f"{self.what(piece.variant)}, piece {piece.code}: {runs[0][0]!r} is "
                                          "wider than the text width")
                else:
                    texts = self.line_texts(y, runs, block.role if block.role != "body" or "P.S." not in
                                            (block.template or "")[:5] else "ps", block.size_pt)
                out.extend(t if page == 1 else on_page(t, page, 0.0) for t in texts)
                y += g.LINE_MM
        return out, placements, page

    def _sample(self, variant: str) -> PieceData:
        long = {k: "Mustermann-Schmidt" for k in ("vorname", "nachname", "titel", "firma", "strasse", "ort")}
        long["plz"] = "12345"
        return PieceData("0" * CODE_LENGTH, variant, ("Herrn", "Max Mustermann", "Hauptstr. 1", "12345 Musterstadt"),
                         "Sehr geehrter Herr Professor Mustermann-Schmidt,", "Max Mustermann", "K-1", long,
                         "none")

    def compose_piece(self, piece: PieceData) -> tuple[list[Element], list[tuple[str, float, int]]]:
        """Per-piece elements, and where each static block of the piece's variant goes (key, dy mm, page)."""
        if piece.variant not in self.blocks:
            raise LayoutError(f"piece {piece.code}: variant {piece.variant!r} is not in campaign "
                              f"{self.campaign.name!r}")
        who = f"piece {format_code(piece.code)}" + (f" (customer id {piece.customer_id})" if piece.customer_id else "")
        out: list[Element] = list(self.address_block(piece.address_lines, who))
        if piece.customer_id and "customer_id" in self._info_rows:
            out.append(self._info_value(piece.customer_id, self._info_rows["customer_id"]))
        body, placements, _pages = self._flow(piece, self.letter_pages)
        out.extend(body)
        out.extend(self._follow_name(piece, k) for k in self.follow)
        if self.has_coupon:
            out.extend(self.coupon_piece(piece))
        return out, placements

    def coupon_piece(self, piece: PieceData) -> list[Element]:
        top = g.COUPON_TOP_MM
        name_w = self.keep_clear_box.x_mm - 30.0 - g.CHECKBOX_X_MM
        name = piece.display_name
        size = fit_size(name, REG, NAME_PT, 7.0, name_w)
        if fonts.width_mm(name, REG, size) > name_w:
            name = truncate(name, REG, size, name_w)
        payload = qr_payload(piece.code, self.url or None)
        return [
            Text(g.CHECKBOX_X_MM, top + g.RECIPIENT_NAME_Y_MM + 2.6, name, REG, size, "name"),
            Text(self.keep_clear_box.x_mm, self.code_baseline_mm, format_code(piece.code), MONO, g.CODE_TEXT_PT,
                 "code_text"),
            QRSymbol(self.qr_box, qr_matrix(payload, self.ecc, self.qr_version), payload),
        ]

    def block_elements(self, key: str) -> tuple[Element, ...]:
        for blocks in self.blocks.values():
            for b in blocks:
                if b.key == key:
                    return b.elements
        raise KeyError(key)

    def page_model(self, piece: PieceData) -> PageModel:
        """Every element of the piece with its absolute position (static page + blocks + per piece).
        Enclosure pages are counted in `pages` but hold no elements."""
        dynamic, placements = self.compose_piece(piece)
        model = PageModel(list(self.static), self.pages_per_piece)
        for elements in self.follow.values():
            model.elements.extend(elements)
        for key, dy, page in placements:
            model.elements.extend(shifted(e, dy) if page == 1 else on_page(e, page, dy)
                                  for e in self.block_elements(key))
        model.elements.extend(dynamic)
        model.elements.extend(self.back)
        return model

    def check_fit(self) -> None:
        """Lay out a piece with long merge values for every variant: a text that cannot fit fails here."""
        for variant in self.texts:
            self.compose_piece(self._sample(variant))


def offers_call(campaign: Campaign) -> bool:
    """The campaign's coupon has an option that puts people on the call list (a `call` rule's option, or
    an option keyed "call"): its coupon gets the write-in line for the telephone number."""
    keys = set(campaign.option_keys)
    return "call" in keys or any(r.action == "call" and r.option in keys for r in campaign.rules)


def layout_json(campaign: Campaign, letter: str | None = None) -> dict[str, object]:
    """The geometry of `mailing layout --json`: page, address field, coupon, QR symbol (no quiet zone),
    tick boxes with their option keys; all in mm from the top-left corner of the piece's page."""
    lay = LetterLayout(campaign, letter)
    qr = lay.qr_box.as_json()
    qr.update(version=lay.qr_version, modules=g.qr_modules(lay.qr_version), module_mm=g.QR_MODULE_MM,
              quiet_zone_modules=g.QR_QUIET_MODULES)
    return {
        "campaign": campaign.name,
        "page": {"width_mm": g.PAGE_WIDTH_MM, "height_mm": g.PAGE_HEIGHT_MM},
        "pages_per_piece": lay.pages_per_piece,
        "form": lay.form,
        "envelope": campaign.layout.envelope,
        "address_field": lay.geo.address_field.as_json(),
        "coupon": g.coupon_box().as_json(),
        "qr": qr,
        "qr_keep_clear": lay.keep_clear_box.as_json(),
        "checkboxes": [dict(g.on_page(g.checkbox_box(slot)).as_json(), key=key)
                       for key, slot in campaign.option_slots.items()],
        "registration_marks": [g.on_page(g.Box(x, y, g.REG_MARK_SIZE_MM, g.REG_MARK_SIZE_MM)).as_json()
                               for x, y in g.REG_MARKS_MM],
        "inserter": inserter_layout_json(campaign.production),  # the zone for the inserter's marks
        # where the telephone number to call back is written (None: the campaign offers no call)
        "phone_line": g.on_page(g.PHONE_WRITE_BOX).as_json() if lay.has_coupon and offers_call(campaign) else None,
    }
