"""The real PDF: read back with pypdf, rasterised with pypdfium2, QR codes decoded with zxing-cpp."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader

from layouts.render import render_sample_pdf
from mailing.codes import code_from_payload, new_code
from mailing.config import Layout, example_campaign_path, load_campaign
from mailing.preflight import _has_rgb


def decode_page(path: Path, index: int, dpi: int = 200) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    img = np.asarray(pdf[index].render(scale=dpi / 72, grayscale=True).to_pil())
    pdf.close()
    return [b.text for b in zxingcpp.read_barcodes(img) if b.valid]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    codes = [new_code() for _ in range(5)]
    path = tmp_path_factory.mktemp("render") / "sample.pdf"
    render_sample_pdf(path, codes)
    return path, codes


def test_text_names_and_salutations_in_extracted_text(sample: tuple[Path, list[str]]) -> None:
    path, codes = sample
    reader = PdfReader(path)
    assert len(reader.pages) == 5
    texts = [p.extract_text() for p in reader.pages]
    assert "Łukasz Wiśniewski" in texts[1] and "Sehr geehrter Herr Wiśniewski," in texts[1]
    assert "Ondřej Dvořák" in texts[2] and "Sehr geehrter Herr Professor Dvořák," in texts[2]
    assert "Zoë Ñúñez" in texts[3] and "Sehr geehrte Frau Ñúñez," in texts[3]
    assert "Sehr geehrte Frau Dr. Müller," in texts[0] and "Guten Tag, Alex Meyer," in texts[4]
    for text, code in zip(texts, codes, strict=True):
        assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in text
        assert "Art. 21" in text and "Widerspruch" in text
    assert "Berlin" in texts[1]  # variant B's {ort}


def test_fonts_embedded_and_no_rgb(sample: tuple[Path, list[str]]) -> None:
    path, _ = sample
    reader = PdfReader(path)
    fonts = {}
    for page in reader.pages:
        res = page["/Resources"].get_object()
        for ref in res.get("/XObject", {}).values():
            xo = ref.get_object()
            assert not _has_rgb(xo.get_data())
            fonts.update({k: v.get_object() for k, v in xo["/Resources"].get_object().get("/Font", {}).items()})
        fonts.update({k: v.get_object() for k, v in res.get("/Font", {}).items()})
        assert not _has_rgb(page.get_contents().get_data())
        assert re.search(rb"0 0 0 1 k", page.get_contents().get_data())
    assert fonts
    for f in fonts.values():
        assert "/FontFile2" in f["/FontDescriptor"].get_object(), f["/BaseFont"]
        assert "DejaVu" in f["/BaseFont"] or "Carlito" in f["/BaseFont"]  # the shipped fonts only


def test_every_qr_decodes_to_its_code(sample: tuple[Path, list[str]]) -> None:
    path, codes = sample
    for i, code in enumerate(codes):
        assert [code_from_payload(t) for t in decode_page(path, i)] == [code]


def test_duplex_back_gives_two_pages_per_piece_and_url_payload(tmp_path: Path) -> None:
    c = load_campaign(example_campaign_path())
    c = dataclasses.replace(c, layout=Layout(duplex_back=True, form="A", qr_ecc="Q"),
                            coupon=dataclasses.replace(c.coupon, response_url="https://gartenwelt-schneider.de/r"))
    codes = [new_code() for _ in range(3)]
    res = render_sample_pdf(tmp_path / "d.pdf", codes, c)
    assert res.pages == 6 and res.first_pages == [1, 3, 5] and res.pages_per_piece == 2
    reader = PdfReader(tmp_path / "d.pdf")
    assert "Entgelt zahlt Empfänger" in reader.pages[1].extract_text().replace("\n", " ")
    assert decode_page(tmp_path / "d.pdf", 2) == [f"HTTPS://GARTENWELT-SCHNEIDER.DE/R/{codes[1]}"]


def test_follow_up_letter_text_replaces_the_main_letter(tmp_path: Path) -> None:
    res = render_sample_pdf(tmp_path / "r.pdf", [new_code()], letter="reminder")
    text = PdfReader(res.path).pages[0].extract_text()
    assert "Erinnerung" in text and "Frühjahrsangebot: 20 %" not in text


def test_reproducible_bytes(tmp_path: Path) -> None:
    codes = [new_code() for _ in range(3)]
    a = render_sample_pdf(tmp_path / "a.pdf", codes)
    b = render_sample_pdf(tmp_path / "b.pdf", codes)
    assert a.sha256 == b.sha256
    assert not list(tmp_path.glob("*.part"))


def test_both_qr_encoders_give_symbols_that_decode_to_the_payload():
    from layouts.qr import qr_matrix, qr_matrix_qrcode
    from mailing.codes import qr_payload

    for payload in (new_code(), qr_payload(new_code(), "https://gartenwelt-schneider.de/r")):
        for matrix in (qr_matrix(payload, "M", 2 if len(payload) < 39 else 3),
                       qr_matrix_qrcode(payload, "M", 2 if len(payload) < 39 else 3)):
            img = np.pad(np.where(matrix, 0, 255).astype(np.uint8), 4, constant_values=255)
            img = np.kron(img, np.ones((6, 6), dtype=np.uint8))
            assert [b.text for b in zxingcpp.read_barcodes(img)] == [payload]
