"""Coupons work only when seen (marketing/coupons.py): a code is redeemed only after `coupon.seen` (her own open or
click of the message that carried it; a privacy proxy's open does not count) unless its incentive has
`auto_apply: true`; and a usable free-shipping coupon takes the extra-cost reasons away from a cart."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from helpers.runs import play
from helpers.scenarios import EMAIL_REACHABLE, tiny_scenario
from shopsim.contract.taxonomy import EXTRA_COST_REASONS
from shopsim.contract import events as E

HOUR = 3_600_000


@pytest.fixture(scope="module")
def seen_run():
    """Cart reminders that each carry a 10% code (not auto-applied): by email after 1h, in the app after 6h.
    Most iPhone shoppers' mail goes through a privacy proxy."""
    _, events = play(tiny_scenario(
        size=1500, duration="3d", seed=21,
        population={**EMAIL_REACHABLE, "mail_proxy": {"ios": 0.9, "android": 0.3, "web": 0.3}},
        flows={"recover": {"trigger": "cart.abandoned", "steps": [
            {"after": "1h", "channel": "email", "incentive": {"type": "percent", "value": 10, "valid": "3d"}},
            {"after": "6h", "channel": "in_app", "incentive": {"type": "fixed", "value": 2, "valid": "3d"}}]}},
        policies={"caps": []}), keep=False)
    return events


def test_a_coupon_is_seen_only_through_her_own_open_or_click_of_the_message_that_carried_it(seen_run):
    carrier: dict[str, tuple[str, str]] = {}           # code -> (notification id, channel)
    read: dict[str, dict[str, int]] = defaultdict(dict)  # notification id -> {"opened"/"clicked": first t}
    proxied: set[str] = set()
    via = Counter()
    for ev in seen_run:
        d = ev.data
        if ev.type == E.NOTIFICATION_DELIVERED and d.get("coupon"):
            carrier[d["coupon"]] = (d["id"], d["channel"])
        elif ev.type == E.NOTIFICATION_OPENED:
            if d["source"] == "proxy":
                proxied.add(d["id"])
            else:
                read[d["id"]].setdefault("opened", ev.t)
        elif ev.type == E.NOTIFICATION_CLICKED:
            read[d["id"]].setdefault("clicked", ev.t)
        elif ev.type == E.COUPON_SEEN:
            nid, channel = carrier[d["coupon"]]
            how = read[nid]
            assert how, f"{d['coupon']} seen at {ev.t} but {nid} was never opened by her nor clicked"
            if d["via"] == "clicked":
                assert how.get("clicked") == ev.t
            else:
                assert how.get("opened") == ev.t
                assert d["via"] == ("in_app" if channel == "in_app" else "opened")
            via[d["via"]] += 1
    # Seen through both channels' opens; only-proxied emails never made a coupon seen (checked above: every
    # seen needs her own open), and there were plenty of them.
    assert via["opened"] > 50 and via["in_app"] > 50, via     # measured 750 and 335
    only_proxy = proxied - set(read)
    assert len(only_proxy) > 100, len(only_proxy)             # measured 783


def test_a_coupon_that_is_not_auto_applied_is_redeemed_only_after_it_was_seen(seen_run):
    auto, seen_at = {}, {}
    redeemed = 0
    for ev in seen_run:
        d = ev.data
        if ev.type == E.COUPON_ISSUED:
            auto[d["coupon"]] = d["auto_apply"]
        elif ev.type == E.COUPON_SEEN:
            assert d["coupon"] not in seen_at, "seen twice"
            seen_at[d["coupon"]] = ev.t
        elif ev.type == E.COUPON_REDEEMED:
            assert auto[d["coupon"]] is False
            assert seen_at.get(d["coupon"], ev.t + 1) <= ev.t, f"{d['coupon']} redeemed unseen"
            redeemed += 1
    assert redeemed > 60, redeemed            # seed 21 measured 209 redemptions
    assert len(seen_at) > 2 * redeemed        # and 1,085 codes seen: seeing is not buying


def test_an_order_after_an_unseen_coupon_pays_full_price(seen_run):
    """The order a shopper places while she holds only codes she never saw carries no coupon."""
    held: dict[str, dict[str, bool]] = defaultdict(dict)    # shopper -> code -> seen
    full_price = 0
    for ev in seen_run:
        d, s = ev.data, ev.shopper
        if ev.type == E.COUPON_ISSUED:
            held[s][d["coupon"]] = False
        elif ev.type == E.COUPON_SEEN:
            held[s][d["coupon"]] = True
        elif ev.type in (E.COUPON_REDEEMED, E.COUPON_EXPIRED):
            held[s].pop(d["coupon"], None)
        elif ev.type == E.ORDER_PLACED and held[s] and not any(held[s].values()):
            assert d["coupon"] is None and d["discount"] == 0, ev
            full_price += 1
    assert full_price > 20, full_price        # measured 76


# --- engagement off: three arms, no coupon / a free-shipping code she must see / one applied for her ---------

