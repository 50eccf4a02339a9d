"""Intake: every format a scanner or fax delivers, EXIF orientation, fax resolutions, broken and huge files."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scanning import intake
from scanning.pipeline import read_files, read_page
from tests.scanning.drawn import code_from, draw_coupon


@pytest.fixture(scope="module")
def coupon() -> tuple[str, np.ndarray]:
    code = code_from(3)
    return code, draw_coupon(code, 200)


def _read(path: Path) -> list:
    return list(read_files([str(path)]))


def test_png_jpeg_pdf_and_g4_tiff_pages_are_read(tmp_path: Path, coupon) -> None:
    code, img = coupon
    Image.fromarray(img).save(tmp_path / "a.png", dpi=(200, 200))
    Image.fromarray(img).save(tmp_path / "b.jpg", dpi=(200, 200), quality=60)
    pil = Image.fromarray(img)
    pil.save(tmp_path / "c.pdf", save_all=True, append_images=[pil, pil.convert("1")], resolution=200)
    g4 = pil.point(lambda v: 255 if v > 128 else 0).convert("1")
    g4.save(tmp_path / "d.tif", save_all=True, append_images=[g4, g4], compression="group4", dpi=(200, 200))
    readings = list(read_files([str(tmp_path)]))
    assert [(Path(r.source).name, r.page) for r in readings] == [
        ("a.png", 1), ("b.jpg", 1), ("c.pdf", 1), ("c.pdf", 2), ("c.pdf", 3), ("d.tif", 1), ("d.tif", 2), ("d.tif", 3)]
    for r in readings:
        assert [c.code for c in r.coupons] == [code], (r.source, r.page, r.reason)
        assert abs(r.dpi - 200) < 2


def test_scanner_pdf_image_is_taken_out_without_rendering(tmp_path: Path, coupon) -> None:
    _, img = coupon
    Image.fromarray(img).save(tmp_path / "s.pdf", resolution=200)
    page = next(intake.iter_pages([tmp_path / "s.pdf"]))
    assert page.image is not None and page.image.shape == img.shape
    assert np.abs(page.image.astype(int) - img.astype(int)).mean() < 3  # the JPEG in the PDF, not a re-render


def test_vector_pdf_page_is_rasterised(tmp_path: Path) -> None:
    from layouts.render import render_sample_pdf

    code = code_from(5)
    render_sample_pdf(tmp_path / "letter.pdf", [code])
    (r,) = _read(tmp_path / "letter.pdf")
    assert r.dpi == intake.RASTER_DPI
    assert [c.code for c in r.coupons] == [code]


def test_exif_orientation_is_honoured(tmp_path: Path, coupon) -> None:
    code, img = coupon
    turned = Image.fromarray(np.ascontiguousarray(np.rot90(img)))  # stored sideways, EXIF says turn back
    exif = Image.Exif()
    exif[0x0112] = 6
    turned.save(tmp_path / "phone.jpg", exif=exif, quality=90)
    page = next(intake.iter_pages([tmp_path / "phone.jpg"]))
    assert page.image is not None and page.image.shape[1] > page.image.shape[0]  # landscape again
    (r,) = _read(tmp_path / "phone.jpg")
    assert [c.code for c in r.coupons] == [code]


def test_standard_fax_resolution_becomes_square_pixels(tmp_path: Path, coupon) -> None:
    from tests.scanning.degrade import fax_raw

    code, img = coupon
    raw = fax_raw(img, 200)  # 204 x 98 dpi: half as many rows as columns per mm
    Image.fromarray(raw).convert("1").save(tmp_path / "fax.tif", compression="group4", dpi=(204, 98))
    page = next(intake.iter_pages([tmp_path / "fax.tif"]))
    assert page.image is not None and page.dpi == pytest.approx(204, abs=1)
    h, w = page.image.shape
    assert w / h == pytest.approx(img.shape[1] / img.shape[0], rel=0.03)
    (r,) = _read(tmp_path / "fax.tif")
    assert [c.code for c in r.coupons] == [code]


def test_broken_files_give_error_items_and_the_stack_goes_on(tmp_path: Path, coupon) -> None:
    code, img = coupon
    Image.fromarray(img).save(tmp_path / "1-good.png")
    (tmp_path / "2-truncated.png").write_bytes((tmp_path / "1-good.png").read_bytes()[:400])
    (tmp_path / "3-notes.txt.pdf").write_bytes(b"hello, not a pdf")
    (tmp_path / "4-empty.jpg").write_bytes(b"")
    (tmp_path / "5-garbage.tif").write_bytes(b"II*\x00" + b"\x07" * 100)
    Image.fromarray(img).save(tmp_path / "6-good.jpg")
    readings = list(read_files([str(tmp_path)]))
    by_name = {Path(r.source).name: r for r in readings}
    assert len(readings) == 6
    assert [c.code for c in by_name["1-good.png"].coupons] == [code]
    assert [c.code for c in by_name["6-good.jpg"].coupons] == [code]
    assert by_name["2-truncated.png"].reason in ("corrupt file", "corrupt page")
    assert by_name["3-notes.txt.pdf"].reason == "unsupported format"
    assert by_name["4-empty.jpg"].reason == "empty file"
    assert by_name["5-garbage.tif"].reason in ("corrupt file", "corrupt page", "unsupported format")
    assert by_name["3-notes.txt.pdf"].coupons == ()


def test_decompression_bomb_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # a tiny PNG that claims 20000 x 20000 pixels (400 MP): refused before decoding
    big = Image.new("1", (20000, 20000), 1)
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    (tmp_path / "bomb.png").write_bytes(buf.getvalue())
    (r,) = _read(tmp_path / "bomb.png")
    assert r.reason == "image too large" and r.coupons == ()


def test_blank_page_and_unreadable_page_are_told_apart(coupon) -> None:
    _, img = coupon
    blank = np.full((800, 1600), 235, np.uint8)
    assert read_page("b", 1, blank, 200).reason == "blank page"
    scrawl = img.copy()
    scrawl[350:520, 1150:1350] = 0  # the code blacked out
    cpu = time.thread_time()
    r = read_page("s", 1, scrawl, 200)
    assert r.coupons == () and r.reason == "no code found"
    assert time.thread_time() - cpu < 3.0  # the page's CPU budget (its wall time depends on the machine's load)


def test_same_pixels_same_hash_and_several_coupons_on_one_page(coupon) -> None:
    code, img = coupon
    other = code_from(9)
    page = np.vstack([img, np.full((60, img.shape[1]), 255, np.uint8), draw_coupon(other, 200)])
    r1, r2 = read_page("p", 1, page, 200), read_page("q", 1, page.copy(), 200)
    assert r1.image_hash == r2.image_hash and len(r1.image_hash) == 64
    assert sorted(c.code for c in r1.coupons) == sorted([code, other])
    assert all(c.registered and c.marks_found == 4 for c in r1.coupons)
