"""Campaign files (TOML) → a validated `Campaign`.

Every key is checked: an unknown key or a bad value is reported with its line in the file and what is
allowed. Merge fields in letter texts are checked here too, so an unknown field fails at `campaign add`
and never prints blank. `EXAMPLE_TOML` is what `mailing init` writes.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailing.errors import ConfigError

MAX_OPTIONS = 5  # coupon slots (layouts.geometry.CHECKBOX_SLOTS)
# Months after a campaign's last drop date until `mailing purge` removes its personal data and coupon
# pictures (statistics and the hashed suppression list stay). Why 24: see docs/data-protection.md.
DEFAULT_RETENTION_MONTHS = 24
OPTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
CLIENT_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")  # a client's key (mailing/clients.py)

# Merge fields a letter text may use: {name} → what it prints.
MERGE_FIELDS = {
    "anrede": "the salutation line, e.g. 'Sehr geehrte Frau Dr. Müller,'",
    "vorname": "first name",
    "nachname": "last name (with nobility particle)",
    "titel": "academic title as imported",
    "firma": "company",
    "strasse": "street and house number",
    "plz": "postal code",
    "ort": "city",
    "kundennummer": "customer id",
    "code": "the response code, grouped (7K3M-9QXP-2W4H)",
    "antwort_url": "the response URL with the code, when the campaign has one",
}

# Salutation-aware words a letter text may use, e.g. "Als {langjähriger_Kunde} erhalten Sie …".
# The form follows the recipient's stored salutation: (female, male, neutral, company). Neutral (no gender
# given, "divers") names both forms, female first, as German guides on inclusive letters do; a company
# without a named contact person gets the form used for firms as customers (generic masculine, as in
# "Ihr Unternehmen ist langjähriger Kunde"). A company with a named woman or man as contact follows her or him.
WORD_FORMS: dict[str, tuple[str, str, str, str]] = {
    "Kunde": ("Kundin", "Kunde", "Kundin oder Kunde", "Kunde"),
    "ein_Kunde": ("eine Kundin", "ein Kunde", "eine Kundin oder ein Kunde", "ein Kunde"),
    "langjähriger_Kunde": ("langjährige Kundin", "langjähriger Kunde",
                           "langjährige Kundin oder langjähriger Kunde", "langjähriger Kunde"),
    "Leser": ("Leserin", "Leser", "Leserin oder Leser", "Leser"),
    "Sie_als_Kunde": ("Sie als Kundin", "Sie als Kunde", "Sie als Kundin oder Kunde", "Sie als Kunde"),
}
WORD_FORM_INDEX = {"female": 0, "male": 1, "none": 2, "company": 3}
for _key, _forms in WORD_FORMS.items():
    MERGE_FIELDS[_key] = f"salutation-aware: {' / '.join(_forms[:3])}"

TYPEFACES = ("carlito", "dejavu")  # layouts.fonts.FAMILIES; carlito (open licence, metric-compatible with Calibri)
ASSET_KINDS = ("logo", "signature_image", "enclosure")  # files a letter takes from disk (captured per wave)
LOGO_SUFFIXES = (".svg", ".pdf", ".png", ".jpg", ".jpeg")

FORMS = ("A", "B")
ENVELOPES = ("DL", "C6/5")
ECC_LEVELS = ("M", "Q", "H")
DEDUPE_MODES = ("report", "merge")
RULE_WHEN = ("ticked", "no_response", "responded")
RULE_ACTIONS = ("letter", "call", "suppress")
CONFLICT_RULES = ("review", "optout-wins")  # a coupon ticking a call option and an opt-out
IMPORT_TARGETS = (
    "salutation", "title", "first_name", "last_name", "company", "addition", "street", "house_number",
    "street_and_number", "postbox", "postal_code", "city", "country", "customer_id", "email", "phone",
    "address_override", "salutation_override", "ignore",
)


@dataclass(frozen=True)
class Sender:
    name: str
    street: str
    postal_code: str
    city: str
    country: str = "DE"
    return_line: str = ""
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    footer: tuple[str, ...] = ()

    @property
    def return_address_line(self) -> str:
        return self.return_line or f"{self.name} · {self.street} · {self.postal_code} {self.city}"


@dataclass(frozen=True)
class Layout:
    form: str = "B"
    envelope: str = "DL"
    qr_ecc: str = "M"
    duplex_back: bool = False


@dataclass(frozen=True)
class Assets:
    """Files the letter takes from disk, as paths resolved against the campaign file's folder.

    `data` holds their bytes once production has read them (`with_asset_bytes`); a wave stores their
    SHA-256 so a reprint refuses to run when a file changed (mailing.production)."""

    logo: str = ""
    logo_height_mm: float = 14.0
    signature_image: str = ""
    enclosure: str = ""
    data: tuple[tuple[str, bytes], ...] = ()

    def paths(self) -> dict[str, str]:
        return {k: v for k, v in (("logo", self.logo), ("signature_image", self.signature_image),
                                  ("enclosure", self.enclosure)) if v}

    def bytes_of(self, kind: str) -> bytes | None:
        return dict(self.data).get(kind)


@dataclass(frozen=True)
class Variant:
    key: str
    share: float
    body: str
    subject: str = ""


@dataclass(frozen=True)
class Option:
    """One coupon row: a box to tick, or (issue 14) a row of boxes: a number of persons (`count` = 2-4,
    boxes "1".."count") or a date choice (`choices`, 2-4 short labels). Such a row's boxes have the keys
    KEY_1, KEY_2, ... (`box_keys`); they are what scans, `status` and review know."""

    key: str
    label: str
    count: int = 0  # number of persons: boxes 1..count (0: not a counted option)
    choices: tuple[str, ...] = ()  # a choice among these labels (e.g. dates)

    @property
    def box_labels(self) -> tuple[str, ...]:
        """The labels beside a grid row's boxes (empty for a plain option)."""
        return tuple(str(n) for n in range(1, self.count + 1)) if self.count else self.choices

    @property
    def box_keys(self) -> tuple[str, ...]:
        labels = self.box_labels
        return tuple(f"{self.key}_{i}" for i in range(1, len(labels) + 1)) if labels else (self.key,)


