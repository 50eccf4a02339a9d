"""German address block and salutation (DIN 5008:2020), from data tables.

`address_lines(r)`, `greeting(r)` and `display_name(r)` take a Mapping with the column names of the
recipients table (salutation, title, first_name, last_name, company, addition, street, house_number, postbox,
postal_code, city, country, address_override, salutation_override); missing keys count as empty.

Address block (docs/domain-standards.md §Address block, §Salutations), top to bottom:
  private letter:  "Frau"/"Herrn" · name with titles · addition ("bei …") · street or Postfach · PLZ Ort · COUNTRY
  business letter: company (long names wrapped in two lines) · "Frau Dr. Anna Müller" · addition · …
A foreign address has the city and the country (in German) in capitals; the country is the last line.
At most 6 lines (the Anschriftzone). When there are more, `GIVE_WAY` is applied in its order until the
block fits: 1. "Frau"/"Herrn" moves into the name line; 2. a wrapped company name goes back to one line;
3. the addition line is dropped; 4. the contact person of a business letter is dropped. No address with one
company line can need more (company, addition, street, city, country = 5).
The printed width is checked by the layout (`layouts.letter`), which calls `fit_lines`: a line too wide
for the window wraps at a space onto a free line of the 6 (directly below it) before the whole block
shrinks; only a line still too wide at the smallest size is cut, as the last resort.
A per-record `address_override` (lines separated by newlines) wins over everything; empty lines in it are
dropped and it is cut at 6 lines.

Salutation: `GREETINGS` by stored salutation; the highest academic title only, written as `TITLE_RANKS` says
("Professor"/"Professorin", "Dr."); nobility titles (Freiherr, Graf, …) dropped, particles ("von") kept;
"Sehr geehrte Damen und Herren," when there is no one to name. `salutation_override` wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from mailing.normalise import country_name_de, group_postbox

MAX_LINES = 6  # DIN 5008 Anschriftzone
COMPANY_WRAP_CHARS = 40  # about 85 mm at 10 pt; longer company names are wrapped onto two lines

# Stored salutation → word on the Anrede line of the address block ("Herrn": accusative, DE/AT usage).
ADDRESS_WORD: dict[str, str] = {"female": "Frau", "male": "Herrn", "none": "", "company": ""}

# Stored salutation → greeting template. {titled} = highest title + surname; {full} = the full name.
GREETINGS: dict[str, str] = {
    "female": "Sehr geehrte Frau {titled},",
    "male": "Sehr geehrter Herr {titled},",
    "none": "Guten Tag, {full},",
    "company": "Guten Tag, {full},",  # a company's contact person without a given gender
}
NOBODY_GREETING = "Sehr geehrte Damen und Herren,"

# Academic titles, highest first: (pattern in the title field, greeting form per salutation).
TITLE_RANKS: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    (re.compile(r"(?<![a-z])prof(?:\.|essor(?:in)?)?(?![a-z])", re.IGNORECASE),
     {"male": "Professor", "female": "Professorin", "none": "Prof.", "company": "Prof."}),
    (re.compile(r"(?<![a-z])dr(?:\.|(?![a-z]))", re.IGNORECASE),
     {"male": "Dr.", "female": "Dr.", "none": "Dr.", "company": "Dr."}),
)

# Degrees written after the name (DIN 5008: B.A./M.A. after, Dr./Prof./Dipl. before).
POSTNOMINALS: frozenset[str] = frozenset(
    t.lower() for t in ("B.A.", "M.A.", "B.Sc.", "M.Sc.", "B.Eng.", "M.Eng.", "LL.B.", "LL.M.", "MBA", "Ph.D.",
                        "PhD", "B.A", "M.A", "BSc", "MSc")
)

# Nobility titles that are part of the surname but left out of the salutation ("Freiherr von Rosenau" →
# "Herr von Rosenau"). The particles von/zu/van/de stay. We follow experto/joern.de for all of them.
NOBILITY_TITLES: frozenset[str] = frozenset(
    ("freiherr", "freifrau", "freiin", "graf", "gräfin", "baron", "baronin", "baronesse", "fürst", "fürstin",
     "prinz", "prinzessin", "herzog", "herzogin", "ritter", "edler", "edle", "edlen")
)


def _get(r: Mapping[str, Any], key: str) -> str:
    value = r.get(key)
    if value is None:
        return ""
    return " ".join(str(value).split())


def _split_titles(title: str) -> tuple[str, str]:
    """(titles before the name, degrees after it)."""
    before: list[str] = []
    after: list[str] = []
    for token in title.split():
        (after if token.lower() in POSTNOMINALS else before).append(token)
    return " ".join(before), " ".join(after)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def person_name(r: Mapping[str, Any]) -> str:
    """ "Prof. Dr. Hans Schmidt", "Anna Müller M.A."; "" when the record names no person."""
    first, last = _get(r, "first_name"), _get(r, "last_name")
    if not (first or last):
        return ""
    before, after = _split_titles(_get(r, "title"))
    return _join(before, first, last, after)


def _salutation(r: Mapping[str, Any]) -> str:
    value = _get(r, "salutation").lower()
    return value if value in ADDRESS_WORD else "none"


def display_name(r: Mapping[str, Any]) -> str:
    """The name pre-printed on the coupon: the person with titles, else the company."""
    return person_name(r) or _get(r, "company")


def salutation_kind(r: Mapping[str, Any]) -> str:
    """Which form of a salutation-aware word the letter uses (mailing.config.WORD_FORMS): "female" or
    "male" for a named woman or man (also as a company's contact), "company" for a company with nobody
    named, else "none" (the neutral form)."""
    salutation, named = _salutation(r), bool(person_name(r))
    if salutation in ("female", "male") and named:
        return salutation
    if not named and _get(r, "company"):
        return "company"
    return "none"


def _wrap(text: str, width: int) -> list[str]:
    """At most two lines, split at the last space before `width`."""
    if len(text) <= width or " " not in text:
        return [text]
    cut = text.rfind(" ", 0, width + 1)
    if cut <= 0:
        cut = text.find(" ")
    return [text[:cut], text[cut + 1:]]


def _street_line(r: Mapping[str, Any]) -> str:
    postbox = _get(r, "postbox")
    if postbox:
        return f"Postfach {group_postbox(postbox)}"
    return _join(_get(r, "street"), _get(r, "house_number"))


def _place_lines(r: Mapping[str, Any]) -> list[str]:
    country = _get(r, "country").upper() or "DE"
    plz, city = _get(r, "postal_code"), _get(r, "city")
    if country == "DE":
        return [_join(plz, city)]
    return [_join(plz, city.upper()), country_name_de(country).upper()]


# The block is kept as named parts so the give-way rules can act on them.
_Parts = dict[str, list[str]]


def _parts(r: Mapping[str, Any]) -> _Parts:
    word, name, company = ADDRESS_WORD[_salutation(r)], person_name(r), _get(r, "company")
    if company:  # business letter: company first, contact person below
        return {"company": _wrap(company, COMPANY_WRAP_CHARS), "anrede": [], "name": [_join(word, name)],
                "addition": [_get(r, "addition")], "street": [_street_line(r)], "place": _place_lines(r)}
    return {"company": [], "anrede": [word] if name else [], "name": [name],
            "addition": [_get(r, "addition")], "street": [_street_line(r)], "place": _place_lines(r)}


def _merge_anrede(p: _Parts) -> None:
    if p["anrede"]:
        p["name"] = [_join(*p["anrede"], *p["name"])]
        p["anrede"] = []


def _unwrap_company(p: _Parts) -> None:
    p["company"] = [" ".join(p["company"])] if p["company"] else []


def _drop_addition(p: _Parts) -> None:
    p["addition"] = []


def _drop_contact(p: _Parts) -> None:
    if p["company"]:
        p["name"] = []


# What gives way, in this order, while the block has more than MAX_LINES lines.
GIVE_WAY: tuple[tuple[str, Callable[[_Parts], None]], ...] = (
    ("Frau/Herrn moves into the name line", _merge_anrede),
    ("a wrapped company name goes back to one line", _unwrap_company),
    ("the addition line is dropped", _drop_addition),
    ("the contact person of a business letter is dropped", _drop_contact),
)

_ORDER = ("company", "anrede", "name", "addition", "street", "place")


def _lines(p: _Parts) -> list[str]:
    return [line for key in _ORDER for line in p[key] if line]


def address_lines(r: Mapping[str, Any]) -> list[str]:
    """The DIN 5008 address block: at most 6 non-empty lines, the country (if foreign) last."""
    override = r.get("address_override")
    if override and str(override).strip():
        lines = [" ".join(line.split()) for line in str(override).splitlines()]
        return [line for line in lines if line][:MAX_LINES]
    parts = _parts(r)
    for _why, rule in GIVE_WAY:
        if len(_lines(parts)) <= MAX_LINES:
            break
        rule(parts)
    return _lines(parts)[:MAX_LINES]


def _protected_tail(lines: list[str]) -> int:
    """How many lines at the end never wrap: street and place (and the country line abroad)."""
    last = lines[-1] if lines else ""
    is_country = bool(last) and last.upper() == last and not any(ch.isdigit() for ch in last)
    return 3 if is_country and len(lines) >= 3 else 2


def fit_lines(lines: list[str] | tuple[str, ...], too_wide: Callable[[str], bool],
              max_lines: int = MAX_LINES) -> list[str]:
    """Wrap lines that are too wide onto free lines of the block (at most max_lines).

    `too_wide(text)` says whether a line is too wide at the block's normal size. The first too-wide line
    above the street is split at the last space where its head fits; the rest goes on the next line (and
    may be split again while lines are free). Street, place and country never wrap. A line with no space
    that fits, or a block with no free line left, is returned as it is: the caller then shrinks the block.
    """
    out = list(lines)
    while len(out) < max_lines:
        limit = len(out) - _protected_tail(out)
        index = next((i for i in range(max(limit, 0)) if too_wide(out[i])), None)
        if index is None:
            break
        words = out[index].split(" ")
        cut = next((k for k in range(len(words) - 1, 0, -1) if not too_wide(" ".join(words[:k]))), None)
        if cut is None:
            break
        out[index:index + 1] = [" ".join(words[:cut]), " ".join(words[cut:])]
    return out


def _greeting_surname(last_name: str) -> str:
    """Surname without nobility titles: "Freiherr von Rosenau" → "von Rosenau"."""
    return " ".join(w for w in last_name.split() if w.lower() not in NOBILITY_TITLES)


def highest_title(title: str, salutation: str) -> str:
    """The greeting form of the highest academic title: "Prof. Dr. med." → "Professor" (male)."""
    for pattern, forms in TITLE_RANKS:
        if pattern.search(title):
            return forms.get(salutation, forms["none"])
    return ""


def greeting(r: Mapping[str, Any]) -> str:
    """ "Sehr geehrte Frau Dr. Müller,", "Guten Tag, Alex Meyer,", "Sehr geehrte Damen und Herren," …"""
    override = _get(r, "salutation_override")
    if override:
        return override if override.endswith(",") else override + ","
    salutation, last = _salutation(r), _get(r, "last_name")
    if not (last or _get(r, "first_name")):
        return NOBODY_GREETING
    if salutation in ("female", "male") and not last:
        salutation = "none"  # "Sehr geehrte Frau Anna," is wrong; name her in full instead
    title = highest_title(_get(r, "title"), salutation)
    full = _join(title if salutation in ("none", "company") else "", _get(r, "first_name"), last)
    titled = _join(title, _greeting_surname(last) or last)
    return GREETINGS[salutation].format(titled=titled, full=full)