@pytest.fixture(scope="module")
def free_shipping():
    """Nothing is ever opened (engagement off). Every cart under 1000 pays shipping. At 1 minute, arm `manual`
    gets a free-shipping code that needs seeing, arm `auto` one the platform applies, arm `none` nothing.
    Every arm also gets a cart reminder with a 10% code (not auto-applied)."""
    inc = {"type": "free_shipping", "valid": "30d"}
    camp = lambda auto: {"kind": "promotion", "at": "1m", "channels": ["email"], "title": "Free shipping",
                         "incentive": {**inc, "auto_apply": auto}}
    sim, events = play(tiny_scenario(
        size=3000, duration="2d", seed=4, population=EMAIL_REACHABLE,
        catalogue={"free_shipping_over": 1000},
        engagement={"enabled": False},
        campaigns={"manual": camp(False), "auto": camp(True)},
        flows={"remind": {"trigger": "cart.abandoned", "steps": [
            {"after": "1h", "channel": "email", "incentive": {"type": "percent", "value": 10}}]}},
        experiments={"fs": {"variants": {"none": {}, "manual": {"campaigns": ["manual"]},
                                         "auto": {"campaigns": ["auto"]}}}},
        policies={"caps": []}), keep=False)
    return sim, events


def test_with_engagement_off_nothing_is_seen_and_only_auto_applied_coupons_are_redeemed(free_shipping):
    _, events = free_shipping
    auto = {}
    count = Counter()
    for ev in events:
        if ev.type == E.COUPON_ISSUED:
            auto[ev.data["coupon"]] = ev.data["auto_apply"]
            count["issued", ev.data["auto_apply"]] += 1
        elif ev.type == E.COUPON_SEEN:
            count["seen"] += 1
        elif ev.type == E.COUPON_REDEEMED:
            count["redeemed", auto[ev.data["coupon"]]] += 1
    assert count["seen"] == 0
    assert count["redeemed", False] == 0
    assert count["issued", False] > 1000          # the manual codes and the reminders' (3,373), all unused
    assert count["redeemed", True] > 50, count    # auto-applied, never seen: measured 205


def test_a_usable_free_shipping_coupon_takes_the_extra_cost_reasons_away(free_shipping):
    sim, events = free_shipping
    fee = sim.scenario.shipping_fee / 100
    arm = {}
    usable: dict[str, set[str]] = defaultdict(set)    # shopper -> auto-applied free-shipping codes still valid
    kind = {}
    seen = Counter()
    for ev in events:
        d, s = ev.data, ev.shopper
        if ev.type == E.EXPERIMENT_ASSIGNED:
            arm[s] = d["variant"]
        elif ev.type == E.COUPON_ISSUED:
            kind[d["coupon"]] = d["kind"]
            if d["kind"] == "free_shipping" and d["auto_apply"]:
                usable[s].add(d["coupon"])
        elif ev.type in (E.COUPON_REDEEMED, E.COUPON_EXPIRED):
            usable[s].discard(d["coupon"])
        elif ev.type == E.CART_ABANDONED and ev.t > 2 * HOUR:   # decided after the codes were issued
            extra = d["reason"] in EXTRA_COST_REASONS
            if usable[s]:
                assert d["shipping"] == 0 and not extra, ev
                seen["covered", extra] += 1
            else:
                assert d["shipping"] == fee, ev             # every cart is under free_shipping_over
                seen[arm[s], extra] += 1
        elif ev.type == E.ORDER_PLACED and d["coupon"] and kind[d["coupon"]] == "free_shipping":
            assert d["discount"] == d["shipping"] == fee
    # Seed 4 measured: ~690 covered abandonments, none for extra costs; the arms without a usable code left for
    # extra costs about half the time (manual 409/829, none 436/855) and so did `auto` once its code was used.
    assert seen["covered", False] > 300
    for a in ("none", "manual"):
        assert seen[a, True] > 0.35 * (seen[a, True] + seen[a, False]), seen


def test_a_free_shipping_coupon_applied_for_her_lowers_cart_abandonment(free_shipping):
    _, events = free_shipping
    arm, created, ordered = {}, defaultdict(set), set()
    for ev in events:
        if ev.type == E.EXPERIMENT_ASSIGNED:
            arm[ev.shopper] = ev.data["variant"]
        elif ev.type == E.CART_ITEM_ADDED:
            created[arm[ev.shopper]].add(ev.data["cart"])
        elif ev.type == E.ORDER_PLACED:
            ordered.add(ev.data["cart"])
    rate = {a: 1 - len(c & ordered) / len(c) for a, c in created.items()}
    # Seed 4 measured per cart: none 0.917 (647 carts), manual 0.914 (628: an unseen code changes nothing),
    # auto 0.723 (751). Gap none-auto 0.19 (~9 SE); none vs manual within 0.003.
    assert rate["auto"] < rate["none"] - 0.1, rate
    assert abs(rate["manual"] - rate["none"]) < 0.05, rate
