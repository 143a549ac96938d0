"""Comparing two arms of an experiment: difference of proportions and of means, with 95% intervals.

Plain normal approximations, stated as such: an analyst can redo every figure by hand from the counts
the report prints. The interval is the unpooled Wald interval; the test is the pooled two-proportion
z-test; both are the textbook pair (and agree on "excludes zero" except at the margin)."""

from __future__ import annotations

import math
from typing import Any

Z95 = 1.959963984540054
Z80 = 0.8416212335729143  # one-sided, for 80% power
# Below this many successes or failures in an arm the normal approximation is not to be trusted.
MIN_CELL = 5


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
