"""Purchase intent decays after abandonment (sim/commerce.py `Commerce.intent`, behaviour.intent).

An abandoned cart keeps an intent 2^(-elapsed / half-life): it sets how likely a cart reminder's click ends
in an order, and how likely she goes back to the cart on her own. The half-life is `behaviour.intent.half_life`
times the segment's `traits.intent_half_life`, the reason's `behaviour.intent.by_reason` factor and a per-cart
e^(spread·z). Statistical claims below run on fixed seeds; each states what it measured and the margin.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict

import pytest

from helpers.runs import play
from helpers.scenarios import EMAIL_REACHABLE, tiny_scenario, tiny_scenario_data
from shopsim.scenario.behaviour import Intent
from shopsim.scenario.schema import Scenario
from shopsim.contract.units import parse_duration
from shopsim.contract import events as E
from shopsim.simulation import Simulation

HOUR = 3_600_000
HALF_LIFE = parse_duration(Intent().half_life)      # the shipped default of behaviour.intent.half_life
DEFAULT_BY_REASON = Intent().by_reason


# --- (a) and (c): one experiment, reminders at 1h or 24h, two segments with different half-lives ---------

def _timing_scenario() -> dict:
    """reminder_timing.yaml's shape cut to two arms (one reminder email 1h or 24h after abandonment), on two
    segments: `regular` keeps the default half-life, `patient` has ten times as long. Email opens and clicks
    are raised (0.8 and 0.5) so a few thousand shoppers give enough attributed orders: intent, not the click
    benchmarks, is what is under test."""
    data = tiny_scenario_data(
        size=8000, duration="3d", seed=1,
        population=EMAIL_REACHABLE,
        flows={"after_1h": {"trigger": "cart.abandoned", "category": "cart_reminders",
                            "steps": [{"after": "1h", "channel": "email"}]},
               "after_24h": {"trigger": "cart.abandoned", "category": "cart_reminders",
                             "steps": [{"after": "24h", "channel": "email"}]}},
        experiments={"timing": {"metric": "recovery",
                                "variants": {"1h": {"flows": ["after_1h"]}, "24h": {"flows": ["after_24h"]}}}},
        engagement={"open": {"email": 0.8}, "click": {"email": 0.5}},
        policies={"caps": []})
    data["population"]["segments"] = {"regular": {"share": 0.5},
                                      "patient": {"share": 0.5, "traits": {"intent_half_life": 10}}}
    return data


@pytest.fixture(scope="module")
def timing():
    """Per (arm, segment): reminders delivered, clicked, orders attributed to them; carts abandoned early
    enough for both arms' reminder to go out in the run, and how many of them a reminder recovered."""
    sim, events = play(_timing_scenario(), keep=False)
    end = sim.scenario.duration
    cutoff = end - 26 * HOUR      # a cart abandoned later could not get its 24h reminder inside the run
    arm, segment = {}, {}
    reminders: set[str] = set()
    delivered, clicked, attributed, recovered = Counter(), Counter(), Counter(), Counter()
    first_abandoned: dict[str, tuple[int, str]] = {}
    for ev in events:
        d, s = ev.data, ev.shopper
        if ev.type == E.SHOPPER_CREATED:
            segment[s] = d["segment"]
        elif ev.type == E.EXPERIMENT_ASSIGNED:
            arm[s] = d["variant"]
        elif ev.type == E.NOTIFICATION_DELIVERED and d["category"] == "cart_reminders":
            reminders.add(d["id"])
            delivered[arm[s], segment[s]] += 1
        elif ev.type == E.NOTIFICATION_CLICKED and d["id"] in reminders:
            clicked[arm[s], segment[s]] += 1
        elif ev.type == E.CART_ABANDONED:
            first_abandoned.setdefault(d["cart"], (ev.t, s))
        elif ev.type == E.ORDER_PLACED:
            by_reminder = d["attributed_to"] in reminders
            attributed[arm[s], segment[s]] += by_reminder
            t_first = first_abandoned.get(d["cart"], (end + 1,))[0]
            if by_reminder and t_first <= cutoff:
                recovered[arm[s], segment[s]] += 1
    carts = Counter((arm[s], segment[s]) for t, s in first_abandoned.values() if t <= cutoff)
    cells = {}
    for key in carts:
        cells[key] = {"delivered": delivered[key], "clicked": clicked[key], "attributed": attributed[key],
                      "carts": carts[key], "order_rate": attributed[key] / delivered[key],
                      "per_click": attributed[key] / clicked[key], "recovery": recovered[key] / carts[key]}
    return cells


