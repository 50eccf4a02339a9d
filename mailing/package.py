"""The print package's names, columns and ownership, shared by `produce` and `preflight`.

A package is one wave's files in one folder: the batch PDFs (``welle-01-teil-001.pdf``), the manifest
(``welle-01-manifest.csv`` and ``.xlsx``), the job ticket (``welle-01-auftrag.json`` and ``.txt``) and the
one-page docket for the lettershop floor (``welle-01-laufzettel.pdf``). The ticket's schema (TICKET_KEYS,
`ticket_problems`) and the PDF/X settings every batch PDF carries (PDFX) are here too. Each
wave's files carry its number, so nothing of one wave can overwrite another's. Which wave and campaign a
file belongs to is read from the file itself (a PDF's title, a ticket's fields, a workbook's title), so a
folder holding another wave's or campaign's package is recognised even when that package came from another
store. Packages written by earlier versions (``manifest.csv``, ``auftrag.json``) are recognised too.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The manifest's columns; the first seven are the command-line contract (DESIGN.md).
MANIFEST_CONTRACT = ("file", "page", "code", "customer_id", "postal_code", "country", "wave")
MANIFEST_COLUMNS = (*MANIFEST_CONTRACT, "variant", "leitregion", "batch", "seq")
LEGACY_FILES = ("manifest.csv", "manifest.xlsx", "auftrag.json", "auftrag.txt")
LEGACY_TICKET, LEGACY_MANIFEST = "auftrag.json", "manifest.csv"
TICKET_GLOB = "welle-*-auftrag.json"
_NUMBERED = re.compile(r"welle-(\d+)-(teil-\d+\.pdf|manifest\.csv|manifest\.xlsx|auftrag\.json|auftrag\.txt"
                       r"|laufzettel\.pdf)")
# "Frühjahrsaktion 2026 – Welle 1 – Datei 3 (fruehjahr-2026)"; earlier versions wrote "fruehjahr-2026 – Welle 1 –
# Datei 3"
_TITLE = re.compile(r".+ – Welle (?P<wave>\d+) – Datei (?P<batch>\d+) \((?P<campaign>.+)\)")
_LEGACY_TITLE = re.compile(r"(?P<campaign>.+) – Welle (?P<wave>\d+) – Datei (?P<batch>\d+)")

# Every batch PDF is PDF/X-1a:2001 (docs/print-production.md §PDF/X): these keys are written by
# layouts/render.py and checked by preflight.
PDFX = {
    "version": "PDF/X-1:2001",
    "conformance": "PDF/X-1a:2001",
    "pdf_version": "1.3",
    "output_condition_identifier": "FOGRA39",
    "output_condition": "Coated FOGRA39 (ISO 12647-2:2004)",
    "registry_name": "http://www.color.org",
    "trapped": "False",
}

# The job ticket's top-level keys (welle-NN-auftrag.json), written by `produce`, read by `preflight`. Keys
# of earlier versions' tickets that are missing here are reported by `ticket_problems` only when `strict`.
TICKET_KEYS = ("campaign", "title", "wave", "kind", "letter", "drop_date", "produced_at", "pieces",
               "control_pieces", "pages_per_piece", "duplex", "sheets", "pages", "layout", "variants",
               "countries", "leitregions", "suppression", "files", "manifest")
TICKET_KEYS_V2 = ("ticket_version", "print", "finishing", "enclosing", "postage")  # since issue 12
TICKET_VERSION = 2
TICKET_FILE_KEYS = ("file", "batch", "pieces", "pages", "sha256")
_XLSX_TITLE = re.compile(r"<dc:title>(?P<campaign>.+) Welle (?P<wave>\d+)</dc:title>")


def batch_file_name(wave: int, batch: int) -> str:
    """No personal data in file names: wave and batch numbers only."""
    return f"welle-{wave:02d}-teil-{batch:03d}.pdf"


def manifest_csv_name(wave: int) -> str:
    return f"welle-{wave:02d}-manifest.csv"


def manifest_xlsx_name(wave: int) -> str:
    return f"welle-{wave:02d}-manifest.xlsx"


def ticket_name(wave: int) -> str:
    return f"welle-{wave:02d}-auftrag.json"


def summary_name(wave: int) -> str:
    return f"welle-{wave:02d}-auftrag.txt"


def docket_name(wave: int) -> str:
    return f"welle-{wave:02d}-laufzettel.pdf"


def ticket_files(folder: Path) -> list[Path]:
    """The job tickets in folder: every wave's, then an earlier version's `auftrag.json`."""
    return sorted(folder.glob(TICKET_GLOB)) + [p for p in [folder / LEGACY_TICKET] if p.is_file()]


def manifest_for_ticket(ticket_path: Path, ticket: dict[str, object]) -> str:
    """The manifest CSV's name that belongs to a job ticket."""
    if ticket_path.name == LEGACY_TICKET:
        return LEGACY_MANIFEST
    wave = ticket.get("wave")
    return manifest_csv_name(int(wave) if isinstance(wave, int | str) and str(wave).isdigit() else 0)


