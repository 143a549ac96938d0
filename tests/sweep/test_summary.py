"""The sweep's statistics on hand-computed cases: Student's t p-values, paired differences, Holm, rows."""

from __future__ import annotations

import math

import pytest

from shopsim.calibrate.stats import t_two_sided_p
from shopsim.scenario.overrides import parse
from shopsim.sweep.grid import axes_of, points_of
from shopsim.sweep.summary import summarise


@pytest.mark.parametrize("df, t", [(1, 12.706), (2, 4.303), (9, 2.262), (19, 2.093), (30, 2.042)])
def test_the_tables_two_sided_5_percent_points_give_p_005(df, t):
    assert t_two_sided_p(t, df) == pytest.approx(0.05, abs=2e-4)


def test_t_p_values_in_closed_form():
    # df = 1 is the Cauchy distribution: P(|T| >= t) = 1 - 2 atan(t) / pi; df = 2: 1 - t / sqrt(2 + t^2).
    for t in (0.3, 1.0, 2.5, 10.0):
        assert t_two_sided_p(t, 1) == pytest.approx(1 - 2 * math.atan(t) / math.pi, rel=1e-10)
        assert t_two_sided_p(t, 2) == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-10)
    assert t_two_sided_p(0.0, 5) == 1.0
    assert t_two_sided_p(-2.262, 9) == t_two_sided_p(2.262, 9)


def _record(**kpis):
    return {"kpis": kpis, "arms": {}, "events": 0}


def test_paired_difference_mean_interval_and_p_by_hand():
    points = points_of(axes_of(["flows.r.steps[0].after=1h,24h"]))
    seeds = (1, 2, 3)
    a, b = [0.1, 0.2, 0.3], [0.2, 0.4, 0.5]  # differences 0.1, 0.2, 0.2
    results = {(0, s): _record(recovery_rate=x) for s, x in zip(seeds, a)}
    results |= {(1, s): _record(recovery_rate=x) for s, x in zip(seeds, b)}
    summary = summarise(points, seeds, ["recovery_rate"], results)
    [c] = summary.comparisons
    # mean 1/6, sd sqrt(1/300) = 0.05774, se 0.03333, t = 5.0 on 2 df: p = 1 - 5/sqrt(27) = 0.03775
    assert c.diff == pytest.approx(1 / 6)
    half = 4.303 * math.sqrt(1 / 300) / math.sqrt(3)
    assert (c.low, c.high) == (pytest.approx(1 / 6 - half), pytest.approx(1 / 6 + half))
    assert c.p == pytest.approx(1 - 5 / math.sqrt(27))
    assert c.p_holm == c.p and c.holds  # one comparison: Holm changes nothing
    cell = summary.cells[(0, "recovery_rate")]
    assert cell.spread.mean == pytest.approx(0.2)


def test_holm_adjusts_across_pairs_and_metrics():
    points = points_of(axes_of(["a.b=1,2,3"]))
    seeds = (1, 2, 3, 4)
    base = [0.0, 0.1, 0.0, 0.1]
    results = {}
    for i, shift in enumerate((0.0, 1.0, 0.02)):
        for s, x in zip(seeds, base):
            results[(i, s)] = _record(m=x + shift + (0.01 * s if i == 2 else 0), n=x)
    summary = summarise(points, seeds, ["m", "n"], results)
    assert summary.all_pairs and len(summary.comparisons) == 6
    raw = [c.p for c in summary.comparisons if c.p is not None]
    adjusted = sorted(c.p_holm for c in summary.comparisons if c.p_holm is not None)
    m = len(raw)
    expected, running = [], 0.0
    for k, p in enumerate(sorted(raw)):
        running = max(running, min(1.0, (m - k) * p))
        expected.append(running)
    assert adjusted == pytest.approx(expected)
    identical = [c for c in summary.comparisons if c.metric == "n"]
    assert all(c.identical and c.p is None and not c.holds for c in identical)


