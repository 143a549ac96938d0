"""The report's experiment section and `shopsim diff`'s experiments: the named comparison answered first,
Holm's correction stated in words, the sample-ratio check, and each comparison's uplift in A and in B."""

from __future__ import annotations

import pytest

from helpers.experiment_logs import three_arms
from shopsim.report.compare import experiment_rows
from shopsim.report.experiments import answer, experiment_section, holm_words, srm_words
from shopsim.report.model import Report
from shopsim.report.render import to_markdown


def _md(result, exp) -> str:
    return " ".join(to_markdown(Report("t", "", [], [experiment_section("exp", exp, result, charts=False)])).split())


def test_sample_ratio_words() -> None:
    ok = three_arms().result()["experiments"]["exp"]["srm"]
    bad = three_arms(sizes=(300, 150, 150), ordered=(0, 0, 0)).result()["experiments"]["exp"]["srm"]
    assert "Sample-ratio mismatch" in srm_words(bad) and "do not trust" in srm_words(bad)
    assert "chi-square 75.00 on 2 degrees of freedom, p < 0.001" in srm_words(bad)
    assert srm_words(ok).startswith("Arm sizes match their weights (c 40 (expected 40), a 40")
    assert srm_words(None) is None


def test_the_report_answers_the_named_comparison_first_and_states_holm() -> None:
    result = three_arms().result()
    exp = result["experiments"]["exp"]
    text = _md(result, exp)
    first_answer = text.index("b's conversion") if "b's conversion" in text else text.index("between b and a")
    assert text.index("The question the scenario names (compare:), on conversion:") < first_answer
    assert first_answer < text.index("Arms") < text.index("a (variant) against c (control)")
    assert text.index("b against a: named in the scenario") < text.index("a (variant) against c (control)")
    assert "Holm's step-down method for the 9 comparisons" in text
    assert "not after Holm" in text  # a against c: interval excludes zero, not after Holm
    ba = next(c for c in exp["pairs"] if c["primary"])
    assert "Holm-adjusted p" in answer(ba, 9) and "9 comparisons" in answer(ba, 9)
    assert holm_words({"holm": {"family": 0}, "variants": {}}) == ""


def test_an_old_result_without_pairs_still_reports() -> None:
    result = three_arms().result()
    exp = dict(result["experiments"]["exp"])
    for key in ("pairs", "named", "holm", "srm"):
        exp.pop(key)
    text = _md(result, exp)
    assert "a (variant) against c (control)" in text and "Holm's step-down" not in text
    assert "Arm sizes" not in text


def test_diff_sets_each_comparisons_uplift_in_a_and_b_side_by_side() -> None:
    a = three_arms().result()
    b = three_arms(ordered=(10, 14, 20)).result()
    rows = experiment_rows(a, b)
    assert [(r["variant"], r["against"], r["named"]) for r in rows] == [("b", "a", True), ("a", "c", False),
                                                                         ("b", "c", False)]
    ba = rows[0]
    assert ba["diff_a"] == pytest.approx(-0.2) and ba["diff_b"] == pytest.approx(0.15)
    assert ba["change"] == pytest.approx(0.35)
    assert experiment_rows(a, {"commerce": {}})[0]["diff_b"] is None
