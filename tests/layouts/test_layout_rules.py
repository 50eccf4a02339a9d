"""Layout rules on the page model (plain numbers, no PDF): window, zones, QR, tick boxes, marks, fit."""

from __future__ import annotations

import dataclasses

import pytest

from layouts import geometry as g
from layouts.letter import (
    ADDRESS_MIN_PT,
    WINDOW_ROLES,
    LayoutError,
    LetterLayout,
    PieceData,
    layout_json,
)
from layouts.model import Rect, Text
from layouts.render import sample_pieces
from mailing.codes import new_code
from mailing.config import Campaign, Layout, load_campaign

LONG = PieceData(
    code=new_code(), variant="A",
    address_lines=("Gärtnerei Sonnenschein und Söhne Landschaftsbau GmbH & Co. KG", "Abteilung Einkauf",
                   "Frau Prof. Dr. Wiśniewska-Dvořáková", "bei Ñúñez-Zoë Hohenzollern-Sigmaringen",
                   "Sonnenblumenweg 123a", "99999 Großkleinhausen-Ost"),
    greeting="Sehr geehrte Frau Professorin Wiśniewska-Dvořáková,", display_name="Prof. Dr. Zoë Ñúñez",
    customer_id="K-1",
)


@pytest.fixture(scope="module")
def example() -> Campaign:
    from mailing.config import example_campaign_path

    return load_campaign(example_campaign_path())


def variants(c: Campaign) -> list[Campaign]:
    out = []
    for form in ("A", "B"):
        for env in ("DL", "C6/5"):
            for duplex in (False, True):
                for url in ("", "https://gartenwelt-schneider.de/r"):
                    out.append(dataclasses.replace(
                        c, layout=Layout(form=form, envelope=env, qr_ecc="M", duplex_back=duplex),
                        coupon=dataclasses.replace(c.coupon, response_url=url)))
    return out


def models(c: Campaign):  # type: ignore[no-untyped-def]
    for camp in variants(c):
        lay = LetterLayout(camp)
        for piece in [*sample_pieces([new_code() for _ in range(5)], camp), LONG]:
            yield camp, lay, lay.page_model(piece)


def test_only_the_address_shows_in_the_window_in_every_slide_position(example: Campaign) -> None:
    for camp, _lay, model in models(example):
        env = g.ENVELOPES[camp.layout.envelope]
        dy = g.FORM_ADDRESS_TOP_MM[camp.layout.form] - 45.0
        for sx, sy in env.slide_positions():
            window = env.window_on_sheet(sx, sy).shifted(0, dy)
            intruders = [e for e in model.on_page(1) if e.box.intersects(window) and e.role not in WINDOW_ROLES]
            assert not intruders, (camp.layout, (sx, sy), intruders[:2])
            for e in model.with_role("address"):
                assert window.contains(e.box, g.ADDRESS_WINDOW_CLEARANCE_MM), (camp.layout, (sx, sy), e)


def test_address_block_stays_in_the_anschriftzone_and_at_least_8_pt(example: Campaign) -> None:
    for _camp, lay, model in models(example):
        lines = [e for e in model.with_role("address") if isinstance(e, Text)]
        assert 1 <= len(lines) <= 6
        assert {e.size_pt for e in lines} == {lines[0].size_pt}  # one size for the whole block
        assert lines[0].size_pt >= ADDRESS_MIN_PT
        zone = lay.geo.anschrift_zone
        for e in lines:
            assert zone.x_mm <= e.x_mm and e.box.y_mm >= zone.y_mm - 1e-6


def test_long_address_shrinks_then_truncates_by_rule(example: Campaign) -> None:
    lay = LetterLayout(dataclasses.replace(example, layout=Layout(envelope="C6/5")))
    block = lay.address_block(LONG.address_lines)
    assert block[0].size_pt == ADDRESS_MIN_PT
    assert all(e.box.right_mm <= lay.readable.right_mm + 1e-6 for e in block)
    assert any(e.text.endswith("…") for e in block) and lay.truncated >= 1
    short = lay.address_block(("Herrn", "Max Meyer", "Hauptstr. 1", "50667 Köln"))
    assert short[0].size_pt == g.ADDRESS_FONT_PT


