"""Every returned page accounted (issue 9, item 4): nothing in one page or file stops a run, nothing is
skipped without a word, files are recognised by content, no page limit, a big PDF is parsed once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import qrcode
from PIL import Image

from scanning import intake
from scanning.pipeline import read_files
from tests.scanning.drawn import code_from, draw_coupon

VCARD = ("BEGIN:VCARD\nVERSION:3.0\nN:Mustermann;Max\nFN:Max Mustermann\nORG:Beispiel GmbH\n"
         "TEL;TYPE=WORK:+49 30 1234567\nEMAIL:max.mustermann@beispiel.de\n"
         "ADR;TYPE=WORK:;;Musterstrasse 1;Berlin;;10115;Germany\nURL:https://www.beispiel.de\n"
         "NOTE:" + "Visitenkarte " * 12 + "\nEND:VCARD")


def mailing(*args: object, db: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, with a strict UTF-8 stdout like a terminal's."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    return subprocess.run([sys.executable, "-c", "import sys; from mailing.cli import main; sys.exit(main())",
                           "--db", str(db), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env, errors="backslashreplace")


def vcard_png(path: Path) -> Path:
    qr = qrcode.QRCode(version=None, box_size=6, border=4)
    qr.add_data(VCARD)
    qr.make(fit=True)
    assert qr.version >= 11
    qr.make_image().convert("L").save(path, dpi=(200, 200))
    return path


@pytest.fixture
def coupon() -> tuple[str, np.ndarray]:
    code = code_from(3)
    return code, draw_coupon(code, 200)


def test_vcard_qr_code_of_version_11_plus_is_invalid_not_keyerror(tmp_path: Path, coupon) -> None:
    """Finding: a business card's QR code (version >= 11) ended the whole scan with `KeyError: 12`."""
    vcard_png(tmp_path / "a-card.png")
    Image.fromarray(coupon[1]).save(tmp_path / "b-after.png", dpi=(200, 200))
    res = mailing("scan", tmp_path, "--json", "--jobs", "1", db=tmp_path / "m.db")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [(Path(ln["source"]).name, ln["status"]) for ln in lines] == [("a-card.png", "invalid"),
                                                                         ("b-after.png", "unknown")]
    assert lines[0]["reason"].startswith("foreign QR code") and "oversized" in lines[0]["reason"]
    assert lines[0]["code"] is None, "nothing of a business card is kept"
    assert "Traceback" not in res.stderr


def test_foreign_small_qr_code_is_invalid_with_reason(tmp_path: Path) -> None:
    img = qrcode.make("https://shop.example/p?id=5").convert("L")
    img.save(tmp_path / "shop.png", dpi=(200, 200))
    (r,) = list(read_files([str(tmp_path / "shop.png")]))
    (c,) = r.coupons
    assert c.reason == "foreign QR code (not a response code)" and c.code is None


