"""German wording: the store's English codes and messages as a marketer reads them."""

from __future__ import annotations

import pytest

from reports.wording import (
    MESSAGES,
    REVIEW_KINDS,
    WAVE_STATUS,
    german_label,
    german_message,
    wave_kind,
)


@pytest.mark.parametrize(("english", "german"), [
    ("no code found", "kein Code gefunden"),
    ("blank page", "leere Seite"),
    ("Image too large", "Bild zu groß"),
    ("cannot open file (Permission denied)", "Datei lässt sich nicht öffnen (Permission denied)"),
    ("wrong length (12 symbols, expected 13)", "falsche Länge (12 statt 13 Zeichen)"),
    ("not a code symbol: 'U'", "kein Code-Zeichen: 'U'"),
    ("doubtful boxes: call, optout", "Kreuz unklar: call, optout"),
    ("code typed; boxes still to set: info", "Code eingegeben; Kreuze noch festzulegen: info"),
    ("boxes still to set: info", "Kreuze noch festzulegen: info"),
    ("duplicate ticks optout", "zweite Karte mit zusätzlichem Kreuz: optout"),
    ("scan 17", "Scan Nr. 17"),
    ("response 4", "Antwort Nr. 4"),
])
def test_program_messages_in_german(english: str, german: str) -> None:
    assert german_message(english) == german


def test_text_it_does_not_know_stays_as_it_is() -> None:
    assert german_message("Kunde hat angerufen, Karte war nass") == "Kunde hat angerufen, Karte war nass"
    assert german_message("robinson.csv") == "robinson.csv"  # a file name as suppression reference
    assert german_message("scan 17 of 20") == "scan 17 of 20"  # only whole messages are translated
    assert german_message(None) is None and german_message("") == ""


def test_codes_to_labels() -> None:
    assert german_label(WAVE_STATUS, "produced") == "produziert"
    assert german_label(WAVE_STATUS, "dropped") == "verworfen"
    assert german_label(REVIEW_KINDS, "something-new") == "something-new"
    assert german_label(REVIEW_KINDS, None) is None
    assert wave_kind("letter:infopack") == "Folgebrief (infopack)" and wave_kind("reminder") == "Erinnerung"


def test_every_message_pattern_is_distinct() -> None:
    patterns = [p for p, _ in MESSAGES]
    assert len(patterns) == len(set(patterns))
