"""Property tests over generated scenarios: whatever the scenario, the engine's invariants hold."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.scenarios import tiny_scenario
from shopsim.scenario.compiled import abandon_probability, compile_scenario
from shopsim.validate import load_scenario_text
from shopsim.scenario.problems import ScenarioError
from shopsim.scenario.schema import Scenario
from shopsim.contract.taxonomy import (
    ABANDON_REASONS, CATEGORIES, CHANNELS, DEVICES, LEVER_REASON,
)
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.store.recorder import Recorder

from helpers.properties import FAST, PROPS, assert_invariants, clock, prefs, scenario_dicts, unit

def _run(sc: Scenario):
    sim = Simulation(sc)
    events: list = []
    buf = io.BytesIO()
    sim.subscribe(events.extend)
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    sim.run()
    assert sim.finished and sim.next_time is None
    return sim, events, buf.getvalue()


@PROPS
@given(scenario_dicts())
def test_generated_scenarios_keep_the_invariants(data):
    sc = Scenario.model_validate(data)
    sim, events, log = _run(sc)
    assert_invariants(sim, events)  # the log's shape, orders, carts, notifications, ...
    assert events[-1].t == sim.end
    assert Counter(e.type for e in events)[E.SHOPPER_CREATED] == data["population"]["size"]
    # The log is canonical JSON however the prices came out.
    for line in log.splitlines():
        assert json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == line
    again = io.BytesIO()
    sim2 = Simulation(sim.scenario)  # the compiled scenario is immutable and shared: reuse it
    sim2.subscribe(Recorder(sim2.scenario.start_epoch, again))
    sim2.run()
    assert again.getvalue() == log, "a second run of the same scenario differs"


abandonment = st.fixed_dictionaries({
    "rate": unit, "lever_effect": unit,
    "reasons": st.dictionaries(st.sampled_from(ABANDON_REASONS), st.floats(0, 1, allow_nan=False), min_size=1)
    .filter(lambda d: sum(d.values()) > 0),
})
segment_traits = st.lists(st.floats(0.05, 5, allow_nan=False), min_size=1, max_size=3)


def _abandon_p(ab: dict, traits: list[float], levers) -> list[float]:
    """Every segment's chance to abandon, on every device, for a cart that pays shipping and one that does not."""
    segs = {f"seg{i}": {"share": 1 / len(traits), "traits": {"abandonment": a}} for i, a in enumerate(traits)}
    ab = dict(ab, levers={k: k in levers for k in LEVER_REASON})
    sc = tiny_scenario(population={"segments": segs}, **{**FAST, "behaviour": {**FAST["behaviour"], "abandonment": ab}})
    cs = compile_scenario(sc)
    return [abandon_probability(cs, seg, d, extra)[0] for seg in cs.segments for d in DEVICES for extra in (True, False)]


@settings(PROPS, max_examples=60)
@given(abandonment, segment_traits, st.permutations(sorted(LEVER_REASON)), st.integers(0, 5))
def test_levers_never_raise_abandonment(ab, traits, order, k):
    """Turning on one more lever never raises any segment's abandonment probability, on any device, for any
    kind of cart."""
    fewer, more = set(order[:k]), set(order[:k + 1])
    p_fewer, p_more = _abandon_p(ab, traits, fewer), _abandon_p(ab, traits, more)
    for a, b in zip(p_fewer, p_more):
        assert 0 <= b <= a + 1e-12 and b <= 1


def test_a_lever_lowers_abandonment_when_its_reason_matters():
    base = compile_scenario(tiny_scenario(behaviour={"abandonment": {"rate": 0.7}}))
    lever = compile_scenario(tiny_scenario(behaviour={"abandonment": {"rate": 0.7, "levers": {"guest_checkout": True}}}))
    for a, b in zip(base.segments, lever.segments):
        for d in DEVICES:
            assert abandon_probability(lever, b, d, True)[0] < abandon_probability(base, a, d, True)[0]


