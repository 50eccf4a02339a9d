"""Confidence interval and two-proportion test on known cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.stats import normal_sf, two_proportion_test, wald_interval, wilson_interval


def test_wilson_10_of_100() -> None:
    ci = wilson_interval(10, 100)
    assert ci is not None
    assert ci.low == pytest.approx(0.0552, abs=5e-5)
    assert ci.high == pytest.approx(0.1744, abs=5e-5)


def test_wilson_zero_responses_has_width_where_wald_collapses() -> None:
    wilson, wald = wilson_interval(0, 50), wald_interval(0, 50)
    assert wilson is not None and wald is not None
    assert wilson.low == 0.0 and wilson.high == pytest.approx(0.0714, abs=5e-4)
    assert wald.high == 0.0


def test_wilson_without_pieces_is_none() -> None:
    assert wilson_interval(0, 0) is None


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_rate_and_stays_in_0_1(case: tuple[int, int]) -> None:
    x, n = case
    ci = wilson_interval(x, n)
    assert ci is not None
    assert 0.0 <= ci.low <= x / n + 1e-12 and x / n - 1e-12 <= ci.high <= 1.0


def test_two_proportion_known_case() -> None:
    # 60/1000 vs 40/1000: z = 2.052, two-sided p = 0.0402 (R: prop.test(c(60,40), c(1000,1000), correct=FALSE))
    t = two_proportion_test(60, 1000, 40, 1000)
    assert t is not None
    assert t.z == pytest.approx(2.0520, abs=1e-4)
    assert t.p_value == pytest.approx(0.04017, abs=1e-5)
    assert t.significant and not t.small_sample
    assert t.difference == pytest.approx(0.02)


def test_two_proportion_not_significant_and_symmetric() -> None:
    a, b = two_proportion_test(50, 1000, 45, 1000), two_proportion_test(45, 1000, 50, 1000)
    assert a is not None and b is not None
    assert not a.significant
    assert a.p_value == pytest.approx(b.p_value) and a.z == pytest.approx(-b.z)


def test_two_proportion_degenerate_cases() -> None:
    assert two_proportion_test(1, 10, 0, 0) is None
    t = two_proportion_test(0, 100, 0, 100)
    assert t is not None and t.p_value == 1.0 and t.small_sample


def test_normal_sf() -> None:
    assert normal_sf(0) == 0.5
    assert normal_sf(1.959963984540054) == pytest.approx(0.025)
    assert math.isclose(normal_sf(-1), 1 - normal_sf(1))