def ticket_problems(ticket: dict[str, Any], name: str) -> list[str]:
    """What a job ticket lacks (one line each); a ticket that says ticket_version 2 must have every key."""
    missing = [k for k in TICKET_KEYS if k not in ticket]
    if ticket.get("ticket_version", 1) != 1:
        missing += [k for k in TICKET_KEYS_V2 if k not in ticket]
    problems = [f"{name}: job ticket lacks {', '.join(missing)}; run `mailing produce` again"] if missing else []
    files = ticket.get("files")
    for i, f in enumerate(files if isinstance(files, list) else []):
        lacking = [k for k in TICKET_FILE_KEYS if not isinstance(f, dict) or k not in f]
        if lacking:
            problems.append(f"{name}: files[{i}] lacks {', '.join(lacking)}")
    return problems


def pdf_title(campaign: str, wave: int, batch: int, title: str = "") -> str:
    """The title every batch PDF carries: the campaign's title for people, its name in brackets for
    `parse_pdf_title` (how a file found in a folder names its campaign and wave)."""
    return f"{title or campaign} – Welle {wave} – Datei {batch} ({campaign})"


def parse_pdf_title(title: str) -> tuple[str, int, int] | None:
    """(campaign, wave, batch) from a batch PDF's title (also as earlier versions wrote it); None if not ours."""
    m = _TITLE.fullmatch(title) or _LEGACY_TITLE.fullmatch(title)
    return (m["campaign"], int(m["wave"]), int(m["batch"])) if m else None


def pdf_subject(campaign: Any, wave: int, batch: int, pieces: int, letter: str | None) -> str:
    """The PDF's subject: what the file is, in the lettershop's words."""
    what = f"Folgebrief „{letter}“" if letter else "Hauptbrief"
    lt = campaign.letters.get(letter) if letter else None
    if lt is not None and getattr(lt, "postcard", False):
        return (f"Druckdaten {campaign.title}, Welle {wave} (Postkarte „{letter}“), Datei {batch}: {pieces} "
                "Sendungen, Postkarte DIN A6 (148 × 105 mm), Seite 1 Text, Seite 2 Anschrift, 100 % K")
    return (f"Druckdaten {campaign.title}, Welle {wave} ({what}), Datei {batch}: {pieces} Sendungen, "
            f"DIN A4, DIN 5008 Form {campaign.layout.form}, 100 % K")


def manifest_title(campaign: str, wave: int) -> str:
    return f"{campaign} Welle {wave}"


@dataclass(frozen=True)
class PackageFile:
    """A file of some print package found in a folder; wave and campaign None where the file does not say."""

    path: Path
    wave: int | None
    campaign: str | None

    def describe(self) -> str:
        wave = f"wave {self.wave}" if self.wave is not None else "an unknown wave"
        campaign = f"campaign {self.campaign!r}" if self.campaign else "an unknown campaign"
        return f"{self.path} belongs to {wave} of {campaign}"


