"""Issue 12, print production: PDF/X keys, subset tags and inserter marks on real rendered files.

Each test is named after a finding of the issue; the files are rendered by the real renderer and read back
with pypdf (keys) and pypdfium2 + zxing-cpp (marks).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from layouts import geometry as g
from layouts import inserter
from layouts.letter import LetterLayout, layout_json, window_regions
from layouts.render import BatchJob, render_batch, sample_pieces
from mailing.codes import new_code
from mailing.config import Campaign, ConfigError, example_campaign_path, load_campaign, parse_campaign

PRODUCED = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def example() -> Campaign:
    return load_campaign(example_campaign_path())


def with_inserter(c: Campaign, kind: str) -> Campaign:
    return dataclasses.replace(c, production=dataclasses.replace(c.production, inserter=kind))


def render(c: Campaign, path: Path, n: int = 3, *, batch: int = 1, wave: int = 1) -> Path:
    render_batch(BatchJob(c, sample_pieces([new_code() for _ in range(n)], c), wave=wave, batch=batch,
                          produced_at=PRODUCED), path)
    return path


def base_fonts(path: Path) -> set[str]:
    names = set()
    for page in PdfReader(path).pages:
        res = page["/Resources"]
        for f in res.get("/Font", {}).values():
            names.add(str(f.get_object()["/BaseFont"]))
        for xo in res.get("/XObject", {}).values():
            for f in xo.get_object().get("/Resources", {}).get("/Font", {}).values():
                names.add(str(f.get_object()["/BaseFont"]))
    return names


def test_print_file_was_pdf_1_3_without_output_intent_now_pdfx_1a(example: Campaign, tmp_path: Path) -> None:
    path = render(example, tmp_path / "a.pdf")
    reader = PdfReader(path)
    assert path.read_bytes().startswith(b"%PDF-1.3")
    info = reader.metadata
    assert info["/GTS_PDFXVersion"] == "PDF/X-1:2001" and info["/GTS_PDFXConformance"] == "PDF/X-1a:2001"
    assert info["/Trapped"] == "/False"
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert len(intents) == 1
    oi = intents[0].get_object()
    assert oi["/S"] == "/GTS_PDFX" and oi["/OutputConditionIdentifier"] == "FOGRA39"
    assert oi["/RegistryName"] == "http://www.color.org"
    ids = reader.trailer["/ID"]
    assert len(ids) == 2 and len(bytes(ids[0].original_bytes)) == 16


def test_no_trimbox_now_on_every_page_equal_to_the_sheet(example: Campaign, tmp_path: Path) -> None:
    c = dataclasses.replace(example, layout=dataclasses.replace(example.layout, duplex_back=True))
    reader = PdfReader(render(c, tmp_path / "d.pdf"))
    assert len(reader.pages) == 6
    for page in reader.pages:
        assert "/TrimBox" in page and "/BleedBox" not in page  # nothing bleeds
        assert [float(v) for v in page["/TrimBox"]] == [float(v) for v in page["/MediaBox"]]


def test_creation_date_2000_01_01_and_subject_unspecified_now_production_time_and_real_words(
        example: Campaign, tmp_path: Path) -> None:
    info = PdfReader(render(example, tmp_path / "a.pdf", batch=2, wave=3)).metadata
    assert info["/CreationDate"] == "D:20260302093015+00'00'" == info["/ModDate"]
    assert info["/Title"] == "Frühjahrsaktion 2026 – Welle 3 – Datei 2 (fruehjahr-2026)"
    assert info["/Subject"].startswith("Druckdaten Frühjahrsaktion 2026, Welle 3 (Hauptbrief), Datei 2: 3 Sendungen")
    assert "unspecified" not in str(dict(info))


def test_every_subset_tag_was_aaaaaa_now_differs_per_font_and_per_file(example: Campaign, tmp_path: Path) -> None:
    one = base_fonts(render(example, tmp_path / "1.pdf", batch=1))
    two = base_fonts(render(example, tmp_path / "2.pdf", batch=2))
    for names in (one, two):
        tags = [n[1:7] for n in names]
        assert len(names) == len(set(tags)) >= 3 and "AAAAAA" not in tags  # Carlito and DejaVu faces
        assert all(n[7] == "+" and n[1:7].isalpha() and n[1:7].isupper() for n in names)
    assert not {n[1:7] for n in one} & {n[1:7] for n in two}
    # ... and yet the same batch of the same production renders to the same bytes (reprints)
    again = render(example, tmp_path / "1b.pdf", batch=1)
    assert base_fonts(again) == one


def test_same_batch_renders_byte_identical_with_pdfx_and_marks(example: Campaign, tmp_path: Path) -> None:
    c = with_inserter(example, "datamatrix")
    pieces = sample_pieces([new_code() for _ in range(4)], c)
    a = render_batch(BatchJob(c, pieces, produced_at=PRODUCED), tmp_path / "a.pdf")
    b = render_batch(BatchJob(c, pieces, produced_at=PRODUCED), tmp_path / "b.pdf")
    assert a.sha256 == b.sha256


# ------------------------------------------------------------------------------------ inserter marks
def zone_images(path: Path) -> list[np.ndarray]:
    z, k = g.INSERTER_ZONE, g.PT_PER_MM
    crop = (z.x_mm * k, (g.PAGE_HEIGHT_MM - z.bottom_mm) * k, (g.PAGE_WIDTH_MM - z.right_mm) * k, z.y_mm * k)
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [np.asarray(pdf[i].render(scale=inserter.READ_DPI / 72, crop=crop, grayscale=True).to_pil())
                for i in range(len(pdf))]
    finally:
        pdf.close()


def test_no_inserter_control_now_omr_marks_read_back_in_sequence(example: Campaign, tmp_path: Path) -> None:
    c = with_inserter(example, "omr")
    prof = c.production.omr
    images = zone_images(render(c, tmp_path / "omr.pdf", n=10))
    z = g.INSERTER_ZONE
    seqs = []
    for n, img in enumerate(images, start=1):
        read = inserter.read_omr(prof, img, (z.x_mm, z.y_mm))
        sheet = inserter.Sheet(1, 1, n, 1, 1, n)
        assert inserter.omr_problems(prof, read, sheet) == []
        assert read["start"] and read["start_of_set"] and read["end_of_set"]
        assert sum(bool(v) for v in read.values()) % 2 == 0  # even parity
        seqs.append(inserter.omr_sequence(read))
    assert seqs == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    # sheets swapped: the sequence no longer fits the place
    read = inserter.read_omr(prof, images[2], (z.x_mm, z.y_mm))
    assert any("sequence 2, expected 1" in p for p in inserter.omr_problems(prof, read, inserter.Sheet(1, 1, 2, 1, 1, 2)))


def test_datamatrix_per_sheet_names_wave_file_piece_and_sheet(example: Campaign, tmp_path: Path) -> None:
    c = with_inserter(example, "datamatrix")
    images = zone_images(render(c, tmp_path / "dm.pdf", n=3, wave=2, batch=7))
    read = [inserter.read_datamatrix(img) for img in images]
    assert read == [["00200700000111"], ["00200700000211"], ["00200700000311"]]
    assert inserter.parse_datamatrix(read[1][0]) == (2, 7, 2, 1, 1)


def test_duplex_marks_only_on_the_front_of_each_sheet(example: Campaign, tmp_path: Path) -> None:
    c = with_inserter(dataclasses.replace(example, layout=dataclasses.replace(example.layout, duplex_back=True)),
                      "datamatrix")
    read = [inserter.read_datamatrix(img) for img in zone_images(render(c, tmp_path / "dx.pdf", n=2))]
    assert read == [["00100100000111"], [], ["00100100000211"], []]


@pytest.mark.parametrize("form", ["A", "B"])
@pytest.mark.parametrize("envelope", ["DL", "C6/5"])
def test_inserter_zone_stays_out_of_window_coupon_folds_and_text(example: Campaign, form: str, envelope: str) -> None:
    z = g.INSERTER_ZONE
    visible, _ = window_regions(form, envelope)
    assert not z.intersects(visible) and z.bottom_mm < g.COUPON_TOP_MM
    assert all(not (z.y_mm <= y <= z.bottom_mm) for y in g.FORM_FOLD_MARKS_MM[form])
    assert z.x_mm >= g.PAGE_WIDTH_MM - g.RIGHT_MARGIN_MM and z.right_mm <= g.PAGE_WIDTH_MM - 4.0
    c = dataclasses.replace(example, layout=dataclasses.replace(example.layout, form=form, envelope=envelope))
    lay = LetterLayout(c)
    model = lay.page_model(sample_pieces([new_code()], c)[0])
    assert not [e for e in model.elements if e.box.page == 1 and e.box.intersects(z)]
    prof = c.production.omr
    bars = [inserter.omr_bar(prof, i) for i in range(len(prof.tracks))]
    assert all(z.contains(b) for b in bars) and z.contains(inserter.datamatrix_box())


def test_layout_json_lists_the_inserter_zone(example: Campaign) -> None:
    data = layout_json(with_inserter(example, "omr"))
    zone = data["inserter"]
    assert {k: zone[k] for k in ("page", "x_mm", "y_mm", "width_mm", "height_mm")} == g.INSERTER_ZONE.as_json()
    assert zone["kind"] == "omr" and [m["track"] for m in zone["marks"]][:3] == ["start", "start_of_set", "end_of_set"]
    assert layout_json(example)["inserter"]["kind"] == "none" and layout_json(example)["inserter"]["marks"] == []
    assert layout_json(with_inserter(example, "datamatrix"))["inserter"]["marks"][0]["width_mm"] == 7.0


def test_omr_profile_outside_the_zone_is_a_config_error_with_its_line() -> None:
    text = example_campaign_path().read_text(encoding="utf-8").replace('inserter = "none"', 'inserter = "omr"', 1)
    text += "\n[production.omr]\nfirst_y_mm = 180.0\n"
    with pytest.raises(ConfigError, match="leave the inserter zone"):
        parse_campaign(text)
    bad = example_campaign_path().read_text(encoding="utf-8").replace('inserter = "none"', 'inserter = "barcode"', 1)
    with pytest.raises(ConfigError, match="use one of none, omr, datamatrix"):
        parse_campaign(bad)
