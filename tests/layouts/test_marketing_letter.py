"""Letters a marketer would send (issue 12 item 4) and addresses that fit (item 5), on real rendered
PDFs read back with pypdf."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from layouts import fonts
from layouts.letter import LetterLayout, PieceData
from layouts.model import Image, Rect
from layouts.render import BatchJob, render_batch, sample_pieces
from mailing.addressing import address_lines, display_name, greeting, salutation_kind
from mailing.codes import new_code
from mailing.config import Assets, Campaign, example_campaign_path, load_campaign, parse_campaign, read_assets

LONG_COMPANY = "Verpackungstechnik, Logistik und Lagerhaltungssysteme mbH & Co. KG"
SVG_LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
            b'<rect x="0" y="0" width="40" height="40" fill="black"/>'
            b'<circle cx="80" cy="20" r="18" fill="black"/></svg>')


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    img = PILImage.new("L", (width, height), 255)
    for x in range(10, width - 10):
        img.putpixel((x, height // 2 + (x % 7) - 3), 0)
    img.save(buf, "PNG")
    return buf.getvalue()


def enclosure_pdf(pages: int) -> bytes:
    buf = io.BytesIO()
    fonts.register_fonts()
    c = Canvas(buf, pagesize=A4, invariant=1, initialFontName=fonts.REGULAR)
    for i in range(pages):
        c.setFont(fonts.REGULAR, 20)  # embedded, as a print-ready enclosure must be
        c.drawString(72, 700, f"Beilage Seite {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def example() -> Campaign:
    return load_campaign(example_campaign_path())


def with_assets(c: Campaign, **data: bytes) -> Campaign:
    return dataclasses.replace(c, assets=dataclasses.replace(c.assets, data=tuple(sorted(data.items()))))


def texts(path: Path) -> list[str]:
    return [p.extract_text() for p in PdfReader(path).pages]


def test_letter_with_logo_ps_signature_and_two_page_body(example: Campaign, tmp_path: Path) -> None:
    long_body = "\n\n".join(f"Absatz {i}: Unsere **neuen Gartenmöbel** sind wetterfest, leicht und in vielen "
                            "Farben zu haben; wir beraten Sie gern in unserem Gartencenter." for i in range(14))
    camp = dataclasses.replace(
        with_assets(example, logo=SVG_LOGO, signature_image=png(300, 100)),
        variants=tuple(dataclasses.replace(v, body=long_body) for v in example.variants),
        ps="Nur bis zum 30. April: **20 % Rabatt** auf alles.",
    )
    codes = [new_code(), new_code()]
    out = tmp_path / "letters.pdf"
    res = render_batch(BatchJob(camp, sample_pieces(codes, camp)), out)
    assert res.pages_per_piece == 2 and res.pages == 4 and res.first_pages == [1, 3]
    pages = texts(out)
    # page 2 carries the DIN 5008 follow-on header: sender, recipient, page number; the text goes on
    assert "Gartenwelt Schneider GmbH" in pages[1] and "Seite 2 von 2" in pages[1]
    assert "Schreiben an Dr. Anna Müller" in pages[1] and "Schreiben an Łukasz Wiśniewski" in pages[3]
    assert "Absatz 13" in pages[1] and "Absatz 13" not in pages[0]
    assert "P.S. Nur bis zum 30. April:" in pages[1] and "20 % Rabatt" in pages[1]
    assert "Petra Wagner" in pages[1]
    # logo (a form in the page's form) and signature image drawn; bold words in the bold face
    reader = PdfReader(out)
    raw = b"".join(reader.pages[i].get_contents().get_data() for i in range(2))
    assert b"FormXob.asset_signature_image" in raw or b"asset_signature_image" in raw
    lay = LetterLayout(camp)
    model = lay.page_model(sample_pieces(codes, camp)[0])
    logo = [e for e in model.elements if isinstance(e, Image) and e.asset == "logo"]
    assert len(logo) == 1 and logo[0].page == 1 and logo[0].rect.bottom_mm < 23.5
    assert logo[0].rect.width_mm == pytest.approx(3 * logo[0].rect.height_mm)  # aspect of the SVG
    sig = [e for e in model.elements if isinstance(e, Image) and e.asset == "signature_image"]
    assert len(sig) == 1 and sig[0].page == 2
    bold = [t for t in model.texts() if t.role == "body" and t.font == lay.bold]
    assert any(t.text == "neuen Gartenmöbel" for t in bold)
    fonts = {str(f) for p in reader.pages for f in (p["/Resources"].get_object().get("/Font", {}) or {})}
    assert fonts is not None


def test_enclosure_pages_follow_every_piece(example: Campaign, tmp_path: Path) -> None:
    camp = with_assets(example, enclosure=enclosure_pdf(2), logo=png(200, 80))
    out = tmp_path / "with-enclosure.pdf"
    res = render_batch(BatchJob(camp, sample_pieces([new_code() for _ in range(3)], camp)), out)
    assert res.pages_per_piece == 3 and res.pages == 9 and res.first_pages == [1, 4, 7]
    pages = texts(out)
    assert "Beilage Seite 1" in pages[1] and "Beilage Seite 2" in pages[2] and "Beilage Seite 2" in pages[8]
    # the enclosure is one object per file: three more pieces cost about what they cost without it
    def size(c: Campaign, n: int) -> int:
        return render_batch(BatchJob(c, sample_pieces([new_code() for _ in range(n)], c)), tmp_path / "x.pdf").bytes

    extra_with = size(camp, 6) - size(camp, 3)
    extra_without = size(example, 6) - size(example, 3)
    assert extra_with - extra_without < 3 * 1_000  # a page object referring to the form, not a copy


def test_long_company_name_wraps_onto_a_free_line_and_is_not_cut(example: Campaign, tmp_path: Path) -> None:
    record = {"salutation": "female", "first_name": "Anna", "last_name": "Müller", "company": LONG_COMPANY,
              "street": "Industriestraße", "house_number": "7", "postal_code": "50667", "city": "Köln",
              "customer_id": "K-77"}
    # One line, as an address override or an old store gives it: the layout wraps it onto a free line.
    one_line = (LONG_COMPANY, "Frau Anna Müller", "Industriestraße 7", "50667 Köln")
    lay = LetterLayout(example)
    block = lay.address_block(one_line)
    assert len(block) == 5 and lay.truncated == 0
    assert {e.size_pt for e in block} == {10.0}  # wrapped, not shrunk
    assert " ".join(e.text for e in block[:2]) == LONG_COMPANY
    assert all(e.box.right_mm <= lay.readable.right_mm + 1e-6 for e in block)
    piece = PieceData(new_code(), "A", one_line, greeting(record), display_name(record), "K-77", {},
                      salutation_kind(record))
    out = tmp_path / "company.pdf"
    render_batch(BatchJob(example, [piece]), out)
    text = texts(out)[0]
    assert "mbH & Co. KG" in text and "…" not in text.split("Sehr geehrte")[0]
    assert address_lines(record)[:2] != [LONG_COMPANY]  # the record path wraps as well


def test_address_cut_only_as_last_resort_names_the_piece(example: Campaign,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    lay = LetterLayout(example)
    full = ("Frau Anna Müller", "Abteilung Einkauf", LONG_COMPANY + " " + LONG_COMPANY, "Zusatz",
            "Industriestraße 7", "50667 Köln")
    block = lay.address_block(full, "piece 7K3M-9QXP-2W4H (customer id K-77)")
    assert len(block) == 6 and lay.truncated == 1 and block[2].text.endswith("…")
    assert "customer id K-77" in caplog.text and "Lagerhaltung" not in caplog.text


@pytest.mark.parametrize(("salutation", "expected"), [
    ("female", "Als langjährige Kundin erhalten Sie"),
    ("male", "Als langjähriger Kunde erhalten Sie"),
    ("none", "Als langjährige Kundin oder langjähriger Kunde erhalten Sie"),
    ("company", "Als langjähriger Kunde erhalten Sie"),
])
def test_salutation_aware_words(example: Campaign, salutation: str, expected: str) -> None:
    camp = dataclasses.replace(example, variants=tuple(
        dataclasses.replace(v, body="Als {langjähriger_Kunde} erhalten Sie 20 % Rabatt, liebe {Kunde}.")
        for v in example.variants))
    lay = LetterLayout(camp)
    piece = dataclasses.replace(sample_pieces([new_code()], camp)[0], salutation=salutation)
    body = " ".join(t.text for t in lay.page_model(piece).texts() if t.role == "body")
    assert expected in body


def test_salutation_kind_from_the_record() -> None:
    assert salutation_kind({"salutation": "female", "last_name": "Müller"}) == "female"
    assert salutation_kind({"salutation": "male", "company": "X GmbH", "last_name": "Meyer"}) == "male"
    assert salutation_kind({"salutation": "company", "company": "X GmbH"}) == "company"
    assert salutation_kind({"salutation": "none", "first_name": "Alex", "last_name": "Meyer"}) == "none"


INFOPACK_WITHOUT_INFO = """
[letters.infopack]
subject = "Ihr Informationsmaterial"
body = "anbei unser Katalog."
options = ["call", "optout"]
ps = "Rufen Sie uns an: 0221 123456-0."
"""


def test_infopack_letter_coupon_does_not_offer_info_again(tmp_path: Path) -> None:
    text = example_campaign_path().read_text(encoding="utf-8")
    start = text.index("[letters.infopack]")
    end = text.index("[letters.reminder]")
    camp = parse_campaign(text[:start] + INFOPACK_WITHOUT_INFO + "\n" + text[end:])
    assert camp.letters["infopack"].options == ("call", "optout")
    out = tmp_path / "infopack.pdf"
    render_batch(BatchJob(camp, sample_pieces([new_code()], camp), letter="infopack"), out)
    page = texts(out)[0]
    assert "Bitte rufen Sie mich an." in page and "keine Werbung" in page
    assert "Informationsmaterial." not in page
    assert "P.S. Rufen Sie uns an" in page
    lay = LetterLayout(camp, "infopack")
    boxes = [e for e in lay.static if isinstance(e, Rect) and e.role == "checkbox"]
    assert len(boxes) == 2  # slot 1 (info) stays empty, so slots still map to the same option keys


def test_campaign_assets_resolve_against_the_campaign_file_and_are_read(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_bytes(SVG_LOGO)
    text = example_campaign_path().read_text(encoding="utf-8").replace(
        'signature_title = "Kundenservice"', 'signature_title = "Kundenservice"\nlogo = "logo.svg"').replace(
        'typeface = "carlito"', 'typeface = "dejavu"').replace(
        'ps = "Der Rabatt gilt nur bis zum 30. April."', 'ps = "Gilt bis 30. April."')
    f = tmp_path / "campaign.toml"
    f.write_text(text, encoding="utf-8")
    camp = read_assets(load_campaign(f))
    assert camp.assets.logo == str(tmp_path / "logo.svg") and camp.assets.bytes_of("logo") == SVG_LOGO
    assert camp.typeface == "dejavu" and camp.ps == "Gilt bis 30. April."
    (tmp_path / "logo.svg").unlink()
    with pytest.raises(Exception, match="logo: cannot read"):
        read_assets(load_campaign(f))
    assert isinstance(Assets().paths(), dict)


def test_bold_stretch_keeps_the_spaces_around_it() -> None:
    """Bug: "bis zum 30. April **20 % Rabatt** auf" printed "April20 % Rabatt"."""
    from layouts.letter import rich_words

    words = rich_words("bis zum 30. April **20 % Rabatt** auf **Möbel**-Sets")
    assert [w for w in words if w[2]] == [("-Sets", False, True)]
    assert ("20", True, False) in words and ("auf", False, False) in words


def test_bold_run_is_set_one_space_after_the_regular_text(example: Campaign) -> None:
    lay = LetterLayout(example)
    texts_ = lay.line_texts(0.0, [("April", False, False), ("20", True, False), ("%", True, False)], "body")
    assert texts_[0].text == "April" and texts_[1].text == "20 %"
    gap = texts_[1].x_mm - (texts_[0].x_mm + texts_[0].width_mm)
    assert gap == pytest.approx(lay.body_wrap.space)


def logo_pdf() -> bytes:
    fonts.register_fonts()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(120, 40), invariant=1, initialFontName=fonts.REGULAR)
    c.setFillColorCMYK(0, 0, 0, 1)
    c.rect(0, 0, 120, 40, stroke=0, fill=1)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["svg", "png", "pdf"])
def test_logo_in_every_format_prints_in_the_letterhead(example: Campaign, tmp_path: Path, kind: str) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    data = {"svg": SVG_LOGO, "png": png(300, 100), "pdf": logo_pdf()}[kind]
    if kind == "png":  # a solid bar, so the rasterised logo box has dark pixels to find
        img = PILImage.new("RGB", (300, 100), (0, 90, 40))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        data = buf.getvalue()
    camp = with_assets(example, logo=data)
    out = tmp_path / f"logo-{kind}.pdf"
    render_batch(BatchJob(camp, sample_pieces([new_code()], camp)), out)
    box = next(e for e in LetterLayout(camp).static if isinstance(e, Image)).rect
    pdf = pdfium.PdfDocument(str(out))
    page = np.asarray(pdf[0].render(scale=150 / 72, grayscale=True).to_pil())
    pdf.close()
    px = 150 / 25.4
    inside = page[int(box.y_mm * px) + 2:int(box.bottom_mm * px) - 2, int(box.x_mm * px) + 2:int(box.right_mm * px) - 2]
    assert (inside < 160).mean() > 0.2
    from mailing.preflight import _has_rgb

    reader = PdfReader(out)
    forms = reader.pages[0]["/Resources"]["/XObject"]
    for ref in forms.values():
        assert not _has_rgb(ref.get_object().get_data())  # printed as black only


def test_campaign_add_names_a_missing_logo_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mailing.cli import main

    text = example_campaign_path().read_text(encoding="utf-8").replace('# logo = "logo.svg" ', 'logo = "fehlt.svg"')
    f = tmp_path / "campaign.toml"
    f.write_text(text, encoding="utf-8")
    assert main(["--db", str(tmp_path / "m.db"), "campaign", "add", str(f)]) == 1
    err = capsys.readouterr().err
    assert "logo: cannot read" in err and "fehlt.svg" in err and "Traceback" not in err


def test_shorter_variant_gets_the_same_page_count(example: Campaign, tmp_path: Path) -> None:
    long_body = "\n\n".join(f"Absatz {i} mit etwas mehr Text, damit der Brief auf eine zweite Seite läuft und "
                            "die Folgeseite ihren Kopf bekommt." for i in range(16))
    camp = dataclasses.replace(example, variants=(dataclasses.replace(example.variants[0], body=long_body),
                                                  example.variants[1]))
    out = tmp_path / "mixed.pdf"
    res = render_batch(BatchJob(camp, sample_pieces([new_code(), new_code()], camp)), out)
    assert res.pages_per_piece == 2 and res.pages == 4 and res.first_pages == [1, 3]
    pages = texts(out)
    assert "Seite 2 von 2" in pages[3] and "Absatz" not in pages[3]  # variant B: the header only
