"""The response report, read back with openpyxl and compared with what the fixture put into the store."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select, update

from mailing.cli import main
from mailing.store import Store, pieces, responses, review_items, scans, suppression, waves
from mailing.testing.report_fixtures import Expected
from reports.response import SHEETS, write_response_report
from reports.stats import two_proportion_test, wilson_interval
from reports.xlsx import (
    FMT_DATE,
    FMT_DATETIME,
    FMT_DECIMAL,
    FMT_EURO,
    FMT_INT,
    FMT_P_VALUE,
    FMT_PERCENT,
    FMT_PERCENT_2,
    FONT_NAME,
    FONT_SIZE,
    HEADER_FILL,
    header_width,
    wrapped_lines,
)


def table(ws: Any, first_header: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The table whose header row starts with `first_header`: (header, rows until the first empty row)."""
    rows = list(ws.iter_rows(values_only=True))
    for i, row in enumerate(rows):
        if row and row[0] == first_header:
            body = []
            for r in rows[i + 1:]:
                if r is None or all(v is None for v in r):
                    break
                body.append(r)
            return [str(h) for h in row if h is not None], body
    raise AssertionError(f"no table starting with {first_header!r} in {ws.title}")


def as_dicts(ws: Any, first_header: str) -> list[dict[str, Any]]:
    header, body = table(ws, first_header)
    return [dict(zip(header, r, strict=False)) for r in body]


@pytest.fixture
def report(store: Store, built: Expected, tmp_path: Path) -> tuple[Any, Expected, Path]:
    path = tmp_path / "bericht.xlsx"
    summary = write_response_report(store, "fruehjahr-2026", path)
    assert summary.pieces_sent == built.total_sent
    assert summary.responses == built.total_responses
    return load_workbook(path), built, path


def test_sheets_in_order(report: tuple[Any, Expected, Path]) -> None:
    wb, _, _ = report
    assert tuple(wb.sheetnames) == SHEETS


def test_overview_figures(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, _ = report
    ws = wb["Übersicht"]
    kv = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and isinstance(r[0], str)}
    sent, resp = exp.total_sent, exp.total_responses
    assert kv["Versendete Sendungen"] == sent
    assert kv["Kontrollgruppe (kein Brief versendet)"] == sum(exp.control.values())
    assert kv["Unzustellbar (Rückläufer)"] == sum(exp.undeliverable.values())
    assert kv["Antworten"] == resp
    assert kv["Rücklaufquote (Antworten / versendet)"] == pytest.approx(resp / sent)
    assert kv["Doppelt eingesandt (nicht mitgezählt)"] == exp.duplicates
    assert kv["Offene Prüffälle"] == exp.review_open == 3
    per_piece = 0.12 + 0.38 + 0.05  # example campaign's [costs]
    assert kv["Kosten gesamt (Druck, Porto, Beilagen)"] == pytest.approx(sent * per_piece)
    assert kv["Kosten je Antwort"] == pytest.approx(sent * per_piece / resp)

    waves = {r["Welle"]: r for r in as_dicts(ws, "Welle")}
    for n in (1, 2):
        w = waves[f"Welle {n}"]
        assert w["Versendet"] == exp.sent[n]
        assert w["Kontrollgruppe"] == exp.control[n]
        assert w["Unzustellbar"] == exp.undeliverable[n]
        assert w["Antworten"] == exp.responses[n]
        assert w["Rücklaufquote"] == pytest.approx(exp.responses[n] / exp.sent[n])
        assert w["Versanddatum"].date() == exp.drop_dates[n]
    assert waves["Gesamt"]["Versendet"] == sent and waves["Gesamt"]["Antworten"] == resp

    options = {r["Option"]: r for r in as_dicts(ws, "Option")}
    assert options["Bitte senden Sie mir Informationsmaterial."]["Angekreuzt"] == exp.ticked["info"]
    assert options["Bitte rufen Sie mich an."]["Angekreuzt"] == exp.ticked["call"]
    assert options["Bitte rufen Sie mich an."]["Anteil an Antworten"] == pytest.approx(exp.ticked["call"] / resp)
    assert options["Bitte senden Sie mir keine Werbung mehr."]["Angekreuzt"] == exp.ticked["optout"]


