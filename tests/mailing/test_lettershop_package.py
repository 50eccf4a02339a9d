"""Issue 12, the lettershop package: marks checked by preflight, the job ticket and docket, one package module.

Each test is named after a finding; packages are produced for real and read back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from recipients_helper import add_recipients
from sqlalchemy import select

from mailing import package
from mailing.campaigns import load, register_campaign
from mailing.jobticket import postage
from mailing.preflight import preflight
from mailing.production import produce
from mailing.store import Store, recipients, waves
from mailing.waves import plan_wave


def _campaign(store: Store, campaign_file: Path, *, inserter: str = "none", batch_size: int = 4,
              extra: str = "") -> str:
    text = campaign_file.read_text(encoding="utf-8").replace("batch_size = 5000", f"batch_size = {batch_size}")
    text = text.replace('inserter = "none"', f'inserter = "{inserter}"', 1) + extra
    campaign_file.write_text(text, encoding="utf-8")
    c, _ = register_campaign(store, campaign_file)
    add_recipients(store, c.name, 9)
    return c.name


def _ticket(out: Path, wave: int = 1) -> dict:
    return json.loads((out / package.ticket_name(wave)).read_text(encoding="utf-8"))


def _swap_first_two_pages(path: Path) -> None:
    reader = PdfReader(path)
    writer = PdfWriter()
    order = [1, 0, *range(2, len(reader.pages))]
    for i in order:
        writer.add_page(reader.pages[i])
    writer.add_metadata(dict(reader.metadata))
    with path.open("wb") as fh:
        writer.write(fh)


@pytest.mark.parametrize("kind", ["omr", "datamatrix"])
def test_nothing_let_the_inserter_check_the_sheets_now_preflight_reads_every_mark(
        store: Store, campaign_file: Path, tmp_path: Path, kind: str) -> None:
    name = _campaign(store, campaign_file, inserter=kind)
    out = tmp_path / "druck"
    produce(store, name, out)
    assert preflight(out) == []
    t = _ticket(out)
    assert t["enclosing"]["inserter_marks"]["kind"] == kind
    # a lettershop (or a merge tool) puts sheet 2 before sheet 1: the marks no longer fit their place
    _swap_first_two_pages(out / "welle-01-teil-001.pdf")
    problems = preflight(out)
    wanted = "OMR sequence 1, expected 0" if kind == "omr" else "DataMatrix says wave 1, file 1, piece 2"
    assert any(wanted in p and "welle-01-teil-001.pdf, page 1" in p for p in problems), problems


def test_preflight_flags_a_print_file_that_is_not_pdfx(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    name = _campaign(store, campaign_file)
    out = tmp_path / "druck"
    produce(store, name, out)
    path = out / "welle-01-teil-002.pdf"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"/GTS_PDFXConformance (PDF/X-1a:2001)", b"/GTS_PDFXConformance (PDF/X-1a:2003)")
                     .replace(b"/TrimBox", b"/ArtBox "[:8]))
    problems = preflight(out)
    assert any("welle-01-teil-002.pdf: /GTS_PDFXConformance" in p for p in problems)
    assert any("welle-01-teil-002.pdf, page 1: no TrimBox" in p for p in problems)


def _tags(path: Path) -> dict[str, str]:
    """Font name → subset tag, from the first page's fonts."""
    fonts = PdfReader(path).pages[0]["/Resources"]["/Font"].values()
    return {str(f["/BaseFont"])[8:]: str(f["/BaseFont"])[1:7] for f in fonts}


