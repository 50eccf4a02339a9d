"""Normalisation shared by import, deduplication and suppression: text → comparable keys.

- `fold`: case, umlauts (ä → ae, ß → ss), accents and punctuation removed ("Müller-Lüdenscheidt" →
  "muellerluedenscheidt");
- `street_key`: "Hauptstr.", "Hauptstraße", "Haupt-Strasse" → "hauptstr";
- `house_number_key`: "5 a", "5A" → "5a"; `split_street`: "Hauptstr. 5a" → ("Hauptstr.", "5a");
- `parse_postbox`: "Postfach 12 34 56" → "123456"; `group_postbox`: "123456" → "12 34 56";
- `country_code`: "Österreich", "Austria", "AT", "AUT" → "AT"; `country_name_de`: "AT" → "Österreich";
- `postal_code`: checks and normalises a postal code for its country ("1234ab" → "1234 AB" for NL);
- `salutation_value`: "Frau", "Herrn", "divers", "Firma", ... → female | male | none | company;
- `match_key`: name + address → the key stored in recipients.match_key and suppression.match_key.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into ASCII, or that German spells with two letters.
_TRANSLIT = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue",
    "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "đ": "d", "Đ": "d", "œ": "oe", "Œ": "oe",
})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str | None) -> str:
    """Lower-case ASCII letters and digits only; umlauts spelt out, accents dropped."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text).translate(_TRANSLIT)
    t = unicodedata.normalize("NFKD", t)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return _NON_ALNUM.sub("", t)


def street_key(street: str | None) -> str:
    """Street spelling variants → one key: "Hauptstr." = "Hauptstraße" = "Haupt-Strasse" → "hauptstr"."""
    if not street:
        return ""
    t = unicodedata.normalize("NFKC", street).replace("ß", "ss").replace("ẞ", "ss")
    # "str." / "str" / "strasse" (ß already spelt out) → "str"; "Strandweg" stays as it is.
    t = re.sub(r"str(?:\.|asse|\b)", "str ", t, flags=re.IGNORECASE)
    return fold(t)


def house_number_key(number: str | None) -> str:
    """ "5 a", "5A", "5-a" → "5a"."""
    return fold(number)


def house_number_base(number: str | None) -> str:
    """The leading digits of a house number: "5a" → "5", "16-20" → "16"."""
    m = re.match(r"\s*(\d+)", number or "")
    return m.group(1) if m else fold(number)


_STREET_NUMBER = re.compile(
    r"^(?P<street>.*?[^\d\s,])[\s,]*(?P<number>\d+\s*[a-zA-Z]?(?:\s*[-–/]\s*\d+\s*[a-zA-Z]?)?)\s*$"
)


def split_street(text: str) -> tuple[str, str]:
    """ "Hauptstr. 5a" → ("Hauptstr.", "5a"); "Am Markt" → ("Am Markt", "")."""
    t = " ".join(text.split())
    m = _STREET_NUMBER.match(t)
    if not m:
        return t, ""
    return m.group("street").strip(), " ".join(m.group("number").split())


_POSTBOX = re.compile(r"^\s*(?:postfach|pf\.?|postbox|p\.?\s*o\.?\s*box)\s*:?\s*(?P<digits>[\d\s.]*\d)\s*$",
                      re.IGNORECASE)


def parse_postbox(text: str | None) -> str | None:
    """ "Postfach 12 34 56" / "PF 123456" / "Postfach 12.34.56" → "123456"; anything else → None."""
    m = _POSTBOX.match(text or "")
    if not m:
        return None
    return re.sub(r"\D", "", m.group("digits"))


def group_postbox(digits: str) -> str:
    """ "1456789" → "1 45 67 89": pairs from the right (DIN 5008)."""
    d = re.sub(r"\D", "", digits)
    if not d:
        return digits.strip()
    groups = []
    while d:
        groups.append(d[-2:])
        d = d[:-2]
    return " ".join(reversed(groups))


# ISO code → German name (what the last address line shows, upper-cased for foreign addresses).
COUNTRY_NAMES_DE: dict[str, str] = {
    "DE": "Deutschland", "AT": "Österreich", "CH": "Schweiz", "NL": "Niederlande", "BE": "Belgien",
    "LU": "Luxemburg", "FR": "Frankreich", "IT": "Italien", "ES": "Spanien", "PT": "Portugal",
    "PL": "Polen", "CZ": "Tschechien", "SK": "Slowakei", "HU": "Ungarn", "SI": "Slowenien",
    "HR": "Kroatien", "DK": "Dänemark", "SE": "Schweden", "NO": "Norwegen", "FI": "Finnland",
    "GB": "Vereinigtes Königreich", "IE": "Irland", "LI": "Liechtenstein", "GR": "Griechenland",
    "RO": "Rumänien", "BG": "Bulgarien", "EE": "Estland", "LV": "Lettland", "LT": "Litauen",
    "MT": "Malta", "CY": "Zypern", "IS": "Island", "MC": "Monaco", "US": "Vereinigte Staaten",
    "CA": "Kanada", "TR": "Türkei",
}

