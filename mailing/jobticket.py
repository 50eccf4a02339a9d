"""The lettershop's part of the job ticket: paper, fold, perforation, envelope, inserts, inserter marks,
postal product and weight class, sheets per batch. Plain data in, a dict for `welle-NN-auftrag.json` out.

Figures and where they come from: docs/print-production.md §Job ticket (weights) and
docs/domain-standards.md §Formats and weights (Deutsche Post's products). Prices and product rules change:
the ticket names the product and weight band, never a price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layouts import geometry as g
from mailing.config import Campaign, Insert
from mailing.errors import MailingError
from mailing.package import PDFX

A4_M2 = 0.210 * 0.297  # one sheet's area in m²
A6_M2 = g.POSTCARD_WIDTH_MM * g.POSTCARD_HEIGHT_MM / 1e6  # one postcard's area in m²


@dataclass(frozen=True)
class EnvelopeStock:
    name: str
    width_mm: float
    height_mm: float
    weight_g: float  # derived: blank ≈ 2.3 × the face (front, back, flaps) × paper weight; see the docs
    fold: str  # how the A4 letter is folded for it
    standard_format: bool  # Deutsche Post's Standard/Kompakt sizes (up to 235 × 125 mm)
    note: str = ""


ENVELOPE_STOCKS = {
    "DL": EnvelopeStock("DL", 220, 110, 4.5, "Z-Falz (Zickzackfalz) auf 210 × 105 mm", True),
    "C6/5": EnvelopeStock("C6/5", 229, 114, 4.8, "Z-Falz (Zickzackfalz) auf 210 × 105 mm", True),
    "C5": EnvelopeStock("C5", 229, 162, 7.7, "Einbruchfalz auf 210 × 148,5 mm", False,
                        "Fensterlage am Musterumschlag prüfen: die Anschrift kann bei vollem Spiel aus dem "
                        "Fenster rutschen"),
    "C4": EnvelopeStock("C4", 229, 324, 17.1, "ungefalzt", False,
                        "Fensterlage am Musterumschlag prüfen: die Anschrift kann bei vollem Spiel aus dem "
                        "Fenster rutschen"),
}
FOLD_LINES_MM = {"A": "87 und 192 mm", "B": "105 und 210 mm"}  # from the top edge, DIN 5008 fold marks

# Deutsche Post weight bands (g), docs/domain-standards.md §Formats and weights.
DIALOGPOST_STANDARD_BANDS = (20, 50)
DIALOGPOST_GROSS_BANDS = (50, 100, 250, 500, 1000)
BRIEF_STANDARD = (("Standardbrief", 20), ("Kompaktbrief", 50), ("Großbrief", 500), ("Maxibrief", 1000))
BRIEF_LARGE = (("Großbrief", 500), ("Maxibrief", 1000))


def de(value: float) -> str:
    """A number as German readers write it: 17,1 (no trailing zeros)."""
    return f"{value:g}".replace(".", ",")


def de_date(iso: str | None) -> str:
    """2026-11-30 → 30.11.2026 ("–" for none)."""
    if not iso:
        return "–"
    y, m, d = iso[:10].split("-")
    return f"{d}.{m}.{y}"


def sheet_weight_g(gsm: float) -> float:
    return A4_M2 * gsm


def postage(product: str, standard_format: bool, weight_g: float) -> dict[str, Any]:
    """Deutsche Post product and weight band for one piece."""
    w = round(weight_g, 1)
    if product == "dialogpost":
        if standard_format and w <= DIALOGPOST_STANDARD_BANDS[-1]:
            band = next(b for b in DIALOGPOST_STANDARD_BANDS if w <= b)
            service, cls = "DIALOGPOST Standard", "bis 20 g" if band == 20 else "21 bis 50 g"
        else:
            band = next((b for b in DIALOGPOST_GROSS_BANDS if w <= b), 0)
            service, cls = "DIALOGPOST Groß", f"bis {band} g"
    else:
        table = BRIEF_STANDARD if standard_format else BRIEF_LARGE
        service, band = next(((n, b) for n, b in table if w <= b), ("", 0))
        cls = f"bis {band} g"
    if not band:
        raise MailingError(f"a piece weighs {w:g} g, more than Deutsche Post's 1,000 g limit for letters; "
                           "lighten the inserts in the campaign file")
    return {"product": "Dialogpost" if product == "dialogpost" else "Brief", "service": service,
            "weight_class": cls, "weight_g": w}


def lettershop_sections(campaign: Campaign, letter: str | None, has_coupon: bool, pages_per_piece: int,
                        files: list[dict[str, Any]]) -> dict[str, Any]:
    """The ticket sections `print`, `finishing`, `enclosing` and `postage` for one wave."""
    pr = campaign.production
    lt = campaign.letters.get(letter) if letter else None
    if lt is not None and lt.postcard:
        return postcard_sections(campaign, lt.paper_gsm, pages_per_piece, files)
    duplex = campaign.layout.duplex_back and has_coupon and pages_per_piece == 2
    sheets_per_piece = -(-pages_per_piece // (2 if duplex else 1))
    stock = ENVELOPE_STOCKS[(lt.envelope if lt and lt.envelope else "") or campaign.layout.envelope]
    inserts: tuple[Insert, ...] = lt.inserts if lt is not None else pr.inserts
    sheets_g = sheets_per_piece * sheet_weight_g(pr.paper_gsm)
    inserts_g = sum(i.weight_g for i in inserts)
    total = sheets_g + inserts_g + stock.weight_g
    fold = stock.fold if stock.fold != "ungefalzt" else "ungefalzt"
    if stock.standard_format:
        fold += f", Falzlinien {FOLD_LINES_MM[campaign.layout.form]} von oben (Falzmarken)"
    marks: dict[str, Any] = {"kind": pr.inserter, "zone_mm": g.INSERTER_ZONE.as_json()}
    if pr.inserter == "omr":
        o = pr.omr
        marks["omr"] = {"x_mm": o.x_mm, "first_y_mm": o.first_y_mm, "pitch_mm": o.pitch_mm,
                        "length_mm": o.length_mm, "thickness_mm": o.thickness_mm, "tracks": list(o.tracks),
                        "parity": o.parity, "sequence_modulo": 8}
    elif pr.inserter == "datamatrix":
        marks["datamatrix"] = {"x_mm": g.DATAMATRIX_X_MM, "y_mm": g.DATAMATRIX_Y_MM,
                               "module_mm": g.DATAMATRIX_MODULE_MM,
                               "content": "14 Ziffern: Welle (3), Datei (3), Sendung in der Datei (6), Blatt i (1), "
                                          "von n (1)"}
    return {
        "ticket_version": 2,
        "print": {"pdf": PDFX["conformance"], "output_intent": PDFX["output_condition_identifier"],
                  "paper": "A4 (210 × 297 mm)", "paper_gsm": pr.paper_gsm, "duplex": duplex,
                  "colour": "nur Schwarz (100 % K)", "pages_per_piece": pages_per_piece,
                  "sheets_per_piece": sheets_per_piece},
        "finishing": {
            "fold": fold,
            "perforation": ({"y_mm": g.COUPON_TOP_MM, "description":
                             f"Querperforation {g.COUPON_TOP_MM:g} mm von oben über die ganze Breite "
                             f"(Antwortabschnitt {g.COUPON_WIDTH_MM:g} × {g.COUPON_HEIGHT_MM:g} mm)"}
                            if has_coupon else None),
        },
        "enclosing": {
            "envelope": {"name": stock.name, "size_mm": [stock.width_mm, stock.height_mm], "window": True,
                         "weight_g": stock.weight_g, "note": stock.note},
            "inserts": [{"name": i.name, "weight_g": i.weight_g} for i in inserts],
            "inserter_marks": marks,
            "sheets_per_batch": [{"file": f["file"], "sheets": f["pieces"] * sheets_per_piece} for f in files],
        },
        "postage": {**postage(pr.postal_product, stock.standard_format, total),
                    "weights_g": {"sheets": round(sheets_g, 2), "inserts": round(inserts_g, 2),
                                  "envelope": stock.weight_g},
                    "note": "Gewicht berechnet (Papier, Beilagen, Umschlag); Dicke, Preise und Mindestmengen "
                            "je Kampagne bei der Deutschen Post prüfen"},
    }


def postcard_sections(campaign: Campaign, gsm: float, pages_per_piece: int,
                      files: list[dict[str, Any]]) -> dict[str, Any]:
    """The lettershop sections for a wave of DIN A6 postcards (layouts.postcard): card stock printed on both
    sides, no fold, no envelope, no inserter marks; Deutsche Post's postcard product."""
    pr = campaign.production
    card_g = A6_M2 * gsm
    post = postage(pr.postal_product, True, card_g)
    post.update(service="DIALOGPOST Standard (Postkarte)" if pr.postal_product == "dialogpost" else "Postkarte",
                weight_class="Postkarte")
    return {
        "ticket_version": 2,
        "print": {"pdf": PDFX["conformance"], "output_intent": PDFX["output_condition_identifier"],
                  "paper": f"Postkarte DIN A6 ({de(g.POSTCARD_WIDTH_MM)} × {de(g.POSTCARD_HEIGHT_MM)} mm), Karton",
                  "paper_gsm": gsm, "duplex": True, "colour": "nur Schwarz (100 % K)",
                  "pages_per_piece": pages_per_piece, "sheets_per_piece": 1},
        "finishing": {"fold": "ungefalzt (Postkarte)", "perforation": None},
        "enclosing": {
            "envelope": None,
            "inserts": [],
            "inserter_marks": {"kind": "none"},
            "sheets_per_batch": [{"file": f["file"], "sheets": f["pieces"]} for f in files],
            "franking": "Frankierfeld oben rechts auf der Anschriftseite (Seite 2 jeder Karte): Frankiervermerk "
                        + ("(Frankierwelle DIALOGPOST)" if pr.postal_product == "dialogpost" else
                           "oder Freistempel") + " dort eindrucken",
        },
        "postage": {**post, "weights_g": {"sheets": round(card_g, 2), "inserts": 0.0, "envelope": 0.0},
                    "note": "Gewicht berechnet (Karton); Preise und Mindestmengen je Kampagne bei der Deutschen "
                            "Post prüfen"},
    }


