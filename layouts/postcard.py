"""Composition of a DIN A6 postcard: campaign + one piece's data → page model of a card (148 x 105 mm).

A follow-up letter with `format = "postkarte"` (a short letter such as the thank-you) is printed as a
postcard instead of an A4 letter: no envelope, no coupon. Two pages per card:
- page 1, the message side: letterhead (sender, contact line, date), Betreff, the same salutation as the
  letter, the text (merge fields, **bold**), closing and signature name, the letter's own P.S., and at the
  bottom, framed, the notice of the right to object;
- page 2, the address side (Deutsche Post's rules, layouts.geometry §DIN A6 postcard): the sender top left,
  the separating line, the franking area top right, and in the right half the address zone with the sender
  line on top and the recipient's address block below it. Nothing is printed right of or below the address,
  in the franking zone or in the coding zone (bottom 15 mm).

The sender's postal address appears on the message side only above the 40 mm line (the letterhead) and in
the notice below the reading zone, so the back side shows no second address a sorting machine could read.

`PostcardLayout` offers what the writer (layouts.render) and production use of `LetterLayout`: the static
elements of each side (drawn once per PDF as forms), the per-piece elements (`compose_piece`), the page
count and size, `check_fit`, `page_model`. Everything that varies per card is per piece (the text is short).
Text that does not fit is a LayoutError naming the letter, as for letters.
"""

from __future__ import annotations

import logging
from datetime import date

from layouts import fonts
from layouts import geometry as g
from layouts.letter import (
    Block,
    LayoutError,
    LetterLayout,
    PieceData,
    Run,
    Wrapper,
    _fields,
    _paragraphs,
    fit_address,
    fit_size,
    german_date,
    merge_values,
    objection_notice,
    truncate,
    wrap_rich,
)
from layouts.model import Element, Line, PageModel, Rect, Text
from mailing.codes import CODE_LENGTH, format_code
from mailing.config import Campaign

log = logging.getLogger(__name__)

MM_PER_PT = fonts.MM_PER_PT
W, H, M = g.POSTCARD_WIDTH_MM, g.POSTCARD_HEIGHT_MM, g.POSTCARD_MARGIN_MM
TEXT_WIDTH_MM = W - 2 * M  # 132
BODY_PT = 9.0
LINE_MM = 3.8  # 9 pt text at about 1.2 line spacing
SENDER_PT = 9.0
CONTACT_PT = 6.5
RULE_Y_MM = 16.5
BODY_TOP_MM = 19.5
NOTICE_PT = 5.5
NOTICE_PITCH_MM = 2.35
NOTICE_PAD_MM = 1.0
NOTICE_BOTTOM_MM = H - 4.0  # the notice sits below the back side's reading zone (90 mm): no second address there
ADDRESS_LINE_PITCH_MM = 4.0
RETURN_PT = 6.5
RETURN_MIN_PT = 6.0  # Deutsche Post's minimum for the sender line (layouts.geometry.RETURN_LINE_FONT_PT)
RETURN_PITCH_MM = 2.7
SIGNATURE_TITLE_PT = 7.5
ZONE_INSET_MM = 0.5  # address and sender line start this far inside the address zone (and end as far before it)

REG = fonts.REGULAR  # address block and sender line: DejaVu Sans, as on the letter (capitals >= 2.5 mm at 10 pt)
ROLE_ADDRESS = "address"
ROLE_RETURN = "return_line"


def _baseline(top_mm: float, size_pt: float, font: str) -> float:
    return top_mm + fonts.ascent_descent(font)[0] * size_pt * MM_PER_PT


def is_postcard(campaign: Campaign, letter: str | None) -> bool:
    """Whether the wave's letter is printed as a postcard (`[letters.KEY] format = "postkarte"`)."""
    lt = campaign.letters.get(letter) if letter else None
    return bool(lt and lt.postcard)


def layout_for(campaign: Campaign, letter: str | None = None,
               letter_date: date | None = None) -> LetterLayout | PostcardLayout:
    """The layout of a wave: a postcard for a letter of format "postkarte", else the DIN 5008 letter."""
    if is_postcard(campaign, letter):
        return PostcardLayout(campaign, letter, letter_date)
    return LetterLayout(campaign, letter, letter_date)