def test_waves_sheet(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, _ = report
    rows = {r["Welle"]: r for r in as_dicts(wb["Wellen"], "Welle")}
    assert set(rows) == {1, 2}
    assert rows[1]["Art"] == "Erstaussendung" and rows[2]["Art"] == "Erinnerung"
    for n in (1, 2):
        assert rows[n]["Versendet"] == exp.sent[n]
        assert rows[n]["Antworten"] == exp.responses[n]
        assert rows[n]["Zugestellt"] == exp.sent[n] - exp.undeliverable[n]
    assert rows[1]["Doppelt eingesandt"] + rows[2]["Doppelt eingesandt"] == exp.duplicates
    assert wb["Wellen"].freeze_panes == "A4"


def test_variants_with_interval_and_test_against_control(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, _ = report
    rows = as_dicts(wb["Varianten"], "Welle")
    by = {(r["Welle"], r["Gruppe"]): r for r in rows}
    control = (exp.variant_responses[(1, "control")], exp.variant_pieces[(1, "control")])
    for wave in (1, 2):
        for v in ("A", "B"):
            r = by[(wave, f"Variante {v}")]
            x, n = exp.variant_responses[(wave, v)], exp.variant_pieces[(wave, v)]
            assert (r["Stück"], r["Antworten"]) == (n, x)
            ci = wilson_interval(x, n)
            assert ci is not None
            assert r["95-%-KI von"] == pytest.approx(ci.low) and r["95-%-KI bis"] == pytest.approx(ci.high)
            assert r["95-%-KI von"] <= r["Rücklaufquote"] <= r["95-%-KI bis"]
    # wave 1 has a control group: both variants are tested against it
    for v in ("A", "B"):
        r = by[(1, f"Variante {v}")]
        t = two_proportion_test(exp.variant_responses[(1, v)], exp.variant_pieces[(1, v)], *control)
        assert t is not None
        assert r["Verglichen mit"] == "Kontrollgruppe"
        assert r["p-Wert"] == pytest.approx(t.p_value)
        assert r["Ergebnis"] == ("signifikant (p < 0,05)" if t.p_value < 0.05 else "nicht signifikant")
    assert by[(1, "Kontrollgruppe")]["Stück"] == control[1]
    # wave 2 has none: B against A
    r = by[(2, "Variante B")]
    assert r["Verglichen mit"] == "Variante A"
    assert r["Ergebnis"] in ("signifikant (p < 0,05)", "nicht signifikant")
    assert by[(2, "Variante A")]["Ergebnis"] == "Referenz"


def test_regions(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, _ = report
    rows = {r["Leitregion / Land"]: r for r in as_dicts(wb["Regionen"], "Leitregion / Land")}
    assert {k: r["Versendet"] for k, r in rows.items()} == dict(exp.region_sent)
    assert {k: r["Antworten"] for k, r in rows.items() if r["Antworten"]} == {
        k: v for k, v in exp.region_responses.items() if v}
    assert rows["AT"]["Bezeichnung"] == "Österreich"
    assert all(isinstance(k, str) for k in rows)  # "01" stays "01", never the number 1
    keys = list(rows)
    german = [k for k in keys if k.isdigit()]
    assert keys[:len(german)] == sorted(german)  # German Leitregionen first, in order, then countries


def test_timeline_counts_and_chart(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, path = report
    rows = as_dicts(wb["Verlauf"], "Datum")
    per_day = {r["Datum"].date(): r["Antworten gesamt"] for r in rows}
    assert {d: n for d, n in per_day.items() if n} == dict(exp.days)
    assert rows[0]["Datum"].date() == exp.drop_dates[1] and rows[0]["Tag seit Versand"] == 0
    assert rows[-1]["Kumuliert"] == exp.total_responses
    assert rows[-1]["Anteil kumuliert"] == pytest.approx(1.0)
    assert sum(r["Welle 2"] for r in rows) == exp.responses[2]
    assert wb["Verlauf"]["A4"].number_format == "DD.MM.YYYY"
    with zipfile.ZipFile(path) as z:  # openpyxl does not read charts back: look into the package
        rels = z.read("xl/worksheets/_rels/sheet5.xml.rels").decode()
        assert "drawing" in rels
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        assert b"<c:lineChart>" in z.read(charts[0]) or b"lineChart" in z.read(charts[0])


def test_options_sheet(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, _ = report
    rows = {r["Option"]: r for r in as_dicts(wb["Optionen"], "Option")}
    for key in ("info", "call", "optout"):
        assert rows[key]["Angekreuzt"] == exp.ticked[key]
        assert rows[key]["Unklar (in Prüfung)"] == exp.doubtful[key]
        assert rows[key]["Angekreuzt"] + rows[key]["Nicht angekreuzt"] + rows[key]["Unklar (in Prüfung)"] == \
            exp.total_responses
        assert rows[key]["Angekreuzt Variante A"] + rows[key]["Angekreuzt Variante B"] == exp.ticked[key]


def test_raw_responses_filter_freeze_dates_and_formula_names_stay_text(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, _ = report
    ws = wb["Antworten"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:")
    assert ws.column_dimensions["J"].width == 20
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == exp.total_responses + exp.variant_responses[(1, "control")]
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{len(rows) + 1}"
    col = {h: i for i, h in enumerate(header)}
    assert rows[0][col["Eingang"]].number_format == "DD.MM.YYYY"
    dates = [r[col["Eingang"]].value.date() for r in rows]
    assert dates == sorted(dates) and min(dates) >= exp.drop_dates[1]
    seen = set()
    for r in rows:
        for field in ("Vorname", "Nachname", "Firma", "Telefon", "E-Mail", "Kundennummer", "PLZ"):
            cell = r[col[field]]
            if cell.value is not None:
                assert cell.data_type == "s", (field, cell.value)
                seen.add(cell.value)
        assert r[col["info"]].value in ("ja", "nein", "unklar")
    # every formula-like name that answered is in the sheet, unchanged (the fixture's first recipients)
    names = {r[col["Nachname"]].value for r in rows} | {r[col["Vorname"]].value for r in rows}
    formula_like = {v for v in names if v and v[0] in "=+-@"}
    assert formula_like and formula_like <= set(exp.formula_names)
    assert any(v.startswith("+49 221") for v in seen)  # phone numbers: text, not a formula or number


def test_formula_names_stay_text_everywhere(report: tuple[Any, Expected, Path]) -> None:
    wb, _, _ = report
    found = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    found.add(cell.value)
    assert "=Widerspruch()" in found and "-Rückläufer" in found and '="scan"&"-fehler.pdf"' in found


def test_review_and_suppression_sheets(report: tuple[Any, Expected, Path]) -> None:
    wb, exp, _ = report
    review = as_dicts(wb["Prüfung"], "Nr.")
    assert len(review) == exp.review_open
    assert {r["Art"] for r in review} == {"nicht lesbar"}
    assert {r["Grund"] for r in review} == {"kein Code gefunden"}  # the scanner's "no code found", in German
    counts = {(r["Quelle"], r["Grund"]): r["Einträge"] for r in as_dicts(wb["Sperrliste"], "Quelle")
              if r["Quelle"] != "Gesamt"}
    assert counts == {("Antwortkarte", "Werbewiderspruch"): exp.suppression_by_source["scan"],
                      ("Rückläufer", "unzustellbar"): exp.suppression_by_source["returned-mail"]}
    entries = as_dicts(wb["Sperrliste"], "Eingetragen am")
    assert len(entries) == sum(exp.suppression_by_source.values())  # the Robinson import of no campaign is absent
    assert all(e["Bezug"] != "robinson.csv" for e in entries)


def test_empty_campaign_does_not_crash(store: Store, campaign: Any, tmp_path: Path) -> None:
    path = tmp_path / "leer.xlsx"
    summary = write_response_report(store, campaign.name, path)
    assert (summary.pieces_sent, summary.responses, summary.response_rate) == (0, 0, 0.0)
    assert summary.cost_per_response is None
    wb = load_workbook(path)
    assert tuple(wb.sheetnames) == SHEETS
    kv = {r[0]: r[1] for r in wb["Übersicht"].iter_rows(values_only=True) if r and isinstance(r[0], str)}
    assert kv["Antworten"] == 0 and kv["Rücklaufquote (Antworten / versendet)"] == "–"
    assert any(r[0] == "Noch keine Antworten." for r in wb["Verlauf"].iter_rows(values_only=True))


def test_wave_without_responses_and_only_control(store: Store, campaign: Any, tmp_path: Path) -> None:
    from mailing.testing.report_fixtures import build_campaign

    build_campaign(store, campaign.name, n_pieces=40, n_responses=0, control_share=0.0, review_open=0)
    path = tmp_path / "null.xlsx"
    summary = write_response_report(store, campaign.name, path)
    assert summary.responses == 0 and summary.pieces_sent == 40
    rows = as_dicts(load_workbook(path)["Varianten"], "Welle")
    assert {r["Gruppe"] for r in rows} == {"Variante A", "Variante B"}


def test_cli_report(store: Store, built: Expected, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.xlsx"
    assert main(["--db", store.url, "report", "fruehjahr-2026", "--out", str(out)]) == 0
    assert out.exists() and not out.with_name("cli.xlsx.tmp").exists()
    line = capsys.readouterr().out.strip()
    assert f"{built.total_responses} responses" in line and "\n" not in line


def test_cli_unknown_campaign(store: Store, campaign: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", store.url, "report", "gibt-es-nicht", "--out", str(tmp_path / "x.xlsx")]) == 1
    err = capsys.readouterr().err.strip()
    assert "gibt-es-nicht" in err and "\n" not in err
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_wrong_suffix(store: Store, campaign: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", store.url, "report", campaign.name, "--out", str(tmp_path / "x.csv")]) == 1
    assert ".xlsx" in capsys.readouterr().err


def test_date_today_in_overview(report: tuple[Any, Expected, Path]) -> None:
    wb, _, _ = report
    kv = {r[0]: r[1] for r in wb["Übersicht"].iter_rows(values_only=True) if r and isinstance(r[0], str)}
    assert kv["Stand"].date() == date.today()


def test_verlauf_chart_draws_straight_segments(report: tuple[Any, Expected, Path]) -> None:
    # found in issue 9: without <c:smooth val="0"/> LibreOffice draws smoothed curves that dip below zero
    # and make the cumulative line fall
    _, _, path = report
    with zipfile.ZipFile(path) as z:
        (name,) = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        root = ElementTree.fromstring(z.read(name))
    c = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
    line_charts = root.findall(f".//{c}lineChart")
    assert len(line_charts) == 2  # per day, and cumulative on the second axis
    series = root.findall(f".//{c}ser")
    assert len(series) == 2
    for element in [*line_charts, *series]:
        smooth = element.find(f"{c}smooth")
        assert smooth is not None and smooth.get("val") == "0"
    for scaling in root.findall(f".//{c}valAx/{c}scaling"):
        assert scaling.find(f"{c}min") is not None and scaling.find(f"{c}min").get("val") == "0"


def test_every_sheet_prints_on_a4_one_page_wide_with_its_header_row_repeated(
        report: tuple[Any, Expected, Path]) -> None:
    # found in issue 9: no sheet had a page setup (the report printed as 32 pages)
    wb, _, _ = report
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert (setup.paperSize, setup.fitToWidth, setup.fitToHeight) == (9, 1, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        assert setup.orientation in ("portrait", "landscape"), ws.title
        assert ws.page_margins.top > ws.page_margins.header, ws.title
        assert ws.oddHeader.left.text == "Antwortbericht: Frühjahrsaktion 2026", ws.title
        assert ws.oddHeader.center.text == "&A" and ws.oddHeader.right.text.startswith("Stand ")
        assert ws.oddFooter.center.text == "Seite &P von &N", ws.title
        if ws.title != "Übersicht":  # the overview is a page of key figures, not one long table
            row = int(ws.print_title_rows.split(":")[0].strip("$"))
            assert ws.cell(row, 1).fill.fgColor.rgb.endswith(HEADER_FILL.fgColor.rgb), ws.title
    assert wb["Antworten"].page_setup.orientation == "landscape"


def test_header_cells_wrap_between_words_in_the_sheet_font(report: tuple[Any, Expected, Path]) -> None:
    # found in issue 9: headers were split mid-word ("Kundennu" / "mmer") and drawn in another font
    wb, _, _ = report
    checked = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.fill.fgColor.rgb != HEADER_FILL.fgColor.rgb or not isinstance(cell.value, str):
                    continue
                assert (cell.font.name, cell.font.sz, cell.font.b) == (FONT_NAME, FONT_SIZE, True)
                assert cell.alignment.wrap_text
                width = ws.column_dimensions[cell.column_letter].width
                assert width >= header_width(cell.value), (ws.title, cell.coordinate, cell.value, width)
                lines = wrapped_lines(cell.value, width)
                height = ws.row_dimensions[cell.row].height or 15  # no height: one line
                assert height >= lines * 15, (ws.title, cell.coordinate, cell.value)
                checked += 1
    assert checked > 100


NUMBER_LIKE = re.compile(r"[-+]?\d[\d.,]*\s*%?")
CODE_COLUMNS = {"Kundennummer", "PLZ", "Leitregion / Land", "Telefon", "Hausnr.", "Code", "Datei"}


def test_numbers_are_numbers_with_german_capable_formats(report: tuple[Any, Expected, Path]) -> None:
    wb, _, _ = report
    formats = {"General", FMT_INT, FMT_DECIMAL, FMT_PERCENT, FMT_PERCENT_2, FMT_EURO, FMT_P_VALUE, FMT_DATE,
               FMT_DATETIME}
    for ws in wb.worksheets:
        header: dict[int, str] = {}
        for row in ws.iter_rows():
            if row and row[0].fill.fgColor.rgb == HEADER_FILL.fgColor.rgb:
                header = {c.column: str(c.value) for c in row}
                continue
            for cell in row:
                if isinstance(cell.value, (int, float)):
                    assert cell.number_format in formats, (ws.title, cell.coordinate, cell.number_format)
                elif isinstance(cell.value, str) and header.get(cell.column) not in CODE_COLUMNS:
                    assert not NUMBER_LIKE.fullmatch(cell.value), (ws.title, cell.coordinate, cell.value)


# What the program writes into the store in English (scanning/, mailing/matching.py, mailing/review.py,
# mailing/followup.py): none of it may reach a cell of the German report.
ENGLISH_REASONS = ("no code found", "blank page", "unreadable image", "decoder crashed", "corrupt file",
                   "corrupt page", "file not found", "unsupported format", "image too large", "image too small",
                   "encrypted PDF", "cannot open file (Permission denied)", "no such code", "check symbol wrong",
                   "wrong length (12 symbols, expected 13)", "not a code symbol: 'U'")
ENGLISH_NOTES = ("doubtful boxes: call", "duplicate ticks optout", "code typed; boxes still to set: info, call",
                 "boxes still to set: optout")
ENGLISH_WORDS = re.compile(r"\b(no|not|found|blank|page|file|corrupt|image|too|large|small|wrong|symbols?|expected|"
                           r"such|check|doubtful|boxes|duplicate|ticks|typed|still|set|response|produced|planned|"
                           r"dropped|objection|returned|undeliverable|unreadable|invalid|unknown|conflict|phone|"
                           r"online)\b", re.IGNORECASE)
PERSONAL_OR_FILE = {"Datei", "Vorname", "Nachname", "Firma", "Name", "Straße", "Ort", "E-Mail", "Regel"}


def _english_in_the_store(store: Store, cid: int) -> None:
    """Review items with every scanner/matcher reason and note, suppression references as the program
    writes them, a response taken on the phone and a planned wave."""
    with store.begin() as conn:
        piece_ids = [r.id for r in conn.execute(
            select(pieces.c.id).join(waves, waves.c.id == pieces.c.wave_id).where(waves.c.campaign_id == cid)
            .order_by(pieces.c.id).limit(len(ENGLISH_NOTES)))]
        texts = [(r, None, None) for r in ENGLISH_REASONS] + [(None, n, p) for n, p in zip(ENGLISH_NOTES, piece_ids,
                                                                                         strict=True)]
        for i, (reason, note, piece_id) in enumerate(texts):
            scan_id = conn.execute(insert(scans).values(
                image_hash=f"english-{i}", source="stapel.pdf", page=i + 1, status="unreadable" if reason else "matched",
                reason=reason, piece_id=piece_id, created_at=datetime(2026, 4, 21, 9, 0))).inserted_primary_key[0]
            conn.execute(insert(review_items).values(scan_id=scan_id, kind="unreadable" if reason else "doubtful",
                                                     note=note or reason, created_at=datetime(2026, 4, 21, 9, 0)))
        for ref, source in (("scan 17", "returned-mail"), ("response 4", "scan")):
            conn.execute(insert(suppression).values(reason="objection", source=source, source_ref=ref, campaign_id=cid,
                                                    last_name="Beispiel", created_at=datetime(2026, 4, 21, 9, 0)))
        conn.execute(update(responses).where(responses.c.id == select(func.min(responses.c.id)).scalar_subquery())
                     .values(source="phone"))
        conn.execute(insert(waves).values(campaign_id=cid, number=3, kind="reminder", status="planned", seed=1))


def test_german_report_has_no_english_text(store: Store, built: Expected, tmp_path: Path) -> None:
    # found in issue 9: scan reasons ("no code found"), review notes ("doubtful boxes: call") and suppression
    # references ("scan 17") reached the German report in English
    _english_in_the_store(store, built.campaign_id)
    path = tmp_path / "bericht.xlsx"
    write_response_report(store, "fruehjahr-2026", path)
    wb = load_workbook(path)
    texts = []
    for ws in wb.worksheets:
        header: dict[int, str] = {}
        for row in ws.iter_rows():
            if row and row[0].fill.fgColor.rgb == HEADER_FILL.fgColor.rgb:
                header = {c.column: str(c.value) for c in row}
            for cell in row:
                if isinstance(cell.value, str) and header.get(cell.column) not in PERSONAL_OR_FILE:
                    texts.append((ws.title, cell.coordinate, cell.value))
    english = [t for t in texts if ENGLISH_WORDS.search(t[2])]
    assert english == []
    values = {t[2] for t in texts}
    assert {"kein Code gefunden", "leere Seite", "falsche Länge (12 statt 13 Zeichen)", "Kreuz unklar: call",
            "Scan Nr. 17", "Antwort Nr. 4", "Telefon", "geplant"} <= values