def test_file_name_that_is_not_utf8_is_scanned_and_printed(tmp_path: Path, coupon) -> None:
    """Finding: a Latin-1 file name ended the scan with UnicodeEncodeError."""
    folder = tmp_path / "post"
    folder.mkdir()
    name = os.fsdecode(b"M\xfcller-R\xfcckl\xe4ufer.png")
    Image.fromarray(coupon[1]).save(os.path.join(folder, name), format="PNG", dpi=(200, 200))
    res = mailing("scan", folder, "--json", "--jobs", "1", db=tmp_path / "m.db")
    assert res.returncode == 0, res.stderr
    (line,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert line["source"].endswith("M\\xfcller-R\\xfcckl\\xe4ufer.png") and line["status"] == "unknown"
    again = mailing("scan", os.path.join(folder, name), "--json", "--jobs", "1", db=tmp_path / "m.db")
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "unknown"


def test_pages_after_the_2000th_are_read(tmp_path: Path) -> None:
    """Finding: pages after the 2,000th of a file were dropped without a word."""
    im = Image.new("L", (64, 64), 255)
    im.save(tmp_path / "big.pdf", save_all=True, append_images=[im] * 2004, resolution=72)
    assert intake.count_pages(str(tmp_path / "big.pdf")) == 2005
    readings = list(read_files([str(tmp_path / "big.pdf")]))
    assert [r.page for r in readings] == list(range(1, 2006))


def test_big_pdf_is_parsed_once_not_once_per_chunk(tmp_path: Path) -> None:
    """Finding: a 20,000-page PDF was parsed again for every chunk of 8 pages (953 s)."""
    im = Image.new("L", (64, 64), 255)
    im.save(tmp_path / "stack.pdf", save_all=True, append_images=[im] * 59, resolution=72)
    before = intake.PDF_PARSES[0]
    with ThreadPoolExecutor(max_workers=1) as pool:  # the chunked path, in this process so it can be counted
        readings = list(read_files([str(tmp_path / "stack.pdf")], jobs=2, executor=pool))
    assert len(readings) == 60
    assert intake.PDF_PARSES[0] - before == 1


def test_files_recognised_by_content_not_extension(tmp_path: Path, coupon) -> None:
    """Finding: `.jfif`, extension-less and `.heic` files in a folder were skipped silently."""
    code, img = coupon
    Image.fromarray(img).save(tmp_path / "a-phone.jfif", format="JPEG", dpi=(200, 200))
    Image.fromarray(img).save(tmp_path / "b-scan0001", format="PNG", dpi=(200, 200))
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
    (tmp_path / "c-IMG_0001.HEIC").write_bytes(heic)
    readings = {Path(r.source).name: r for r in read_files([str(tmp_path)])}
    assert sorted(readings) == ["a-phone.jfif", "b-scan0001", "c-IMG_0001.HEIC"]
    assert [c.code for c in readings["a-phone.jfif"].coupons] == [code]
    assert [c.code for c in readings["b-scan0001"].coupons] == [code]
    heic_reason = readings["c-IMG_0001.HEIC"].reason or ""
    assert "HEIC" in heic_reason and "JPEG" in heic_reason


def test_skipped_paths_are_named_and_a_fifo_never_hangs(tmp_path: Path, coupon) -> None:
    """Finding: a FIFO in a folder hung the scan; a non-image was skipped without a word."""
    folder = tmp_path / "post"
    folder.mkdir()
    Image.fromarray(coupon[1]).save(folder / "a.png", dpi=(200, 200))
    (folder / "notes.txt").write_text("Ablage: Rückläufer März\n", encoding="utf-8")
    os.mkfifo(folder / "pipe")
    os.mkfifo(tmp_path / "given-pipe")
    res = mailing("scan", folder, tmp_path / "given-pipe", "/dev/null", "--json", "--jobs", "1",
                  db=tmp_path / "m.db", timeout=60)
    assert res.returncode == 0, res.stderr
    assert [json.loads(x)["status"] for x in res.stdout.splitlines()] == ["unknown"]
    skipped = [x for x in res.stderr.splitlines() if "skipped" in x]
    assert len(skipped) == 4, res.stderr
    assert any("notes.txt" in x and "not an image or PDF" in x for x in skipped)
    assert any(x.startswith(str(folder / "pipe")) and "FIFO" in x for x in skipped)
    assert any("given-pipe" in x and "FIFO" in x for x in skipped)
    assert any("/dev/null" in x and "device" in x for x in skipped)


def test_an_exception_in_one_page_is_that_pages_outcome(tmp_path: Path, coupon) -> None:
    from scanning.pipeline import read_page

    # a page of an impossible shape for the decoders: an outcome, never an exception
    r = read_page("odd", 1, np.zeros((40, 100000), np.uint8), 200)
    assert r.coupons == () and r.reason


def test_a_file_that_breaks_half_way_gives_each_page_one_outcome(tmp_path: Path) -> None:
    import io

    ims = [Image.new("L", (300, 300), 255) for _ in range(4)]
    buf = io.BytesIO()
    ims[0].save(buf, format="TIFF", save_all=True, append_images=ims[1:])
    data = buf.getvalue()
    (tmp_path / "cut.tif").write_bytes(data[:int(len(data) * 0.6)])
    pages = [r.page for r in read_files([str(tmp_path / "cut.tif")])]
    assert pages == sorted(set(pages)) and pages[0] == 1 and len(pages) >= 3, "no page twice, none lost before the break"
