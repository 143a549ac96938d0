"""`shopsim power`: sample size for a minimum detectable effect, or the effect the population can detect, on
an experiment's own metric, from --control-rate or from a pilot run (and it says which); bad input exits 2."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import COMMANDS, main
from shopsim.metrics import stats

FLOW = {"reminder": {"trigger": "cart.abandoned", "category": "cart_reminders",
                     "steps": [{"after": "1h", "channel": "email"}]},
        "nudge": {"trigger": "cart.abandoned", "category": "cart_reminders",
                  "steps": [{"after": "4h", "channel": "email"}]}}


def _experiment(metric: str, weights=(1, 1, 1)) -> dict:
    return {"trial": {"metric": metric, "control": "none",
                      "variants": {"none": {"holdout": True, "weight": weights[0]},
                                   "early": {"flows": ["reminder"], "weight": weights[1]},
                                   "late": {"flows": ["nudge"], "weight": weights[2]}},
                      "compare": [{"variant": "late", "against": "early"}]}}


def _scenario(tmp_path, metric="conversion", weights=(1, 1, 1), size=60) -> str:
    path = tmp_path / f"{metric}.yaml"
    path.write_text(tiny_scenario(size=size, duration="2d", name="trial", as_text=True, flows=FLOW,
                                  experiments=_experiment(metric, weights)))
    return str(path)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_registered_in_the_lazy_group() -> None:
    assert COMMANDS["power"] == ("shopsim.cli.power", "power_cmd")


def test_sample_size_from_a_given_control_rate(tmp_path) -> None:
    res = invoke("power", _scenario(tmp_path, weights=(1, 2, 2)), "--mde", "5pp", "--control-rate", "0.1",
                 "--format", "json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["source"] == "--control-rate" and "pilot" not in plan
    rows = {(r["variant"], r["against"]): r for r in plan["comparisons"]}
    assert list(rows) == [("early", "none"), ("late", "none"), ("late", "early")]
    early = rows[("early", "none")]
    # Arms weighted 1:2: the variant takes twice the control's shoppers.
    assert early["ratio"] == 2 and early["needed_baseline"] == pytest.approx(stats.sample_size(0.1, 0.05, ratio=2))
    assert early["needed_variant"] == pytest.approx(2 * early["needed_baseline"])
    assert rows[("late", "early")]["named"] and rows[("late", "early")]["ratio"] == 1
    text = invoke("power", _scenario(tmp_path), "--mde", "5pp", "--control-rate", "0.1").stdout
    assert "from --control-rate" in text
    assert f"to detect +5.0 pp: {math.ceil(stats.sample_size(0.1, 0.05)):,} shoppers in each arm" in text


def test_a_relative_effect_and_alpha_and_power(tmp_path) -> None:
    res = invoke("power", _scenario(tmp_path), "--mde", "50%", "--control-rate", "0.2", "--alpha", "0.01",
                 "--power", "0.9", "--format", "json")
    row = json.loads(res.stdout)["comparisons"][0]
    assert row["diff"] == pytest.approx(0.1)
    assert row["needed_baseline"] == pytest.approx(stats.sample_size(0.2, 0.1, alpha=0.01, power=0.9))


def test_detectable_effect_from_a_pilot_run(tmp_path) -> None:
    res = invoke("power", _scenario(tmp_path, metric="recovery", size=120), "--format", "json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["source"] == "pilot" and plan["pilot"] == {"seed": 1, "duration": "2d"}
    counts = plan["pilot_counts"]["none"]
    row = plan["comparisons"][0]
    assert row["baseline"] == pytest.approx(counts["x"] / counts["n"])
    # The arms' shoppers who abandon a cart: the population split by weight, times the pilot's share.
    share = counts["n"] / counts["shoppers"]
    assert row["eligible_baseline"] == pytest.approx(40 * share)
    assert stats.power_of(row["baseline"], row["increase"], row["eligible_baseline"],
                          row["eligible_variant"]) == pytest.approx(0.8, abs=1e-6)
    text = invoke("power", _scenario(tmp_path, metric="recovery", size=120)).stdout
    assert "from a pilot run of the scenario (seed 1, 120 shoppers, 2d)" in " ".join(text.split())
    assert "smallest detectable increase +" in text


@pytest.mark.parametrize("args, message", [
    (("--mde", "lots"), "'lots' is not a difference like 2pp"),
    (("--mde", "-2pp"), "the effect must be a positive number"),
    (("--control-rate", "1.5"), "a rate between 0 and 1"),
    (("--experiment", "trail"), "no experiment 'trail'"),
    (("--alpha", "0"), "--alpha"),
])
def test_bad_input_exits_2(tmp_path, args, message) -> None:
    res = invoke("power", _scenario(tmp_path), *args)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_a_scenario_without_an_experiment(tmp_path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(tiny_scenario(as_text=True))
    res = invoke("power", path)
    assert res.exit_code == 2 and "has no experiments" in res.output


def test_revenue_per_shopper_from_the_pilots_spread(tmp_path) -> None:
    path = _scenario(tmp_path, metric="revenue_per_shopper", size=120)
    plan = json.loads(invoke("power", path, "--mde", "2", "--format", "json").stdout)
    row = plan["comparisons"][0]
    assert plan["source"] == "pilot" and row["sd"] > 0
    assert row["needed_baseline"] == pytest.approx(stats.sample_size_means(row["sd"], 2.0))
    plain = json.loads(invoke("power", path, "--format", "json").stdout)["comparisons"][0]
    assert plain["detectable"] == pytest.approx(stats.detectable_mean(row["sd"], 40, 40))
    text = invoke("power", path).stdout
    assert f"standard deviation {row['sd']:,.2f}" in text and "smallest detectable difference ±" in text
    res = invoke("power", path, "--control-rate", "0.1")
    assert res.exit_code == 2 and "--control-rate is a rate" in res.output
