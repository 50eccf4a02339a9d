"""The Excel response report of one campaign: store → aggregated figures → a German workbook.

`write_response_report(store, campaign_name, out_path)` writes the sheets Übersicht, Wellen, Varianten,
Regionen, Verlauf, Optionen, Segmente, Anmeldungen, Antworten, Prüfung and Sperrliste, and returns a `ReportSummary`.

How it stays fast and small for a million pieces: every figure is a GROUP BY in SQL (portable SQLAlchemy
Core, SQLite and PostgreSQL); only grouped rows (waves × variants, postal codes, days, options) reach
Python. The per-row sheets (Antworten, Prüfung, Sperrliste) are streamed from a server-side cursor into a
write-only workbook, so memory does not grow with the campaign.

Every figure comes from `mailing.figures` (the one place that counts sent, responses, rates and costs;
its docstring holds the counting rules); this module only writes them. Variants are compared within each
wave: against the control group when the wave has one, else the second variant against the first (more
than two variants: each against the first).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl.chart import LineChart, Reference
from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from mailing.campaigns import load
from mailing.figures import CHANNELS, Figures, Group, campaign_pieces, collect, review_from, review_where
from mailing.log import get_logger
from mailing.store import (
    Store,
    pieces,
    recipients,
    response_options,
    responses,
    review_items,
    scans,
    suppression,
    waves,
)
from reports.stats import two_proportion_test, wilson_interval
from reports.wording import (
    CHANNEL_LABELS,
    RESPONSE_SOURCES,
    REVIEW_KINDS,
    SALUTATIONS,
    SUPPRESSION_REASONS,
    SUPPRESSION_SOURCES,
    TICKS,
    WAVE_STATUS,
    german_label,
    german_message,
    wave_kind,
)
from reports.xlsx import (
    BOLD,
    DIGIT_WIDTH_MM,
    FMT_DATE,
    FMT_EURO,
    FMT_INT,
    FMT_PERCENT,
    FMT_PERCENT_2,
    NOTE_FONT,
    SECTION_FONT,
    TITLE_FONT,
    Col,
    PrintHeader,
    TableSheet,
    fit_orientation,
    fit_widths,
    header_cells,
    header_height,
    missing_cell,
    new_workbook,
    print_sheet,
    save_workbook,
    set_widths,
    text_cell,
    value_cell,
)

log = get_logger(__name__)

SHEETS = ("Übersicht", "Wellen", "Varianten", "Regionen", "Verlauf", "Optionen", "Segmente", "Anmeldungen",
          "Antworten", "Prüfung", "Sperrliste")
STREAM_CHUNK = 2000  # rows fetched per round trip while streaming raw rows
MAX_TIMELINE_DAYS = 3660  # a wrongly typed year must not produce a million empty days
CHART_WIDTH_CM, CHART_HEIGHT_CM = 22.0, 9.0  # the Verlauf chart, to the right of its table

COUNTRY_NAMES = {"AT": "Österreich", "CH": "Schweiz", "LI": "Liechtenstein", "LU": "Luxemburg", "BE": "Belgien",
                 "NL": "Niederlande", "DK": "Dänemark", "PL": "Polen", "CZ": "Tschechien", "FR": "Frankreich",
                 "IT": "Italien", "ES": "Spanien", "GB": "Vereinigtes Königreich", "SE": "Schweden"}


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    campaign: str
    pieces_sent: int
    control_pieces: int
    undeliverable: int
    responses: int
    response_rate: float  # responses / pieces sent; 0.0 without pieces
    review_open: int
    cost_per_response: float | None
    sheets: tuple[str, ...] = SHEETS
    seconds: float = 0.0


def region_label(kind: str, key: str) -> str:
    if kind == "1":
        return COUNTRY_NAMES.get(key, key)
    return "ohne gültige PLZ" if key == "??" else f"Leitregion {key}"


# ------------------------------------------------------------------------------------------ writing


def write_response_report(store: Store, campaign_name: str, out_path: str | Path,
                          client: str | None = None) -> ReportSummary:
    """Write the campaign's response report to `out_path` (XLSX, atomically) and return its key figures.
    `client` (a key): the campaign must belong to that client."""
    started = time.perf_counter()
    out = Path(out_path)
    with store.connect() as conn:
        cid, campaign = load(conn, campaign_name, client)
        figures = collect(conn, cid, campaign)
        log.info("report %s: figures collected in %.1f s", campaign_name, time.perf_counter() - started)
        wb = new_workbook(write_only=True)
        printed = PrintHeader("Antwortbericht", campaign.title)

        def sheet(name: str) -> Any:
            ws = wb.create_sheet(name)
            print_sheet(ws, printed)  # A4, one page wide; each sheet's table sets orientation and titles
            return ws

        _overview(sheet("Übersicht"), figures)
        _waves_sheet(sheet("Wellen"), figures)
        _variants_sheet(sheet("Varianten"), figures)
        _regions_sheet(sheet("Regionen"), figures)
        _timeline_sheet(sheet("Verlauf"), figures)
        _options_sheet(sheet("Optionen"), figures)
        _segments_sheet(sheet("Segmente"), conn, figures)
        _rsvp_sheet(sheet("Anmeldungen"), conn, figures)
        _responses_sheet(sheet("Antworten"), conn, figures)
        _review_sheet(sheet("Prüfung"), conn, figures)
        _suppression_sheet(sheet("Sperrliste"), conn, figures)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_workbook(wb, out)
    total = figures.sent
    seconds = time.perf_counter() - started
    log.info("report %s written to %s in %.1f s", campaign_name, out, seconds)
    return ReportSummary(
        path=out, campaign=campaign.name, pieces_sent=total.pieces, control_pieces=figures.control_pieces,
        undeliverable=total.undeliverable, responses=total.responses, response_rate=total.rate or 0.0,
        review_open=figures.review_open,
        cost_per_response=figures.cost_per_response, seconds=seconds)


def _title(ws: Any, text: str, figures: Figures) -> None:
    """Two rows: the sheet's title and the campaign it belongs to."""
    ws.append([text_cell(ws, text, TITLE_FONT)])
    c = figures.campaign
    ws.append([text_cell(ws, f"Kampagne: {c.title} ({c.name}) · Stand {date.today().strftime('%d.%m.%Y')}",
                         NOTE_FONT)])


