"""Every pair of arms compared, the named pairs first, Holm over all of them, and the sample-ratio check, on
a hand-built log whose figures are worked by hand (docs/metrics.md, Experiments)."""

from __future__ import annotations

import math

import pytest

from helpers.experiment_logs import three_arms


def _p(x1: int, n1: int, x2: int, n2: int) -> float:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


def test_every_pair_is_compared_the_named_one_as_written() -> None:
    exp = three_arms().result()["experiments"]["exp"]
    assert exp["named"] == [["b", "a"]]
    assert [(c["variant"], c["control_name"]) for c in exp["comparisons"] if c["primary"]] == [("a", "c"), ("b", "c")]
    assert [(c["variant"], c["control_name"], c["named"]) for c in exp["pairs"] if c["primary"]] == [("b", "a", True)]
    ba = next(c for c in exp["pairs"] if c["primary"])
    # b against a: 12 of 40 against 20 of 40, -20 pp; pooled 32/80 = 0.4.
    assert (ba["control_x"], ba["control_n"], ba["variant_x"], ba["variant_n"]) == (20, 40, 12, 40)
    assert ba["diff"] == pytest.approx(-0.2) and ba["p"] == pytest.approx(_p(20, 40, 12, 40))
    assert "b's conversion" in ba["verdict"] or "between b and a" in ba["verdict"]


def test_without_names_the_later_arm_is_measured_against_the_earlier() -> None:
    exp = three_arms(compare=()).result()["experiments"]["exp"]
    assert [(c["variant"], c["control_name"], c["named"]) for c in exp["pairs"] if c["primary"]] == \
        [("b", "a", False)]
    assert exp["named"] == []


def test_holm_covers_every_pair_and_metric_by_hand() -> None:
    exp = three_arms().result()["experiments"]["exp"]
    rows = exp["comparisons"] + exp["pairs"]
    # 3 pairs x 4 metrics; recovery has no test here (nobody abandoned a cart): 9 p-values in the family.
    assert len(rows) == 12 and exp["holm"]["family"] == 9
    p_ac, p_bc, p_ba = _p(10, 40, 20, 40), _p(10, 40, 12, 40), _p(20, 40, 12, 40)
    # Unsubscribe and revenue have no spread here (p = 1). Sorted: p_ac (x9), p_ba (x8), then the rest (capped).
    conv = {(c["variant"], c["control_name"]): c for c in rows if c["metric"] == "conversion"}
    assert conv[("a", "c")]["p_holm"] == pytest.approx(9 * p_ac)
    assert conv[("b", "a")]["p_holm"] == pytest.approx(8 * p_ba)
    assert conv[("b", "c")]["p_holm"] == 1.0 and 7 * p_bc > 1
    # a against c is significant on its own (p = 0.021) but not once 9 comparisons are made (0.19).
    assert conv[("a", "c")]["significant"] and not conv[("a", "c")]["significant_holm"]
    assert all(r["p_holm"] is None for r in rows if r["metric"] == "recovery")


def test_sample_ratio_check_reads_the_weights_of_experiment_started() -> None:
    ok = three_arms().result()["experiments"]["exp"]
    assert ok["srm"]["p"] == 1.0 and not ok["srm"]["mismatch"] and ok["srm"]["arms"] == ["c", "a", "b"]
    bad = three_arms(sizes=(300, 150, 150), ordered=(0, 0, 0)).result()["experiments"]["exp"]
    # 300, 150, 150 at 1:1:1: expected 200 each, chi2 = (10,000 + 2,500 + 2,500) / 200 = 75 on 2 df, p = e^-37.5.
    assert bad["srm"]["chi2"] == pytest.approx(75.0) and bad["srm"]["p"] == pytest.approx(math.exp(-37.5))
    assert bad["srm"]["mismatch"]
    assert {r["srm_p"] for r in bad["comparisons"] + bad["pairs"]} == {bad["srm"]["p"]}  # what expect: reads
