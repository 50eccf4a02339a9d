"""German address block and salutation: the reference's examples as a table, plus properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailing.addressing import MAX_LINES, address_lines, display_name, greeting

BASE = {"street": "Hauptstraße", "house_number": "5", "postal_code": "10115", "city": "Berlin", "country": "DE"}

# (record fields, expected address block, expected greeting) — docs/domain-standards.md §Address block,
# §Salutations.
CASES = [
    ({"salutation": "female", "first_name": "Anna", "last_name": "Müller"},
     ["Frau", "Anna Müller", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrte Frau Müller,"),
    ({"salutation": "male", "first_name": "Max", "last_name": "Müller"},
     ["Herrn", "Max Müller", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrter Herr Müller,"),
    ({"salutation": "female", "title": "Dr.", "first_name": "Ute", "last_name": "Klos"},
     ["Frau", "Dr. Ute Klos", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrte Frau Dr. Klos,"),
    ({"salutation": "male", "title": "Dr. phil. Dr. med.", "first_name": "Hubert", "last_name": "Klug"},
     ["Herrn", "Dr. phil. Dr. med. Hubert Klug", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrter Herr Dr. Klug,"),
    ({"salutation": "male", "title": "Prof. Dr.", "first_name": "Hans", "last_name": "Schmidt"},
     ["Herrn", "Prof. Dr. Hans Schmidt", "Hauptstraße 5", "10115 Berlin"],
     "Sehr geehrter Herr Professor Schmidt,"),
    ({"salutation": "female", "title": "Prof.", "first_name": "Eva", "last_name": "Obermann"},
     ["Frau", "Prof. Eva Obermann", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrte Frau Professorin Obermann,"),
    ({"salutation": "none", "first_name": "Alex", "last_name": "Meyer"},
     ["Alex Meyer", "Hauptstraße 5", "10115 Berlin"], "Guten Tag, Alex Meyer,"),
    ({"salutation": "company", "company": "Muster GmbH"},
     ["Muster GmbH", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrte Damen und Herren,"),
    ({"salutation": "female", "company": "Muster GmbH", "first_name": "Anna", "last_name": "Müller",
      "addition": "Einkauf"},
     ["Muster GmbH", "Frau Anna Müller", "Einkauf", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrte Frau Müller,"),
    ({"salutation": "male", "first_name": "Peter", "last_name": "von Hausen"},
     ["Herrn", "Peter von Hausen", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrter Herr von Hausen,"),
    ({"salutation": "male", "first_name": "Cornelius", "last_name": "Freiherr von Rosenau"},
     ["Herrn", "Cornelius Freiherr von Rosenau", "Hauptstraße 5", "10115 Berlin"],
     "Sehr geehrter Herr von Rosenau,"),
    ({"salutation": "female", "first_name": "Maria", "last_name": "Schneider", "addition": "bei Hoffmann"},
     ["Frau", "Maria Schneider", "bei Hoffmann", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrte Frau Schneider,"),
    ({"salutation": "male", "first_name": "Tom", "last_name": "Fischer", "street": None, "house_number": None,
      "postbox": "1456789", "postal_code": "30159", "city": "Hannover"},
     ["Herrn", "Tom Fischer", "Postfach 1 45 67 89", "30159 Hannover"], "Sehr geehrter Herr Fischer,"),
    ({"salutation": "female", "first_name": "Eva", "last_name": "Gruber", "street": "Mariahilfer Straße",
      "house_number": "88", "postal_code": "1070", "city": "Wien", "country": "AT"},
     ["Frau", "Eva Gruber", "Mariahilfer Straße 88", "1070 WIEN", "ÖSTERREICH"], "Sehr geehrte Frau Gruber,"),
    ({"salutation": "female", "first_name": "Anna", "last_name": "Müller", "title": "M.A."},
     ["Frau", "Anna Müller M.A.", "Hauptstraße 5", "10115 Berlin"], "Sehr geehrte Frau Müller,"),
]


@pytest.mark.parametrize(("fields", "lines", "salutation"), CASES)
def test_reference_examples(fields: dict[str, str], lines: list[str], salutation: str) -> None:
    r = {**BASE, **fields}
    assert address_lines(r) == lines
    assert greeting(r) == salutation


def test_six_lines_give_way_in_the_stated_order() -> None:
    r = {**BASE, "salutation": "female", "first_name": "Anna", "last_name": "Müller", "addition": "bei Hoffmann",
         "country": "NL", "postal_code": "1016 GV", "city": "Amsterdam"}
    # anrede, name, addition, street, place, country = 6: fits
    assert address_lines(r) == ["Frau", "Anna Müller", "bei Hoffmann", "Hauptstraße 5", "1016 GV AMSTERDAM",
                                "NIEDERLANDE"]
    long_company = "Internationale Gesellschaft für Verpackungstechnik und Logistik mbH"
    r2 = {**r, "company": long_company}
    # company wrapped (2) + contact + addition + street + place + country = 7 → company back on one line
    assert address_lines(r2) == [long_company, "Frau Anna Müller", "bei Hoffmann", "Hauptstraße 5",
                                 "1016 GV AMSTERDAM", "NIEDERLANDE"]
    r3 = {**r2, "country": "DE", "postal_code": "10115", "city": "Berlin"}
    assert address_lines(r3)[:2] == ["Internationale Gesellschaft für", "Verpackungstechnik und Logistik mbH"]


def test_overrides_win() -> None:
    r = {**BASE, "salutation": "female", "first_name": "Anna", "last_name": "Müller",
         "address_override": "Anna Müller\n\nc/o Hotel Adlon\nUnter den Linden 77\n10117 Berlin",
         "salutation_override": "Liebe Anna"}
    assert address_lines(r) == ["Anna Müller", "c/o Hotel Adlon", "Unter den Linden 77", "10117 Berlin"]
    assert greeting(r) == "Liebe Anna,"


def test_display_name() -> None:
    assert display_name({"title": "Dr.", "first_name": "Anna", "last_name": "Müller", "company": "X"}) == \
        "Dr. Anna Müller"
    assert display_name({"company": "Muster GmbH"}) == "Muster GmbH"


FIELDS = ("salutation", "title", "first_name", "last_name", "company", "addition", "street", "house_number",
          "postbox", "postal_code", "city", "country", "address_override", "salutation_override")
_text = st.one_of(st.none(), st.just(""), st.just("  "), st.text(max_size=60),
                  st.sampled_from(["Prof. Dr.", "Dr.", "Freiherr von", "Müller", "Postfach", "1 2 3", "AT", "NL",
                                   "=SUM(A1)", "Herrn", "a\nb\nc\nd\ne\nf\ng\nh"]))
records = st.fixed_dictionaries({}, optional={
    **{f: _text for f in FIELDS},
    "salutation": st.sampled_from(["female", "male", "none", "company", "", "bogus"]),
})


@settings(max_examples=300, deadline=None)
@given(records)
def test_properties(r: dict[str, str | None]) -> None:
    lines = address_lines(r)
    assert len(lines) <= MAX_LINES
    assert all(line.strip() for line in lines)
    g = greeting(r)
    assert g.endswith(",")
    assert isinstance(display_name(r), str)


@settings(max_examples=100, deadline=None)
@given(records, st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip()) and len(s.splitlines()) == 1))
def test_override_always_wins(r: dict[str, str | None], override: str) -> None:
    r = {**r, "address_override": override, "salutation_override": override}
    assert address_lines(r) == [" ".join(override.split())]
    assert greeting(r).startswith(" ".join(override.split()))


def test_long_company_line_wraps_onto_a_free_line_before_anything_shrinks() -> None:
    from mailing.addressing import fit_lines

    too_wide = lambda t: len(t) > 34  # noqa: E731 - a stand-in for the window width at 10 pt
    lines = ["Verpackungstechnik, Logistik und Lagerhaltungssysteme mbH & Co. KG", "Frau Anna Müller",
             "Industriestraße 7", "50667 Köln"]
    out = fit_lines(lines, too_wide)
    assert out[:3] == ["Verpackungstechnik, Logistik und", "Lagerhaltungssysteme mbH & Co. KG", "Frau Anna Müller"]
    full = ["A", "B", "C", "D", "Industriestraße 7 mit einem sehr langen Straßennamen", "50667 Köln"]
    assert fit_lines(full, too_wide) == full  # no free line, and street/place never wrap
