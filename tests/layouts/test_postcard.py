"""The DIN A6 postcard's page model on plain numbers: Deutsche Post's address-side rules (issue 14, item 1)."""

from __future__ import annotations

import dataclasses

import pytest

from layouts import geometry as g
from layouts.letter import LayoutError
from layouts.model import Line, Rect, Text
from layouts.postcard import PostcardLayout, layout_for
from layouts.render import sample_pieces
from mailing.codes import new_code
from mailing.config import example_campaign_path, load_campaign, parse_campaign
from mailing.errors import ConfigError


@pytest.fixture(scope="module")
def example():
    return load_campaign(example_campaign_path())


def test_postcard_is_a6_landscape_within_deutsche_post_limits() -> None:
    w, h = g.POSTCARD_WIDTH_MM, g.POSTCARD_HEIGHT_MM
    assert (w, h) == (148.0, 105.0)
    assert 140 <= w <= 235 and 90 <= h <= 125 and w >= 1.4 * h


def test_the_example_thank_you_is_a_postcard_and_the_other_letters_are_not(example) -> None:
    assert isinstance(layout_for(example, "thankyou"), PostcardLayout)
    assert not isinstance(layout_for(example, "reminder"), PostcardLayout)
    assert not isinstance(layout_for(example, None), PostcardLayout)


def test_address_side_follows_the_rules(example) -> None:
    lay = PostcardLayout(example, "thankyou")
    for piece in sample_pieces([new_code() for _ in range(5)], example):
        model = lay.page_model(piece)
        assert model.pages == 2
        address = [e for e in model.elements if e.role == "address"]
        assert address and all(e.page == 2 for e in address)
        zone = g.POSTCARD_ADDRESS_ZONE
        for e in model.elements:
            if e.page != 2 or isinstance(e, Rect) and e.role == "franking_box":
                continue
            box = e.box
            assert not box.intersects(g.POSTCARD_CODING_ZONE), e
            assert not box.intersects(g.POSTCARD_FRANKING_ZONE), e
            if box.x_mm > g.POSTCARD_SEPARATOR_X_MM + 1:  # right of the line: the address zone only
                assert zone.contains(box), e
        assert all(zone.contains(e.box) for e in address)
        # the recipient's lines, in order; the salutation on the message side is the letter's
        assert [e.text for e in address] == list(piece.address_lines)
        assert piece.greeting in [t.text for t in model.texts(1)]


def test_separating_line_and_franking_area(example) -> None:
    back = PostcardLayout(example, "thankyou").back
    line = next(e for e in back if isinstance(e, Line) and e.role == "separating_line")
    assert abs(line.y2_mm - line.y1_mm) >= 50.0 and line.width_mm == 1.2
    assert abs(g.POSTCARD_WIDTH_MM - line.box.right_mm - 74.0) < 0.2  # 74 mm from the right edge
    frank = next(e for e in back if isinstance(e, Rect) and e.role == "franking_box")
    assert g.POSTCARD_FRANKING_ZONE.contains(frank.box)
    assert frank.box.y_mm >= 3.0 and g.POSTCARD_WIDTH_MM - frank.box.right_mm >= 3.0
    # the sender line sits on top of the address, inside the zone
    ret = [e for e in back if isinstance(e, Text) and e.role == "return_line"]
    assert ret and all(g.POSTCARD_ADDRESS_ZONE.contains(t.box) for t in ret)
    # the whole sender line, on two lines where one is too narrow: never cut, never below 6 pt
    assert "…" not in " ".join(t.text for t in ret) and ret[-1].text.endswith("50667 Köln")
    assert min(t.size_pt for t in ret) >= 6.0


