"""German wording of the reports: the store's English codes and messages → what a marketer reads.

The store keeps stable English codes ("produced", "objection", "returned-mail") and the scanner's and
matcher's messages in English ("no code found", "doubtful boxes: call"), as logs and `--json` output use
them. Everything that ends up in a cell of a German workbook goes through this module first:

- `german_label(table, code)`: a code from one of the tables below; an unknown code is shown as it is.
- `german_message(text)`: a scan reason, a review note or a suppression reference, translated by the
  exact texts and patterns in `MESSAGES`; text it does not know (a note an operator typed) stays as it is.

A new English reason or note written into the store needs its German line in `MESSAGES` (the report tests
check every message the code base writes today).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

WAVE_KINDS = {"initial": "Erstaussendung", "reminder": "Erinnerung"}
WAVE_STATUS = {"planned": "geplant", "produced": "produziert", "dropped": "verworfen", "pooled": "gesammelt"}
REVIEW_KINDS = {"unreadable": "nicht lesbar", "invalid": "Prüfzeichen falsch", "unknown": "unbekannter Code",
                "doubtful": "Kreuz unklar", "conflict": "Widerspruch"}
SUPPRESSION_SOURCES = {"import": "Import (Sperrdatei)", "scan": "Antwortkarte", "returned-mail": "Rückläufer",
                       "review": "Prüfung", "followup": "Folgeaktion", "phone": "Telefon",
                       "online": "Online-Antwort", "manual": "von Hand"}
SUPPRESSION_REASONS = {"objection": "Werbewiderspruch", "robinson": "Robinsonliste", "undeliverable": "unzustellbar",
                       "deceased": "verstorben"}
RESPONSE_SOURCES = {"scan": "Antwortkarte", "review": "Prüfung", "phone": "Telefon", "online": "Online-Antwort"}
CHANNEL_LABELS = {"paper": "per Antwortkarte", "online": "im Internet", "phone": "telefonisch"}  # responses by channel
SALUTATIONS = {"female": "Frau", "male": "Herr", "none": "", "company": "Firma"}
TICKS = {True: "ja", False: "nein", None: "unklar"}

# (pattern, German) in order; a pattern matches the whole text, groups are put in as \1, \2
MESSAGES: tuple[tuple[str, str], ...] = (
    # scanning/intake.py and scanning/pipeline.py: why a page gave no coupon
    (r"no code found", "kein Code gefunden"),
    (r"blank page", "leere Seite"),
    (r"unreadable image", "Bild nicht lesbar"),
    (r"decoder crashed", "Lesefehler (Decoder abgebrochen)"),
    (r"corrupt file", "Datei beschädigt"),
    (r"corrupt page", "Seite beschädigt"),
    (r"file not found", "Datei nicht gefunden"),
    (r"unsupported format", "Dateiformat nicht unterstützt"),
    (r"image too large", "Bild zu groß"),
    (r"image too small", "Bild zu klein"),
    (r"encrypted PDF", "PDF verschlüsselt"),
    (r"cannot open file \((.*)\)", r"Datei lässt sich nicht öffnen (\1)"),
    # mailing/codes.py and mailing/matching.py: a code that is no code of ours
    (r"no such code", "Code unbekannt"),
    (r"check symbol wrong", "Prüfzeichen falsch"),
    (r"wrong length \((\d+) symbols, expected (\d+)\)", r"falsche Länge (\1 statt \2 Zeichen)"),
    (r"not a code symbol: (.*)", r"kein Code-Zeichen: \1"),
    # review notes (mailing/matching.py, mailing/review.py); the option keys stay as they are
    (r"doubtful boxes: (.*)", r"Kreuz unklar: \1"),
    (r"duplicate ticks (.*)", r"zweite Karte mit zusätzlichem Kreuz: \1"),
    (r"code typed; boxes still to set: (.*)", r"Code eingegeben; Kreuze noch festzulegen: \1"),
    (r"boxes still to set: (.*)", r"Kreuze noch festzulegen: \1"),
    # suppression references (mailing/matching.py, mailing/followup.py)
    (r"scan (\d+)", r"Scan Nr. \1"),
    (r"response (\d+)", r"Antwort Nr. \1"),
)
_MESSAGES = tuple((re.compile(pattern, re.IGNORECASE), german) for pattern, german in MESSAGES)


def german_label(table: Mapping[str, str], code: str | None) -> str | None:
    """The German label of `code`; an unknown code as it is (None stays None)."""
    if code is None:
        return None
    return table.get(code, code)


def wave_kind(kind: str) -> str:
    """"Erstaussendung", "Erinnerung", or "Folgebrief (infopack)" for a follow-up letter wave."""
    if kind.startswith("letter:"):
        return f"Folgebrief ({kind.split(':', 1)[1]})"
    return WAVE_KINDS.get(kind, kind)


def german_message(text: str | None) -> str | None:
    """`text` in German when it is one of the program's own messages, else unchanged."""
    if not text:
        return text
    stripped = text.strip()
    for pattern, german in _MESSAGES:
        m = pattern.fullmatch(stripped)
        if m:
            return m.expand(german)
    return text
