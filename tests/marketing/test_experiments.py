"""Experiments: deterministic assignment, arms that differ only in policy, and the uplift statistics."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import yaml

from helpers.paths import ROOT
from helpers.runs import play
from helpers.scenarios import tiny_scenario
from shopsim.marketing.experiments import assign, bucket
from shopsim.metrics.kpis import Metrics
from shopsim.validate import load_scenario_text
from shopsim.scenario.schema import Scenario
from shopsim.contract import events as E

FLOW = {"trigger": "cart.abandoned", "steps": [{"after": "1h", "channel": "email"},
                                              {"after": "1d", "channel": "in_app"}]}


def scenario(experiments: dict | None, flows: dict | None = None, size: int = 60) -> dict:
    data = tiny_scenario(size=size, duration="4d", seed=5).model_dump(mode="json", exclude_unset=True)
    data["flows"] = flows if flows is not None else {"a": FLOW, "b": copy.deepcopy(FLOW)}
    if experiments:
        data["experiments"] = experiments
    return data


AB = {"split": {"variants": {"holdout": {"holdout": True}, "a": {"flows": ["a"]}, "b": {"flows": ["b"], "weight": 2}}}}


def test_assignment_hashes_experiment_and_shopper_only() -> None:
    ex = Scenario.model_validate(scenario(AB)).experiments["split"]
    arms = [assign("split", ex, f"s{i:06d}") for i in range(1, 20001)]
    share = Counter(arms)
    assert abs(share["b"] / 20000 - 0.5) < 0.015 and abs(share["a"] / 20000 - 0.25) < 0.015
    assert bucket("split", "s000001") == bucket("split", "s000001") != bucket("other", "s000001")
    assert 0 <= bucket("x", "s000002") < 1


def test_assignments_are_logged_after_the_shoppers_and_never_change_with_the_seed() -> None:
    sim, events = play(scenario(AB))
    size = sim.scenario.size
    assert [e.type for e in events[1:size + 1]] == [E.SHOPPER_CREATED] * size
    started = events[size + 1]
    assert started.type == E.EXPERIMENT_STARTED and started.shopper is None
    assert started.data["control"] == "a"  # the first arm that is not a holdout
    assert [v["name"] for v in started.data["variants"]] == ["holdout", "a", "b"]
    assigned = [e for e in events if e.type == E.EXPERIMENT_ASSIGNED]
    assert [e.shopper for e in assigned] == [f"s{i:06d}" for i in range(1, size + 1)]
    assert all(e.t == 0 for e in assigned)
    other = play(scenario(AB) | {"run": {"name": "tiny", "seed": 99, "duration": "4d"}})[1]
    assert [e.data for e in other if e.type == E.EXPERIMENT_ASSIGNED] == [e.data for e in assigned]


def _arms(events) -> dict[str, str]:
    return {e.shopper: e.data["variant"] for e in events if e.type == E.EXPERIMENT_ASSIGNED}


def _flows_of(events) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in events:
        if e.type == E.NOTIFICATION_REQUESTED and e.data["source"].startswith("flow:"):
            out.setdefault(e.shopper, set()).add(e.data["source"].split(":")[1])
    return out


def test_each_arm_gets_only_its_flows_and_the_holdout_none() -> None:
    _, events = play(scenario(AB, size=120))
    arms, got = _arms(events), _flows_of(events)
    assert got, "the run must request flow messages to test anything"
    for sid, flows in got.items():
        assert arms[sid] != "holdout"
        assert flows == {arms[sid]}
    assert {arms[s] for s in got} == {"a", "b"}


def _strip(events, sid: str) -> list[tuple]:
    return [(e.t, e.type, e.data) for e in events if e.shopper == sid and not e.type.startswith("experiment.")]


def test_arms_differ_only_in_policy() -> None:
    """A holdout shopper lives exactly as in a run without the flows; a treated one exactly as in a run where
    everyone gets her flow. Her own draws do not depend on her arm."""
    exp = {"split": {"variants": {"holdout": {"holdout": True}, "a": {"flows": ["a"]}}}}
    _, with_exp = play(scenario(exp, flows={"a": FLOW}, size=80))
    _, none = play(scenario(None, flows={}, size=80))
    _, everyone = play(scenario(None, flows={"a": FLOW}, size=80))
    arms = _arms(with_exp)
    assert set(arms.values()) == {"holdout", "a"}
    for sid, arm in arms.items():
        assert _strip(with_exp, sid) == _strip(none if arm == "holdout" else everyone, sid), sid


def test_ads_and_campaigns_under_an_experiment() -> None:
    data = scenario({"promo": {"variants": {"on": {"campaigns": ["sale"], "ads": True},
                                            "off": {"holdout": True}}}}, flows={})
    data["campaigns"] = {"sale": {"kind": "promotion", "at": "1d", "channels": ["email"], "title": "Sale"}}
    data["ads"] = {"enabled": True, "per_day": 20, "click": 0.0}
    data["behaviour"]["abandonment"] = {"detect_after": "30m"}
    _, events = play(data)
    arms = _arms(events)
    campaign = {e.shopper for e in events if e.type == E.NOTIFICATION_REQUESTED and e.data["kind"] == "campaign"}
    ads = {e.shopper for e in events if e.type == E.AD_IMPRESSION}
    assert campaign and all(arms[s] == "on" for s in campaign)
    assert len(campaign) == sum(1 for a in arms.values() if a == "on")
    assert ads and all(arms[s] == "on" for s in ads)


def test_per_arm_kpis_add_up() -> None:
    _, events = play(scenario(AB, size=120))
    r = Metrics.of(events).result()
    arms = r["experiments"]["split"]["variants"]
    assert sum(a["shoppers"] for a in arms.values()) == 120
    assert arms["holdout"]["messages_delivered"] <= r["messages"]["delivered"]
    rows = r["experiments"]["split"]["comparisons"]
    assert {(c["variant"], c["control_name"]) for c in rows} == {("holdout", "a"), ("b", "a")}
    assert all(c["verdict"] for c in rows)


@pytest.fixture(scope="module")
def shipped_experiment() -> dict:
    text = (ROOT / "scenarios" / "experiment.yaml").read_text()
    _, events = play(load_scenario_text(text), keep=False)
    return Metrics.of(events).result()["experiments"]["cart_incentive"]


def test_the_shipped_experiment_finds_the_reminders_uplift(shipped_experiment) -> None:
    """With its fixed seed, both reminder arms recover carts the holdout does not: the 95% interval of the
    uplift excludes zero."""
    rows = {c["variant"]: c for c in shipped_experiment["comparisons"] if c["primary"]}
    assert shipped_experiment["control"] == "holdout"
    for arm in ("reminder", "reminder_discount"):
        assert rows[arm]["significant"] and rows[arm]["low"] > 0, rows[arm]["verdict"]
        assert rows[arm]["verdict"].startswith(f"{arm}'s recovery is higher than holdout's")
    assert shipped_experiment["variants"]["holdout"]["recovery_shoppers"] < \
        shipped_experiment["variants"]["reminder"]["recovery_shoppers"]


def test_experiment_assignment_survives_the_yaml_round_trip() -> None:
    data = scenario(AB)
    a = _arms(play(yaml.safe_dump(data, sort_keys=False))[1])
    b = _arms(play(data)[1])
    assert a == b