def summary_lines(t: dict[str, Any]) -> list[str]:
    """The lettershop lines of the plain-text ticket (German)."""
    if "enclosing" not in t:
        return []
    p, f, e, post = t["print"], t["finishing"], t["enclosing"], t["postage"]
    env = e["envelope"]
    if env is None:  # postcards
        return [
            f"Druck: {p['pdf']} (Ausgabebedingung {p['output_intent']}), Papier {p['paper']}, "
            f"{de(p['paper_gsm'])} g/m², duplex (Seite 1 Text, Seite 2 Anschrift), {p['colour']}",
            f"Falz: {f['fold']}",
            "Perforation: keine",
            "Umschlag: keiner (Postkarte)",
            f"Frankierung: {e.get('franking', '')}",
            f"Postprodukt: {post['service']} ({post['product']}), {de(post['weight_g'])} g je Sendung",
            "Karten je Datei: " + ", ".join(f"{b['file']}: {b['sheets']}" for b in e["sheets_per_batch"]),
        ]
    lines = [
        f"Druck: {p['pdf']} (Ausgabebedingung {p['output_intent']}), Papier {p['paper']}, {de(p['paper_gsm'])} g/m², "
        f"{'duplex' if p['duplex'] else 'simplex'}, {p['colour']}, {p['sheets_per_piece']} Blatt je Sendung",
        f"Falz: {f['fold']}",
        f"Perforation: {f['perforation']['description'] if f['perforation'] else 'keine'}",
        f"Umschlag: {env['name']} mit Fenster ({de(env['size_mm'][0])} × {de(env['size_mm'][1])} mm, "
        f"{de(env['weight_g'])} g)" + (f"; {env['note']}" if env["note"] else ""),
        "Beilagen: " + ("; ".join(f"{i['name']} ({de(i['weight_g'])} g)" for i in e["inserts"]) or "keine"),
        f"Kuvertiersteuerung: {MARK_NAMES[e['inserter_marks']['kind']]}",
        f"Postprodukt: {post['service']} ({post['product']}), {de(post['weight_g'])} g je Sendung, "
        f"Gewichtsklasse {post['weight_class']}",
        "Blatt je Datei: " + ", ".join(f"{b['file']}: {b['sheets']}" for b in e["sheets_per_batch"]),
    ]
    return lines


MARK_NAMES = {"none": "keine Steuerzeichen", "omr": "OMR-Striche am rechten Rand",
              "datamatrix": "DataMatrix je Blatt am rechten Rand"}
