"""The docket (Laufzettel): the job ticket on one A4 page, in German, for the lettershop floor.

Job ticket dict (mailing.production) → PDF bytes. Reproducible like the print files: the wave's production
time is its date, nothing depends on the clock, so a reprint gives the same bytes. Long lists (files,
Leitregionen) are cut to what fits, with "… und N weitere"; the JSON ticket has them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from layouts import fonts
from mailing.jobticket import MARK_NAMES, de, de_date

MM = 72.0 / 25.4
LEFT_MM, LABEL_W_MM, RIGHT_MM = 20.0, 45.0, 190.0
LINE_MM = 5.0
SIZE_PT = 9.5
MAX_FILES = 12


def _wrap(text: str, width_mm: float) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and fonts.width_mm(trial, fonts.REGULAR, SIZE_PT) > width_mm:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return [*lines, cur] if cur else lines or [""]


def _rows(t: dict[str, Any]) -> list[tuple[str, str]]:
    p, f, e, post = t["print"], t["finishing"], t["enclosing"], t["postage"]
    env = e["envelope"]
    files = e["sheets_per_batch"]
    shown = "; ".join(f"{b['file']}: {b['sheets']} Blatt" for b in files[:MAX_FILES])
    if len(files) > MAX_FILES:
        shown += f"; … und {len(files) - MAX_FILES} weitere (siehe Auftrag JSON)"
    letter = f"Folgebrief „{t['letter']}“" if t.get("letter") else "Hauptbrief"
    if t.get("layout", {}).get("format") == "postkarte":
        letter = f"Postkarte „{t['letter']}“"
    w = post["weights_g"]
    return [
        ("Kampagne", f"{t['title']} ({t['campaign']})"),
        ("Welle", f"{t['wave']} – {letter}"),
        ("Einlieferung", de_date(t.get("drop_date"))),
        ("Sendungen", f"{t['pieces']} (Kontrollgruppe, nicht gedruckt: {t['control_pieces']})"),
        ("Druckdaten", f"{p['pdf']}, Ausgabebedingung {p['output_intent']}, {len(files)} Datei(en), "
                       f"{t['pages']} Seiten"),
        ("Papier", f"{p['paper']}, {de(p['paper_gsm'])} g/m², {p['colour']}"),
        ("Druck", f"{'duplex' if p['duplex'] else 'simplex'}, {p['pages_per_piece']} Seite(n) und "
                  f"{p['sheets_per_piece']} Blatt je Sendung"),
        ("Falz", f["fold"]),
        ("Perforation", f["perforation"]["description"] if f["perforation"] else "keine"),
        ("Umschlag", "keiner (Postkarte). " + e.get("franking", "") if env is None else
         f"{env['name']} mit Fenster, {de(env['size_mm'][0])} × {de(env['size_mm'][1])} mm, "
         f"{de(env['weight_g'])} g" + (f". {env['note']}" if env["note"] else "")),
        ("Beilagen", "; ".join(f"{i['name']} ({de(i['weight_g'])} g)" for i in e["inserts"]) or "keine"),
        ("Kuvertiersteuerung", MARK_NAMES[e["inserter_marks"]["kind"]]),
        ("Postprodukt", f"{post['service']}, Gewichtsklasse {post['weight_class']}"),
        ("Gewicht je Sendung", f"{de(post['weight_g'])} g (Blatt {de(w['sheets'])} g, Beilagen {de(w['inserts'])} g, "
                               f"Umschlag {de(w['envelope'])} g). {post['note']}"),
        ("Blatt je Datei", shown),
        ("Leitregionen", ", ".join(f"{k}: {v}" for k, v in list(t["leitregions"].items())[:40])
         + (" …" if len(t["leitregions"]) > 40 else "")),
    ]


def docket_pdf(ticket: dict[str, Any]) -> bytes:
    """The one-page docket for a job ticket (ticket_version 2)."""
    from layouts.render import FixedTimeStamp

    fonts.register_fonts()
    canv = Canvas("laufzettel.pdf", pagesize=A4, invariant=1, pageCompression=1, initialFontName=fonts.REGULAR)
    title = f"Laufzettel {ticket['title']} – Welle {ticket['wave']}"
    canv.setTitle(title)
    canv.setAuthor("mailing")
    canv.setCreator("mailing")
    canv.setSubject(f"Auftrag für den Lettershop ({ticket['campaign']}, Welle {ticket['wave']})")
    produced = datetime.fromisoformat(ticket["produced_at"])
    canv._doc._timeStamp = FixedTimeStamp(produced)
    height = A4[1]
    y = 20.0
    canv.setFont(fonts.BOLD, 15)
    canv.drawString(LEFT_MM * MM, height - y * MM, title)
    y += 6.0
    canv.setFont(fonts.REGULAR, 8)
    canv.drawString(LEFT_MM * MM, height - y * MM, f"erstellt {produced.strftime('%d.%m.%Y %H:%M')} UTC · "
                                                    "Prüfsummen und alle Angaben: Auftrag (JSON) im Paket")
    y += 10.0
    for label, value in _rows(ticket):
        canv.setFont(fonts.BOLD, SIZE_PT)
        canv.drawString(LEFT_MM * MM, height - y * MM, label)
        canv.setFont(fonts.REGULAR, SIZE_PT)
        for line in _wrap(value, RIGHT_MM - LEFT_MM - LABEL_W_MM):
            canv.drawString((LEFT_MM + LABEL_W_MM) * MM, height - y * MM, line)
            y += LINE_MM
        y += 1.5
        if y > 280:
            break
    canv.showPage()
    data = canv.getpdfdata()
    return data if isinstance(data, bytes) else data.encode("latin-1")
