import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailing import codes
from mailing.codes import ALPHABET, CHECK_ALPHABET, CodeError, format_code, new_code, parse

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
data_codes = st.text(alphabet=ALPHABET, min_size=codes.DATA_SYMBOLS, max_size=codes.DATA_SYMBOLS).map(
    lambda d: d + codes.check_symbol(d))


def test_code_shape_and_entropy():
    c = new_code()
    assert len(c) == 12 and set(c) <= set(CHECK_ALPHABET)
    assert codes.DATA_SYMBOLS * 5 >= 50
    assert len({new_code() for _ in range(2000)}) == 2000


def test_check_alphabet_stays_in_qr_alphanumeric_set():
    assert set(CHECK_ALPHABET) <= QR_ALPHANUMERIC
    assert not set("ILO") & set(CHECK_ALPHABET)


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
    for _ in range(10_000):
        data = "".join(rng.choice(ALPHABET) for _ in range(codes.DATA_SYMBOLS))
        code = data + codes.check_symbol(data)
        for i in range(len(code)):
            pool = ALPHABET if i < len(code) - 1 else CHECK_ALPHABET
            wrong = rng.choice([c for c in pool if c != code[i]])
            assert not codes.is_valid(code[:i] + wrong + code[i + 1:]), (code, i, wrong)
            if i + 1 < len(code) and code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                assert not codes.is_valid(swapped), (code, i)


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
