"""Codes for tests: a misprint or a typing slip that no check lets through.

A code with one symbol replaced by a symbol at hand (the check symbol by "0", say), or with two neighbours
swapped, is still valid in about one case of 37: `codes.parse` also accepts the mod-37 check symbol of codes
printed before issue 10, and the new code may happen to carry it (and a swap of two equal neighbours changes
nothing). A test that expects "check symbol wrong" from such a code then fails once in a few dozen runs
(codes are random per run), so it takes its slip from here.
"""

from __future__ import annotations

from collections.abc import Callable

from mailing import codes


def misprinted(code: str, at: int = -1, keep: Callable[[str], bool] = lambda _: True) -> str:
    """`code` (normalised) with the symbol at position `at` replaced so that it is no valid code under either
    check (`codes.is_valid` is False) and `keep` holds for it."""
    i = at % len(code)
    for symbol in codes.ALPHABET:
        slip = code[:i] + symbol + code[i + 1:]
        if symbol != code[i] and not codes.is_valid(slip) and keep(slip):
            return slip
    raise ValueError(f"no symbol at position {i} of {code} makes a code every check refuses")


def transposed(code: str) -> str:
    """`code` (normalised) with two neighbouring, different symbols swapped (the commonest typing slip) so
    that it is no valid code under either check: a swap of two equal symbols is no slip at all."""
    for i in range(len(code) - 1):
        slip = code[:i] + code[i + 1] + code[i] + code[i + 2:]
        if code[i] != code[i + 1] and not codes.is_valid(slip):
            return slip
    raise ValueError(f"no swap of neighbours in {code} makes a code every check refuses")