def test_preflight_flags_subset_tags_shared_between_files(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    name = _campaign(store, campaign_file)
    out = tmp_path / "druck"
    produce(store, name, out)
    one, two = out / "welle-01-teil-001.pdf", out / "welle-01-teil-002.pdf"
    font, tag = next(iter(_tags(one).items()))
    assert _tags(two)[font] != tag
    two.write_bytes(two.read_bytes().replace(_tags(two)[font].encode(), tag.encode()))  # as a merge tool might
    assert any(f"font subset tag {tag} also used in welle-01-teil-001.pdf" in p for p in preflight(out))


def test_ticket_named_no_paper_fold_inserts_or_postal_product_now_it_does(
        store: Store, campaign_file: Path, tmp_path: Path) -> None:
    name = _campaign(store, campaign_file, inserter="omr")
    out = tmp_path / "druck"
    produce(store, name, out)
    t = _ticket(out)
    assert t["ticket_version"] == 2 and package.ticket_problems(t, "x") == []
    assert set(t) == set(package.TICKET_KEYS) | set(package.TICKET_KEYS_V2)  # the schema lives in one module
    assert t["sheets"] == 9
    assert t["print"]["paper_gsm"] == 80 and t["print"]["duplex"] is False and t["print"]["pdf"] == "PDF/X-1a:2001"
    assert t["finishing"]["fold"].startswith("Z-Falz") and "105 und 210 mm" in t["finishing"]["fold"]
    assert t["finishing"]["perforation"]["y_mm"] == 198.0
    assert t["enclosing"]["envelope"]["name"] == "DL" and t["enclosing"]["inserts"] == []
    assert [b["sheets"] for b in t["enclosing"]["sheets_per_batch"]] == [4, 4, 1]
    assert t["postage"]["service"] == "DIALOGPOST Standard" and t["postage"]["weight_class"] == "bis 20 g"
    assert t["postage"]["weight_g"] == pytest.approx(4.99 + 4.5, abs=0.05)
    text = (out / "welle-01-auftrag.txt").read_text(encoding="utf-8")
    assert "Perforation: Querperforation 198 mm" in text and "OMR-Striche" in text
    docket = PdfReader(out / package.docket_name(1))
    assert len(docket.pages) == 1
    words = docket.pages[0].extract_text()
    assert "Laufzettel" in words and "DIALOGPOST Standard" in words and "Querperforation" in words


def test_info_pack_ticket_said_fensterumschlag_dl_now_names_its_envelope_and_catalogue(
        store: Store, campaign_file: Path, tmp_path: Path) -> None:
    name = _campaign(store, campaign_file)
    produce(store, name, tmp_path / "w1")
    with store.begin() as conn:
        cid, c = load(conn, name)
        ids = [r[0] for r in conn.execute(select(recipients.c.id).limit(3))]
        plan_wave(conn, cid, c, kind="letter:infopack", recipient_ids=ids, letter="infopack", rule="info-pack")
    out = tmp_path / "w2"
    produce(store, name, out)
    t = _ticket(out, 2)
    assert t["enclosing"]["envelope"]["name"] == "C4" and t["finishing"]["fold"] == "ungefalzt"
    assert t["enclosing"]["inserts"] == [{"name": "Katalog Gartenmöbel 2026 (A4, 32 Seiten)", "weight_g": 110.0}]
    assert t["postage"]["service"] == "DIALOGPOST Groß" and t["postage"]["weight_class"] == "bis 250 g"
    text = (out / "welle-02-auftrag.txt").read_text(encoding="utf-8")
    assert "Fensterumschlag C4" in text and "Fensterumschlag DL" not in text and "Katalog Gartenmöbel" in text
    docket = PdfReader(out / package.docket_name(2)).pages[0].extract_text()
    assert "C4 mit Fenster, 229 × 324 mm, 17,1 g" in docket and "Katalog Gartenmöbel" in docket
    assert preflight(out) == []


def test_preflight_names_what_a_job_ticket_lacks(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    name = _campaign(store, campaign_file)
    out = tmp_path / "druck"
    produce(store, name, out)
    path = out / package.ticket_name(1)
    t = json.loads(path.read_text(encoding="utf-8"))
    del t["postage"], t["files"][0]["sha256"]
    path.write_text(json.dumps(t), encoding="utf-8")
    problems = preflight(out)
    assert "welle-01-auftrag.json: job ticket lacks postage; run `mailing produce` again" in problems
    assert "welle-01-auftrag.json: files[0] lacks sha256" in problems


def test_weight_classes_follow_deutsche_post_bands() -> None:
    assert postage("dialogpost", True, 20.0)["weight_class"] == "bis 20 g"
    assert postage("dialogpost", True, 20.04)["weight_class"] == "bis 20 g"  # rounded to 0.1 g
    assert postage("dialogpost", True, 20.2)["weight_class"] == "21 bis 50 g"
    assert postage("dialogpost", True, 51)["service"] == "DIALOGPOST Groß"
    assert postage("brief", True, 19)["service"] == "Standardbrief"
    assert postage("brief", True, 45)["service"] == "Kompaktbrief"
    assert postage("brief", False, 45)["service"] == "Großbrief"
    from mailing.errors import MailingError

    with pytest.raises(MailingError, match="1,000 g"):
        postage("brief", False, 1200)


def test_reprint_keeps_pdf_creation_date_of_the_wave(store: Store, campaign_file: Path, tmp_path: Path) -> None:
    name = _campaign(store, campaign_file, inserter="datamatrix")
    produce(store, name, tmp_path / "a")
    produce(store, name, tmp_path / "b", wave=1, reprint=True)
    with store.connect() as conn:
        produced = conn.execute(select(waves.c.produced_at)).scalar_one()
    for folder in ("a", "b"):
        info = PdfReader(tmp_path / folder / "welle-01-teil-001.pdf").metadata
        assert info["/CreationDate"] == produced.strftime("D:%Y%m%d%H%M%S+00'00'")
    for p in (tmp_path / "a").iterdir():
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes()


def test_preflight_repeated_the_package_names_now_reads_them_from_the_package_module() -> None:
    import inspect

    from mailing import preflight as pf

    source = inspect.getsource(pf)
    for literal in ("auftrag.json", "manifest.csv", "welle-*"):
        assert literal not in source.replace("welle-NN-auftrag.json", "")
    assert package.parse_pdf_title(package.pdf_title("k", 2, 3, "Titel – mit Strich")) == ("k", 2, 3)
    assert package.parse_pdf_title("alt-kampagne – Welle 1 – Datei 4") == ("alt-kampagne", 1, 4)


def test_cli_layout_lists_the_inserter_box_and_preflight_names_a_swapped_sheet(
        store: Store, campaign_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mailing.cli import main

    name = _campaign(store, campaign_file, inserter="datamatrix")
    db = store.url.removeprefix("sqlite:///")
    assert main(["--db", db, "layout", name, "--json"]) == 0
    box = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["inserter"]
    assert box["kind"] == "datamatrix" and box["x_mm"] == 194.0 and box["page"] == 1
    out = tmp_path / "druck"
    assert main(["--db", db, "produce", name, "--out", str(out)]) == 0
    assert "docket: " in capsys.readouterr().out
    _swap_first_two_pages(out / "welle-01-teil-002.pdf")
    assert main(["--db", db, "preflight", str(out)]) == 1
    err = capsys.readouterr()
    assert "welle-01-teil-002.pdf, page 2 (manifest row 7): DataMatrix says wave 1, file 2, piece 1" in err.out + err.err
    assert "Traceback" not in err.out + err.err


@pytest.mark.parametrize(("line", "message"), [
    ('envelope = "B4"', "letters.infopack.envelope: 'B4' is not allowed; use one of DL, C6/5, C5, C4"),
    ('inserts = [{ name = "Katalog" }]', "letters.infopack.inserts: insert 1 (Katalog): weight_g is required"),
    ('inserts = "Katalog"', "letters.infopack.inserts: must be a list"),
])
def test_bad_envelope_or_inserts_in_the_campaign_file_is_one_line_naming_the_key(line: str, message: str) -> None:
    from mailing.config import ConfigError, example_campaign_path, parse_campaign

    text = example_campaign_path().read_text(encoding="utf-8").replace('envelope = "C4"', line, 1)
    text = text.replace('inserts = [{ name = "Katalog Gartenmöbel 2026 (A4, 32 Seiten)", weight_g = 110 }]\n', "", 1) \
        if line.startswith("inserts") else text
    with pytest.raises(ConfigError) as exc:
        parse_campaign(text)
    line_no = next(i for i, t in enumerate(text.splitlines(), start=1) if t.startswith(line))
    assert f"line {line_no}: {message}" in str(exc.value) and "\n" not in str(exc.value)
