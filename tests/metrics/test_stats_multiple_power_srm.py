"""shopsim.metrics.stats beyond two arms: Holm's correction, the sample-ratio-mismatch check and power, each
on cases worked by hand or against published examples (docs/sources.md, "Experiment statistics")."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopsim.metrics import stats


# --- Holm ---------------------------------------------------------------------------------------------------

def test_holm_by_hand() -> None:
    # Sorted: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, raised to 0.06 so the
    # adjusted values never fall as the raw ones rise). Given in another order, answered in that order.
    assert stats.holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    # Capped at 1; a None is no test: outside the family, and still None.
    out = stats.holm([0.5, None, 0.3])
    assert out[1] is None and out[0] == pytest.approx(0.6) and out[2] == pytest.approx(0.6)
    assert stats.holm([0.2, 0.4, 0.9]) == pytest.approx([0.6, 0.8, 0.9])
    assert stats.holm([0.6, 0.7]) == [1.0, 1.0]
    assert stats.holm([]) == [] and stats.holm([0.04]) == [0.04]


def test_holm_rejects_what_the_textbook_procedure_rejects() -> None:
    # Step down at alpha 0.05 over 5 tests: 0.005 <= 0.05/5, 0.011 <= 0.05/4, 0.02 > 0.05/3: stop. Two calls.
    p = [0.02, 0.005, 0.3, 0.011, 0.04]
    assert [a < 0.05 for a in stats.holm(p)] == [False, True, False, True, False]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=30))
def test_holm_never_lowers_a_p_value_and_keeps_the_order(ps: list[float | None]) -> None:
    adj = stats.holm(ps)
    assert [a is None for a in adj] == [p is None for p in ps]
    pairs = [(p, a) for p, a in zip(ps, adj) if p is not None]
    for p, a in pairs:
        assert p <= a <= 1
    for p1, a1 in pairs:
        for p2, a2 in pairs:
            if p1 < p2:
                assert a1 <= a2


# --- the chi-square tail and SRM ------------------------------------------------------------------------------

@pytest.mark.parametrize("x, df, expected", [
    (3.841458820694124, 1, 0.05),          # the 95% point of chi-square(1) is 1.959964^2
    (5.991464547107979, 2, 0.05),          # and of chi-square(2), -2 ln 0.05
    (3.0, 2, math.exp(-1.5)),
    (3.0, 4, math.exp(-1.5) * 2.5),        # e^{-x/2} (1 + x/2)
    (3.0, 3, math.erfc(math.sqrt(1.5)) + math.sqrt(6 / math.pi) * math.exp(-1.5)),
    (0.0, 5, 1.0),
])
def test_chi_square_tail(x: float, df: int, expected: float) -> None:
    assert stats.chi_square_sf(x, df) == pytest.approx(expected, rel=1e-9)


def test_srm_by_hand() -> None:
    # 50, 30, 40 against equal weights: expected 40 each, chi2 = (100 + 100 + 0) / 40 = 5 on 2 df, p = e^-2.5.
    t = stats.srm_test([50, 30, 40], [1, 1, 1])
    assert t["expected"] == [40, 40, 40] and t["chi2"] == pytest.approx(5.0) and t["df"] == 2
    assert t["p"] == pytest.approx(math.exp(-2.5)) and not t["mismatch"]
    # 300 and 100 against weights 2:1: expected 266.67 and 133.33, chi2 = 12.5 on 1 df, p = erfc(2.5) = 0.0004.
    t = stats.srm_test([300, 100], [2, 1])
    assert t["chi2"] == pytest.approx(12.5) and t["p"] == pytest.approx(math.erfc(2.5))
    assert t["mismatch"] and t["p"] < stats.SRM_ALPHA
    assert stats.srm([300, 100], [2, 1]) == t["p"]
    # 1,000 and 1,100 at 1:1: chi2 = 2 x 50^2 / 1,050 = 4.76, p = 0.029: odd, but not a mismatch at 0.001.
    assert stats.srm([1000, 1100], [1, 1]) == pytest.approx(math.erfc(math.sqrt(2 * 2500 / 1050 / 2)))
    assert stats.srm([0, 0], [1, 3]) == 1.0  # nobody assigned: nothing to test
    # The published example (Wikipedia, "Sample ratio mismatch"): 600 and 400 of a 50-50 split, p = 2.54e-10.
    assert stats.srm([600, 400], [0.5, 0.5]) == pytest.approx(2.54e-10, rel=1e-2)
    with pytest.raises(ValueError):
        stats.srm([1, 2], [1])


# --- power ----------------------------------------------------------------------------------------------------

def test_sample_size_matches_r_power_prop_test() -> None:
    # R's documentation of power.prop.test: p1 = .50, p2 = .75, power = .90 => n = 76.7 per group; and with
    # n = 50 per group, power = 0.740.
    assert stats.sample_size(0.50, 0.25, alpha=0.05, power=0.90) == pytest.approx(76.7, abs=0.05)
    assert stats.power_of(0.50, 0.25, 50, 50) == pytest.approx(0.740, abs=0.0005)


def test_sample_size_with_continuity_correction_matches_zar() -> None:
    # Zar, Biostatistical Analysis (4th ed.), Example 24.26, as reproduced by Unistat: p1 = 0.45, p2 = 0.25,
    # power 0.90, two-tailed 0.05: n1 = 127.2343 with equal groups, 83.1527 when n2 = 3 n1.
    assert stats.sample_size(0.45, -0.20, 0.05, 0.90, continuity=True) == pytest.approx(127.2343, abs=1e-4)
    assert stats.sample_size(0.45, -0.20, 0.05, 0.90, ratio=3, continuity=True) == pytest.approx(83.1527, abs=1e-4)


def test_sample_size_by_hand_and_against_the_verdicts_rule() -> None:
    # p_c = 0.10, +0.05: pbar = 0.125, n = (1.959964 sqrt(2 x 0.125 x 0.875) + 0.841621 sqrt(0.09 + 0.1275))^2
    # / 0.05^2 = 685.6.
    by_hand = (1.959964 * math.sqrt(2 * 0.125 * 0.875) + 0.841621 * math.sqrt(0.09 + 0.1275)) ** 2 / 0.0025
    assert stats.sample_size(0.10, 0.05) == pytest.approx(by_hand, rel=1e-5)
    assert stats.sample_size(0.10, 0.0) is None and stats.sample_size(0.10, 0.95) is None


@settings(max_examples=100, deadline=None)
@given(st.floats(0.02, 0.9), st.floats(0.01, 0.08), st.sampled_from([0.5, 1.0, 2.0]),
       st.sampled_from([-1, 1]))
def test_detectable_effect_inverts_sample_size(p_c: float, d: float, ratio: float, sign: int) -> None:
    diff = sign * min(d, (1 - p_c if sign > 0 else p_c) / 2)
    n = stats.sample_size(p_c, diff, ratio=ratio)
    assert n is not None
    assert stats.power_of(p_c, diff, n, n * ratio) == pytest.approx(0.8, abs=1e-6)
    found = stats.detectable_effect(p_c, n, n * ratio, direction=sign)
    assert found == pytest.approx(diff, rel=1e-6)


def test_detectable_effect_by_hand_and_its_limits() -> None:
    # With 1,000 shoppers in each arm at 10%, the increase found with 80% power is +4.07 pp:
    # sample_size(0.1, 0.0407...) is 1,000.
    up = stats.detectable_effect(0.10, 1000, 1000)
    assert up == pytest.approx(0.0407, abs=1e-4) and stats.sample_size(0.10, up) == pytest.approx(1000, rel=1e-6)
    assert stats.detectable_effect(0.10, 3, 3) is None  # three shoppers an arm cannot find anything that often
    # Means: (1.959964 + 0.841621) x sd x sqrt(2 / n), and its inverse.
    d = stats.detectable_mean(10.0, 200, 200)
    assert d == pytest.approx(2.801585 * 10 * math.sqrt(2 / 200), rel=1e-6)
    assert stats.sample_size_means(10.0, d) == pytest.approx(200, rel=1e-6)
