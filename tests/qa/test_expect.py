"""`expect:` and `shopsim replay --check`: every kind of check, the pass/fail table, exit codes, JUnit XML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from junitparser import Failure, JUnitXml

from helpers.paths import ROOT, SCENARIOS
from helpers.runs import play
from helpers.scenarios import tiny_scenario, tiny_scenario_data
from shopsim.cli import main
from shopsim.qa.expect import Expectations
from shopsim.simulation import Simulation

FLOW = {"f": {"trigger": "cart.abandoned", "steps": [{"after": "1h", "channel": "email"}]}}


def outcomes(expect: list[dict], **sections) -> list:
    sc = tiny_scenario(size=30, duration="3d", flows=FLOW, expect=expect, **sections)
    sim = Simulation(sc)
    ex = Expectations(sim)
    sim.subscribe(ex)
    sim.run()
    return ex.finish()


def counts() -> dict:
    _, events = play(tiny_scenario(size=30, duration="3d", flows=FLOW))
    return events[-1].data["counts"]


def test_metric_bounds_pass_and_fail_with_the_value_shown() -> None:
    n = counts()["order.placed"]
    got = outcomes([{"metric": "orders", "min": n, "max": n}, {"metric": "orders", "max": n - 1},
                    {"metric": "abandonment_rate", "min": "10%", "max": "100%"},
                    {"metric": "delivered", "channel": "email", "min": 1}])
    assert [o.passed for o in got] == [True, False, True, True]
    assert got[1].actual == f"{n:,}" and got[1].detail == f"{n:,} is above the maximum {n - 1:,}"
    assert got[2].expected == "10% – 100%"


def test_counts_match_event_fields_and_lists() -> None:
    c = counts()
    got = outcomes([{"count": {"type": "order.placed"}, "min": c["order.placed"], "max": c["order.placed"]},
                    {"count": {"type": ["order.placed", "cart.abandoned"]},
                     "min": c["order.placed"] + c["cart.abandoned"]},
                    {"count": {"type": "notification.requested", "channel": "sms", "category": "cart_reminders"},
                     "max": 0},
                    {"count": {"type": "order.placed", "shopper": "s000001", "coupon": "NOPE"}, "min": 1}])
    assert [o.passed for o in got] == [True, True, True, False]
    assert got[3].actual == "0"


def test_receives_counts_deliveries_in_a_window() -> None:
    _, events = play(tiny_scenario(size=30, duration="3d", flows=FLOW))
    first = next(e for e in events if e.type == "notification.delivered")
    sid, ch, cat = first.shopper, first.data["channel"], first.data["category"]
    minutes = first.t // 60000
    inside = [f"{max(0, minutes - 1)}m", f"{minutes + 1}m"]
    got = outcomes([{"receives": {"shopper": sid, "channel": ch, "category": cat, "between": inside}},
                    {"receives": {"shopper": sid, "channel": ch, "category": cat, "between": inside}, "max": 0},
                    {"receives": {"shopper": sid, "title_contains": "no such title anywhere"}}])
    assert [o.passed for o in got] == [True, False, False]
    assert "first match at line" in got[1].detail


def test_invariants_hold_on_a_real_run() -> None:
    got = outcomes([{"invariant": "one_outcome_per_request"}, {"invariant": "flows_exit_on_purchase"}])
    assert all(o.passed and o.actual == "holds" for o in got)


def test_experiment_metrics_read_one_arm() -> None:
    exp = {"x": {"variants": {"on": {"flows": ["f"]}, "off": {"holdout": True}}}}
    got = outcomes([{"metric": "requested", "category": "cart_reminders", "variant": "off", "max": 0},
                    {"metric": "requested", "category": "cart_reminders", "variant": "on", "min": 1},
                    {"metric": "uplift", "variant": "off", "max": 1}], experiments=exp)
    assert [o.passed for o in got] == [True, True, True]


def _replay(tmp_path: Path, scenario: Path | str, *extra: str):
    return CliRunner().invoke(main, ["replay", str(scenario), "--no-db", "--log", str(tmp_path / "r.jsonl"),
                                     "--check", *extra])


def test_the_shipped_failing_scenario_exits_1_with_a_table_and_junit(tmp_path) -> None:
    junit = tmp_path / "ci" / "shopsim.xml"
    res = _replay(tmp_path, SCENARIOS / "night_push_regression.yaml", "--junit", str(junit), "-q")
    assert res.exit_code == 1, res.output
    assert "FAIL" in res.output and "PASS" in res.output and "1 passed, 2 failed" in res.output
    assert "late-night pushes wait for the morning" in res.output
    xml = JUnitXml.fromfile(str(junit))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == 3 and xml.tests == 3 and xml.failures == 2
    failed = {c.name for c in cases if any(isinstance(r, Failure) for r in c.result)}
    assert failed == {"late-night pushes wait for the morning",
                      "s000001 gets no promotion push between 22:00 and 08:00"}
    # Same run, same file: no timestamps in the report.
    first = junit.read_bytes()
    _replay(tmp_path, SCENARIOS / "night_push_regression.yaml", "--junit", str(junit), "-q")
    assert junit.read_bytes() == first


def test_putting_the_quiet_hours_back_makes_it_pass(tmp_path) -> None:
    text = (SCENARIOS / "night_push_regression.yaml").read_text()
    fixed = text.replace("  # settings:\n  #   quiet_hours:", "  settings:\n    quiet_hours:")
    assert fixed != text
    path = tmp_path / "fixed.yaml"
    path.write_text(fixed)
    res = _replay(tmp_path, path, "-q")
    assert res.exit_code == 0, res.output
    assert "3 passed, 0 failed" in res.output


def test_check_without_expectations_says_so(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(tiny_scenario(size=5, duration="1d", as_text=True))
    res = _replay(tmp_path, path, "-q")
    assert res.exit_code == 0 and "nothing to check" in res.output


def test_an_unknown_metric_is_bad_input_before_anything_is_written(tmp_path) -> None:
    data = tiny_scenario_data(size=5, duration="1d")
    data["expect"] = [{"metric": "revenu", "min": 1}]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    res = _replay(tmp_path, path)
    assert res.exit_code == 2
    assert "expect[0].metric: unknown metric 'revenu'; did you mean 'revenue'?" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "r.jsonl").exists()


@pytest.mark.parametrize("junit", ["", "."])
def test_a_bad_junit_path_is_refused_before_the_run(tmp_path, junit) -> None:
    res = _replay(tmp_path, SCENARIOS / "night_push_regression.yaml", "--junit", str(tmp_path / junit) if junit else "")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert not (tmp_path / "r.jsonl").exists()


def test_the_scenario_format_lists_every_invariant() -> None:
    from shopsim.qa.invariants import INVARIANTS

    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    for name, description in INVARIANTS.items():
        assert f"| `{name}` | {description} |" in text, name
