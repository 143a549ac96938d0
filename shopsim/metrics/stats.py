"""Comparing two arms of an experiment: difference of proportions and of means, with 95% intervals; Holm's
correction over many comparisons; the sample-ratio-mismatch check; sample size and detectable effect.

Plain normal approximations, stated as such: an analyst can redo every figure by hand from the counts
the report prints. The interval is the unpooled Wald interval; the test is the pooled two-proportion
z-test; both are the textbook pair (and agree on "excludes zero" except at the margin).

Every function here is pure (numbers in, numbers out, no state, no I/O), so a sweep over seeds or a report
can call any of them:

    holm([0.01, 0.04, 0.03])               -> [0.03, 0.06, 0.06]
    srm([5_100, 4_900], [1, 1])            -> 0.0455 (p of a chi-square goodness of fit)
    sample_size(0.5, 0.25, power=0.9)      -> 76.7 per arm (R's power.prop.test gives the same)
    detectable_effect(0.1, 1_000, 1_000)   -> the smallest increase found with 80% power"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

Z95 = 1.959963984540054
Z80 = 0.8416212335729143  # one-sided, for 80% power
# Below this many successes or failures in an arm the normal approximation is not to be trusted.
MIN_CELL = 5
# A sample-ratio mismatch is flagged below this p: the check runs on every experiment of every run, so it
# must almost never fire by chance (the strict end of the 0.01-0.001 usually chosen; docs/sources.md).
SRM_ALPHA = 0.001
_NORMAL = NormalDist()


def p_value(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportions(x_c: int, n_c: int, x_v: int, n_v: int) -> dict[str, Any]:
    """Variant against control: rates (`control_value`, `variant_value`), difference (variant - control) with a 95% interval, relative
    uplift, pooled z and p, and whether the sample is large enough for the approximation."""
    out: dict[str, Any] = {"control_value": _rate(x_c, n_c), "variant_value": _rate(x_v, n_v),
                           "control_n": n_c, "variant_n": n_v, "control_x": x_c, "variant_x": x_v,
                           "diff": None, "low": None, "high": None, "relative": None, "z": None, "p": None}
    if not n_c or not n_v:
        out["enough"] = False
        return out
    p_c, p_v = x_c / n_c, x_v / n_v
    diff = p_v - p_c
    se = math.sqrt(p_c * (1 - p_c) / n_c + p_v * (1 - p_v) / n_v)
    pooled = (x_c + x_v) / (n_c + n_v)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_v))
    z = diff / se0 if se0 else 0.0
    out.update(diff=diff, low=diff - Z95 * se, high=diff + Z95 * se, z=z, p=p_value(z) if se0 else 1.0,
               relative=diff / p_c if p_c else None)
    out["enough"] = min(x_c, n_c - x_c, x_v, n_v - x_v) >= MIN_CELL
    return out


def two_means(n_c: int, s_c: float, ss_c: float, n_v: int, s_v: float, ss_v: float) -> dict[str, Any]:
    """Difference of means from counts, sums and sums of squares (Welch's normal approximation)."""
    out: dict[str, Any] = {"control_value": s_c / n_c if n_c else None, "variant_value": s_v / n_v if n_v else None,
                           "control_n": n_c, "variant_n": n_v,
                           "diff": None, "low": None, "high": None, "z": None, "p": None, "enough": False}
    if n_c < 2 or n_v < 2:
        return out
    m_c, m_v = s_c / n_c, s_v / n_v
    var_c = max(0.0, (ss_c - n_c * m_c * m_c) / (n_c - 1))
    var_v = max(0.0, (ss_v - n_v * m_v * m_v) / (n_v - 1))
    se = math.sqrt(var_c / n_c + var_v / n_v)
    diff = m_v - m_c
    z = diff / se if se else 0.0
    out.update(diff=diff, low=diff - Z95 * se, high=diff + Z95 * se, z=z, p=p_value(z) if se else 1.0,
               enough=n_c >= 30 and n_v >= 30)
    return out


def needed_per_arm(p_c: float, diff: float) -> int | None:
    """Shoppers per arm to detect `diff` at 5% two-sided significance with 80% power."""
    p_v = p_c + diff
    if not diff or not 0 < p_v < 1:
        return None
    var = p_c * (1 - p_c) + p_v * (1 - p_v)
    return math.ceil((Z95 + Z80) ** 2 * var / diff ** 2)


def verdict(cmp: dict[str, Any], what: str, variant: str, control: str) -> str:
    """One plain sentence an analyst can paste into a write-up."""
    if cmp["diff"] is None or not cmp["enough"]:
        return (f"Too few shoppers to conclude on {what}: each arm needs at least {MIN_CELL} shoppers with it and "
                f"{MIN_CELL} without (have {cmp['variant_x']:,} of {cmp['variant_n']:,} in {variant}, "
                f"{cmp['control_x']:,} of {cmp['control_n']:,} in {control}).")
    pp = lambda x: signed(x * 100, 1) + " pp"  # noqa: E731
    interval = f"95% CI {pp(cmp['low'])} to {pp(cmp['high'])}, p {_p(cmp['p'])}"
    if cmp["low"] > 0 or cmp["high"] < 0:
        direction = "higher" if cmp["diff"] > 0 else "lower"
        return f"{variant}'s {what} is {direction} than {control}'s by {pp(cmp['diff'])} ({interval})."
    need = needed_per_arm(cmp["control_value"], cmp["diff"])
    more = (f"; detecting a difference this size would take about {need:,} shoppers per arm"
            if need else "")
    return f"No detectable difference in {what} between {variant} and {control} ({interval}){more}."


def signed(x: float, digits: int) -> str:
    """+1.2 or -1.2; a value that rounds to zero is 0.0, never +0.0 or -0.0."""
    text = f"{x:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def _rate(x: int, n: int) -> float | None:
    return x / n if n else None


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest of m p-values (i from 0) becomes max over j <= i of min(1, (m - j) p_j):
    rejecting where the adjusted p is below alpha keeps the chance of any false call at most alpha across the
    whole family, whatever the dependence between the tests. A None (a comparison with no test) is left
    out of the family and stays None. Ties keep their given order."""
    order = sorted((i for i, p in enumerate(pvalues) if p is not None), key=lambda i: (pvalues[i], i))
    m = len(order)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))  # type: ignore[operator]
        out[i] = running
    return out


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with a whole number of degrees of freedom, in closed form
    (a finite sum for even df, the normal tail plus a finite sum for odd df)."""
    if df < 1:
        raise ValueError("degrees of freedom must be 1 or more")
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        term = total = math.exp(-half)
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, total)
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(2 * x / math.pi) * math.exp(-half)
    for i in range(1, (df - 1) // 2 + 1):
        total += term
        term *= x / (2 * i + 1)
    return min(1.0, total)


def srm_test(counts: Sequence[int], weights: Sequence[float]) -> dict[str, Any]:
    """Sample-ratio mismatch: Pearson's chi-square goodness of fit of the arms' counts to their configured
    weights. Returns the expected counts, chi2, df, p and `mismatch` (p < SRM_ALPHA). With no shoppers at
    all there is nothing to test: p is 1."""
    if len(counts) != len(weights) or len(counts) < 2:
        raise ValueError("give one weight per arm, and two arms or more")
    if any(w <= 0 for w in weights):
        raise ValueError("weights must be positive")
    n, total_w = sum(counts), sum(weights)
    expected = [n * w / total_w for w in weights]
    chi2 = sum((c - e) ** 2 / e for c, e in zip(counts, expected)) if n else 0.0
    p = chi_square_sf(chi2, len(counts) - 1) if n else 1.0
    return {"counts": list(counts), "expected": expected, "chi2": chi2, "df": len(counts) - 1, "p": p,
            "alpha": SRM_ALPHA, "mismatch": p < SRM_ALPHA}


def srm(counts: Sequence[int], weights: Sequence[float]) -> float:
    """The p-value of srm_test: how likely counts this far from the weights are if assignment is sound."""
    return srm_test(counts, weights)["p"]


def z_quantile(q: float) -> float:
    """The standard normal quantile: z_quantile(0.975) = 1.95996..."""
    return _NORMAL.inv_cdf(q)


def _spreads(p_c: float, p_v: float, ratio: float) -> tuple[float, float]:
    """The standard deviations of the difference (times the square root of the control's n) under the null,
    where both arms share the pooled rate, and under the alternative."""
    pooled = (p_c + ratio * p_v) / (1 + ratio)
    return (math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio)),
            math.sqrt(p_c * (1 - p_c) + p_v * (1 - p_v) / ratio))