@dataclass(frozen=True)
class Coupon:
    heading: str
    options: tuple[Option, ...]
    reply_address: tuple[str, ...]
    response_url: str = ""
    note: str = "Bitte ankreuzen, abtrennen und im beiliegenden Umschlag zurücksenden."
    conflict: str = "review"  # "call me" and "no advertising" both ticked: review | optout-wins


@dataclass(frozen=True)
class LetterText:
    """A follow-up letter (info pack cover letter, reminder)."""

    key: str
    subject: str
    body: str
    coupon: bool = True
    envelope: str = ""  # the envelope this letter goes out in ("" = the campaign's layout.envelope)
    inserts: tuple[Insert, ...] = ()  # e.g. the info pack's catalogue
    options: tuple[str, ...] | None = None  # coupon options this letter offers (slots of the others stay empty)
    ps: str | None = None  # this letter's own P.S. (a follow-up letter does not repeat the main letter's)
    enclosure: str | None = None  # this letter's own enclosure PDF (the main letter's is not repeated)
    format: str = "brief"  # "brief": A4 letter (DIN 5008); "postkarte": DIN A6 postcard (layouts.postcard)
    paper_gsm: float = 0.0  # card weight of a postcard, g/m² (0 = POSTCARD_GSM)

    @property
    def postcard(self) -> bool:
        return self.format == "postkarte"


@dataclass(frozen=True)
class Rule:
    id: str
    when: str  # ticked | no_response | responded (any counted response, opt-outs excluded: the thank-you)
    action: str  # letter | call | suppress
    option: str = ""
    days: int = 0
    letter: str = ""
    min_volume: int = 0


INSERTERS = ("none", "omr", "datamatrix")
POSTAL_PRODUCTS = ("dialogpost", "brief")
TICKET_ENVELOPES = ("DL", "C6/5", "C5", "C4")
# A follow-up letter's format (issue 14): an A4 letter in an envelope, or a DIN A6 postcard without envelope
# and without coupon (layouts.postcard; docs/postcards.md). Card stock: Deutsche Post accepts 150-500 g/m².
LETTER_FORMATS = ("brief", "postkarte")
POSTCARD_GSM = 200.0
POSTCARD_GSM_RANGE = (150.0, 500.0)  # what a wave may go out in (the window check uses layout.envelope)
OMR_TRACKS = ("start", "start_of_set", "end_of_set", "seq1", "seq2", "seq4", "parity")


@dataclass(frozen=True)
class Insert:
    """Something that goes into the envelope with the letter (catalogue, leaflet, reply envelope)."""

    name: str
    weight_g: float


@dataclass(frozen=True)
class OmrProfile:
    """A lettershop's OMR profile: where the bars go and what each track means (layouts.inserter)."""

    x_mm: float = 196.0
    first_y_mm: float = 116.0
    pitch_mm: float = 4.23
    length_mm: float = 8.0
    thickness_mm: float = 0.5
    tracks: tuple[str, ...] = OMR_TRACKS  # top to bottom
    parity: str = "even"  # the number of bars on a sheet, parity bar included


@dataclass(frozen=True)
class ContactCap:
    """No one more than `letters` letters in `days` days, across campaigns (mailing.contacts)."""

    letters: int
    days: int