def test_qr_never_in_window_franking_or_coding_zone_and_quiet_zone_free(example: Campaign) -> None:
    for camp, _lay, model in models(example):
        qr = model.with_role("qr")
        assert len(qr) == 1
        box = qr[0].box
        visible = g.ENVELOPES[camp.layout.envelope].visible_region().shifted(
            0, g.FORM_ADDRESS_TOP_MM[camp.layout.form] - 45.0)
        assert not box.intersects(visible)
        assert not box.intersects(g.on_page(g.FRANKING_ZONE)) and not box.intersects(g.on_page(g.CODING_ZONE))
        assert g.coupon_box().contains(box)
        q = g.QR_QUIET_MODULES * g.QR_MODULE_MM
        quiet = g.Box(box.x_mm - q, box.y_mm - q, box.width_mm + 2 * q, box.height_mm + 2 * q)
        others = [e for e in model.on_page(1) if e.role not in ("qr", "keep_clear") and e.box.intersects(quiet)]
        assert not others, others
        frame = next(e for e in model.with_role("keep_clear") if isinstance(e, Rect))
        assert frame.rect.contains(quiet, 1.0)
        assert g.QR_MODULE_MM >= 0.5
        # nothing printed in the coding zone on any page
        for page in range(1, model.pages + 1):
            zone = g.on_page(g.CODING_ZONE, page)
            assert not [e for e in model.on_page(page) if e.box.intersects(zone)]


def test_tick_boxes_marks_and_code_on_the_coupon(example: Campaign) -> None:
    lay = LetterLayout(example)
    model = lay.page_model(sample_pieces([new_code()], example)[0])
    boxes = model.with_role("checkbox")
    assert len(boxes) == len(example.coupon.options)
    for b in boxes:
        assert b.box.width_mm >= 5.0 and b.box.height_mm >= 5.0 and g.coupon_box().contains(b.box)
    marks = [e for e in model.with_role("registration") if g.coupon_box().contains(e.box)]
    assert len(marks) >= 3
    code = next(e for e in model.with_role("code_text") if isinstance(e, Text))
    assert code.size_pt >= 12 and "-" in code.text and g.coupon_box().contains(code.box)
    assert not code.box.intersects(g.on_page(g.CODING_ZONE))
    # all elements of page 1 inside the sheet (the perforation guide runs edge to edge)
    for e in model.on_page(1):
        if e.role == "perforation":
            continue
        assert g.Box(0, 0, g.PAGE_WIDTH_MM, g.PAGE_HEIGHT_MM).contains(e.box), e


def test_objection_notice_in_every_letter_framed_above_the_footer(example: Campaign) -> None:
    for letter in (None, *example.letters):
        model = LetterLayout(example, letter).page_model(sample_pieces([new_code()], example)[0])
        notice = model.with_role("notice")
        assert any(isinstance(e, Text) and "Art. 21" in e.text for e in notice)
        frame = next(e for e in notice if isinstance(e, Rect))
        assert all(frame.rect.contains(e.box) for e in notice if isinstance(e, Text))
        body = [e for e in model.with_role("body", "closing", "greeting", "subject")]
        assert all(e.box.bottom_mm < frame.rect.y_mm for e in body)


def test_text_that_does_not_fit_names_the_variant(example: Campaign) -> None:
    # A long text runs onto follow-on pages; more than MAX_LETTER_PAGES is an error naming the variant.
    long_body = "\n\n".join(["Ein sehr langer Absatz mit vielen Wörtern " * 12] * 60)
    camp = dataclasses.replace(example, variants=(dataclasses.replace(example.variants[0], body=long_body),
                                                  example.variants[1]))
    with pytest.raises(LayoutError, match="variant 'A'"):
        LetterLayout(camp).check_fit()


def test_merge_fields_fill_in_per_piece(example: Campaign) -> None:
    lay = LetterLayout(example)
    piece = sample_pieces([new_code(), new_code()], example)[1]  # variant B uses {ort}
    assert piece.variant == "B"
    text = " ".join(e.text for e in lay.page_model(piece).texts())
    assert piece.merge["ort"] in text and "{" not in text


def test_layout_json_contract(example: Campaign) -> None:
    data = layout_json(example)
    assert data["page"] == {"width_mm": 210.0, "height_mm": 297.0}
    for key in ("address_field", "coupon", "qr"):
        assert set(data[key]) >= {"page", "x_mm", "y_mm", "width_mm", "height_mm"}  # type: ignore[arg-type]
    assert [c["key"] for c in data["checkboxes"]] == example.option_keys  # type: ignore[attr-defined]
    assert data["qr"]["width_mm"] == pytest.approx(21 * g.QR_MODULE_MM)  # type: ignore[index]