def sample_size(p_control: float, diff: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                continuity: bool = False) -> float | None:
    """Shoppers needed in the control arm (the variant needs `ratio` times as many) for the pooled two-sided
    two-proportion z-test at level `alpha` to find a difference `diff` (variant minus control) with the
    given power. Not rounded: round up to plan.

    n = [z(1 - alpha/2) sqrt(pbar qbar (1 + 1/r)) + z(power) sqrt(p_c q_c + p_v q_v / r)]^2 / diff^2, with
    pbar = (p_c + r p_v) / (1 + r): the normal-approximation formula of Fleiss (without a continuity
    correction it is what R's power.prop.test solves). `continuity=True` applies Fleiss, Tytun and Ury's
    correction, n' = n/4 (1 + sqrt(1 + 2 (r + 1) / (n r |diff|)))^2, for a test that uses one. None when
    the variant's rate would leave [0, 1] or diff is 0."""
    p_v = p_control + diff
    if not diff or not 0 < p_control < 1 or not 0 < p_v < 1 or ratio <= 0:
        return None
    null_sd, alt_sd = _spreads(p_control, p_v, ratio)
    n = (z_quantile(1 - alpha / 2) * null_sd + z_quantile(power) * alt_sd) ** 2 / diff ** 2
    if continuity:
        n = n / 4 * (1 + math.sqrt(1 + 2 * (ratio + 1) / (n * ratio * abs(diff)))) ** 2
    return n