def test_arms_make_rows_and_only_one_apart_pairs_are_compared():
    points = points_of(axes_of(["x.y=1,2"]))
    seeds = (1, 2)
    results = {(p, s): {"kpis": {}, "arms": {"e/control": {"recovery": 0.1 * s},
                                             "e/treat": {"recovery": 0.1 * s + 0.05 * (p + 1)}}, "events": 0}
               for p in (0, 1) for s in seeds}
    summary = summarise(points, seeds, ["recovery"], results)
    assert [r.label for r in summary.rows] == ["y=1 · control", "y=1 · treat", "y=2 · control", "y=2 · treat"]
    pairs = {(c.a.label, c.b.label) for c in summary.comparisons}
    assert pairs == {("y=1 · control", "y=1 · treat"), ("y=1 · control", "y=2 · control"),
                     ("y=1 · treat", "y=2 · treat"), ("y=2 · control", "y=2 · treat")}


def test_a_seed_without_a_value_is_left_out_of_that_pair_only():
    points = points_of(axes_of(["a.b=1,2"]))
    seeds = (1, 2, 3)
    results = {(0, 1): _record(m=0.1), (0, 2): _record(m=None), (0, 3): _record(m=0.3),
               (1, 1): _record(m=0.2), (1, 2): _record(m=0.5), (1, 3): _record(m=0.5)}
    summary = summarise(points, seeds, ["m"], results)
    [c] = summary.comparisons
    assert c.n == 2 and c.diff == pytest.approx(0.15)
    assert summary.cells[(0, "m")].spread.n == 2


def test_points_take_every_combination_first_axis_slowest():
    axes = axes_of(["a.x=1,2", "a.y=p,q,r"])
    assert [p.label for p in points_of(axes)] == ["x=1, y=p", "x=1, y=q", "x=1, y=r",
                                                 "x=2, y=p", "x=2, y=q", "x=2, y=r"]
    assert parse("a.x=1", many=False)[0].where == "a.x"


@pytest.mark.parametrize("specs, words", [
    (["a.x=1", "a.x=2"], "set twice"),
    (["a.x=1", "a.x.y=2"], "overlap"),
    (["run.seed=1,2"], "--seeds"),
])
def test_axes_that_clash_are_refused(specs, words):
    from shopsim.scenario.overrides import OverrideError
    with pytest.raises(OverrideError, match=words):
        axes_of(specs)


def test_axis_names_are_the_shortest_tails_that_tell_them_apart():
    assert [a.name for a in axes_of(["flows.r.steps[0].after=1h", "flows.r.steps[1].incentive.value=5"])] == \
        ["after", "value"]
    assert [a.name for a in axes_of(["flows.a.steps[0].after=1h", "flows.b.steps[0].after=2h"])] == \
        ["a.steps[0].after", "b.steps[0].after"]


def test_named_pairs_come_first_as_written_and_the_control_leads_the_others():
    points = points_of([])
    seeds = (1, 2, 3)
    arms = {"e/treat": 0.3, "e/coupon": 0.2, "e/control": 0.1}  # listed with the control last
    results = {(0, s): {"kpis": {}, "arms": {a: {"recovery": v + 0.01 * s * (i + 1)} for i, (a, v) in
                                            enumerate(arms.items())}, "events": 0} for s in seeds}
    summary = summarise(points, seeds, ["recovery"], results, controls=["e/control"],
                        named=[("e/treat", "e/coupon")])
    pairs = [(c.a.arm, c.b.arm, c.named) for c in summary.comparisons]
    assert pairs[0] == ("e/treat", "e/coupon", True)
    assert set(pairs[1:]) == {("e/control", "e/treat", False), ("e/control", "e/coupon", False)}
    first = summary.comparisons[0]
    assert first.diff == pytest.approx(-0.1 + 0.01 * 2)  # coupon − treat: -0.1 plus the seeds' mean slope gap