def test_a_cart_that_pays_shipping_is_abandoned_more_and_can_be_for_extra_costs():
    cs = compile_scenario(tiny_scenario())
    seg = cs.segments[0]
    for d in DEVICES:
        p_extra, extra = abandon_probability(cs, seg, d, True)
        p_plain, plain = abandon_probability(cs, seg, d, False)
        assert p_plain < p_extra
        assert "extra_costs" in extra.reasons and "extra_costs" not in plain.reasons
        assert "total_cost_unclear" not in plain.reasons


def test_mobile_web_abandons_more_than_desktop_with_the_default_factors():
    cs = compile_scenario(tiny_scenario())
    seg = cs.segments[0]
    assert abandon_probability(cs, seg, "mobile_web", True)[0] > abandon_probability(cs, seg, "desktop", True)[0]


patches = st.fixed_dictionaries({}, optional={
    "channels": st.fixed_dictionaries({}, optional={c: st.booleans() for c in CHANNELS}),
    "categories": st.sampled_from(CATEGORIES).flatmap(lambda c: st.fixed_dictionaries({c: prefs(c)})),
    "quiet_hours": st.none() | st.builds(lambda a, b: {"start": a, "end": b}, clock, clock),
    "marketing_consent": st.booleans(), "personalization": st.booleans(),
    "push_os_permission": st.booleans(), "sms_opt_in": st.booleans(),
})


def _expect(before: dict, patch: dict) -> dict:
    """What the settings must be after `patch`, written from the contract, not from the engine's code."""
    out = json.loads(json.dumps(before))
    for key, value in patch.items():
        if key == "channels":
            out["channels"].update(value)
        elif key == "categories":
            for cat, p in value.items():
                out["categories"][cat].update(p)
        else:
            out[key] = value
    return out


@PROPS
@given(scenario_dicts(), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 39), patches),
                                  min_size=1, max_size=6))
def test_settings_changes_are_logged_when_applied(data, changes):
    data["population"]["size"] = min(data["population"]["size"], 12)
    sc = Scenario.model_validate(data)
    sim = Simulation(sc)
    events: list = []
    sim.subscribe(events.extend)
    applied = []
    for frac, who, patch in sorted(changes, key=lambda c: c[0]):
        t = int(frac * sim.end)
        sim.run_until(t)
        sh = sim.shopper(who % len(sim.shoppers))
        before = sh.settings
        ev = sim.apply_settings_change(sh.id, patch, source="user")
        assert (ev.t, ev.type, ev.shopper) == (t, E.SETTINGS_CHANGED, sh.id)
        assert ev.data["source"] == "user"
        assert sh.settings == ev.data["settings"] == _expect(before, patch)
        applied.append(ev.seq)
    sim.run()
    assert_invariants(sim, events)
    logged = [e for e in events if e.type == E.SETTINGS_CHANGED]
    assert [e.seq for e in logged] == applied
    # A shopper's settings at the end are the last ones the log shows for them.
    last = {e.shopper: e.data["settings"] for e in events if e.type in (E.SHOPPER_CREATED, E.SETTINGS_CHANGED)}
    for sh in sim.shoppers:
        assert sh.settings == last[sh.id]


def test_no_settings_change_after_the_run_finished():
    sim = Simulation(tiny_scenario(size=2, duration="2h"))
    sim.run()
    with pytest.raises(RuntimeError, match="finished"):
        sim.apply_settings_change("s000001", {"marketing_consent": False})


def test_empty_catalogue_is_rejected_or_runs():
    text = tiny_scenario(size=50, duration="2d", catalogue={"products": 0}, as_text=True)
    try:
        sc = load_scenario_text(text)
    except ScenarioError:
        return
    sim, events, _ = _run(sc)
    assert_invariants(sim, events, ["log_well_formed"])
    assert events[-1].t > 0


def test_tiny_rates_do_not_crash():
    sc = tiny_scenario(size=1, duration="1h", account={"password_change_per_30d": 1e-308})
    _, events, _ = _run(sc)
    assert Counter(e.type for e in events)[E.ACCOUNT_PASSWORD_CHANGED] == 0
