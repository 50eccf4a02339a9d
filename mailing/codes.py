"""Response codes: random, Crockford Base32, with a check symbol from the same 32 symbols.

A code is 11 data symbols (55 random bits from `secrets`) and one check symbol. The check symbol follows
Damm's scheme over a totally anti-symmetric quasigroup of order 32: x∘y = 2·x ⊕ y in GF(32) (polynomial
x⁵ + x² + 1). Every quasigroup catches any single wrong symbol; total anti-symmetry ((c∘x)∘y = (c∘y)∘x only
when x = y, since 2 ≠ 1) catches every swap of two neighbours, the check symbol included. The check symbol
is one of the code's own symbols, so it is easy to say on the phone and to type.

Codes printed before (issue 10) carry Crockford's mod-37 check symbol, one of the 32 symbols or ``* % $ + U``
(``~ =`` replaced to stay in the QR alphanumeric set). They keep parsing (`LEGACY_CHECK_ALPHABET`): a string
is valid when either scheme accepts it. The new scheme alone rejects every single error of a new code; about
one in 37 such errors happens to pass the old check, and then it is a code no piece has (the store lookup
says "no such code"), never another piece: two issued codes one symbol apart are a 2⁻⁵⁵ accident.

Printed for people as ``7K3M-9QXP-2W4H``; read back leniently (case, hyphens, spaces, O→0, I/L→1).
"""

from __future__ import annotations

import re
import secrets

from mailing.errors import MailingError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET  # the check symbol is one of the code's own symbols (Damm, see above)
LEGACY_CHECK_ALPHABET = ALPHABET + "*%$+U"  # mod-37 check symbols on codes printed before issue 10
_GF32_POLY = 0b100101  # x^5 + x^2 + 1, primitive: multiplying by 2 (x) permutes the 31 non-zero symbols
DATA_SYMBOLS = 11  # 55 bits: far beyond guessing, short enough to type
CODE_LENGTH = DATA_SYMBOLS + 1
GROUP = 4

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_LEGACY_CHECK_VALUE = {c: i for i, c in enumerate(LEGACY_CHECK_ALPHABET)}
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


def _times2(x: int) -> int:
    x <<= 1
    return x ^ _GF32_POLY if x & 32 else x


# the quasigroup's table: _DAMM[x][y] = x∘y = 2·x ⊕ y (a Latin square, totally anti-symmetric)
_DAMM = tuple(tuple(_times2(x) ^ y for y in range(32)) for x in range(32))


def _damm(symbols: str) -> int:
    interim = 0
    for ch in symbols:
        interim = _DAMM[interim][_VALUE[ch]]
    return interim


def check_symbol(data: str) -> str:
    """The check symbol c of the data symbols: the one with (interim of the data)∘c = 0."""
    return ALPHABET[_times2(_damm(data))]  # 2·i ⊕ c = 0 ⇔ c = 2·i (characteristic 2)


def legacy_check_symbol(data: str) -> str:
    """The mod-37 check symbol of codes printed before issue 10 (still accepted by `parse`)."""
    return LEGACY_CHECK_ALPHABET[_value(data) % 37]


def check_scheme(code: str) -> str | None:
    """Which check a normalised 12-symbol code passes: "damm", "legacy" (printed before issue 10) or None."""
    data, check = code[:-1], code[-1]
    if check in _VALUE and _damm(code) == 0:
        return "damm"
    if legacy_check_symbol(data) == check:
        return "legacy"
    return None


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


def parse(text: str, legacy: bool = True) -> str:
    """Normalise and validate a code typed by a person, read from a QR code or read back by OCR.

    Codes with the check symbol of before issue 10 are accepted unless `legacy` is False.
    Raises CodeError with reason "wrong length", "not a code symbol" or "check symbol wrong".
    """
    t = normalise(text)
    if len(t) != CODE_LENGTH:
        raise CodeError(text, f"wrong length ({len(t)} symbols, expected {CODE_LENGTH})")
    data, check = t[:-1], t[-1]
    bad = [c for c in data if c not in _VALUE]
    if bad or check not in _LEGACY_CHECK_VALUE:
        raise CodeError(text, f"not a code symbol: {(bad or [check])[0]!r}")
    scheme = check_scheme(t)
    if scheme is None or (scheme == "legacy" and not legacy):
        raise CodeError(text, "check symbol wrong")
    return t


def is_valid(text: str, legacy: bool = True) -> bool:
    try:
        parse(text, legacy)
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
