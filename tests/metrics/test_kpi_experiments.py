"""Experiment KPIs on hand-built logs: incremental recovery against a holdout, and what coupons cost per
incremental order (docs/metrics.md, Recovery and Experiments)."""

from __future__ import annotations

import math

import pytest

from helpers.logs import H, Log, started

Z95 = 1.959963984540054


def holdout_log() -> Log:
    """Shoppers h1 h2 (holdout), a1 (arm a), b1 (arm b). Abandoned carts: h1 2 (1 recovered), h2 2 (none),
    a1 2 (both recovered), b1 3 (1 recovered). Treated 3 of 5, holdout 1 of 4."""
    g = Log(shoppers=4)
    started(g, "plain", {"x": False, "y": False}, "x")                   # no holdout: skipped
    started(g, "rx", {"holdout": True, "a": False, "b": False}, "holdout")
    started(g, "later", {"off": True, "on": False}, "off")               # a holdout too, but not the first
    arms = {"h1": "holdout", "h2": "holdout", "a1": "a", "b1": "b"}
    for sid, arm in arms.items():
        g.add(0, "experiment.assigned", sid, experiment="plain", variant="x")
        g.add(0, "experiment.assigned", sid, experiment="rx", variant=arm)
        g.add(0, "experiment.assigned", sid, experiment="later", variant="off" if sid == "a1" else "on")
    plan = {"h1": (2, 1), "h2": (2, 0), "a1": (2, 2), "b1": (3, 1)}    # (abandoned, recovered)
    for sid, (n, _) in plan.items():
        for k in range(1, n + 1):
            g.add(k, "cart.item_added", sid, cart=f"{sid}-c{k}")
    for sid, (n, _) in plan.items():
        for k in range(1, n + 1):
            g.add(H, "cart.abandoned", sid, cart=f"{sid}-c{k}", reason="extra_costs", stage="checkout")
    for sid, (_, x) in plan.items():
        for k in range(1, x + 1):
            g.order(2 * H, sid, f"{sid}-c{k}")
    g.add(3 * H, "run.finished", None, events=0, counts={}, shoppers=4)
    return g


def test_incremental_recovery_against_the_first_holdout() -> None:
    c = holdout_log().result()["commerce"]
    assert c["incremental_recovery_counts"] == {"experiment": "rx", "treated_recovered": 3, "treated_abandoned": 5,
                                                "holdout_recovered": 1, "holdout_abandoned": 4}
    diff = 3 / 5 - 1 / 4
    se = math.sqrt(0.6 * 0.4 / 5 + 0.25 * 0.75 / 4)
    assert c["incremental_recovery_rate"] == pytest.approx(0.35)
    assert c["incremental_recovery_low"] == pytest.approx(diff - Z95 * se)
    assert c["incremental_recovery_high"] == pytest.approx(diff + Z95 * se)
    assert c["recovery_rate"] == pytest.approx(4 / 9)  # the run as a whole, for comparison


def test_no_holdout_no_incremental_recovery() -> None:
    g = Log(shoppers=1)
    started(g, "plain", {"x": False, "y": False}, "x")
    g.add(0, "experiment.assigned", "s1", experiment="plain", variant="x")
    g.add(1, "cart.item_added", "s1", cart="s1-c1").add(H, "cart.abandoned", "s1", cart="s1-c1",
                                                         reason="extra_costs", stage="checkout")
    c = g.result()["commerce"]
    assert (c["incremental_recovery_rate"], c["incremental_recovery_low"], c["incremental_recovery_high"]) == \
        (None, None, None)


def test_a_holdout_without_abandoned_carts_gives_no_figure() -> None:
    g = Log(shoppers=2)
    started(g, "rx", {"holdout": True, "a": False}, "holdout")
    g.add(0, "experiment.assigned", "s1", experiment="rx", variant="holdout")
    g.add(0, "experiment.assigned", "s2", experiment="rx", variant="a")
    g.add(1, "cart.item_added", "s2", cart="s2-c1").add(H, "cart.abandoned", "s2", cart="s2-c1",
                                                         reason="extra_costs", stage="checkout")
    c = g.result()["commerce"]
    assert c["incremental_recovery_rate"] is None
    assert c["incremental_recovery_counts"]["treated_abandoned"] == 1


