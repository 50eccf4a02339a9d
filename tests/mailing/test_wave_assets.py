"""Logo, signature and enclosure files of a wave (issue 12): read at the first production, their SHA-256
kept with the wave, so a reprint is byte-identical or refused."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from recipients_helper import add_recipients

from mailing.campaigns import register_campaign
from mailing.errors import MailingError
from mailing.preflight import preflight
from mailing.production import produce
from mailing.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layouts"))
from test_marketing_letter import SVG_LOGO, enclosure_pdf, png  # noqa: E402


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def camp(store: Store, tmp_path: Path) -> tuple[str, Path]:
    from mailing.config import example_campaign_path

    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "logo.svg").write_bytes(SVG_LOGO)
    (folder / "unterschrift.png").write_bytes(png(300, 100))
    (folder / "beilage.pdf").write_bytes(enclosure_pdf(1))
    text = example_campaign_path().read_text(encoding="utf-8").replace(
        'signature_title = "Kundenservice"', 'signature_title = "Kundenservice"\nlogo = "logo.svg"\n'
        'signature_image = "unterschrift.png"\nenclosure = "beilage.pdf"').replace(
        'name = "fruehjahr-2026"', 'name = "assets"').replace("batch_size = 5000", "batch_size = 4")
    path = folder / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    register_campaign(store, path)
    add_recipients(store, "assets", 6)
    return "assets", folder


def test_wave_with_logo_signature_and_enclosure_passes_preflight_and_reprints_byte_identical(
        store: Store, camp: tuple[str, Path], tmp_path: Path) -> None:
    name, folder = camp
    res = produce(store, name, tmp_path / "druck")
    problems = preflight(tmp_path / "druck")
    assert problems == [], "\n".join(problems)
    pages = [PdfReader(f) for f in res.files]
    assert sum(len(r.pages) for r in pages) == 6 * 2  # letter + one enclosure page each
    assert "Beilage Seite 1" in pages[0].pages[1].extract_text()
    original = {k: v for k, v in _files(tmp_path / "druck").items() if k.endswith(".pdf")}
    produce(store, name, tmp_path / "nachdruck", wave=1, reprint=True)
    assert {k: v for k, v in _files(tmp_path / "nachdruck").items() if k.endswith(".pdf")} == original


def test_reprint_refuses_when_the_logo_file_changed(store: Store, camp: tuple[str, Path], tmp_path: Path) -> None:
    name, folder = camp
    produce(store, name, tmp_path / "druck")
    (folder / "logo.svg").write_bytes(SVG_LOGO.replace(b"circle", b"ellipse rx=\"9\" ry=\"9\""))
    with pytest.raises(MailingError, match="another logo file"):
        produce(store, name, tmp_path / "nachdruck", wave=1, reprint=True)
    assert not (tmp_path / "nachdruck").exists()
    (folder / "logo.svg").write_bytes(SVG_LOGO)
    produce(store, name, tmp_path / "nachdruck", wave=1, reprint=True)