# Further names and codes people write (folded with `fold`) → ISO code.
_COUNTRY_ALIASES: dict[str, str] = {
    "germany": "DE", "deu": "DE", "brd": "DE", "bundesrepublikdeutschland": "DE", "d": "DE",
    "austria": "AT", "aut": "AT", "a": "AT", "oesterreich": "AT", "osterreich": "AT",
    "switzerland": "CH", "che": "CH", "suisse": "CH", "schweiz": "CH", "svizzera": "CH",
    "netherlands": "NL", "thenetherlands": "NL", "nld": "NL", "holland": "NL", "nederland": "NL",
    "belgium": "BE", "belgique": "BE", "luxembourg": "LU", "france": "FR", "italy": "IT", "italia": "IT",
    "spain": "ES", "espana": "ES", "poland": "PL", "polska": "PL", "czechia": "CZ",
    "czechrepublic": "CZ", "tschechischerepublik": "CZ", "denmark": "DK", "danmark": "DK",
    "sweden": "SE", "norway": "NO", "finland": "FI", "unitedkingdom": "GB", "uk": "GB",
    "grossbritannien": "GB", "england": "GB", "ireland": "IE", "greece": "GR", "hungary": "HU",
    "slovakia": "SK", "slovenia": "SI", "croatia": "HR", "romania": "RO", "bulgaria": "BG",
    "estonia": "EE", "latvia": "LV", "lithuania": "LT", "cyprus": "CY", "iceland": "IS",
    "unitedstates": "US", "usa": "US", "canada": "CA", "turkey": "TR", "tuerkei": "TR",
}
_COUNTRY_LOOKUP: dict[str, str] = {
    **{fold(name): code for code, name in COUNTRY_NAMES_DE.items()},
    **{code.lower(): code for code in COUNTRY_NAMES_DE},
    **_COUNTRY_ALIASES,
}


def country_code(value: str | None) -> str | None:
    """A country name (German or English) or ISO code → ISO alpha-2; empty → "DE"; unknown → None."""
    if value is None or not value.strip():
        return "DE"
    return _COUNTRY_LOOKUP.get(fold(value))


def country_name_de(code: str) -> str:
    return COUNTRY_NAMES_DE.get(code.upper(), code.upper())


# Postal code rules per country: (pattern on the input with spaces collapsed, formatter, description).
_POSTAL_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "DE": (re.compile(r"^\d{5}$"), "a German postal code has 5 digits"),
    "AT": (re.compile(r"^\d{4}$"), "an Austrian postal code has 4 digits"),
    "CH": (re.compile(r"^\d{4}$"), "a Swiss postal code has 4 digits"),
    "LI": (re.compile(r"^\d{4}$"), "a Liechtenstein postal code has 4 digits"),
    "NL": (re.compile(r"^\d{4} ?[A-Z]{2}$"), "a Dutch postal code looks like 1234 AB"),
}


def postal_code(value: str | None, country: str) -> tuple[str | None, str]:
    """(normalised code, "") or (None, reason). Strips a "D-"/"A-"/"CH-" prefix people still write."""
    v = " ".join((value or "").split()).upper()
    v = re.sub(r"^(?:D|DE|A|AT|CH|NL)\s*-\s*", "", v)
    if not v:
        return None, "postal code is empty"
    rule = _POSTAL_RULES.get(country)
    if rule is None:
        return v, ""
    pattern, description = rule
    if not pattern.match(v):
        return None, f"{value.strip() if value else ''!r} is not a valid postal code ({description})"
    if country == "NL":
        v = f"{v[:4]} {v[-2:]}"
    return v, ""


# Salutation as written in lists → stored value (female | male | none | company).
SALUTATION_VALUES: dict[str, str] = {
    "frau": "female", "fr": "female", "female": "female", "f": "female", "w": "female", "weiblich": "female",
    "mrs": "female", "ms": "female", "miss": "female",
    "herr": "male", "herrn": "male", "hr": "male", "male": "male", "m": "male", "maennlich": "male",
    "mr": "male",
    "divers": "none", "d": "none", "x": "none", "none": "none", "unknown": "none", "unbekannt": "none",
    "keine": "none", "keineangabe": "none", "ohne": "none", "": "none", "diverse": "none", "neutral": "none",
    "firma": "company", "company": "company", "fa": "company", "unternehmen": "company",
}


def salutation_value(value: str | None) -> str | None:
    """ "Frau" → "female", "Herrn" → "male", "divers"/"" → "none", "Firma" → "company"; unknown → None."""
    return SALUTATION_VALUES.get(fold(value))


def address_part_key(street: str | None, house_number: str | None, postbox: str | None) -> str:
    if postbox:
        return "pf" + re.sub(r"\D", "", postbox)
    return f"{street_key(street)}|{house_number_key(house_number)}"


def match_key(last_name: str | None, company: str | None, street: str | None, house_number: str | None,
              postbox: str | None, postal_code_: str | None, country: str | None) -> str:
    """Normalised surname (or company when there is no surname) + address, for dedupe and suppression."""
    name = fold(last_name) or fold(company)
    return "|".join((name, address_part_key(street, house_number, postbox),
                     fold(postal_code_), (country or "DE").upper()))