def test_message_side_keeps_the_senders_address_out_of_the_reading_zone(example) -> None:
    """The sender's postal address on the message side only above 40 mm or below 90 mm (no second address a
    sorting machine could read through the card, the 'Januskopf' effect)."""
    model = PostcardLayout(example, "thankyou").page_model(sample_pieces([new_code()], example)[0])
    street = example.sender.street
    for t in model.texts(1):
        if street in t.text:
            assert t.box.bottom_mm <= g.POSTCARD_READING_TOP_MM or \
                t.box.y_mm >= g.POSTCARD_HEIGHT_MM - g.POSTCARD_READING_EDGE_MM, t
    assert all(e.box.bottom_mm <= g.POSTCARD_HEIGHT_MM and e.box.right_mm <= g.POSTCARD_WIDTH_MM
               for e in model.elements)


def test_text_too_long_for_the_card_is_a_layout_error(example) -> None:
    long = dataclasses.replace(example.letters["thankyou"], body="Danke für alles. " * 120)
    camp = dataclasses.replace(example, letters={**example.letters, "thankyou": long})
    with pytest.raises(LayoutError, match="does not fit on the card"):
        PostcardLayout(camp, "thankyou").check_fit()


@pytest.mark.parametrize(("extra", "message"), [
    ('format = "postkarte"\ncoupon = true', "carries no reply coupon"),
    ('format = "postkarte"\nenvelope = "C4"', "goes without envelope"),
    ('format = "postkarte"\npaper_gsm = 100', "out of range"),
    ('format = "karte"', "use one of brief, postkarte"),
    ("paper_gsm = 200", 'use it with format = "postkarte"'),
])
def test_bad_postcard_config_is_one_line_with_its_line(extra: str, message: str) -> None:
    text = example_campaign_path().read_text(encoding="utf-8").replace(
        'format = "postkarte"           #', "#", 1).replace(
        '[letters.thankyou]\n', f"[letters.thankyou]\n{extra}\n", 1)
    with pytest.raises(ConfigError) as info:
        parse_campaign(text, "k.toml")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "k.toml" in str(info.value) and "letters.thankyou" in str(info.value)


def test_long_address_shrinks_and_stays_inside_the_zone(example) -> None:
    lay = PostcardLayout(example, "thankyou")
    piece = dataclasses.replace(sample_pieces([new_code()], example)[0], address_lines=(
        "Mustermann-Schmidt Gartenbau und Landschaftspflege GmbH & Co. KG",
        "z. Hd. Frau Prof. Dr. Annemarie Mustermann-Schmidt-Leutheusser", "Hauptstraße 123a", "12345 Musterstadt"))
    address = [e for e in lay.page_model(piece).elements if e.role == "address"]
    assert 4 <= len(address) <= g.ADDRESS_MAX_LINES
    assert all(g.POSTCARD_ADDRESS_ZONE.contains(e.box) for e in address)
    assert address[-1].text == "12345 Musterstadt" and min(e.size_pt for e in address) >= 8.0


def test_a_card_gets_no_inserter_marks(example, tmp_path) -> None:
    """A card is not enclosed: the inserter's marks (whose zone lies outside the card) are left out."""
    from layouts.render import render_sample_pdf
    from mailing.jobticket import lettershop_sections

    codes = [new_code() for _ in range(2)]
    omr = dataclasses.replace(example, production=dataclasses.replace(example.production, inserter="omr"))
    plain = render_sample_pdf(tmp_path / "a.pdf", codes, example, letter="thankyou")
    marked = render_sample_pdf(tmp_path / "b.pdf", codes, omr, letter="thankyou")
    assert plain.sha256 == marked.sha256 and plain.pages == 4
    sections = lettershop_sections(omr, "thankyou", False, 2, [{"file": "x.pdf", "pieces": 2}])
    assert sections["enclosing"]["inserter_marks"] == {"kind": "none"}
    assert sections["enclosing"]["envelope"] is None and sections["print"]["sheets_per_piece"] == 1
    assert sections["postage"]["weight_g"] == pytest.approx(0.148 * 0.105 * 200, abs=0.05)
