"""Always-valid (sequential) intervals, for looking at an experiment while it runs.

A 95% interval is right 95% of the time at one look, fixed in advance. Looked at every day and acted on
the first time it excludes 0, it is wrong far more often (an A/A test "wins" in about one run in four
over two weeks of daily looks: benchmarks/peeking.py). A confidence sequence holds at every look at once: the chance that it
ever excludes the truth, however often and whenever it is looked at, is at most alpha.

The one here is the two-sided normal mixture boundary (Robbins' mixture; Howard, Ramdas, McAuliffe and
Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences"), used on the estimate's
normal approximation as in Waudby-Smith et al. 2024 ("Time-uniform central limit theory and asymptotic
confidence sequences"); Optimizely's always-valid p-values (Johari et al.'s mixture sequential
probability ratio test) rest on the same normal mixture.
For an estimate with standard error `se` from `t` units, of a run that will reach `t_opt` units:

    rho      = t_opt / (2 ln(1/alpha) + ln(1 + 2 ln(1/alpha)))
    boundary = sqrt((t + rho) * (ln(1 + t/rho) + 2 ln(1/alpha)))
    interval = estimate ± se * boundary / sqrt(t)

`rho` is the mixture's spread, chosen so the boundary is tightest at `t = t_opt`; any fixed choice keeps
the guarantee, a poor one only widens the interval. The guarantee is asymptotic (the normal
approximation, like the fixed interval's), and it is strictly wider than the fixed 95% interval at every
t: the price of looking whenever one likes. docs/metrics.md ("Interim looks") and docs/sources.md give
the formula's sources and the reference values the tests check. Pure: no I/O, no state."""

from __future__ import annotations

import math
from typing import Any, Mapping

from shopsim.metrics.stats import Z95

ALPHA = 0.05
FIXED = ("low", "high", "p", "significant", "verdict")


def best_rho(t_opt: float, alpha: float = ALPHA) -> float:
    """The mixture's spread that makes the two-sided boundary tightest at intrinsic time `t_opt`."""
    if t_opt <= 0 or not 0 < alpha < 1:
        raise ValueError(f"need t_opt > 0 and 0 < alpha < 1, got {t_opt}, {alpha}")
    log_a = math.log(1 / alpha)
    return t_opt / (2 * log_a + math.log(1 + 2 * log_a))


def boundary(t: float, rho: float, alpha: float = ALPHA) -> float:
    """Howard et al.'s two-sided normal mixture boundary: a sum of t unit-variance steps of mean 0 stays
    within ± this at every t, with probability at least 1 - alpha."""
    return math.sqrt((t + rho) * (math.log(1 + t / rho) + 2 * math.log(1 / alpha)))


def multiplier(t: float, t_opt: float, alpha: float = ALPHA) -> float:
    """How many standard errors the always-valid interval reaches either side of the estimate at t units
    (the fixed 95% interval's is 1.96)."""
    if t <= 0:
        return math.inf
    return boundary(t, best_rho(t_opt if t_opt > 0 else t, alpha), alpha) / math.sqrt(t)


def interval(estimate: float, se: float, t: float, t_opt: float, alpha: float = ALPHA) -> tuple[float, float]:
    """The always-valid interval around `estimate` (standard error `se`, from `t` units)."""
    r = se * multiplier(t, t_opt, alpha)
    return estimate - r, estimate + r


def interim(cmp: Mapping[str, Any], t_opt: float, alpha: float = ALPHA) -> dict[str, Any]:
    """A comparison row of `stats.two_proportions` or `stats.two_means` as an interim look: `low` and
    `high` become the always-valid interval (the fixed ones are kept as `fixed_low`, `fixed_high`),
    `significant` says whether that interval excludes 0, and `interim` is True. The fixed interval, its
    p-value, significance and verdict sentence move to `fixed_low`, `fixed_high`, `fixed_p`,
    `fixed_significant` and `fixed_verdict` (and `p`, `verdict` and any Holm figures become None).

    `t` is the row's shoppers in both arms and `t_opt` those the run will have reached at its end."""
    out = dict(cmp)
    # The fixed-horizon figures are kept under fixed_*, out of the way: a p-value or a verdict read before
    # the end is exactly the peeking this replaces.
    out.update(interim=True, multiplier=None, verdict=None, p=None, **{f"fixed_{k}": cmp.get(k) for k in FIXED})
    if "p_holm" in cmp:
        out.update(p_holm=None, significant_holm=None)
    diff, low, high = cmp.get("diff"), cmp.get("low"), cmp.get("high")
    if diff is None or low is None or high is None:
        out["significant"] = False
        return out
    se = (high - low) / (2 * Z95)
    t = (cmp.get("control_n") or 0) + (cmp.get("variant_n") or 0)
    k = multiplier(t, t_opt, alpha)
    out.update(low=diff - se * k, high=diff + se * k, multiplier=k)
    out["significant"] = bool(cmp.get("enough")) and se > 0 and (out["low"] > 0 or out["high"] < 0)
    return out


def interim_experiment(experiment: Mapping[str, Any], alpha: float = ALPHA) -> dict[str, Any]:
    """One experiment of `Metrics.result()["experiments"]` as an interim look: every comparison through
    `interim`, tuned to be tightest when every shopper of its two arms counts (arms are assigned at time 0,
    so that number is known from the start and the same at every look)."""
    arms = experiment.get("variants") or {}
    size = lambda name: (arms.get(name) or {}).get("shoppers") or 0  # noqa: E731
    out = {**experiment, "interim": True}
    for key in ("comparisons", "pairs"):  # each arm against the control; other pairs of arms, if any
        if key in experiment:
            out[key] = [interim(c, size(c.get("control_name") or experiment.get("control")) + size(c.get("variant")),
                                alpha) for c in experiment[key] or ()]
    return out
