"""Small statistics for response rates: a confidence interval for one proportion and a two-proportion test.

Only `math` is used (no scipy). The interval is Wilson's score interval: unlike the Wald interval
(p ± z·sqrt(p(1-p)/n)) it stays inside 0..1 and keeps its coverage for the small rates (1-5 %) and
small counts typical of response mailings; Wald collapses to a zero-width interval at 0 responses.

The test is the two-sided z-test for two independent proportions with pooled variance (the textbook test
behind "is variant B better than A?"). It is an approximation; `TwoProportionTest.small_sample` says when
an expected count is below 5 and the result should be read with care.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # standard normal quantile for a two-sided 95 % interval
ALPHA = 0.05


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(successes: int, n: int, z: float = Z_95) -> Interval | None:
    """Wilson score interval for successes/n; None when n is 0 (no rate to estimate)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..{n}, got {successes}")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact bounds, not rounding noise
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high)


def wald_interval(successes: int, n: int, z: float = Z_95) -> Interval | None:
    """Wald interval (normal approximation), for comparison only; the report uses Wilson."""
    if n <= 0:
        return None
    p = successes / n
    half = z * math.sqrt(p * (1 - p) / n)
    return Interval(max(0.0, p - half), min(1.0, p + half))


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


@dataclass(frozen=True)
class TwoProportionTest:
    rate_a: float
    rate_b: float
    difference: float  # rate_a - rate_b
    z: float
    p_value: float
    small_sample: bool  # an expected count below 5: the normal approximation is rough

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def two_proportion_test(x_a: int, n_a: int, x_b: int, n_b: int) -> TwoProportionTest | None:
    """Two-sided z-test of rate a = rate b (pooled). None when a group has no pieces."""
    if n_a <= 0 or n_b <= 0:
        return None
    p_a, p_b = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:  # both rates 0 % or both 100 %: no difference to test
        z, p = 0.0, 1.0
    else:
        z = (p_a - p_b) / se
        p = min(1.0, 2 * normal_sf(abs(z)))
    expected = (n_a * pooled, n_a * (1 - pooled), n_b * pooled, n_b * (1 - pooled))
    return TwoProportionTest(p_a, p_b, p_a - p_b, z, p, min(expected) < 5)