def _note(ws: Any, text: str) -> None:
    ws.append([text_cell(ws, text, NOTE_FONT)])


class _Rows:
    """Appends rows to a write-only sheet and knows the current row number (for row heights)."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.n = ws, 0

    def add(self, cells: list[Any]) -> None:
        self.ws.append(cells)
        self.n += 1

    def header(self, labels: list[str], widths: list[float]) -> None:
        self.ws.row_dimensions[self.n + 1].height = header_height(labels, widths)
        self.add(header_cells(self.ws, labels))


OVERVIEW_WAVE_HEADER = ["Welle", "Art", "Versanddatum", "Versendet", "Kontrollgruppe", "Unzustellbar", "Antworten",
                        "Rücklaufquote", "Kosten je Antwort"]
OVERVIEW_OPTION_HEADER = ["Option", "Angekreuzt", "Anteil an Antworten", "Quote je Sendung"]


def _overview(ws: Any, f: Figures) -> None:
    widths = fit_widths([44, 22, 14, 13, 14, 13, 13, 14, 14], OVERVIEW_WAVE_HEADER, OVERVIEW_OPTION_HEADER)
    set_widths(ws, widths)
    fit_orientation(ws, sum(widths))
    out = _Rows(ws)
    out.add([text_cell(ws, f"Antwortbericht: {f.campaign.title}", TITLE_FONT)])
    out.add([text_cell(ws, "Kampagne"), text_cell(ws, f.campaign.name)])
    out.add([text_cell(ws, "Stand"), value_cell(ws, date.today(), FMT_DATE)])
    out.add([])
    total = f.sent
    cost = f.total_cost

    out.add([text_cell(ws, "Kennzahlen", SECTION_FONT)])
    rows: list[tuple[str, Any, str]] = [
        ("Versendete Sendungen", total.pieces, FMT_INT),
        ("Kontrollgruppe (kein Brief versendet)", f.control_pieces, FMT_INT),
        ("Unzustellbar (Rückläufer)", total.undeliverable, FMT_INT),
        ("Zugestellt", total.delivered, FMT_INT),
        ("Antworten", total.responses, FMT_INT),
        *[(f"davon {CHANNEL_LABELS[c]}", f.channels.get(c, 0), FMT_INT) for c in CHANNELS],
        ("Rücklaufquote (Antworten / versendet)", total.rate, FMT_PERCENT_2),
        ("Rücklaufquote bezogen auf zugestellte", total.delivered_rate, FMT_PERCENT_2),
        ("Doppelt eingesandt (nicht mitgezählt)", f.duplicates, FMT_INT),
        ("Offene Prüffälle", f.review_open, FMT_INT),
    ]
    if f.planned:
        rows.insert(1, ("Geplant, noch nicht gedruckt (nicht versendet)", f.planned, FMT_INT))
    if f.pooled:
        rows.insert(1, ("Folgebriefe wartend (Mindestmenge nicht erreicht)", sum(f.pooled.values()), FMT_INT))
    if f.capped:
        rows.insert(1, ("Wegen Kontaktobergrenze nicht angeschrieben", f.capped, FMT_INT))
    if f.to_pull:
        rows.insert(1, ("Noch in der Lettershop auszusteuern (Widerspruch nach dem Druck)", f.to_pull, FMT_INT))
    if f.pulled:
        rows.insert(1, ("Gedruckt, aber ausgesteuert (nicht versendet)", f.pulled, FMT_INT))
    if cost is not None:
        rows.append(("Kosten gesamt (Druck, Porto, Beilagen)", cost, FMT_EURO))
        rows.append(("Kosten je Antwort", f.cost_per_response, FMT_EURO))
    for label, value, fmt in rows:
        out.add([text_cell(ws, label), value_cell(ws, value, fmt) if value is not None else missing_cell(ws)])
    if cost is None:
        out.add([text_cell(ws, "Kosten je Antwort: keine Stückkosten in der Kampagnendatei ([costs]).", NOTE_FONT)])
    out.add([])

    out.add([text_cell(ws, "Je Welle", SECTION_FONT)])
    out.header(OVERVIEW_WAVE_HEADER, widths)
    for w in f.waves:
        label = w.label if w.is_sent else f"{w.label} (geplant)"
        out.add(_wave_row(ws, label, wave_kind(w.kind), w.drop_date, w.sent, w.control.pieces,
                          f.cost_per_response_of(w.sent)))
    if not f.waves:
        out.add([text_cell(ws, "Noch keine Welle geplant.", NOTE_FONT)])
    out.add(_wave_row(ws, "Gesamt", "", None, total, f.control_pieces, f.cost_per_response, bold=True))
    out.add([])

    out.add([text_cell(ws, "Je Option", SECTION_FONT)])
    out.header(OVERVIEW_OPTION_HEADER, widths)
    for key, label in _option_labels(f):
        ticked = sum(f.options.get(key, {}).get(True, {}).values())
        out.add([text_cell(ws, label), value_cell(ws, ticked, FMT_INT),
                 _rate_cell(ws, ticked, total.responses), _rate_cell(ws, ticked, total.pieces)])
    out.add([])
    out.add([text_cell(ws, "Kontrollgruppe: Empfänger, die bewusst keinen Brief erhalten haben; sie zählen nicht "
                           "als versendet.", NOTE_FONT)])
    out.add([text_cell(ws, "Rücklaufquote je Sendung; Antworten auf Erinnerungen zählen bei ihrer Welle.",
                       NOTE_FONT)])


def _rate_cell(ws: Any, num: int, den: int, fmt: str = FMT_PERCENT) -> Any:
    return value_cell(ws, num / den, fmt) if den else missing_cell(ws)


def _wave_row(ws: Any, label: str, kind: str, drop: date | None, g: Group, control: int, cpr: float | None,
              bold: bool = False) -> list[Any]:
    font = BOLD if bold else None
    return [text_cell(ws, label, font), text_cell(ws, kind), value_cell(ws, drop, FMT_DATE) if drop else None,
            value_cell(ws, g.pieces, FMT_INT, font), value_cell(ws, control, FMT_INT, font),
            value_cell(ws, g.undeliverable, FMT_INT, font), value_cell(ws, g.responses, FMT_INT, font),
            _rate_cell(ws, g.responses, g.pieces, FMT_PERCENT_2),
            value_cell(ws, cpr, FMT_EURO, font) if cpr is not None else missing_cell(ws)]


def _option_labels(f: Figures) -> list[tuple[str, str]]:
    labels = list(f.campaign.option_labels.items())
    known = {k for k, _ in labels}
    labels += [(k, f"{k} (nicht mehr in der Kampagnendatei)") for k in sorted(f.options) if k not in known]
    return labels


def _waves_sheet(ws: Any, f: Figures) -> None:
    table = TableSheet(ws, [
        Col("Welle", 7, "int", "center"), Col("Art", 20), Col("Regel", 12), Col("Status", 11),
        Col("Versanddatum", 12, "date"), Col("Gesperrt (nicht angeschrieben)", 14, "int"), Col("Versendet", 10, "int"),
        Col("Kontrollgruppe", 10, "int"), Col("Unzustellbar", 10, "int"), Col("Zugestellt", 10, "int"),
        Col("Antworten", 10, "int"), Col("Rücklaufquote", 10, "percent"),
        Col("Quote bezogen auf zugestellte", 12, "percent"), Col("Doppelt eingesandt", 10, "int"),
        Col("Erste Antwort", 11, "date"), Col("Letzte Antwort", 11, "date"), Col("Kosten", 11, "euro"),
        Col("Kosten je Antwort", 11, "euro")], header_row=3)
    _title(ws, "Wellen", f)
    table.header()
    for w in f.waves:
        cost = f.wave_cost(w)
        table.row([w.number, wave_kind(w.kind), w.rule, german_label(WAVE_STATUS, w.status),
                   w.drop_date, w.suppressed, w.sent.pieces, w.control.pieces, w.sent.undeliverable,
                   w.sent.delivered, w.sent.responses, w.sent.rate, w.sent.delivered_rate, w.duplicates, w.sent.first,
                   w.sent.last,
                   cost, f.cost_per_response_of(w.sent)])
    table.finish()


def _variants_sheet(ws: Any, f: Figures) -> None:
    table = TableSheet(ws, [
        Col("Welle", 9, "int", "center"), Col("Gruppe", 16), Col("Stück", 11, "int"), Col("Antworten", 11, "int"),
        Col("Rücklaufquote", 12, "percent"), Col("95-%-KI von", 11, "percent"), Col("95-%-KI bis", 11, "percent"),
        Col("Verglichen mit", 16), Col("Differenz (Prozentpunkte)", 13, "decimal"), Col("z", 8, "decimal"),
        Col("p-Wert", 9, "p"), Col("Ergebnis", 24), Col("Hinweis", 36)], header_row=3)
    _title(ws, "Varianten: Rücklaufquote mit 95-%-Konfidenzintervall und Test", f)
    table.header()
    for w in f.waves:
        groups: list[tuple[str, Group]] = [(f"Variante {v}", g) for v, g in sorted(w.variants.items())]
        if w.control.pieces:
            groups.append(("Kontrollgruppe", w.control))
        if w.control.pieces:
            reference: tuple[str, Group] | None = groups[-1]
        elif groups:
            reference = groups[0]
        else:
            reference = None
        for name, g in groups:
            ci = wilson_interval(g.responses, g.pieces)
            row: list[Any] = [w.number, name, g.pieces, g.responses, g.rate, ci.low if ci else None,
                              ci.high if ci else None]
            if reference is None or name == reference[0] or len(groups) < 2:
                table.row(row + [None, None, None, None, "Referenz" if len(groups) > 1 else None, None])
                continue
            test = two_proportion_test(g.responses, g.pieces, reference[1].responses, reference[1].pieces)
            if test is None:
                table.row(row + [reference[0], None, None, None, "nicht prüfbar (keine Stücke)", None])
                continue
            verdict = "signifikant (p < 0,05)" if test.significant else "nicht signifikant"
            hint = "kleine Fallzahl: Ergebnis unsicher" if test.small_sample else None
            table.row(row + [reference[0], test.difference * 100, test.z, test.p_value, verdict, hint])
    if not f.waves:
        _note(ws, "Noch keine Welle geplant.")
    table.finish()
    ws.append([])
    _note(ws, "Konfidenzintervall nach Wilson (95 %). Test: zweiseitiger z-Test für zwei Anteile mit gepoolter "
              "Varianz, Signifikanzniveau 5 %.")
    _note(ws, "Verglichen wird innerhalb einer Welle: mit der Kontrollgruppe, sonst mit der ersten Variante.")


def _regions_sheet(ws: Any, f: Figures) -> None:
    table = TableSheet(ws, [
        Col("Leitregion / Land", 12), Col("Bezeichnung", 22), Col("Versendet", 12, "int"),
        Col("Kontrollgruppe", 12, "int"), Col("Unzustellbar", 12, "int"), Col("Antworten", 11, "int"),
        Col("Rücklaufquote", 12, "percent"), Col("Anteil an allen Antworten", 14, "percent")], header_row=3)
    _title(ws, "Regionen: Leitregionen (erste zwei PLZ-Ziffern), Ausland nach Land", f)
    table.header()
    total = f.sent.responses
    for kind, key, g, control in f.regions:
        table.row([key, region_label(kind, key), g.pieces, control, g.undeliverable, g.responses, g.rate,
                   g.responses / total if total else None])
    table.finish()


def _timeline_sheet(ws: Any, f: Figures) -> None:
    numbers = [w.number for w in f.waves]
    cols = [Col("Datum", 12, "date"), Col("Tag seit Versand", 10, "int")]
    cols += [Col(f"Welle {n}", 10, "int") for n in numbers]
    cols += [Col("Antworten gesamt", 11, "int"), Col("Kumuliert", 11, "int"), Col("Anteil kumuliert", 11, "percent")]
    table = TableSheet(ws, cols, header_row=3)
    _title(ws, "Verlauf: Antworten je Tag seit dem Versand", f)
    table.header()
    drops = [w.drop_date for w in f.waves if w.drop_date]
    if not f.days:
        table.finish()
        _note(ws, "Noch keine Antworten.")
        return
    start = min([*drops, min(f.days)])
    end = max(f.days)
    if (end - start).days > MAX_TIMELINE_DAYS:
        start = end - timedelta(days=MAX_TIMELINE_DAYS)
    first_drop = min(drops) if drops else start
    total = sum(sum(d.values()) for d in f.days.values())
    cumulative = 0
    day = start
    while day <= end:
        per_wave = f.days.get(day, {})
        n = sum(per_wave.values())
        cumulative += n
        table.row([day, (day - first_drop).days, *[per_wave.get(w, 0) for w in numbers], n, cumulative,
                   cumulative / total if total else None])
        day += timedelta(days=1)
    table.finish()

    first, last = table.header_row, table.header_row + table.rows
    n_col = 3 + len(numbers)
    chart = LineChart()
    chart.title = "Antworten je Tag"
    chart.y_axis.title = "Antworten je Tag"  # the dates below need no title (LibreOffice would print it twice)
    chart.x_axis.number_format = FMT_DATE
    chart.height, chart.width = CHART_HEIGHT_CM, CHART_WIDTH_CM
    chart.add_data(Reference(ws, min_col=n_col, min_row=first, max_row=last), titles_from_data=True)
    cum = LineChart()
    cum.add_data(Reference(ws, min_col=n_col + 1, min_row=first, max_row=last), titles_from_data=True)
    cum.y_axis.axId = 200
    cum.y_axis.title = "Kumuliert"
    cum.y_axis.crosses = "max"
    chart.set_categories(Reference(ws, min_col=1, min_row=first + 1, max_row=last))
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    cum.y_axis.delete = False
    for c in (chart, cum):
        # Straight segments: a line series without <c:smooth val="0"/> is drawn as a smoothed curve by
        # LibreOffice, which dips below zero between days and makes the cumulative line fall.
        c.smooth = False
        for series in c.series:
            series.smooth = False
        c.y_axis.scaling.min = 0  # counts: never below zero
        c.y_axis.number_format = FMT_INT
    chart.legend.position = "b"
    chart += cum
    ws.add_chart(chart, f"{_col_letter(n_col + 3)}3")
    fit_orientation(ws, sum(table.widths) + CHART_WIDTH_CM * 10 / DIGIT_WIDTH_MM)


def _col_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _options_sheet(ws: Any, f: Figures) -> None:
    variants = sorted({v for w in f.waves for v in w.variants})
    cols = [Col("Option", 12), Col("Bezeichnung", 44), Col("Angekreuzt", 11, "int"), Col("Nicht angekreuzt", 11, "int"),
            Col("Unklar (in Prüfung)", 11, "int"), Col("Anteil an Antworten", 12, "percent")]
    cols += [Col(f"Angekreuzt Variante {v}", 12, "int") for v in variants]
    cols += [Col(f"Anteil Variante {v}", 12, "percent") for v in variants]
    table = TableSheet(ws, cols, header_row=3)
    _title(ws, "Optionen auf der Antwortkarte", f)
    table.header()
    responses_by_variant: dict[str, int] = defaultdict(int)
    for w in f.waves:
        for v, g in w.variants.items():
            responses_by_variant[v] += g.responses
    total = f.sent.responses
    for key, label in _option_labels(f):
        counts = f.options.get(key, {})
        ticked = counts.get(True, {})
        n_ticked = sum(ticked.values())
        table.row([key, label, n_ticked, sum(counts.get(False, {}).values()), sum(counts.get(None, {}).values()),
                   n_ticked / total if total else None,
                   *[ticked.get(v, 0) for v in variants],
                   *[ticked.get(v, 0) / responses_by_variant[v] if responses_by_variant[v] else None
                     for v in variants]])
    table.finish()


def _segments_sheet(ws: Any, conn: Connection, f: Figures) -> None:
    from mailing.figures import segment_groups
    from mailing.segments import segment_rows

    table = TableSheet(ws, [
        Col("Merkmal", 20), Col("Wert / Band", 26), Col("Versendet", 11, "int"), Col("Antworten", 11, "int"),
        Col("Rücklaufquote", 12, "percent"), Col("95-%-KI von", 11, "percent"), Col("95-%-KI bis", 11, "percent"),
        Col("Lift (Quote / Kampagne)", 12, "decimal")], header_row=3)
    _title(ws, "Segmente: Rücklauf je Merkmal der Adressdatei", f)
    table.header()
    rows = segment_rows(segment_groups(conn, f.campaign_id), f.campaign.segments, f.sent.rate,
                        f.campaign.segment_bands)
    for r in rows:
        table.row([r.key, r.label, r.pieces, r.responses, r.rate, r.low, r.high, r.lift])
    table.row(["Kampagne gesamt", None, f.sent.pieces, f.sent.responses, f.sent.rate, None, None,
               1.0 if f.sent.rate else None])
    table.finish()
    ws.append([])
    if not f.campaign.segments:
        _note(ws, "Keine Merkmale genannt: in der Kampagnendatei z. B. [import] segments = [\"Kundengruppe\"].")
    _note(ws, "Rücklaufquote = Antworten / versendete Briefe der Gruppe; Konfidenzintervall nach Wilson (95 %); "
              "Lift = Quote der Gruppe geteilt durch die Quote der Kampagne (1,0 = wie die Kampagne).")
    _note(ws, f"Zahlen und Daten in {f.campaign.segment_bands} Bändern mit etwa gleich vielen Briefen "
              "(Quantile); ein Wert wird nie auf zwei Bänder verteilt.")


def _rsvp_sheet(ws: Any, conn: Connection, f: Figures) -> None:
    from mailing.rsvp import is_event, rsvp_list
    from reports.rsvp import COLUMNS, rsvp_values, totals

    if not is_event(f.campaign):
        table = TableSheet(ws, COLUMNS, header_row=4)
        _title(ws, "Anmeldungen", f)
        _note(ws, "Keine Einladung: die Antwortkarte hat keine Personenzahl (count) und keine Terminwahl (choices).")
        table.header()
        table.finish()
        return
    rsvp = rsvp_list(conn, f.campaign_id, f.campaign)
    table = TableSheet(ws, COLUMNS, header_row=3 + len(totals(rsvp)) + 1)
    _title(ws, "Anmeldungen: Personen und Termine", f)
    for label, n in totals(rsvp):
        ws.append([text_cell(ws, label, BOLD), None, None, value_cell(ws, n, FMT_INT, BOLD)])
    ws.append([])
    table.header()
    for r in rsvp.rows:
        table.row(rsvp_values(r))
    table.finish()


def _stream(conn: Connection, stmt: Any) -> Iterator[Any]:
    result = conn.execution_options(stream_results=True, yield_per=STREAM_CHUNK).execute(stmt)
    yield from result


def _responses_sheet(ws: Any, conn: Connection, f: Figures) -> None:
    keys = [k for k, _ in _option_labels(f)]
    cols = [Col("Eingang", 12, "date"), Col("Welle", 7, "int", "center"), Col("Variante", 9), Col("Kontrollgruppe", 9),
            Col("Code", 16), Col("Kundennummer", 14), Col("Anrede", 8), Col("Titel", 10), Col("Vorname", 16),
            Col("Nachname", 20), Col("Firma", 24), Col("PLZ", 8), Col("Ort", 18), Col("Land", 6), Col("E-Mail", 28),
            Col("Telefon", 18)]
    cols += [Col(k, 9) for k in keys]
    cols += [Col("Erfasst über", 12)]
    table = TableSheet(ws, cols)  # header in row 1: filters and the frozen row stay simple for the user
    table.header()
    aliases = [response_options.alias(f"opt_{i}") for i in range(len(keys))]
    frm: Any = (responses.join(campaign_pieces(f.campaign_id), pieces.c.id == responses.c.piece_id)
                .join(recipients, recipients.c.id == pieces.c.recipient_id))
    for key, a in zip(keys, aliases, strict=True):
        frm = frm.outerjoin(a, and_(a.c.response_id == responses.c.id, a.c.key == key))
    stmt = (select(responses.c.received_on, waves.c.number, pieces.c.variant, pieces.c.control, pieces.c.code,
                   recipients.c.customer_id, recipients.c.salutation, recipients.c.title, recipients.c.first_name,
                   recipients.c.last_name, recipients.c.company, recipients.c.postal_code, recipients.c.city,
                   recipients.c.country, recipients.c.email, recipients.c.phone, responses.c.source,
                   *[a.c.ticked.label(f"t{i}") for i, a in enumerate(aliases)],
                   *[(a.c.key.is_not(None)).label(f"k{i}") for i, a in enumerate(aliases)])
            .select_from(frm).order_by(responses.c.received_on, responses.c.id))
    n = len(keys)
    for r in _stream(conn, stmt):
        ticks = r[17:17 + n]
        present = r[17 + n:17 + 2 * n]
        table.row([r.received_on, r.number, r.variant, "ja" if r.control else "nein", _grouped(r.code),
                   r.customer_id, german_label(SALUTATIONS, r.salutation), r.title, r.first_name,
                   r.last_name, r.company, r.postal_code, r.city, r.country, r.email, r.phone,
                   *[TICKS[None if t is None else bool(t)] if p else None
                     for t, p in zip(ticks, present, strict=True)],
                   german_label(RESPONSE_SOURCES, r.source)])
    table.finish()
    if not table.rows:
        _note(ws, "Noch keine Antworten.")


def _grouped(code: str | None) -> str | None:
    """Code as printed for people: 7K3M-9QXP-2W4."""
    if not code:
        return code
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _review_sheet(ws: Any, conn: Connection, f: Figures) -> None:
    table = TableSheet(ws, [
        Col("Nr.", 7, "int", "center"), Col("Art", 18), Col("Eingegangen", 17, "datetime", "center"), Col("Datei", 36), Col("Seite", 7, "int", "center"),
        Col("Code", 16), Col("Grund", 30), Col("Welle", 7, "int", "center"), Col("Kundennummer", 14), Col("Name", 28),
        Col("Zuordnung", 16), Col("Notiz", 30)], header_row=3)
    _title(ws, f"Prüfung: {f.review_open} offene Fälle (bearbeiten mit „mailing review“)", f)
    table.header()
    frm = review_from().outerjoin(recipients, recipients.c.id == pieces.c.recipient_id)
    stmt = (select(review_items.c.id, review_items.c.kind, review_items.c.created_at, review_items.c.note,
                   scans.c.source, scans.c.page, scans.c.code, scans.c.reason, waves.c.number,
                   recipients.c.customer_id, recipients.c.first_name, recipients.c.last_name, recipients.c.company)
            .select_from(frm).where(review_where(f.campaign_id)).order_by(review_items.c.id))
    for r in _stream(conn, stmt):
        name = " ".join(p for p in (r.first_name, r.last_name) if p) or r.company
        table.row([r.id, german_label(REVIEW_KINDS, r.kind), r.created_at, r.source, r.page, _grouped(r.code),
                   german_message(r.reason), r.number, r.customer_id, name,
                   "diese Kampagne" if r.number is not None else "keiner Sendung zugeordnet", german_message(r.note)])
    table.finish()
    if not table.rows:
        _note(ws, "Keine offenen Prüffälle.")


def _suppression_sheet(ws: Any, conn: Connection, f: Figures) -> None:
    table = TableSheet(ws, [
        Col("Eingetragen am", 17, "datetime", "center"), Col("Quelle", 20), Col("Grund", 18), Col("Bezug", 24),
        Col("Kundennummer", 14), Col("Nachname", 20), Col("Vorname", 16), Col("Firma", 24), Col("Straße", 22),
        Col("Hausnr.", 8), Col("PLZ", 8), Col("Ort", 18), Col("Land", 6), Col("Gilt bis", 12, "date")],
        header_row=7 + max(len(f.suppression_counts), 1), freeze=False)
    _title(ws, "Sperrliste: Einträge aus dieser Kampagne", f)
    ws.append([])
    ws.append(header_cells(ws, ["Quelle", "Grund", "Einträge"]))
    for source, reason, n in f.suppression_counts:
        ws.append([text_cell(ws, german_label(SUPPRESSION_SOURCES, source)),
                   text_cell(ws, german_label(SUPPRESSION_REASONS, reason)),
                   value_cell(ws, n, FMT_INT)])
    if not f.suppression_counts:
        _note(ws, "Keine Einträge.")
    total = sum(n for _, _, n in f.suppression_counts)
    ws.append([text_cell(ws, "Gesamt", BOLD), None, value_cell(ws, total, FMT_INT, BOLD)])
    ws.append([])
    table.header()
    stmt = (select(suppression).where(suppression.c.campaign_id == f.campaign_id)
            .order_by(suppression.c.created_at, suppression.c.id))
    for r in _stream(conn, stmt):
        table.row([r.created_at, german_label(SUPPRESSION_SOURCES, r.source), german_label(SUPPRESSION_REASONS, r.reason),
                   german_message(r.source_ref), r.customer_id, r.last_name, r.first_name, r.company, r.street, r.house_number,
                   r.postal_code, r.city, r.country, r.expires_at])
    table.finish()
    ws.append([])
    _note(ws, "Gilt bis leer: Eintrag läuft nie ab (Werbewiderspruch, Art. 21 DSGVO).")