def coupon_log() -> Log:
    """Control `ctl` (4 shoppers, 4 orders, no coupon), arm `disc` (2 shoppers, 3 orders, 2 with coupons
    worth 5.00 and 3.00), arm `big` (2 shoppers, 1 order with a 2.50 coupon)."""
    g = Log(shoppers=8)
    started(g, "cx", {"ctl": False, "disc": False, "big": False}, "ctl", metric="conversion")
    arms = {"c1": "ctl", "c2": "ctl", "c3": "ctl", "c4": "ctl", "d1": "disc", "d2": "disc", "b1": "big", "b2": "big"}
    for sid, arm in arms.items():
        g.add(0, "experiment.assigned", sid, experiment="cx", variant=arm)
    orders = [("c1", 0.0), ("c2", 0.0), ("c3", 0.0), ("c3", 0.0), ("d1", 5.0), ("d1", 0.0), ("d2", 3.0),
              ("b1", 2.5)]
    for k, (sid, discount) in enumerate(orders, 1):
        cart = f"{sid}-c{k}"
        g.add(k * H, "cart.item_added", sid, cart=cart)
        g.order(k * H + 1, sid, cart, coupon=f"CODE{k}" if discount else None, discount=discount)
    return g


def test_coupon_cost_per_incremental_order() -> None:
    v = coupon_log().result()["experiments"]["cx"]["variants"]
    assert v["ctl"]["coupon"] is None
    # disc: 3 orders against 4 · 2/4 = 2 expected → 1 incremental; 2 redeemed, so 1 went on a baseline order.
    assert v["disc"]["coupon"] == {"redeemed_orders": 2, "discount_cost": 8.0, "incremental_orders": 1.0,
                                   "discount_on_baseline_orders": 4.0, "discount_buying_orders": 4.0,
                                   "cost_per_incremental_order": 8.0}
    # big: 1 order against 2 expected → −1 incremental: the whole discount went on baseline orders.
    assert v["big"]["coupon"] == {"redeemed_orders": 1, "discount_cost": 2.5, "incremental_orders": -1.0,
                                  "discount_on_baseline_orders": 2.5, "discount_buying_orders": 0.0,
                                  "cost_per_incremental_order": None}


def test_coupon_gain_larger_than_redemptions() -> None:
    g = coupon_log()
    for k in range(20, 24):  # four more orders in disc without a coupon: 7 against 2 expected
        g.add(k * H, "cart.item_added", "d2", cart=f"d2-c{k}").order(k * H + 1, "d2", f"d2-c{k}")
    cpn = g.result()["experiments"]["cx"]["variants"]["disc"]["coupon"]
    assert cpn["incremental_orders"] == 5.0 and cpn["discount_on_baseline_orders"] == 0.0
    assert cpn["discount_buying_orders"] == 8.0 and cpn["cost_per_incremental_order"] == pytest.approx(1.6)


def test_arm_rows_keep_their_kpis_and_add_the_new_ones() -> None:
    r = holdout_log().result()["experiments"]["rx"]["variants"]
    a = r["a"]
    assert a["shoppers"] == 1 and a["holdout"] is False and r["holdout"]["holdout"] is True
    assert a["recovery_rate"] == 1.0 and a["abandonment_rate"] == 0.0 and a["abandoned_at_least_once_rate"] == 1.0
    assert a["organic_recovery_rate"] == 1.0 and a["attributed_recovery_rate"] == 0.0
    assert r["b"]["abandonment_rate"] == pytest.approx(2 / 3)
    assert {"recovery_shoppers", "recovery_of", "revenue_per_shopper", "human_open_rate", "coupon"} <= set(a)
