"""Abandonment reasons are Baymard's and fit the cart (sim/commerce.py `_decide`, scenario/compiled.py
`abandon_probability`): no extra-cost reason on a cart that paid no shipping, checkout-stage reasons only after
checkout.started, `first_reason` is the cart's first; a UX lever lowers the share of its reasons; a higher
free-shipping threshold (more carts pay shipping) raises abandonment."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.runs import play
from helpers.scenarios import EMAIL_REACHABLE, tiny_scenario
from shopsim.qa.invariants import InvariantChecker
from shopsim.scenario.compiled import abandon_probability, compile_scenario
from shopsim.scenario.schema import Scenario
from shopsim.contract.taxonomy import (
    ABANDON_REASONS, BROWSE_STAGE_REASONS, CHECKOUT_REASONS, DEVICES, EXTRA_COST_REASONS, LEVER_REASONS,
)
from shopsim.contract import events as E
from shopsim.simulation import Simulation

WITH_COMPARISON = {"extra_costs": 2.3, "account_required": 0.26, "payment_trust": 0.25, "slow_delivery": 0.23,
                   "long_checkout": 0.22, "total_cost_unclear": 1.0, "returns_policy": 0.18, "site_error": 0.17,
                   "payment_methods": 0.13, "card_declined": 0.09, "just_browsing": 2.0,
                   "comparison_shopping": 0.6}


def _check_reasons(events, fee_cents: int, threshold_cents: int, coupons: bool = False) -> Counter:
    """Every rule of a fitting reason, checked line by line from the log alone. Returns the reasons seen."""
    last: dict[str, str] = {}          # cart -> its previous cart event
    first: dict[str, str] = {}
    reasons = Counter()
    for ev in events:
        d = ev.data
        if ev.type in (E.CART_ITEM_ADDED, E.CHECKOUT_STARTED, E.ORDER_PLACED, E.CART_EMPTIED):
            last[d["cart"]] = ev.type
        elif ev.type == E.CART_ABANDONED:
            cart, reason, shipping = d["cart"], d["reason"], round(d["shipping"] * 100)
            reasons[reason] += 1
            assert reason in ABANDON_REASONS, ev
            assert shipping in (0, fee_cents), ev
            if not coupons:   # without coupons the cart pays shipping exactly when it is under the threshold
                assert (shipping > 0) == (round(d["value"] * 100) < threshold_cents), ev
            if shipping == 0:
                assert reason not in EXTRA_COST_REASONS, ev
            if reason in BROWSE_STAGE_REASONS:
                # before checkout: after an item was added, or on a visit back to a cart she had left
                assert d["stage"] == "cart" and last[cart] in (E.CART_ITEM_ADDED, E.CART_ABANDONED), ev
            else:
                assert d["stage"] == "checkout" and last[cart] == E.CHECKOUT_STARTED, ev
            first.setdefault(cart, reason)
            assert d["first_reason"] == first[cart], ev
            last[cart] = ev.type
    return reasons


def test_reasons_fit_every_abandoned_cart_and_every_baymard_reason_happens():
    sim = Simulation(tiny_scenario(size=1500, duration="2d", seed=41, catalogue={"free_shipping_over": 30},
                                   behaviour={"abandonment": {"reasons": WITH_COMPARISON}}))
    events: list = []
    checker = InvariantChecker(sim, ["reasons_fit_the_cart", "cart_lifecycle"])
    sim.subscribe(events.extend)
    sim.subscribe(checker)
    sim.run()
    assert checker.ok, checker.finish()
    reasons = _check_reasons(events, sim.scenario.shipping_fee, sim.scenario.free_shipping_over)
    assert set(reasons) == set(ABANDON_REASONS), reasons
    shipping = Counter(e.data["shipping"] > 0 for e in events if e.type == E.CART_ABANDONED)
    assert shipping[True] > 200 and shipping[False] > 200, shipping    # both kinds of cart were left
    # A cart abandoned again keeps its first reason: there were such carts, with a different later reason.
    again = [e for e in events if e.type == E.CART_ABANDONED and e.data["first_reason"] != e.data["reason"]]
    assert len(again) > 10


@pytest.fixture(scope="module")
def three_runs():
    """The same shoppers (seed 41) three ways: every cart ships free; every cart pays shipping; every cart pays
    shipping but the full cost is shown up front (transparent_pricing)."""
    out = {}
    for name, fso, levers in (("free", 0, {}), ("paid", 1000, {}), ("paid_transparent", 1000,
                                                                      {"transparent_pricing": True})):
        sim, events = play(tiny_scenario(size=1500, duration="2d", seed=41, catalogue={"free_shipping_over": fso},
                                         behaviour={"abandonment": {"levers": levers}}), keep=False)
        _check_reasons(events, sim.scenario.shipping_fee, sim.scenario.free_shipping_over)
        created = {e.data["cart"] for e in events if e.type == E.CART_ITEM_ADDED}
        ordered = {e.data["cart"] for e in events if e.type == E.ORDER_PLACED}
        out[name] = {"reasons": Counter(e.data["reason"] for e in events if e.type == E.CART_ABANDONED),
                     "abandonment": 1 - len(created & ordered) / len(created), "carts": len(created)}
    return out


def _extra_share(reasons: Counter) -> float:
    return sum(reasons[r] for r in EXTRA_COST_REASONS) / sum(reasons.values())


def test_transparent_pricing_lowers_the_share_of_the_extra_cost_reasons(three_runs):
    before, after = _extra_share(three_runs["paid"]["reasons"]), _extra_share(three_runs["paid_transparent"]["reasons"])
    # Seed 41 measured: 0.486 of 1,367 abandonments without the lever, 0.166 of 1,244 with it; needs 0.2 apart.
    assert after < before - 0.2, (before, after)
    # ...and fewer carts are abandoned at all: 0.939 vs 0.810 per cart.
    assert three_runs["paid_transparent"]["abandonment"] < three_runs["paid"]["abandonment"] - 0.05


def test_carts_that_pay_shipping_are_abandoned_more(three_runs):
    free, paid = three_runs["free"], three_runs["paid"]
    assert _extra_share(free["reasons"]) == 0
    # Seed 41 measured per cart (1 - ordered/created): 0.732 of 1,065 carts when everything ships free,
    # 0.939 of 969 when every cart pays shipping; the gap (0.21) is ~13 SE; needs 0.1.
    assert paid["abandonment"] > free["abandonment"] + 0.1, (free, paid)


@pytest.mark.parametrize("lever", sorted(LEVER_REASONS))
def test_each_lever_lowers_the_weight_of_its_reasons_on_every_device(lever):
    base = compile_scenario(tiny_scenario(size=1))
    with_lever = compile_scenario(tiny_scenario(size=1, behaviour={"abandonment": {"levers": {lever: True}}}))
    seg = base.segments[0]
    for dev in DEVICES:
        for extra in (True, False):
            t0 = abandon_probability(base, seg, dev, extra)[1]
            t1 = abandon_probability(with_lever, seg, dev, extra)[1]
            mine = [r for r in LEVER_REASONS[lever] if r in t0.reasons]
            if not mine:
                continue
            w = lambda t, r: (t.cum[t.reasons.index(r)] - (t.cum[t.reasons.index(r) - 1] if t.reasons.index(r) else 0))
            share0 = sum(w(t0, r) for r in mine) / t0.total
            share1 = sum(w(t1, r) for r in mine) / t1.total
            assert share1 < share0, (lever, dev, extra)
            assert abandon_probability(with_lever, seg, dev, extra)[0] < abandon_probability(base, seg, dev, extra)[0]


# --- hypothesis: generated scenarios keep reasons_fit_the_cart -------------------------------------------

PROPS = settings(max_examples=20, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def reason_scenarios(draw) -> dict:
    weights = draw(st.dictionaries(st.sampled_from(ABANDON_REASONS), st.floats(0, 5, allow_nan=False)))
    # Mostly with an extra-cost reason in play, so the rule about shipping is exercised.
    weights["extra_costs"] = draw(st.sampled_from([0.0, 2.0, 5.0, 5.0]))
    if sum(weights.values()) <= 0:
        weights["just_browsing"] = 1.0
    factor = st.floats(0, 3, allow_nan=False)
    flows = {}
    if draw(st.integers(0, 2)):   # mostly, free-shipping codes that take the extra costs away, seen or applied for her
        flows = {"fs": {"trigger": "cart.abandoned", "steps": [
            {"after": draw(st.sampled_from(["10m", "1h"])), "channel": draw(st.sampled_from(["email", "in_app"])),
             "incentive": {"type": "free_shipping", "auto_apply": draw(st.booleans()),
                           "min_order": draw(st.sampled_from([0, 20]))}}]}}
    return tiny_scenario(
        size=draw(st.integers(5, 60)), duration=draw(st.sampled_from(["12h", "1d", "2d"])),
        seed=draw(st.integers(0, 2**32)), as_text=False,
        population={**EMAIL_REACHABLE,
                    "platforms": {"ios": 0.4, "android": 0.3, "web": 0.3}},
        catalogue={"products": 30, "free_shipping_over": draw(st.sampled_from([0, 15, 40, 1000, 1000])),
                   "shipping_fee": draw(st.sampled_from([0.5, 4.99]))},
        behaviour={
            "sessions": {"per_day": draw(st.floats(0.5, 4)), "views": 3, "view_time": "40s"},
            "add_to_cart": draw(st.floats(0.05, 0.6)), "resume_cart": draw(st.floats(0, 1)),
            "checkout_time": "4m",
            "abandonment": {"rate": draw(st.floats(0, 1)), "reasons": weights,
                            "levers": {k: draw(st.booleans()) for k in LEVER_REASONS},
                            "detect_after": draw(st.sampled_from(["5m", "30m"]))},
            "devices": {"abandonment": {d: draw(factor) for d in DEVICES},
                        "app_share": draw(st.floats(0, 1))},
            "intent": {"spread": draw(st.floats(0, 2))},
        },
        engagement={"open": {"email": 0.9, "in_app": 0.9}, "click": {"email": 0.5, "in_app": 0.5}},
        flows=flows, policies={"caps": []})


def _play_fitting(sc: Scenario) -> tuple[Simulation, list]:
    """Play `sc` with the reasons_fit_the_cart invariant watching; fails the test on a violation."""
    sim = Simulation(sc)
    events: list = []
    checker = InvariantChecker(sim, ["reasons_fit_the_cart"])
    sim.subscribe(checker)
    sim.subscribe(events.extend)
    sim.run()
    assert checker.ok, checker.finish()
    return sim, events


@PROPS
@given(reason_scenarios())
def test_generated_scenarios_keep_reasons_fit_the_cart(sc: Scenario):
    sim, events = _play_fitting(sc)
    # And the same rules read straight from the log (free-shipping codes may zero a cart's shipping).
    _check_reasons(events, sim.scenario.shipping_fee, sim.scenario.free_shipping_over, coupons=True)


def test_a_cart_no_reason_fits_any_more_is_left_only_for_faded_intent():
    """Every reason is an extra cost, and a free-shipping code takes the shipping away: when she comes back
    through the reminder, no reason fits her cart, yet her faded intent may still make her leave it. She then
    leaves it before checkout, as someone who no longer wants it (just browsing). Found by the property above
    (the draw of a reason from an empty table crashed the run)."""
    sc = tiny_scenario(
        size=60, duration="2d", seed=0,
        population={**EMAIL_REACHABLE,
                    "platforms": {"web": 1.0}},
        catalogue={"products": 30, "free_shipping_over": 1000, "shipping_fee": 4.99},
        behaviour={"sessions": {"per_day": 2.0, "views": 3, "view_time": "40s"}, "add_to_cart": 0.5,
                   "resume_cart": 0.0, "checkout_time": "4m",
                   "abandonment": {"rate": 1.0, "reasons": {"extra_costs": 2.0}, "detect_after": "5m"},
                   "devices": {"app_share": 0.0}, "intent": {"half_life": "10m", "spread": 0}},
        engagement={"open": {"email": 1.0}, "click": {"email": 1.0}},
        flows={"fs": {"trigger": "cart.abandoned", "steps": [
            {"after": "2h", "channel": "email", "incentive": {"type": "free_shipping", "valid": "48h"}}]}},
        policies={"caps": []})
    _, events = _play_fitting(sc)
    left = Counter(e.data["reason"] for e in events if e.type == E.CART_ABANDONED)
    assert left["extra_costs"] > 0 and left["just_browsing"] > 0, left
    assert set(left) == {"extra_costs", "just_browsing"}


def test_only_baymard_reasons_exist():
    assert set(ABANDON_REASONS) == set(CHECKOUT_REASONS) | BROWSE_STAGE_REASONS
    assert EXTRA_COST_REASONS == {"extra_costs", "total_cost_unclear"}
    assert BROWSE_STAGE_REASONS == {"just_browsing", "comparison_shopping"}