@dataclass(frozen=True)
class Production:
    batch_size: int = 5000
    break_at_leitregion: bool = False
    control_share: float = 0.0  # percent of recipients held back as a control group
    seed: int = 1
    inserter: str = "none"  # control marks for the inserting machine: none | omr | datamatrix
    omr: OmrProfile = OmrProfile()
    paper_gsm: float = 80.0  # letter paper, g/m²
    postal_product: str = "dialogpost"  # dialogpost | brief
    inserts: tuple[Insert, ...] = ()  # what goes into the main letter's envelope besides the letter
    contact_cap: ContactCap | None = None  # contact_cap = { letters = 2, days = 30 }


@dataclass(frozen=True)
class Costs:
    print_per_piece: float = 0.0
    postage_per_piece: float = 0.0
    inserts_per_piece: float = 0.0

    @property
    def per_piece(self) -> float:
        return self.print_per_piece + self.postage_per_piece + self.inserts_per_piece


@dataclass(frozen=True)
class Campaign:
    name: str
    title: str
    sender: Sender
    layout: Layout
    subject: str
    closing: str
    signature: str
    signature_title: str
    variants: tuple[Variant, ...]
    coupon: Coupon
    production: Production
    dedupe_mode: str
    column_mapping: dict[str, str]
    rules: tuple[Rule, ...]
    letters: dict[str, LetterText]
    costs: Costs | None
    source_file: str = ""
    retention_months: int = DEFAULT_RETENTION_MONTHS  # [retention] months: personal data kept after the last drop
    ps: str = ""  # [letter] ps: the postscript below the signature (merge fields allowed)
    typeface: str = "carlito"  # [letter] typeface
    assets: Assets = field(default_factory=Assets)
    extra: dict[str, Any] = field(default_factory=dict)
    segments: tuple[str, ...] = ()  # [import] segments: extra columns kept per recipient (issue 14)
    segment_bands: int = 4  # [import] segment_bands: quantile bands for numeric and date segment columns
    client: str = ""  # `client = "KEY"`: the client (Mandant) it belongs to; "" = the store's default client

    @property
    def option_keys(self) -> list[str]:
        """Every box's key, row by row (a counted or choice row gives KEY_1, KEY_2, ...)."""
        return [k for o in self.coupon.options for k in o.box_keys]

    @property
    def option_labels(self) -> dict[str, str]:
        """Box key → what the box means ("Wir kommen mit: 2", "Termin: 12.09."; a plain option's label)."""
        out: dict[str, str] = {}
        for o in self.coupon.options:
            if o.box_labels:
                out.update({k: f"{o.label.rstrip(':')}: {b}" for k, b in zip(o.box_keys, o.box_labels, strict=True)})
            else:
                out[o.key] = o.label
        return out

    @property
    def box_options(self) -> tuple[Option, ...]:
        """One plain Option per box (key and meaning): what an online or phone answer chooses from."""
        return tuple(Option(key=k, label=label) for k, label in self.option_labels.items())

    @property
    def option_slots(self) -> dict[str, int]:
        """Box key → tick-box slot (layouts.geometry.checkbox_box): row r's box is slot r; a counted or
        choice row's boxes are grid slots."""
        from layouts.geometry import grid_slot

        out: dict[str, int] = {}
        for row, o in enumerate(self.coupon.options):
            if o.box_labels:
                out.update({k: grid_slot(row, i) for i, k in enumerate(o.box_keys)})
            else:
                out[o.key] = row
        return out


# --------------------------------------------------------------------------------------- validation


