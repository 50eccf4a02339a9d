import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailing import codes
from mailing.codes import (
    ALPHABET,
    CHECK_ALPHABET,
    LEGACY_CHECK_ALPHABET,
    CodeError,
    format_code,
    new_code,
    parse,
)

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
data_codes = st.text(alphabet=ALPHABET, min_size=codes.DATA_SYMBOLS, max_size=codes.DATA_SYMBOLS).map(
    lambda d: d + codes.check_symbol(d))


def test_code_shape_and_entropy():
    c = new_code()
    assert len(c) == 12 and set(c) <= set(ALPHABET)
    assert codes.DATA_SYMBOLS * 5 >= 50
    assert len({new_code() for _ in range(2000)}) == 2000


def test_check_alphabet_stays_in_qr_alphanumeric_set():
    assert set(LEGACY_CHECK_ALPHABET) <= QR_ALPHANUMERIC
    assert not set("ILO") & set(LEGACY_CHECK_ALPHABET)


def test_check_symbol_is_one_of_the_codes_own_symbols():
    # issue 10: `* % $ +` were hard to say on the phone and to type
    assert CHECK_ALPHABET == ALPHABET
    rng = random.Random(3)
    seen = set()
    for _ in range(5000):
        c = new_code()
        assert set(c) <= set(ALPHABET), c
        seen.add(c[-1])
        data = "".join(rng.choice(ALPHABET) for _ in range(codes.DATA_SYMBOLS))
        assert codes.check_symbol(data) in ALPHABET
    assert seen == set(ALPHABET)  # every symbol is used as a check symbol


def test_damm_table_is_a_totally_anti_symmetric_quasigroup():
    table = codes._DAMM
    for x in range(32):
        assert sorted(table[x]) == list(range(32))  # rows are permutations
        assert sorted(table[y][x] for y in range(32)) == list(range(32))  # columns too
    for c in range(32):
        for x in range(32):
            for y in range(32):
                if x != y:
                    assert table[table[c][x]][y] != table[table[c][y]][x], (c, x, y)


def test_codes_printed_before_issue_10_keep_parsing():
    rng = random.Random(11)
    legacy_only = 0
    for _ in range(3000):
        data = "".join(rng.choice(ALPHABET) for _ in range(codes.DATA_SYMBOLS))
        old = data + codes.legacy_check_symbol(data)
        assert parse(format_code(old).lower()) == old
        legacy_only += codes.check_scheme(old) == "legacy"
    assert legacy_only > 2800
    for check in "*%$+U":  # the old symbols people found hard to type
        data = next(d for d in ("".join(rng.choice(ALPHABET) for _ in range(11)) for _ in range(10_000))
                    if codes.legacy_check_symbol(d) == check)
        assert parse(data + check) == data + check
        assert not codes.is_valid(data + check, legacy=False)


@given(data_codes)
def test_parse_format_roundtrip(code):
    assert parse(format_code(code)) == code
    assert parse(format_code(code).lower()) == code
    assert parse(" " + format_code(code).replace("-", " ") + " ") == code


def test_lenient_reading_of_confusable_letters():
    data = "0011ABCDEFG"
    code = data + codes.check_symbol(data)
    assert parse("ooIl-abcd-efg" + code[-1]) == code


def test_every_single_symbol_change_and_neighbour_swap_is_rejected():
    rng = random.Random(7)
    for _ in range(1_000):
        data = "".join(rng.choice(ALPHABET) for _ in range(codes.DATA_SYMBOLS))
        code = data + codes.check_symbol(data)
        for i in range(len(code)):
            for wrong in ALPHABET:  # every substitution, not a sample
                if wrong != code[i]:
                    assert not codes.is_valid(code[:i] + wrong + code[i + 1:], legacy=False), (code, i, wrong)
            if i + 1 < len(code) and code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                assert not codes.is_valid(swapped, legacy=False), (code, i)


@given(data_codes, st.integers(0, codes.CODE_LENGTH - 1), st.sampled_from(ALPHABET))
def test_property_a_single_wrong_symbol_never_passes_the_check(code, i, wrong):
    mutated = code[:i] + wrong + code[i + 1:]
    assert codes.is_valid(mutated, legacy=False) == (mutated == code)


@given(data_codes, st.integers(0, codes.CODE_LENGTH - 2))
def test_property_a_swap_of_neighbours_never_passes_the_check(code, i):
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    assert codes.is_valid(swapped, legacy=False) == (swapped == code)


def test_the_old_check_still_rejects_single_errors_of_old_codes():
    rng = random.Random(5)
    for _ in range(500):
        data = "".join(rng.choice(ALPHABET) for _ in range(codes.DATA_SYMBOLS))
        old = data + codes.legacy_check_symbol(data)
        for i in range(len(old) - 1):
            wrong = rng.choice([c for c in ALPHABET if c != old[i]])
            assert codes.check_scheme(old[:i] + wrong + old[i + 1:]) != "legacy"


@pytest.mark.parametrize("text,reason", [("7K3M", "wrong length"), ("7K3M-9QXP-2W4!", "not a code symbol")])
def test_bad_codes_say_why(text, reason):
    with pytest.raises(CodeError, match=reason):
        parse(text)


def test_payload_forms():
    c = new_code()
    assert codes.qr_payload(c) == c
    url = codes.qr_payload(c, "https://example.de/r")
    assert url == "HTTPS://EXAMPLE.DE/R/" + c and set(url) <= QR_ALPHANUMERIC
    assert codes.code_from_payload(url) == c