def power_of(p_control: float, diff: float, n_control: float, n_variant: float, alpha: float = 0.05) -> float:
    """The power of the pooled two-sided z-test to find `diff` with these arm sizes (the far tail, which
    would call the difference with the wrong sign, is not counted, as in R's power.prop.test)."""
    p_v = p_control + diff
    if not n_control or not n_variant or not 0 < p_v < 1 or not 0 < p_control < 1:
        return 0.0
    null_sd, alt_sd = _spreads(p_control, p_v, n_variant / n_control)
    return _NORMAL.cdf((abs(diff) * math.sqrt(n_control) - z_quantile(1 - alpha / 2) * null_sd) / alt_sd)


def detectable_effect(p_control: float, n_control: float, n_variant: float, alpha: float = 0.05,
                      power: float = 0.8, direction: int = 1) -> float | None:
    """The smallest difference (an increase for direction 1, a decrease for -1) that the pooled z-test finds
    with the given power on arms of these sizes, by bisection on power_of (which grows with the difference).
    None when even the largest possible difference is not found that often."""
    room = (1 - p_control) if direction > 0 else p_control
    hi = room * (1 - 1e-9)
    if hi <= 0 or power_of(p_control, direction * hi, n_control, n_variant, alpha) < power:
        return None
    lo = 0.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if power_of(p_control, direction * mid, n_control, n_variant, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return direction * hi


def sample_size_means(sd: float, diff: float, alpha: float = 0.05, power: float = 0.8,
                      ratio: float = 1.0) -> float | None:
    """Shoppers in the control arm to find a difference of means `diff` with Welch's normal test, when both
    arms have standard deviation `sd`: n = (z(1 - alpha/2) + z(power))^2 sd^2 (1 + 1/r) / diff^2."""
    if not diff or sd <= 0 or ratio <= 0:
        return None
    return (z_quantile(1 - alpha / 2) + z_quantile(power)) ** 2 * sd * sd * (1 + 1 / ratio) / diff ** 2


def detectable_mean(sd: float, n_control: float, n_variant: float, alpha: float = 0.05,
                    power: float = 0.8) -> float | None:
    """The smallest difference of means found with the given power (both arms' standard deviation `sd`)."""
    if not n_control or not n_variant or sd <= 0:
        return None
    return (z_quantile(1 - alpha / 2) + z_quantile(power)) * sd * math.sqrt(1 / n_control + 1 / n_variant)