def test_a_reminder_an_hour_after_abandonment_converts_more_than_one_a_day_later(timing):
    early, late = timing["1h", "regular"], timing["24h", "regular"]
    # Seed 1 measured: order rate per delivered 0.199 (631/3174) vs 0.079 (81/1026), ratio 2.5 (seeds 2, 3:
    # 2.9, 2.5); the assert needs 1.6. The 24h count (81) is the noisy one: ±11%.
    assert early["order_rate"] > 1.6 * late["order_rate"], (early, late)
    # A click converts less once the intent has faded: 0.570 (631/1107) vs 0.281 (81/288); needs 1.4x.
    assert early["per_click"] > 1.4 * late["per_click"], (early, late)
    # Attributed recovery of carts abandoned before end-26h: 0.340 vs 0.065 (5.2x); needs 2x.
    assert early["recovery"] > 2.0 * late["recovery"], (early, late)
    # Both arms saw reminders and orders at all (not a vacuous comparison).
    assert late["delivered"] > 500 and late["attributed"] > 30


def test_a_longer_half_life_narrows_the_gap_between_an_early_and_a_late_reminder(timing):
    ratio = {seg: timing["1h", seg]["order_rate"] / timing["24h", seg]["order_rate"]
             for seg in ("regular", "patient")}
    # Seed 1 measured: 1h/24h order-rate ratio 2.52 with the default half-life, 1.30 with ten times as long
    # (seeds 2, 3: 2.87 vs 1.30, 2.47 vs 1.20): the gap shrinks by ~2x; the assert needs 1.4x.
    assert ratio["regular"] > 1.4 * ratio["patient"], ratio
    # ...and a patient shopper's cart converts better a day later than a regular one's: 0.190 vs 0.079.
    assert timing["24h", "patient"]["order_rate"] > 1.6 * timing["24h", "regular"]["order_rate"]
    # Attributed recovery: 1h/24h 5.2x (regular) vs 2.7x (patient).
    rec = {seg: timing["1h", seg]["recovery"] / timing["24h", seg]["recovery"] for seg in ("regular", "patient")}
    assert rec["regular"] > 1.3 * rec["patient"], rec


# --- (b) Commerce.intent -------------------------------------------------------------------------------

def _fresh_sim(**behaviour) -> Simulation:
    return Simulation(tiny_scenario(size=3, duration="1d", behaviour=behaviour))