class _Reader:
    """Walks the parsed TOML, reporting every problem with its line in the file."""

    def __init__(self, text: str, file: str) -> None:
        self.lines = text.splitlines()
        self.file = file

    def line_of(self, path: tuple[str, ...]) -> int | None:
        """Best-effort line of a key: the last path element after its table header."""
        key = path[-1] if path else ""
        start = 0
        tables = [p for p in path[:-1] if not p.isdigit()]
        if tables:
            header = re.compile(r"^\s*\[\[?\s*" + re.escape(".".join(tables)) + r"\s*\]\]?")
            occurrence = int(path[-2]) if len(path) > 1 and path[-2].isdigit() else 0
            seen = -1
            for i, line in enumerate(self.lines):
                if header.match(line):
                    seen += 1
                    if seen == occurrence:
                        start = i
                        break
        pat = re.compile(r'^\s*"?' + re.escape(key) + r'"?\s*=')
        for i in range(start, len(self.lines)):
            if pat.match(self.lines[i]):
                return i + 1
        return start + 1 if tables else None

    def fail(self, path: tuple[str, ...], message: str) -> ConfigError:
        dotted = ".".join(p for p in path if not p.isdigit())
        return ConfigError(self.file, f"{dotted}: {message}" if dotted else message, self.line_of(path))

    def table(self, data: Any, path: tuple[str, ...], allowed: dict[str, str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(path, "must be a table")
        for key in data:
            if key not in allowed:
                raise self.fail(path + (key,), f"unknown key; allowed here: {', '.join(allowed)}")
        return data

    def str_(self, data: dict[str, Any], key: str, path: tuple[str, ...], default: str | None = None,
             choices: tuple[str, ...] | None = None) -> str:
        if key not in data:
            if default is None:
                raise self.fail(path + (key,), "is required")
            return default
        value = data[key]
        if not isinstance(value, str):
            raise self.fail(path + (key,), f"must be text, not {value!r}")
        if choices and value not in choices:
            raise self.fail(path + (key,), f"{value!r} is not allowed; use one of {', '.join(choices)}")
        return value

    def num(self, data: dict[str, Any], key: str, path: tuple[str, ...], default: float,
            lo: float, hi: float, integer: bool = False) -> Any:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.fail(path + (key,), f"must be a{'n integer' if integer else ' number'}, not {value!r}")
        if not lo <= value <= hi:
            raise self.fail(path + (key,), f"{value} is out of range; allowed {lo:g} to {hi:g}")
        return value

    def bool_(self, data: dict[str, Any], key: str, path: tuple[str, ...], default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(path + (key,), f"must be true or false, not {value!r}")
        return value

    def lines_(self, data: dict[str, Any], key: str, path: tuple[str, ...], required: bool = False) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(path + (key,), "is required (a list of lines)")
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path + (key,), "must be a list of text lines")
        return tuple(value)

    def merge_text(self, text: str, path: tuple[str, ...]) -> str:
        try:
            fields = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise self.fail(path, f"bad braces in text ({exc}); write {{{{ and }}}} for literal braces") from exc
        for f in fields:
            if f not in MERGE_FIELDS:
                raise self.fail(path, f"unknown merge field {{{f}}}; allowed: "
                                      + ", ".join("{" + k + "}" for k in MERGE_FIELDS))
        return text


GRID_BOXES = 4  # boxes a counted or choice row holds (layouts.geometry.GRID_COLUMNS)


def _option(r: _Reader, o: dict[str, Any], op: tuple[str, ...], key: str) -> Option:
    """One [[coupon.option]]: plain, counted (`count = 4`: persons 1-4) or a choice (`choices = [...]`)."""
    label = r.str_(o, "label", op)
    if "count" in o and "choices" in o:
        raise r.fail(op + ("choices",), "an option has either count (a number of persons) or choices, not both")
    count = int(r.num(o, "count", op, 0, 2, GRID_BOXES, integer=True)) if "count" in o else 0
    choices = r.lines_(o, "choices", op)
    if "choices" in o and not 2 <= len(choices) <= GRID_BOXES:
        raise r.fail(op + ("choices",), f"give 2 to {GRID_BOXES} choices (short labels such as \"12.09.\")")
    if any(not c.strip() for c in choices) or len(set(choices)) != len(choices):
        raise r.fail(op + ("choices",), "every choice needs a label of its own")
    return Option(key=key, label=label, count=count, choices=choices)


def _inserts(r: _Reader, data: dict[str, Any], path: tuple[str, ...]) -> tuple[Insert, ...]:
    """`inserts = [{ name = "Katalog", weight_g = 120 }, ...]`: what goes into the envelope with the letter."""
    raw = data.get("inserts", [])
    where = path + ("inserts",)
    example = 'a list such as [{ name = "Katalog", weight_g = 120 }]'
    if not isinstance(raw, list):
        raise r.fail(where, f"must be {example}")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or set(item) - {"name", "weight_g"}:
            raise r.fail(where, f"insert {n}: use {{ name = ..., weight_g = ... }} (and no other keys)")
        name, weight = item.get("name"), item.get("weight_g")
        if not isinstance(name, str) or not name.strip():
            raise r.fail(where, f"insert {n}: name is required (text)")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0.1 <= weight <= 2000:
            raise r.fail(where, f"insert {n} ({name}): weight_g is required, in grams from 0.1 to 2000")
        out.append(Insert(name, float(weight)))
    return tuple(out)


def _omr_profile(r: _Reader, data: Any) -> OmrProfile:
    """[production.omr]: the lettershop's OMR profile; every bar must lie in the inserter zone."""
    from layouts import geometry as g

    path = ("production", "omr")
    o = r.table(data, path, dict.fromkeys(("x_mm", "first_y_mm", "pitch_mm", "length_mm", "thickness_mm",
                                           "tracks", "parity"), ""))
    d = OmrProfile()
    tracks = r.lines_(o, "tracks", path) or d.tracks
    for t in tracks:
        if t not in OMR_TRACKS:
            raise r.fail(path + ("tracks",), f"unknown track {t!r}; use some of {', '.join(OMR_TRACKS)}")
    if len(set(tracks)) != len(tracks) or "start" not in tracks or "end_of_set" not in tracks:
        raise r.fail(path + ("tracks",), "each track at most once; 'start' and 'end_of_set' are required")
    prof = OmrProfile(
        x_mm=float(r.num(o, "x_mm", path, d.x_mm, 0.0, 210.0)),
        first_y_mm=float(r.num(o, "first_y_mm", path, d.first_y_mm, 0.0, 297.0)),
        pitch_mm=float(r.num(o, "pitch_mm", path, d.pitch_mm, 2.0, 10.0)),
        length_mm=float(r.num(o, "length_mm", path, d.length_mm, 3.0, 12.0)),
        thickness_mm=float(r.num(o, "thickness_mm", path, d.thickness_mm, 0.2, 1.5)),
        tracks=tracks, parity=r.str_(o, "parity", path, "even", ("even", "odd")),
    )
    if prof.pitch_mm < 2 * prof.thickness_mm:
        raise r.fail(path + ("pitch_mm",), f"{prof.pitch_mm:g} mm is less than twice the bar thickness")
    zone = g.INSERTER_ZONE
    last = prof.first_y_mm + (len(tracks) - 1) * prof.pitch_mm
    bars = g.Box(prof.x_mm, prof.first_y_mm - prof.thickness_mm / 2, prof.length_mm,
                 last - prof.first_y_mm + prof.thickness_mm)
    if not zone.contains(bars):
        raise r.fail(path, f"the bars (x {bars.x_mm:g}-{bars.right_mm:g}, y {bars.y_mm:g}-{bars.bottom_mm:g} mm) "
                           f"leave the inserter zone (x {zone.x_mm:g}-{zone.right_mm:g}, y {zone.y_mm:g}-"
                           f"{zone.bottom_mm:g} mm); move them or use fewer tracks")
    return prof


def load_campaign(path: str | Path) -> Campaign:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(p, "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(p, "not UTF-8 text; save the campaign file as UTF-8") from None
    return parse_campaign(text, str(p))


def parse_campaign(text: str, file: str = "campaign.toml", base_dir: str | Path | None = None) -> Campaign:
    """Parse and check a campaign text; files it names (logo, …) are relative to base_dir, by default the
    folder of `file`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(file, f"not valid TOML: {exc}", int(m.group(1)) if m else None) from None
    r = _Reader(text, file)
    top = r.table(data, (), {
        "name": "", "title": "", "sender": "", "layout": "", "letter": "", "variant": "", "coupon": "",
        "production": "", "dedupe": "", "import": "", "followup": "", "letters": "", "costs": "",
        "retention": "", "client": "",
    })
    name = r.str_(top, "name", ())
    if not name.strip() or len(name) > 100:
        raise r.fail(("name",), "must be 1 to 100 characters")
    client = r.str_(top, "client", (), "")
    if client and not CLIENT_KEY.fullmatch(client):
        raise r.fail(("client",), f"{client!r} is not a client key: use lower-case letters, digits, - and _ "
                     "(as in `mailing client add KEY`)")

    s = r.table(top.get("sender", None) or {}, ("sender",), dict.fromkeys((
        "name", "street", "postal_code", "city", "country", "return_line", "contact_name", "phone",
        "email", "website", "footer"), ""))
    if "sender" not in top:
        raise r.fail(("sender",), "is required ([sender] with name, street, postal_code, city)")
    sender = Sender(
        name=r.str_(s, "name", ("sender",)), street=r.str_(s, "street", ("sender",)),
        postal_code=r.str_(s, "postal_code", ("sender",)), city=r.str_(s, "city", ("sender",)),
        country=r.str_(s, "country", ("sender",), "DE"), return_line=r.str_(s, "return_line", ("sender",), ""),
        contact_name=r.str_(s, "contact_name", ("sender",), ""), phone=r.str_(s, "phone", ("sender",), ""),
        email=r.str_(s, "email", ("sender",), ""), website=r.str_(s, "website", ("sender",), ""),
        footer=r.lines_(s, "footer", ("sender",)),
    )

    lay = r.table(top.get("layout", {}), ("layout",), dict.fromkeys(("form", "envelope", "qr_ecc", "duplex_back"), ""))
    layout = Layout(
        form=r.str_(lay, "form", ("layout",), "B", FORMS),
        envelope=r.str_(lay, "envelope", ("layout",), "DL", ENVELOPES),
        qr_ecc=r.str_(lay, "qr_ecc", ("layout",), "M", ECC_LEVELS),
        duplex_back=r.bool_(lay, "duplex_back", ("layout",), False),
    )

    let = r.table(top.get("letter", {}), ("letter",), dict.fromkeys((
        "subject", "closing", "signature", "signature_title", "ps", "typeface", "logo", "logo_height_mm",
        "signature_image", "enclosure"), ""))
    subject = r.merge_text(r.str_(let, "subject", ("letter",)), ("letter", "subject"))
    closing = r.str_(let, "closing", ("letter",), "Mit freundlichen Grüßen")
    signature = r.str_(let, "signature", ("letter",), "")
    signature_title = r.str_(let, "signature_title", ("letter",), "")
    ps = r.merge_text(r.str_(let, "ps", ("letter",), ""), ("letter", "ps"))
    typeface = r.str_(let, "typeface", ("letter",), "carlito", TYPEFACES)
    base = Path(base_dir) if base_dir is not None else Path(file).parent
    assets = Assets(
        logo=_asset_path(r, let, "logo", base, LOGO_SUFFIXES),
        logo_height_mm=float(r.num(let, "logo_height_mm", ("letter",), 14.0, 5.0, 20.0)),
        signature_image=_asset_path(r, let, "signature_image", base, (".png", ".jpg", ".jpeg", ".svg")),
        enclosure=_asset_path(r, let, "enclosure", base, (".pdf",)),
    )

    raw_variants = top.get("variant")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise r.fail(("variant",), "at least one [[variant]] with key, share and body is required")
    variants: list[Variant] = []
    for i, v in enumerate(raw_variants):
        vp = ("variant", str(i))
        r.table(v, vp, dict.fromkeys(("key", "share", "body", "subject"), ""))
        key = r.str_(v, "key", vp)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", key):
            raise r.fail(vp + ("key",), f"{key!r}: use 1-20 letters, digits, '-' or '_'")
        if key in {x.key for x in variants}:
            raise r.fail(vp + ("key",), f"variant {key!r} appears twice")
        variants.append(Variant(
            key=key, share=float(r.num(v, "share", vp, 100 if len(raw_variants) == 1 else -1, 0.001, 100)),
            body=r.merge_text(r.str_(v, "body", vp), vp + ("body",)),
            subject=r.merge_text(r.str_(v, "subject", vp, ""), vp + ("subject",)),
        ))

    c = r.table(top.get("coupon", {}), ("coupon",),
                dict.fromkeys(("heading", "option", "reply_address", "response_url", "note", "conflict"), ""))
    if "coupon" not in top:
        raise r.fail(("coupon",), "is required ([coupon] with heading, reply_address and [[coupon.option]])")
    raw_options = c.get("option")
    if not isinstance(raw_options, list) or not raw_options:
        raise r.fail(("coupon", "option"), "at least one [[coupon.option]] with key and label is required")
    if len(raw_options) > MAX_OPTIONS:
        raise r.fail(("coupon", "option"), f"{len(raw_options)} options; the coupon holds at most {MAX_OPTIONS}")
    options: list[Option] = []
    for i, o in enumerate(raw_options):
        op = ("coupon", "option", str(i))
        r.table(o, op, {"key": "", "label": "", "count": "", "choices": ""})
        key = r.str_(o, "key", op)
        if not OPTION_KEY.match(key):
            raise r.fail(op + ("key",), f"{key!r}: use lower-case letters, digits and '_', starting with a letter")
        if key in {k for x in options for k in (x.key, *x.box_keys)}:
            raise r.fail(op + ("key",), f"option {key!r} appears twice")
        options.append(_option(r, o, op, key))
    url = r.str_(c, "response_url", ("coupon",), "")
    if url and not re.fullmatch(r"(?i)https?://[A-Za-z0-9.\-]+(:\d+)?(/[A-Za-z0-9\-._/]*)?", url):
        raise r.fail(("coupon", "response_url"), f"{url!r}: use a plain https:// address of letters, digits, "
                                                  "'.', '-' and '/' (it is printed in upper case in the QR code)")
    coupon = Coupon(
        heading=r.str_(c, "heading", ("coupon",)),
        options=tuple(options),
        reply_address=r.lines_(c, "reply_address", ("coupon",), required=True),
        response_url=url,
        note=r.str_(c, "note", ("coupon",), Coupon.note),
        conflict=r.str_(c, "conflict", ("coupon",), "review", CONFLICT_RULES),
    )

    pr = r.table(top.get("production", {}), ("production",), dict.fromkeys((
        "batch_size", "break_at_leitregion", "control_share", "seed", "inserter", "omr", "paper_gsm",
        "postal_product", "inserts", "contact_cap"), ""))
    production = Production(
        batch_size=int(r.num(pr, "batch_size", ("production",), 5000, 1, 1_000_000, integer=True)),
        break_at_leitregion=r.bool_(pr, "break_at_leitregion", ("production",), False),
        control_share=float(r.num(pr, "control_share", ("production",), 0.0, 0.0, 50.0)),
        seed=int(r.num(pr, "seed", ("production",), 1, 0, 2**31 - 1, integer=True)),
        inserter=r.str_(pr, "inserter", ("production",), "none", INSERTERS),
        omr=_omr_profile(r, pr.get("omr", {})),
        paper_gsm=float(r.num(pr, "paper_gsm", ("production",), 80.0, 60.0, 300.0)),
        postal_product=r.str_(pr, "postal_product", ("production",), "dialogpost", POSTAL_PRODUCTS),
        inserts=_inserts(r, pr, ("production",)),
        contact_cap=_contact_cap(r, pr),
    )

    dd = r.table(top.get("dedupe", {}), ("dedupe",), {"mode": ""})
    dedupe_mode = r.str_(dd, "mode", ("dedupe",), "report", DEDUPE_MODES)

    imp = r.table(top.get("import", {}), ("import",), {"columns": "", "segments": "", "segment_bands": ""})
    segments = r.lines_(imp, "segments", ("import",))
    for seg in segments:
        if not seg.strip() or len(seg) > 100:
            raise r.fail(("import", "segments"), f"{seg!r}: a column header of 1 to 100 characters")
    if len(set(segments)) != len(segments):
        raise r.fail(("import", "segments"), "a column is named twice")
    segment_bands = int(r.num(imp, "segment_bands", ("import",), 4, 2, 20, integer=True))
    cols = r.table(imp.get("columns", {}), ("import", "columns"), {k: "" for k in imp.get("columns", {})})
    mapping: dict[str, str] = {}
    for header, target in cols.items():
        if not isinstance(target, str) or target not in IMPORT_TARGETS:
            raise r.fail(("import", "columns", header), f"maps to {target!r}; allowed targets: {', '.join(IMPORT_TARGETS)}")
        mapping[header] = target

    letters: dict[str, LetterText] = {}
    lt = r.table(top.get("letters", {}), ("letters",), {k: "" for k in top.get("letters", {})})
    for key, body in lt.items():
        lp = ("letters", key)
        r.table(body, lp, dict.fromkeys(("subject", "body", "coupon", "envelope", "inserts", "options", "ps",
                                         "enclosure", "format", "paper_gsm"), ""))
        fmt = r.str_(body, "format", lp, "brief", LETTER_FORMATS)
        _check_postcard(r, body, lp, fmt)
        offered: tuple[str, ...] | None = None
        if "options" in body:
            offered = r.lines_(body, "options", lp)
            for k in offered:
                if k not in {o.key for o in options}:
                    raise r.fail(lp + ("options",), f"{k!r} is not a coupon option; use some of "
                                                    f"{', '.join(o.key for o in options)}")
            if not offered:
                raise r.fail(lp + ("options",), "is empty; for a letter without a coupon write coupon = false")
        letters[key] = LetterText(
            key=key, subject=r.merge_text(r.str_(body, "subject", lp), lp + ("subject",)),
            body=r.merge_text(r.str_(body, "body", lp), lp + ("body",)),
            coupon=r.bool_(body, "coupon", lp, fmt != "postkarte"), format=fmt,
            paper_gsm=float(r.num(body, "paper_gsm", lp, POSTCARD_GSM, *POSTCARD_GSM_RANGE)) if fmt == "postkarte" else 0.0,
            envelope=r.str_(body, "envelope", lp, "", TICKET_ENVELOPES), inserts=_inserts(r, body, lp),
            options=offered,
            ps=r.merge_text(r.str_(body, "ps", lp), lp + ("ps",)) if "ps" in body else None,
            enclosure=(_asset_path(r, body, "enclosure", base, (".pdf",), lp) if body.get("enclosure") else
                       ("" if "enclosure" in body else None)),
        )

    rules: list[Rule] = []
    for i, fr in enumerate(top.get("followup", []) or []):
        fp = ("followup", str(i))
        r.table(fr, fp, dict.fromkeys(("id", "when", "option", "days", "action", "letter", "min_volume"), ""))
        when = r.str_(fr, "when", fp, None, RULE_WHEN)
        action = r.str_(fr, "action", fp, None, RULE_ACTIONS)
        option = r.str_(fr, "option", fp, "")
        if when == "ticked" and option not in {o.key for o in options}:
            raise r.fail(fp + ("option",), f"{option!r} is not a coupon option; use one of {', '.join(o.key for o in options)}")
        days = int(r.num(fr, "days", fp, 0, 0, 3650, integer=True))
        if when == "no_response" and days < 1:
            raise r.fail(fp + ("days",), "a no_response rule needs days >= 1 (days after the drop date)")
        letter = r.str_(fr, "letter", fp, "")
        if action == "letter" and letter not in letters:
            raise r.fail(fp + ("letter",), f"{letter!r} is not defined; add [letters.{letter or 'name'}] with subject and body")
        if when == "no_response" and action != "letter":
            raise r.fail(fp + ("action",), "a no_response rule can only send a letter")
        if when == "responded" and action != "letter":
            raise r.fail(fp + ("action",), "a responded rule can only send a letter (the thank-you)")
        rid = r.str_(fr, "id", fp, f"{when}-{option or days}-{action}")
        if rid in {x.id for x in rules}:
            raise r.fail(fp + ("id",), f"rule id {rid!r} appears twice")
        rules.append(Rule(id=rid, when=when, action=action, option=option, days=days, letter=letter,
                          min_volume=int(r.num(fr, "min_volume", fp, 0, 0, 10_000_000, integer=True))))

    costs = None
    if "costs" in top:
        co = r.table(top["costs"], ("costs",), dict.fromkeys(("print_per_piece", "postage_per_piece", "inserts_per_piece"), ""))
        costs = Costs(*(float(r.num(co, k, ("costs",), 0.0, 0.0, 1000.0))
                        for k in ("print_per_piece", "postage_per_piece", "inserts_per_piece")))

    ret = r.table(top.get("retention", {}), ("retention",), {"months": ""})
    retention_months = int(r.num(ret, "months", ("retention",), DEFAULT_RETENTION_MONTHS, 1, 1200, integer=True))

    return Campaign(
        name=name, title=r.str_(top, "title", (), name), sender=sender, layout=layout, subject=subject,
        closing=closing, signature=signature, signature_title=signature_title, variants=tuple(variants),
        coupon=coupon, production=production, dedupe_mode=dedupe_mode, column_mapping=mapping,
        rules=tuple(rules), letters=letters, costs=costs, source_file=file, retention_months=retention_months,
        ps=ps, typeface=typeface, assets=assets,
        segments=segments, segment_bands=segment_bands, client=client,
    )


def _asset_path(r: _Reader, data: dict[str, Any], key: str, base: Path, suffixes: tuple[str, ...],
                path: tuple[str, ...] = ("letter",)) -> str:
    """A file named in the campaign, resolved against the campaign file's folder (not read here: the
    campaign text is parsed again from the store, where the file need not exist; production reads it)."""
    value = r.str_(data, key, path, "")
    if not value:
        return ""
    if Path(value).suffix.lower() not in suffixes:
        raise r.fail(path + (key,), f"{value!r}: use a {', '.join(suffixes)} file")
    p = Path(value)
    return str(p if p.is_absolute() else (base / p).absolute())


def read_assets(campaign: Campaign) -> Campaign:
    """The campaign with the bytes of its logo, signature and enclosures read from disk (production).

    A missing or unreadable file is a ConfigError naming the key and the path."""
    import dataclasses

    wanted = dict(campaign.assets.paths())
    for key, letter in campaign.letters.items():
        if letter.enclosure:
            wanted[f"enclosure:{key}"] = letter.enclosure
    data = []
    for kind, path in sorted(wanted.items()):
        try:
            data.append((kind, Path(path).read_bytes()))
        except OSError as exc:
            raise ConfigError(campaign.source_file or "campaign",
                              f"{kind.split(':')[0]}: cannot read {path} ({exc.strerror}); put the file there or "
                              "change the path in the campaign file") from None
    return dataclasses.replace(campaign, assets=dataclasses.replace(campaign.assets, data=tuple(data)))


def _check_postcard(r: _Reader, body: dict[str, Any], lp: tuple[str, ...], fmt: str) -> None:
    """A postcard has no coupon (nothing to tear off and send back; a QR code on the address side could be
    taken for Deutsche Post's own Matrixcode) and no envelope, inserts or enclosure."""
    if fmt != "postkarte":
        if "paper_gsm" in body:
            raise r.fail(lp + ("paper_gsm",), 'is the card weight of a postcard; use it with format = "postkarte" '
                                              "(a letter's paper is [production] paper_gsm)")
        return
    if body.get("coupon") is True:
        raise r.fail(lp + ("coupon",), 'a postcard (format = "postkarte") carries no reply coupon; '
                                       "write coupon = false or leave it out")
    for key in ("envelope", "inserts", "enclosure", "options"):
        if key in body:
            raise r.fail(lp + (key,), f'a postcard (format = "postkarte") goes without envelope, inserts, '
                                      f"enclosure or coupon options; remove {key}")


def _contact_cap(r: _Reader, pr: dict[str, Any]) -> ContactCap | None:
    if "contact_cap" not in pr:
        return None
    cp = ("production", "contact_cap")
    cap = r.table(pr["contact_cap"], cp, {"letters": "", "days": ""})
    if "letters" not in cap or "days" not in cap:
        raise r.fail(cp, "needs letters and days, e.g. contact_cap = { letters = 2, days = 30 }")
    return ContactCap(letters=int(r.num(cap, "letters", cp, 1, 1, 1000, integer=True)),
                      days=int(r.num(cap, "days", cp, 30, 1, 3650, integer=True)))


def example_campaign_path() -> Path:
    return Path(__file__).with_name("data") / "campaign.toml"