def _two_lines(text: str, size: float, width: float) -> list[str]:
    """A sender line too wide for one line: split between its parts ("Name · Street · Place") where both
    halves fit, the first as long as possible; else wrapped at words."""
    parts = text.split(" · ")
    for k in range(len(parts) - 1, 0, -1):
        halves = [" · ".join(parts[:k]), " · ".join(parts[k:])]
        if all(fonts.width_mm(h, REG, size) <= width for h in halves):
            return halves
    return Wrapper(REG, size, width).wrap(text)


class PostcardLayout:
    """The layout of one wave's postcards; build once, then compose or render many cards."""

    postcard = True
    page_size_mm = (W, H)
    has_coupon = False
    qr_version = 0
    letter_pages = 1  # the message side; the address side is the writer's `back`
    back_pages = 1
    pages_per_piece = 2
    enclosure = None
    enclosure_pages = 0

    def __init__(self, campaign: Campaign, letter: str | None, letter_date: date | None = None) -> None:
        fonts.register_fonts()
        lt = campaign.letters.get(letter or "")
        if lt is None or not lt.postcard:
            raise LayoutError(f"letter {letter!r} of campaign {campaign.name!r} is not a postcard "
                              '(format = "postkarte")')
        self.campaign = campaign
        self.letter_key = lt.key
        self.text = lt
        self.date = letter_date or date.today()
        self.form = campaign.layout.form
        self.reg, self.bold = fonts.FAMILIES[campaign.typeface]
        self.asset_data: dict[str, bytes] = {}  # no logo or signature picture on the card
        self.url = campaign.coupon.response_url
        self.body_wrap = Wrapper(self.reg, BODY_PT, TEXT_WIDTH_MM)
        self.bold_wrap = Wrapper(self.bold, BODY_PT, TEXT_WIDTH_MM)
        self.shrunk = 0
        self.truncated = 0
        self.follow: dict[int, list[Element]] = {}
        self.blocks: dict[str, list[Block]] = {v.key: [] for v in campaign.variants}  # no static text blocks
        self.static: list[Element] = []
        self.back: list[Element] = []
        self._compose_message_side()
        self._compose_address_side()

    def what(self, _variant: str = "") -> str:
        return f"postcard {self.letter_key!r} (campaign {self.campaign.name!r})"

    def _text(self, x: float, top: float, text: str, font: str, size: float, role: str, page: int = 1) -> Text:
        return Text(x, _baseline(top, size, font), text, font, size, role, page)

    # ------------------------------------------------------------------------ the message side
    def _compose_message_side(self) -> None:
        c, s, add = self.campaign, self.campaign.sender, self.static.append
        date_text = german_date(self.date)
        date_w = fonts.width_mm(date_text, self.reg, CONTACT_PT)
        head_w = TEXT_WIDTH_MM - date_w - 4.0
        size = fit_size(s.name, self.bold, SENDER_PT, 7.0, head_w)
        name = s.name if fonts.width_mm(s.name, self.bold, size) <= head_w else truncate(s.name, self.bold, size, head_w)
        add(self._text(M, 7.0, name, self.bold, size, "letterhead"))
        add(self._text(W - M - date_w, 7.8, date_text, self.reg, CONTACT_PT, "date"))
        contact = " · ".join(x for x in (f"{s.street}, {s.postal_code} {s.city}", s.phone and f"Tel. {s.phone}",
                                         s.website) if x)
        size = fit_size(contact, self.reg, CONTACT_PT, 5.5, TEXT_WIDTH_MM)
        if fonts.width_mm(contact, self.reg, size) > TEXT_WIDTH_MM:
            contact = truncate(contact, self.reg, size, TEXT_WIDTH_MM)
        add(self._text(M, 11.6, contact, self.reg, size, "letterhead"))
        add(Line(M, RULE_Y_MM, W - M, RULE_Y_MM, 0.2, "letterhead"))
        # The notice of the right to object, framed, at the bottom.
        lines = Wrapper(self.reg, NOTICE_PT, TEXT_WIDTH_MM - 2 * NOTICE_PAD_MM - 1).wrap(objection_notice(c, frozenset()))
        height = len(lines) * NOTICE_PITCH_MM + 2 * NOTICE_PAD_MM
        self.notice_top_mm = NOTICE_BOTTOM_MM - height
        add(Rect(g.Box(M, self.notice_top_mm, TEXT_WIDTH_MM, height), "notice", stroke_mm=0.2))
        for i, text in enumerate(lines):
            add(Text(M + NOTICE_PAD_MM + 0.5, self.notice_top_mm + NOTICE_PAD_MM + 1.8 + i * NOTICE_PITCH_MM, text,
                     self.reg, NOTICE_PT, "notice"))
        self.body_bottom_mm = self.notice_top_mm - 1.5

    def _lines(self, text: str) -> list[list[Run]]:
        """A paragraph with `**bold**` stretches wrapped to the card's text width."""
        return wrap_rich(text, self.body_wrap, self.bold_wrap, self.body_wrap.space, TEXT_WIDTH_MM)

    def _line_texts(self, top: float, runs: list[Run], role: str, piece: PieceData) -> list[Text]:
        out: list[Text] = []
        x = start = M
        words: list[str] = []
        bold = runs[0][1]
        for w, b, glue in runs:
            if words and not glue:
                x += self.body_wrap.space
            if b != bold:
                out.append(self._text(start, top, "".join(words), self.bold if bold else self.reg, BODY_PT, role))
                words, bold, start = [], b, x
            words.append(w if (glue or not words) else " " + w)
            x += (self.bold_wrap if b else self.body_wrap).word(w)
        out.append(self._text(start, top, "".join(words), self.bold if bold else self.reg, BODY_PT, role))
        if x > M + TEXT_WIDTH_MM + 1e-6:
            raise LayoutError(f"{self.what()}, piece {format_code(piece.code)}: the word {runs[-1][0]!r} is wider "
                              f"than the card's text width ({TEXT_WIDTH_MM:g} mm); shorten it")
        return out

    def message(self, piece: PieceData) -> list[Element]:
        """The message side's text for one piece: Betreff, salutation, paragraphs, closing, signature, P.S."""
        values = merge_values(piece, self.url)
        lt = self.text
        items: list[tuple[str, str, int, bool]] = [  # (role, text, blank lines before, bold)
            ("subject", lt.subject.format_map(values) if _fields(lt.subject) else lt.subject, 0, True),
            ("greeting", piece.greeting, 1, False)]
        items += [("body", p.format_map(values) if _fields(p) else p, 1 if i == 0 else 0, False)
                  for i, p in enumerate(_paragraphs(lt.body))]
        c = self.campaign
        items.append(("closing", c.closing, 1, False))
        if c.signature:
            items.append(("signature", c.signature, 1, False))
        ps = " ".join((lt.ps or "").split())
        if ps:
            if not ps.upper().startswith(("P.S.", "PS", "P. S.")):
                ps = "P.S. " + ps
            items.append(("ps", ps.format_map(values) if _fields(ps) else ps, 1, False))
        out: list[Element] = []
        y = BODY_TOP_MM
        for n, (role, text, gap, bold) in enumerate(items):
            y += gap * LINE_MM
            text = " ".join(text.split())
            if not text:
                continue
            runs = [[(line, True, False)] for line in Wrapper(self.bold, BODY_PT, TEXT_WIDTH_MM).wrap(text)] if bold \
                else self._lines(text)
            for line in runs:
                out.extend(self._line_texts(y, line, "closing" if role == "signature" else role, piece))
                y += LINE_MM
            if role == "body" and n + 1 < len(items) and items[n + 1][0] == "body":
                y += LINE_MM * 0.5  # paragraphs half a line apart: the card is small
            if role == "signature" and c.signature_title:
                out.append(self._text(M, y, c.signature_title, self.reg, SIGNATURE_TITLE_PT, "closing"))
                y += LINE_MM
        if y > self.body_bottom_mm + 1e-6:
            raise LayoutError(f"{self.what()}: the text does not fit on the card's message side (piece "
                              f"{format_code(piece.code)}: {y - self.body_bottom_mm:.0f} mm too long); shorten the "
                              "body text or send it as a letter (leave out format = \"postkarte\")")
        return out

    # ------------------------------------------------------------------------ the address side
    def _compose_address_side(self) -> None:
        s, add = self.campaign.sender, self.back.append
        # the sender top left: left of and above the address, as Deutsche Post allows
        width = g.POSTCARD_SEPARATOR_X_MM - 4.0 - M
        size = fit_size(s.name, self.bold, 8.0, 6.5, width)
        name = s.name if fonts.width_mm(s.name, self.bold, size) <= width else truncate(s.name, self.bold, size, width)
        add(self._text(M, 7.0, name, self.bold, size, "sender", 2))
        for i, line in enumerate(x for x in (s.website, s.phone and f"Tel. {s.phone}") if x):
            size = fit_size(line, self.reg, CONTACT_PT, 5.5, width)
            if fonts.width_mm(line, self.reg, size) > width:
                line = truncate(line, self.reg, size, width)
            add(self._text(M, 11.0 + i * 3.0, line, self.reg, size, "sender", 2))
        x = g.POSTCARD_SEPARATOR_X_MM
        add(Line(x, g.POSTCARD_SEPARATOR_Y_MM[0], x, g.POSTCARD_SEPARATOR_Y_MM[1], g.POSTCARD_SEPARATOR_WIDTH_MM,
                 "separating_line", 2))
        add(Rect(g.POSTCARD_FRANKING_BOX, "franking_box", stroke_mm=0.25))
        zone = g.POSTCARD_ADDRESS_ZONE
        x, width = zone.x_mm + ZONE_INSET_MM, zone.width_mm - 2 * ZONE_INSET_MM
        # the sender line: one line at 6.5 pt down to 6 pt, else two lines at 6 pt (the zone is 54 mm wide,
        # a letter's Vermerkzone 80 mm), the last one underlined; a third line's worth is cut
        ret = s.return_address_line
        size = fit_size(ret, REG, RETURN_PT, RETURN_MIN_PT, width)
        lines = [ret] if fonts.width_mm(ret, REG, size) <= width else _two_lines(ret, size, width)
        if len(lines) > 2:
            lines = [lines[0], truncate(" ".join(lines[1:]), REG, size, width)]
        lines = [line if fonts.width_mm(line, REG, size) <= width else truncate(line, REG, size, width)
                 for line in lines]
        base = g.POSTCARD_RETURN_BASELINE_MM
        for i, line in enumerate(lines):
            add(Text(x, base - (len(lines) - 1 - i) * RETURN_PITCH_MM, line, REG, size, ROLE_RETURN, 2))
        add(Line(x, base + 0.6, x + max(fonts.width_mm(line, REG, size) for line in lines), base + 0.6, 0.15,
                 ROLE_RETURN, 2))

    def address_block(self, lines: tuple[str, ...], who: str = "") -> list[Text]:
        """The recipient's block in the address zone: wrapped, then shrunk to 8 pt, then cut (as on a letter,
        layouts.letter.LetterLayout.address_block) to the zone's width."""
        zone = g.POSTCARD_ADDRESS_ZONE
        lines, size, cut = fit_address(lines, zone.width_mm - 2 * ZONE_INSET_MM, "the postcard's address zone", who)
        self.shrunk += size < g.ADDRESS_FONT_PT
        self.truncated += cut
        first = _baseline(g.POSTCARD_ADDRESS_TOP_MM, size, REG)
        return [Text(zone.x_mm + ZONE_INSET_MM, first + i * ADDRESS_LINE_PITCH_MM, line, REG, size, ROLE_ADDRESS, 2)
                for i, line in enumerate(lines)]

    # ------------------------------------------------------------------------------ per piece
    def compose_piece(self, piece: PieceData) -> tuple[list[Element], list[tuple[str, float, int]]]:
        """Per-piece elements (message text on page 1, address on page 2); no static blocks move."""
        if piece.variant not in self.blocks:
            raise LayoutError(f"piece {piece.code}: variant {piece.variant!r} is not in campaign "
                              f"{self.campaign.name!r}")
        who = f"piece {format_code(piece.code)}" + (f" (customer id {piece.customer_id})" if piece.customer_id else "")
        return [*self.message(piece), *self.address_block(piece.address_lines, who)], []

    def page_model(self, piece: PieceData) -> PageModel:
        """Every element of the card, both sides, with absolute positions."""
        dynamic, _ = self.compose_piece(piece)
        return PageModel([*self.static, *self.back, *dynamic], self.pages_per_piece)

    def check_fit(self) -> None:
        """Lay out a card with long merge values: a text that cannot fit fails here, before printing."""
        long = {k: "Mustermann-Schmidt" for k in ("vorname", "nachname", "titel", "firma", "strasse", "ort")}
        long["plz"] = "12345"
        for variant in self.blocks:
            self.compose_piece(PieceData(
                "0" * CODE_LENGTH, variant, ("Herrn", "Max Mustermann", "Hauptstr. 1", "12345 Musterstadt"),
                "Sehr geehrter Herr Professor Mustermann-Schmidt,", "Max Mustermann", "K-1", long, "none"))
