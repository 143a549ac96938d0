"""The mean over seeds, its spread and its 95% confidence interval (Student's t), without scipy.

Seeds are independent replications of the same scenario, so the mean of N per-seed values has the usual
t interval: mean ± t(0.975, N − 1) · sd / √N, sd being the sample standard deviation (divisor N − 1).
Ratios are summarised on logarithms (`ratio_spread`): a geometric mean, and a spread that is a factor."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

# t(0.975, df) for df = 1..30 (two-sided 95%), to three decimals, as printed in every statistics table.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
Z975 = 1.959963984540054


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom.

    From the table up to 30; above, the Cornish-Fisher expansion around the normal quantile, which is
    within 0.0005 of the exact value there and tends to 1.96 (a flat 1.96 would jump from 2.042 at 30)."""
    if df < 1:
        raise ValueError("a t quantile needs at least one degree of freedom")
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return (z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3))


@dataclass(frozen=True)
class Spread:
    n: int
    mean: float
    sd: float | None         # None for a single value
    ci_low: float | None
    ci_high: float | None


def spread(values: Sequence[float]) -> Spread:
    """Mean, sample standard deviation and the 95% t interval of the mean. Sums are exact (math.fsum), so
    the figures depend only on the values, in any order."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n == 1:
        return Spread(1, mean, None, None, None)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in values) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return Spread(n, mean, sd, mean - half, mean + half)


def ratio_spread(values: Sequence[float]) -> Spread:
    """For a ratio (orders at 1 h ÷ at 24 h): the geometric mean, the spread as a factor (×/÷) and the 95%
    interval, all computed on logarithms. A ratio of two noisy rates is skewed: an arithmetic mean is pulled
    up by the seeds whose denominator came out small, while its logarithm is symmetric. Falls back to the
    arithmetic `spread` when a value is not positive."""
    if any(x <= 0 for x in values):
        return spread(values)
    logs = spread([math.log(x) for x in values])
    exp = lambda v: None if v is None else math.exp(v)  # noqa: E731
    return Spread(logs.n, math.exp(logs.mean), exp(logs.sd), exp(logs.ci_low), exp(logs.ci_high))


def t_two_sided_p(t: float, df: int) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom: the regularised incomplete beta
    I_x(df/2, 1/2) at x = df / (df + t²), by its continued fraction (Numerical Recipes §6.4)."""
    if df < 1:
        raise ValueError("a t test needs at least one degree of freedom")
    if not math.isfinite(t):
        return 0.0 if not math.isnan(t) else 1.0
    x = df / (df + t * t)
    return min(1.0, max(0.0, _betainc(df / 2, 0.5, x)))


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    """Lentz's method for the incomplete beta's continued fraction; converges in a few dozen steps here."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < 3e-16:
            break
    return h
