"""The always-valid interval (shopsim/metrics/sequential.py) against values worked by hand and the reference
implementation's published test values, and its two invariants over any counts: it is centred on the fixed
interval's estimate and strictly wider than it.

How often it is wrong when looked at daily is measured over many seeds in benchmarks/peeking.py, not here."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopsim.metrics import sequential, stats


def test_the_normal_mixture_matches_the_reference_implementation():
    # confseq (Howard et al.'s library), test/uniform_boundaries_unittest.cpp: with v_opt = 100 and alpha = 0.05,
    # TwoSidedNormalMixture::best_rho is 12.60056 and the two-sided normal_mixture_bound at v = 100 is 30.35209.
    rho = sequential.best_rho(100, 0.05)
    assert rho == pytest.approx(12.60056, abs=1e-5)
    assert sequential.boundary(100, rho, 0.05) == pytest.approx(30.35209, abs=1e-5)


def test_rho_and_the_multiplier_by_hand():
    # alpha = 0.05: 2 ln 20 = 5.99146, ln(1 + 5.99146) = 1.94469, their sum 7.93615... is the divisor of t_opt.
    assert sequential.best_rho(1000) == pytest.approx(1000 / (2 * math.log(20) + math.log(1 + 2 * math.log(20))))
    assert sequential.best_rho(1000) == pytest.approx(126.0056, abs=1e-4)
    # At t = t_opt: (1 + 1/7.93615) * (ln 8.93615 + 5.99146) = 1.12601 * 8.18156 = 9.21253, whose root is 3.03521,
    # whatever t_opt is (only t / t_opt matters).
    for t in (10, 1000, 10**6):
        assert sequential.multiplier(t, t) == pytest.approx(3.035209, abs=1e-6)
    # t = 1000 of t_opt = 4000: rho = 504.022; (1000 + 504.022) * (ln(1 + 1000/504.022) + 5.99146)
    # = 1504.022 * (1.09330 + 5.99146) = 10655.6; its root 103.226 over sqrt(1000) = 3.26429.
    assert sequential.multiplier(1000, 4000) == pytest.approx(3.26429, abs=1e-5)
    # alpha = 0.1 at t = t_opt = 50: rho = 50 / (4.60517 + ln 5.60517) = 7.90032;
    # (1 + 1/6.32886) * (ln 7.32886 + 4.60517) = 1.15801 * 6.59702 = 7.63944, root 2.76394.
    assert sequential.best_rho(50, 0.1) == pytest.approx(7.90032, abs=1e-5)
    assert sequential.multiplier(50, 50, 0.1) == pytest.approx(2.76394, abs=1e-5)


def test_an_interim_look_at_two_proportions_by_hand():
    # 50 of 500 against 65 of 500: diff 0.03, se = sqrt(0.1 * 0.9 / 500 + 0.13 * 0.87 / 500) = sqrt(0.0004062)
    # = 0.0201544. The fixed interval is 0.03 ± 1.95996 * se = [-0.00950, +0.06950]: it excludes nothing.
    # The arms have 1,000 shoppers in all and all of them count (t = t_opt), so the multiplier is 3.03521:
    # 0.03 ± 0.0611728 = [-0.0311728, +0.0911728].
    fixed = stats.two_proportions(50, 500, 65, 500)
    fixed.update(significant=False, verdict="No detectable difference ...", metric="conversion")
    assert (fixed["low"], fixed["high"]) == pytest.approx((-0.0095019, 0.0695019), abs=1e-7)
    look = sequential.interim(fixed, t_opt=1000)
    assert look["interim"] is True and look["multiplier"] == pytest.approx(3.035209, abs=1e-6)
    assert (look["low"], look["high"]) == pytest.approx((-0.0311728, 0.0911728), abs=1e-7)
    assert look["diff"] == fixed["diff"] and look["significant"] is False
    # The fixed figures are kept aside, and nothing of them can be read as the interim verdict.
    assert (look["fixed_low"], look["fixed_high"], look["fixed_p"]) == (fixed["low"], fixed["high"], fixed["p"])
    assert look["fixed_verdict"] == fixed["verdict"] and look["verdict"] is None and look["p"] is None


def test_an_interim_look_calls_a_side_only_when_the_always_valid_interval_leaves_out_zero():
    # 50 of 500 against 110 of 500: diff 0.12, se = sqrt(0.00018 + 0.22 * 0.78 / 500) = sqrt(0.0005232) = 0.0228735;
    # 0.12 - 3.035209 * 0.0228735 = +0.050574 > 0.
    look = sequential.interim({**stats.two_proportions(50, 500, 110, 500), "significant": True}, t_opt=1000)
    assert look["significant"] is True and look["low"] == pytest.approx(0.050574, abs=1e-6)
    few = sequential.interim({**stats.two_proportions(1, 20, 9, 20), "significant": False}, t_opt=40)
    assert few["enough"] is False and few["significant"] is False  # too few shoppers: no side is called
    empty = sequential.interim({**stats.two_proportions(0, 0, 0, 0), "significant": False}, t_opt=0)
    assert empty["low"] is None and empty["significant"] is False


def test_an_experiment_is_tuned_on_its_arms_and_every_comparison_turns_interim():
    rows = [{**stats.two_proportions(30, 300, 36, 300), "variant": "b", "control_name": "a", "metric": "recovery",
             "significant": False, "p_holm": 0.5, "significant_holm": False}]
    exp = {"control": "a", "variants": {"a": {"shoppers": 1000}, "b": {"shoppers": 1000}, "c": {"shoppers": 3000}},
           "comparisons": rows, "pairs": [{**rows[0], "variant": "c", "control_name": "b"}]}
    look = sequential.interim_experiment(exp)
    assert look["interim"] is True and exp["comparisons"][0].get("interim") is None  # the input is left alone
    # b against a: t = 600 shoppers counted of the 2,000 in the two arms; c against b: of 4,000.
    assert look["comparisons"][0]["multiplier"] == pytest.approx(sequential.multiplier(600, 2000))
    assert look["pairs"][0]["multiplier"] == pytest.approx(sequential.multiplier(600, 4000))
    assert look["comparisons"][0]["p_holm"] is None and look["comparisons"][0]["significant_holm"] is None


counts = st.integers(min_value=2, max_value=20_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=1, max_value=n - 1), st.just(n)))


@settings(max_examples=300, deadline=None)
@given(counts, counts, st.floats(min_value=0.01, max_value=100), st.sampled_from([0.01, 0.05, 0.1, 0.2]))
def test_the_always_valid_interval_holds_the_estimate_and_is_wider_than_the_fixed_one(c, v, opt_ratio, alpha):
    (x_c, n_c), (x_v, n_v) = c, v
    fixed = stats.two_proportions(x_c, n_c, x_v, n_v)
    t = n_c + n_v
    lo, hi = sequential.interval(fixed["diff"], (fixed["high"] - fixed["low"]) / (2 * stats.Z95), t, t * opt_ratio,
                                 alpha)
    assert lo <= fixed["diff"] <= hi
    # Fixed at the same level: diff ± z(1 - alpha/2) se. The mixture's multiplier is above sqrt(2 ln(1/alpha)),
    # itself above that z, at every t.
    z = NormalDist().inv_cdf(1 - alpha / 2)
    se = (fixed["high"] - fixed["low"]) / (2 * stats.Z95)
    assert lo < fixed["diff"] - z * se and hi > fixed["diff"] + z * se
    look = sequential.interim({**fixed, "significant": False}, t * opt_ratio)
    assert look["low"] < fixed["low"] <= fixed["diff"] <= fixed["high"] < look["high"]
