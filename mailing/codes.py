"""Response codes: random, Crockford Base32, with a check symbol inside the QR alphanumeric set.

A code is 11 data symbols (55 random bits from `secrets`) and one check symbol. The check symbol is the
code's value mod 37 (Crockford's scheme); 37 is prime and larger than the alphabet, so every single wrong
symbol and every swap of two neighbours changes the remainder. Crockford writes the values 32..36 as
``* ~ $ = U``; ``~`` and ``=`` are not in the QR alphanumeric set, so we use ``* % $ + U`` instead, which
keeps the whole code in QR alphanumeric mode (upper case, digits and ``$%*+-./:`` and space).

Printed for people as ``7K3M-9QXP-2W4H``; read back leniently (case, hyphens, spaces, O→0, I/L→1).
"""

from __future__ import annotations

import re
import secrets

from mailing.errors import MailingError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*%$+U"
DATA_SYMBOLS = 11  # 55 bits: far beyond guessing, short enough to type
CODE_LENGTH = DATA_SYMBOLS + 1
GROUP = 4

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_CHECK_VALUE = {c: i for i, c in enumerate(CHECK_ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")


class CodeError(MailingError):
    """A typed or decoded code is malformed or fails its check symbol."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"code {text!r}: {reason}")
        self.reason = reason


def _value(data: str) -> int:
    n = 0
    for ch in data:
        n = n * 32 + _VALUE[ch]
    return n


def check_symbol(data: str) -> str:
    return CHECK_ALPHABET[_value(data) % 37]


def new_code() -> str:
    """A fresh normalised code (12 symbols, no separators)."""
    n = secrets.randbits(5 * DATA_SYMBOLS)  # one read of the system's random source, not one per symbol
    data = "".join(ALPHABET[(n >> shift) & 31] for shift in range(5 * (DATA_SYMBOLS - 1), -1, -5))
    return data + check_symbol(data)


def format_code(code: str) -> str:
    """``7K3M9QXP2W4H`` → ``7K3M-9QXP-2W4H`` (for print and for people)."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(text: str) -> str:
    """Upper case, separators removed, O→0 and I/L→1 in the data part. Does not validate."""
    t = _SEPARATORS.sub("", text.strip().upper())
    if not t:
        return t
    return t[:-1].translate(_ALIASES) + (t[-1] if t[-1] == "U" else t[-1].translate(_ALIASES))


def parse(text: str) -> str:
    """Normalise and validate a code typed by a person or read from a QR code.

    Raises CodeError with reason "wrong length", "not a code symbol" or "check symbol wrong".
    """
    t = normalise(text)
    if len(t) != CODE_LENGTH:
        raise CodeError(text, f"wrong length ({len(t)} symbols, expected {CODE_LENGTH})")
    data, check = t[:-1], t[-1]
    bad = [c for c in data if c not in _VALUE]
    if bad or check not in _CHECK_VALUE:
        raise CodeError(text, f"not a code symbol: {(bad or [check])[0]!r}")
    if check_symbol(data) != check:
        raise CodeError(text, "check symbol wrong")
    return t


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except CodeError:
        return False
    return True


def qr_payload(code: str, response_url: str | None = None) -> str:
    """The QR content: the bare code, or an upper-case response URL ending in it (stays alphanumeric)."""
    if not response_url:
        return code
    return response_url.upper().rstrip("/") + "/" + code


def code_from_payload(payload: str) -> str:
    """The candidate code in a QR payload (bare code or URL form); validate it with `parse`."""
    text = payload.strip()
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    return text
