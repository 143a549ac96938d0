"""`expect:` on an experiment's sample-ratio check and Holm-adjusted p-value, read on an arm's row against
the control (docs/scenario-format.md, expect)."""

from __future__ import annotations

from helpers.scenarios import tiny_scenario
from shopsim.metrics.kpis import Metrics
from shopsim.qa.expect import Expectations
from shopsim.simulation import Simulation

FLOW = {"f": {"trigger": "cart.abandoned", "steps": [{"after": "1h", "channel": "email"}]},
        "g": {"trigger": "cart.abandoned", "steps": [{"after": "5h", "channel": "email"}]}}
EXP = {"x": {"control": "off", "variants": {"off": {"holdout": True}, "on": {"flows": ["f"]},
                                            "late": {"flows": ["g"]}}}}


def _run(expect: list[dict]):
    sim = Simulation(tiny_scenario(size=60, duration="3d", flows=FLOW, experiments=EXP, expect=expect))
    ex, metrics = Expectations(sim), Metrics()
    sim.subscribe(ex)
    sim.subscribe(metrics)
    sim.run()
    return ex.finish(), metrics.result()["experiments"]["x"]


def test_sample_ratio_and_holm_are_expect_able() -> None:
    got, exp = _run([{"metric": "sample_ratio_p", "variant": "on", "min": 0.001},
                     {"metric": "sample_ratio_p", "variant": "late", "max": 0.0001},
                     {"metric": "p_value_holm", "variant": "on", "min": 0, "max": 1}])
    srm = exp["srm"]
    assert sum(srm["counts"]) == 60 and srm["expected"] == [20, 20, 20]
    assert [o.passed for o in got] == [srm["p"] >= 0.001, srm["p"] <= 0.0001, True]
    assert got[0].actual == f"{srm['p']:,.4g}"
    row = next(c for c in exp["comparisons"] if c["variant"] == "on" and c["primary"])
    assert row["p_holm"] >= row["p"] and got[2].actual == f"{row['p_holm']:,.4g}"