def test_intent_is_whole_for_a_cart_never_left_and_halves_every_half_life():
    sim = _fresh_sim(intent={"spread": 0})
    sh = sim.shoppers[0]
    intent = sim.commerce.intent
    assert sh.cart_aband_n == 0 and intent(sh) == 1.0          # never left
    sh.cart, sh.cart_state = {0: 1}, "open"
    sim.kernel.now = 20 * HOUR
    assert intent(sh) == 1.0                                   # an open cart she never left keeps it all
    # Left at 2h with the default half-life.
    sh.cart_state, sh.cart_aband_n, sh.cart_left, sh.cart_hl = "abandoned", 1, 2 * HOUR, HALF_LIFE
    for elapsed, want in ((0, 1.0), (HALF_LIFE, 0.5), (2 * HALF_LIFE, 0.25), (HALF_LIFE // 2, 2 ** -0.5)):
        sim.kernel.now = 2 * HOUR + elapsed
        assert intent(sh) == pytest.approx(want, rel=1e-12)
    # Back in the shop adding an item makes the cart open again but leaves the clock running.
    sim.kernel.now = 2 * HOUR + HALF_LIFE
    sh.cart_id, sh.device = f"{sh.id}-c1", "desktop"
    sim.commerce._add(sh, 1)
    assert sh.cart_state == "open" and intent(sh) == pytest.approx(0.5, rel=1e-12)


def test_in_a_run_the_half_life_follows_segment_reason_and_default_and_an_added_item_does_not_renew_it():
    """With spread 0 every abandoned cart's half-life is exactly half_life × trait × by_reason; and when she adds
    to a cart she had left, its intent is still the one decaying from when she left it."""
    data = tiny_scenario_data(
        size=600, duration="2d", seed=2,
        behaviour={"resume_cart": 1.0, "clear_cart": 0.0, "sessions": {"per_day": 2.0},
                   "intent": {"half_life": "10h", "spread": 0,
                              "by_reason": {"extra_costs": 3.0, "just_browsing": 0.25}}})
    data["population"]["segments"] = {"quick": {"share": 0.5, "traits": {"intent_half_life": 0.5}},
                                      "slow": {"share": 0.5, "traits": {"intent_half_life": 2.0}}}
    sim = Simulation(Scenario.model_validate(data))
    trait = {"quick": 0.5, "slow": 2.0}
    by_reason = {"extra_costs": 3.0, "just_browsing": 0.25}
    left: dict[str, tuple[int, int]] = {}     # cart -> (when she last left it, its half-life)
    checked = Counter()
    wrong: list[str] = []

    def abandoned(ev):
        sh = sim.shopper(ev.shopper)
        want = round(10 * HOUR * trait[sh.segment.name] * by_reason.get(ev.data["reason"], 1.0))
        if sh.cart_hl != want:
            wrong.append(f"{ev.data['cart']} {ev.data['reason']} half-life {sh.cart_hl} != {want}")
        if sim.commerce.intent(sh) != 1.0:
            wrong.append(f"{ev.data['cart']} intent {sim.commerce.intent(sh)} at the instant she left it")
        left[ev.data["cart"]] = (ev.t, sh.cart_hl)
        checked[ev.data["reason"], sh.segment.name] += 1

    def added(ev):
        cart = ev.data["cart"]
        if cart not in left:
            if sim.commerce.intent(sim.shopper(ev.shopper)) != 1.0:
                wrong.append(f"{cart}: a cart never left has intent below 1")
            return
        t_left, hl = left[cart]
        got = sim.commerce.intent(sim.shopper(ev.shopper))
        want = 0.5 ** ((ev.t - t_left) / hl)
        if not math.isclose(got, want, rel_tol=1e-12) or (ev.t > t_left and got >= 1.0):
            wrong.append(f"{cart}: intent {got} after an add at +{ev.t - t_left} ms; want {want}")
        checked["added to a left cart"] += 1

    sim.kernel.on(E.CART_ABANDONED, abandoned)
    sim.kernel.on(E.CART_ITEM_ADDED, added)
    sim.run()
    assert not wrong, wrong[:5]
    # The run exercised every factor: both segments, a reason with a factor and one without, adds to left carts.
    for seg in trait:
        assert checked["extra_costs", seg] > 5 and checked["just_browsing", seg] > 5
        assert checked["account_required", seg] + checked["payment_trust", seg] > 0
    assert checked["added to a left cart"] > 20


def test_the_spread_gives_each_abandoned_cart_its_own_half_life_around_the_median():
    sim = Simulation(tiny_scenario(size=800, duration="2d", seed=3, behaviour={"intent": {"spread": 0.5}}))
    logs: list[float] = []

    def abandoned(ev):
        sh = sim.shopper(ev.shopper)
        base = sh.segment.half_life * DEFAULT_BY_REASON.get(ev.data["reason"], 1.0)
        logs.append(math.log(sh.cart_hl / base))

    sim.kernel.on(E.CART_ABANDONED, abandoned)
    sim.run()
    # log(half-life / median) is normal(0, spread = 0.5). Seed 3 measured: n=649, mean -0.013 (SE 0.02), sd 0.489
    # (SE 0.014). The default spread (1.0) or none (0) would land far outside 0.4-0.6.
    assert len(logs) > 400
    assert abs(statistics.fmean(logs)) < 0.1
    assert 0.4 < statistics.pstdev(logs) < 0.6


# --- going back to a cart on her own -------------------------------------------------------------------

def test_she_goes_back_to_a_left_cart_on_her_own_as_often_as_its_intent_still_holds():
    """resume_cart 1 and no browse-stage reason: a visit that finds her cart abandoned decides on it at its end
    (checkout.started) exactly when she went back to it, with chance = the cart's intent at the visit's start.
    Visits in which she added an item decide anyway and are left out."""
    reasons = {"extra_costs": 2.3, "account_required": 0.26, "payment_trust": 0.25, "slow_delivery": 0.23,
               "long_checkout": 0.22, "total_cost_unclear": 1.0, "returns_policy": 0.18, "site_error": 0.17,
               "payment_methods": 0.13, "card_declined": 0.09, "just_browsing": 0.0}
    _, events = play(tiny_scenario(
        size=2000, duration="3d", seed=3,
        behaviour={"resume_cart": 1.0, "clear_cart": 0.0, "sessions": {"per_day": 2.0},
                   "abandonment": {"reasons": reasons}, "intent": {"spread": 0}}), keep=False)
    left: dict[str, tuple[int, int]] = {}            # shopper -> (time she left her cart, its half-life)
    visit: dict[str, list] = {}                      # shopper -> [expected intent, added, decided]
    done: list[tuple[float, bool]] = []

    def close(s):
        v = visit.pop(s, None)
        if v is not None and not v[1]:
            done.append((v[0], v[2]))

    for ev in events:
        s, d = ev.shopper, ev.data
        if ev.type == E.SESSION_STARTED:
            close(s)
            if s in left:
                t_left, hl = left[s]
                visit[s] = [0.5 ** ((ev.t - t_left) / hl), False, False]
        elif ev.type == E.CART_ITEM_ADDED and s in visit:
            visit[s][1] = True
        elif ev.type == E.CHECKOUT_STARTED:
            if s in visit:
                visit[s][2] = True
            close(s)
            left.pop(s, None)
        elif ev.type == E.CART_ABANDONED:
            left[s] = (ev.t, round(HALF_LIFE * DEFAULT_BY_REASON.get(d["reason"], 1.0)))
        elif ev.type in (E.ORDER_PLACED, E.CART_EMPTIED):
            left.pop(s, None)
    for s in list(visit):
        close(s)
    bins = defaultdict(list)
    for want, went in done:
        bins[min(3, int(want * 4))].append((want, went))
    rates = {}
    for b, rows in sorted(bins.items()):
        expected = statistics.fmean(w for w, _ in rows)
        observed = sum(g for _, g in rows) / len(rows)
        rates[b] = (len(rows), round(expected, 3), round(observed, 3))
    for n, expected, observed in rates.values():
        # Seed 3 measured per quarter of intent (n, expected, observed): (665, .138, .153), (579, .371, .361),
        # (571, .629, .650), (888, .886, .892): within 0.03, where 0.07 is allowed (3.5 SE in the widest bin).
        assert n > 100 and abs(observed - expected) < 0.07, rates
    assert rates[3][2] > rates[0][2] + 0.5, rates     # fresh carts ~0.9, faded ones ~0.15