def _ticket(path: Path) -> tuple[int | None, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["wave"]), str(data["campaign"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def _pdf(path: Path) -> tuple[int | None, str | None]:
    title = _info_title(path)
    if title is None:
        from pypdf import PdfReader

        try:
            meta = PdfReader(path).metadata
            title = str(meta.get("/Title") or "") if meta is not None else None
        except Exception:  # noqa: BLE001 - a damaged file simply says nothing about its owner
            return None, None
    parsed = parse_pdf_title(title or "")
    return (parsed[1], parsed[0]) if parsed else (None, None)


_TITLE_KEY = b"/Title ("
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _info_title(path: Path) -> str | None:
    """The title of a PDF written by reportlab, read straight from its uncompressed Info dictionary (a few
    milliseconds for a 5,000-letter file where a full parse takes 130 ms); None when it is not found so."""
    import mmap

    from pypdf.generic import create_string_object

    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            start = mm.find(_TITLE_KEY)
            if start < 0:
                return None
            raw = mm[start + len(_TITLE_KEY):start + len(_TITLE_KEY) + 2048]
    except (OSError, ValueError):
        return None
    out, i, depth = bytearray(), 0, 0
    while i < len(raw):
        c = raw[i:i + 1]
        if c == b"\\":
            nxt = raw[i + 1:i + 2]
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        if c == b"(":
            depth += 1
        elif c == b")":
            if depth == 0:
                return str(create_string_object(bytes(out)))
            depth -= 1
        out += c
        i += 1
    return None


def _xlsx(path: Path) -> tuple[int | None, str | None]:
    try:
        with zipfile.ZipFile(path) as z:
            core = z.read("docProps/core.xml").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        return None, None
    m = _XLSX_TITLE.search(core)
    return (int(m["wave"]), m["campaign"]) if m else (None, None)


def package_files(folder: Path) -> list[PackageFile]:
    """Every print-package file in folder, with the wave and campaign it belongs to (sorted by name)."""
    if not folder.is_dir():
        return []
    found: list[PackageFile] = []
    tickets: dict[int, str | None] = {}
    legacy_wave, legacy_campaign = _ticket(folder / "auftrag.json")
    others: list[tuple[Path, int, str]] = []
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        m = _NUMBERED.fullmatch(p.name)
        if m:
            others.append((p, int(m[1]), m[2]))
        elif p.name in LEGACY_FILES:
            found.append(PackageFile(p, legacy_wave, legacy_campaign))
    for p, wave, kind in others:
        if kind == "auftrag.json":
            t_wave, t_campaign = _ticket(p)
            tickets[wave] = t_campaign
            found.append(PackageFile(p, t_wave if t_wave is not None else wave, t_campaign))
    for p, wave, kind in others:
        if kind.endswith(".pdf"):
            w, c = _pdf(p)
            found.append(PackageFile(p, w if w is not None else wave, c))
        elif kind == "manifest.xlsx":
            w, c = _xlsx(p)
            found.append(PackageFile(p, w if w is not None else wave, c or tickets.get(wave)))
        elif kind != "auftrag.json":
            found.append(PackageFile(p, wave, tickets.get(wave)))
    return sorted(found, key=lambda f: f.path.name)


def foreign_files(folder: Path, campaign: str, wave: int) -> list[PackageFile]:
    """Files in folder that belong to another wave or another campaign than (campaign, wave)."""
    return [f for f in package_files(folder)
            if f.wave != wave or (f.campaign is not None and f.campaign != campaign)]


def stray_parts(folder: Path) -> list[Path]:
    """Temporary files an interrupted write left behind (`.NAME.XXXX.part`); never a finished file."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".part") and p.is_file())
