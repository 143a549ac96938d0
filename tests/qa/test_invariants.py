"""The named invariants (shopsim.qa.invariants): each one catches a violation planted into a real run's
events, at the line where it shows and in words that name the ids; the shipped scenarios violate none.

Planting: play a small scenario, then change, copy or insert lines with `Event._replace`; `_renumber` keeps
`seq` without gaps where a test inserts lines, so only the planted rule is broken.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.paths import ROOT, SCENARIOS
from helpers.runs import play
from helpers.scenarios import REACHABLE, berlin_shopper, tiny_scenario
from shopsim.qa.invariants import INVARIANTS, InvariantChecker
from shopsim.qa.invariants_base import cents
from shopsim.validate import load_scenario
from shopsim.contract import events as E
from shopsim.contract.clock import DAY, HOUR, iso
from shopsim.simulation import Simulation
from shopsim.contract.events import Event



# --- helpers ------------------------------------------------------------------------------------------

def found(sim, events: list[Event], name: str) -> list:
    checker = InvariantChecker(sim, [name])
    checker(events)
    return checker.finish()[name]


def one(sim, events: list[Event], name: str, seq: int | None, *words: str):
    """The checker reports the planted violation (first) at `seq`, in words that contain `words`."""
    got = found(sim, events, name)
    assert got, f"{name} missed the planted violation"
    v = got[0]
    assert v.invariant == name and v.seq == seq, got
    for w in words:
        assert w in v.message, (w, v.message)
    assert "\n" not in v.message
    return v


def _renumber(events: list[Event]) -> list[Event]:
    return [e._replace(seq=i) for i, e in enumerate(events, 1)]


def insert(events: list[Event], i: int, ev: Event) -> list[Event]:
    return _renumber(events[:i] + [ev] + events[i:])


def at(events, type_: str, **match) -> int:
    """Index of the first event of a type whose data has these values."""
    return next(i for i, e in enumerate(events) if e.type == type_
                and all(e.data.get(k) == v for k, v in match.items()))


def replaced(events, i: int, **data) -> list[Event]:
    out = list(events)
    out[i] = out[i]._replace(data={**out[i].data, **data})
    return out


def with_settings(events, sid: str, **settings) -> list[Event]:
    """The shopper is created with these settings (merged over hers)."""
    i = at(events, E.SHOPPER_CREATED) + int(sid[1:]) - 1
    return replaced(events, i, settings={**events[i].data["settings"], **settings})


def msg(when: str, channels=("push",), category="promotions") -> dict:
    return {"at": when, "shopper": "s000001", "notify": {"category": category, "channels": list(channels),
                                                          "title": "Offer"}}


@pytest.fixture(scope="module")
def busy():
    """Forty shoppers for three days: carts, orders, payments and shipping, and their messages."""
    return play(tiny_scenario(size=40, duration="3d", seed=5, population=REACHABLE,
                              behaviour={"add_to_cart": 0.4, "abandonment": {"rate": 0.5}}))


@pytest.fixture(scope="module")
def flows():
    """A two-step cart flow with a coupon; the second step only for carts worth 10000 or more (never)."""
    flow = {"trigger": "cart.abandoned", "steps": [
        {"after": "1h", "channel": "email", "incentive": {"type": "percent", "value": 10, "valid": "2h",
                                                          "prefix": "CART"}},
        {"after": "1h", "channel": "in_app", "when": {"min_value": 10000}}]}
    return play(tiny_scenario(size=40, duration="3d", seed=5, population=REACHABLE, flows={"recover": flow},
                              behaviour={"add_to_cart": 0.4, "abandonment": {"rate": 0.9}},
                              engagement={"enabled": False}))


# --- the log's shape ----------------------------------------------------------------------------------

def test_log_well_formed_catches_a_gap_time_going_back_and_wrong_counts(busy):
    sim, events = busy
    one(sim, events[:9] + events[10:], "log_well_formed", 11, "seq 11 follows seq 9")
    k = next(i for i, e in enumerate(events) if e.t > HOUR)
    back = replaced(events, 0)
    back[k] = back[k]._replace(t=back[k - 1].t - 1)
    one(sim, back, "log_well_formed", events[k].seq, "time went back", events[k].type)
    counts = {**events[-1].data["counts"], E.ORDER_PLACED: 0}
    one(sim, replaced(events, len(events) - 1, counts=counts), "log_well_formed", events[-1].seq,
        "run.finished counts differ", "order.placed: 0 counted")
    one(sim, events[:-1], "log_well_formed", None, "no run.finished")


# --- commerce -----------------------------------------------------------------------------------------

def test_order_lifecycle_catches_a_payment_that_is_not_the_total(busy):
    sim, events = busy
    i = at(events, E.PAYMENT_CONFIRMED)
    ev = events[i]
    one(sim, replaced(events, i, amount=ev.data["amount"] + 1), "order_lifecycle", ev.seq,
        ev.data["order"], "payment.confirmed for", "the order's total is")


def test_order_lifecycle_catches_a_stage_out_of_order(busy):
    sim, events = busy
    i = at(events, E.ORDER_SHIPPED)
    ev = events[i]
    placed = at(events, E.ORDER_PLACED, order=ev.data["order"])
    early = insert(events, placed + 1, ev._replace(t=events[placed].t))
    one(sim, early, "order_lifecycle", events[placed].seq + 1, ev.data["order"], "order.shipped after order.placed")


def test_cart_lifecycle_catches_an_item_added_after_the_order(busy):
    sim, events = busy
    o = at(events, E.ORDER_PLACED)
    cart = events[o].data["cart"]
    add = events[at(events, E.CART_ITEM_ADDED, cart=cart)]
    planted = insert(events, o + 1, add._replace(t=events[o].t))
    one(sim, planted, "cart_lifecycle", events[o].seq + 1, cart, "after the cart was ordered or emptied")


def test_cart_lifecycle_catches_a_value_that_does_not_add_up(busy):
    sim, events = busy
    i = at(events, E.CART_ABANDONED)
    ev = events[i]
    one(sim, replaced(events, i, value=ev.data["value"] + 1), "cart_lifecycle", ev.seq, ev.data["cart"],
        "cart.abandoned says")


# --- the notification pipeline ------------------------------------------------------------------------

def test_one_outcome_per_request_catches_a_second_outcome_and_a_missing_one(busy):
    sim, events = busy
    i = at(events, E.NOTIFICATION_DELIVERED)
    ev = events[i]
    one(sim, insert(events, i + 1, ev), "one_outcome_per_request", ev.seq + 1,
        f"{ev.data['id']} delivered after its final outcome")
    req = events[at(events, E.NOTIFICATION_REQUESTED, id=ev.data["id"])]
    one(sim, _renumber(events[:i] + events[i + 1:]), "one_outcome_per_request", req.seq,
        f"{ev.data['id']} has no final outcome")


def test_settings_respected_judges_a_delivery_by_the_settings_of_its_instant():
    sim, events = play(berlin_shopper([msg("10h")]))
    i = at(events, E.NOTIFICATION_REQUESTED)
    s = events[at(events, E.SHOPPER_CREATED)].data["settings"]
    off = Event(0, events[i].t, E.SETTINGS_CHANGED, "s000001",
                {"settings": {**s, "channels": {**s["channels"], "push": False}}, "source": "user"})
    planted = insert(events, i, off)
    delivered = planted[at(planted, E.NOTIFICATION_DELIVERED)]
    one(sim, planted, "settings_respected", delivered.seq, "s000001-n1 (promotions) delivered on push",
        "switched off (channels.push)")
    # The same change one line later, after the delivery, is no violation.
    assert not found(sim, insert(events, i + 2, off), "settings_respected")


def test_settings_respected_checks_what_a_suppression_claims():
    sim, events = play(berlin_shopper([msg("10h")]))
    i = at(events, E.NOTIFICATION_DELIVERED)
    lie = events[i]._replace(type=E.NOTIFICATION_SUPPRESSED,
                             data={**events[i].data, "reason": "no_marketing_consent", "rule": "marketing_consent"})
    one(sim, events[:i] + [lie] + events[i + 1:], "settings_respected", lie.seq,
        "suppressed as no_marketing_consent", "allow it")


def test_quiet_hours_respected_reads_quiet_hours_in_local_time():
    sim, events = play(berlin_shopper([msg("10h")]))  # 11:00 in Berlin
    delivered = events[at(events, E.NOTIFICATION_DELIVERED)]
    planted = with_settings(events, "s000001", quiet_hours={"start": "10:00", "end": "12:00"})
    one(sim, planted, "quiet_hours_respected", delivered.seq,
        "s000001-n1: push delivered at 11:00 local, inside quiet hours 10:00–12:00 (Europe/Berlin)")
    utc_hours = with_settings(events, "s000001", quiet_hours={"start": "09:00", "end": "11:00"})
    assert not found(sim, utc_hours, "quiet_hours_respected")  # 10:00 UTC would be inside: local time counts


def test_send_windows_respected():
    windows = {"send_windows": [{"channel": "push", "start": "08:00", "end": "20:00", "classes": ["marketing"]}]}
    sim, events = play(berlin_shopper([msg("10h")], policies=windows))
    i = at(events, E.NOTIFICATION_DELIVERED)
    late = list(events)
    late[i] = late[i]._replace(t=21 * HOUR)  # 22:00 in Berlin
    one(sim, late, "send_windows_respected", events[i].seq, "s000001-n1 (marketing): push delivered at 22:00",
        "outside the send window 08:00–20:00 (send_windows[0], Europe/Berlin)")


def test_caps_respected_catches_a_delivery_over_the_cap_and_a_cap_that_was_not_full():
    caps = {"caps": [{"channel": "push", "max": 1, "per": "24h"}]}
    sim, events = play(berlin_shopper([msg("6h"), msg("10h")], policies=caps))
    i = at(events, E.NOTIFICATION_SUPPRESSED, reason="frequency_cap")
    first = at(events, E.NOTIFICATION_DELIVERED)
    over = list(events)
    over[i] = events[first]._replace(seq=events[i].seq, t=events[i].t, data={**events[first].data,
                                                                             "id": events[i].data["id"]})
    one(sim, over, "caps_respected", events[i].seq, "s000001: 2 marketing push messages within 1d",
        "s000001-n1, s000001-n2", "caps[0] allows 1")
    unfilled = list(events)
    unfilled[first] = events[first]._replace(type=E.NOTIFICATION_SUPPRESSED,
                                             data={**events[first].data, "reason": "duplicate", "rule": "dedupe.key"})
    one(sim, unfilled, "caps_respected", events[i].seq, "s000001-n2 suppressed by caps[0]",
        "with 0 delivered in its window")


DAILY = {"categories": {"promotions": {"frequency": "daily"}}, "digest": {"time": "20:00"}}


def test_digests_consistent_catches_a_digest_that_lost_an_item():
    sim, events = play(berlin_shopper([msg("6h"), msg("10h")], settings=DAILY))
    i = next(k for k, e in enumerate(events) if e.type == E.NOTIFICATION_DELIVERED and e.data["digest_of"])
    d = events[i]
    assert len(d.data["digest_of"]) == 2
    one(sim, replaced(events, i, digest_of=d.data["digest_of"][:1]), "digests_consistent", d.seq,
        f"digest {d.data['id']} carries", "joined it")


def test_digests_consistent_catches_a_digest_due_at_the_wrong_local_time():
    sim, events = play(berlin_shopper([msg("6h")], settings=DAILY))
    i = at(events, E.NOTIFICATION_DIGESTED)
    ev = events[i]
    wrong = iso(sim.scenario.start_epoch + 20 * HOUR)  # 21:00 in Berlin
    one(sim, replaced(events, i, at=wrong), "digests_consistent", ev.seq, "at 21:00 local, not 20:00")


def test_critical_always_sent_catches_a_wrong_suppression_and_a_doubled_channel():
    sim, events = play(berlin_shopper([{"at": "8h", "shopper": "s000001", "signin": True}]))
    alerts = [i for i, e in enumerate(events) if e.type == E.NOTIFICATION_DELIVERED]
    assert [events[i].data["channel"] for i in alerts] == ["email", "push"]
    i = alerts[1]
    off = events[i]._replace(type=E.NOTIFICATION_SUPPRESSED,
                             data={**events[i].data, "reason": "channel_off", "rule": "channels.push"})
    one(sim, events[:i] + [off] + events[i + 1:], "critical_always_sent", off.seq,
        f"{off.data['id']} (account_security) suppressed as channel_off")
    doubled = replaced(events, i, channel="email", rerouted_from="push")
    one(sim, doubled, "critical_always_sent", events[i].seq, "already went to s000001 on email")


def test_critical_always_sent_catches_a_rerouted_promotion():
    sim, events = play(berlin_shopper([msg("10h")]))
    i = at(events, E.NOTIFICATION_DELIVERED)
    one(sim, replaced(events, i, rerouted_from="email"), "critical_always_sent", events[i].seq,
        "s000001-n1 (promotions) rerouted from email to push")


def test_scripted_messages_requested_once_per_shopper_and_channel():
    sim, events = play(berlin_shopper([msg("10h", channels=("push", "email"))]))
    i = at(events, E.NOTIFICATION_REQUESTED)
    copy = events[i]._replace(data={**events[i].data, "id": "s000001-n9"})
    one(sim, insert(events, i + 1, copy), "scripted_messages_requested", events[i].seq + 1,
        "scenario:events[0] requested twice for s000001 on push")
    one(sim, _renumber(events[:i] + events[i + 2:]), "scripted_messages_requested", None,
        "scenario:events[0] requested 1 notification at", "should request 2")


# --- flows --------------------------------------------------------------------------------------------

def test_flows_exit_on_purchase_catches_a_reminder_delivered_after_the_order(flows):
    sim, events = flows
    i = at(events, E.NOTIFICATION_DELIVERED, category="cart_reminders")
    nid = events[i].data["id"]
    req = at(events, E.NOTIFICATION_REQUESTED, id=nid)
    cart = events[req].data["ref"]
    order = Event(0, events[req].t, E.ORDER_PLACED, events[req].shopper, {"order": f"{cart}-x", "cart": cart})
    planted = insert(events, req, order)
    one(sim, planted, "flows_exit_on_purchase", events[i].seq + 1, f"{nid} (step 1 of recover for {cart})",
        "delivered after its run ended (order_placed)")


def test_flow_conditions_respected_catches_a_step_sent_though_its_condition_fails(flows):
    sim, events = flows
    i = at(events, E.NOTIFICATION_SUPPRESSED, reason="flow_condition")
    ev = events[i]
    trace = [v if v["step"] != "flow_state" else {"step": "flow_state", "outcome": "pass"} for v in ev.data["trace"]]
    sent = ev._replace(type=E.NOTIFICATION_DELIVERED, data={**ev.data, "trace": trace, "reason": None, "rule": None})
    one(sim, events[:i] + [sent] + events[i + 1:], "flow_conditions_respected", ev.seq,
        f"{ev.data['id']} (step 2 of recover", "delivered though its condition fails",
        "flows.recover.steps[1].when.min_value")


def test_flow_steps_on_schedule_catches_a_step_on_the_wrong_channel_or_time(flows):
    sim, events = flows
    i = next(k for k, e in enumerate(events) if e.type == E.NOTIFICATION_REQUESTED
             and e.data["source"] == "flow:recover:1")
    ev = events[i]
    one(sim, replaced(events, i, channel="sms"), "flow_steps_on_schedule", ev.seq,
        f"{ev.data['id']}: step 1 of recover", "the step sends cart_reminders on email")
    late = list(events)
    late[i] = ev._replace(t=ev.t + 1)
    one(sim, late, "flow_steps_on_schedule", ev.seq, "with no run of recover due for it then")


def test_flow_steps_wait_for_their_send_window():
    """Steps due at night wait for the step's own window; the checker knows when they are due."""
    flow = {"trigger": "cart.abandoned", "steps": [
        {"after": "30m", "channel": "email", "send_window": {"start": "09:00", "end": "10:00"}}]}
    sim, events = play(tiny_scenario(size=30, duration="3d", seed=3, population=REACHABLE, flows={"recover": flow},
                                     behaviour={"add_to_cart": 0.4, "abandonment": {"rate": 0.9}}))
    steps = [e for e in events if e.type == E.NOTIFICATION_REQUESTED and e.data["source"] == "flow:recover:1"]
    assert len(steps) > 3
    assert not any(found(sim, events, n) for n in ("flow_steps_on_schedule", "flows_exit_on_purchase",
                                                   "flow_conditions_respected"))
    i = events.index(steps[0])
    early = events[:i] + [steps[0]._replace(t=steps[0].t - 30 * 60_000)] + events[i + 1:]
    one(sim, early, "flow_steps_on_schedule", steps[0].seq, "no run of recover due")


# --- coupons ------------------------------------------------------------------------------------------

def test_coupons_redeemed_once_before_expiry_catches_a_second_expiry_and_a_wrong_validity(flows):
    sim, events = flows
    i = at(events, E.COUPON_EXPIRED)
    ev = events[i]
    one(sim, insert(events, i + 1, ev), "coupons_redeemed_once_before_expiry", ev.seq + 1,
        f"coupon {ev.data['coupon']} expired after it was expired")
    j = at(events, E.COUPON_ISSUED)
    issued = events[j]
    later = iso(sim.scenario.start_epoch + issued.t + 3 * HOUR)
    one(sim, replaced(events, j, expires=later), "coupons_redeemed_once_before_expiry", issued.seq,
        f"coupon {issued.data['coupon']} expires {later}, not 2h after it was issued")


def test_best_coupon_applied_catches_an_order_that_ignored_a_valid_coupon(busy):
    sim, events = busy
    o = next(i for i, e in enumerate(events) if e.type == E.ORDER_PLACED and e.t > 2 * HOUR)
    order = events[o]
    coupon = Event(0, order.t - HOUR, E.COUPON_ISSUED, order.shopper, {
        "coupon": "PLANT-ABCDEF", "kind": "percent", "value": 50, "min_order": 0.0,
        "expires": iso(sim.scenario.start_epoch + order.t + DAY), "source": "flow:none:1", "auto_apply": True})
    k = max(i for i, e in enumerate(events[:o]) if e.t <= coupon.t)
    one(sim, insert(events, k + 1, coupon), "best_coupon_applied", order.seq + 1,
        f"{order.data['order']} took no coupon, though {order.shopper}'s PLANT-ABCDEF saves")


def test_an_unseen_coupon_is_not_owed_but_taking_it_is_caught(busy):
    """A coupon she never saw is not one she could have used: ignoring it is right, taking it is a violation."""
    sim, events = busy
    o = next(i for i, e in enumerate(events) if e.type == E.ORDER_PLACED and e.data["coupon"] is None
             and e.t > 2 * HOUR)
    order = events[o]
    coupon = Event(0, order.t - HOUR, E.COUPON_ISSUED, order.shopper, {
        "coupon": "PLANT-ABCDEF", "kind": "percent", "value": 50, "min_order": 0.0,
        "expires": iso(sim.scenario.start_epoch + order.t + DAY), "source": "flow:none:1", "auto_apply": False})
    k = max(i for i, e in enumerate(events[:o]) if e.t <= coupon.t)
    with_coupon = insert(events, k + 1, coupon)
    assert not found(sim, with_coupon, "best_coupon_applied")
    sub = cents(order.data["subtotal"])
    took = replaced(with_coupon, o + 1, coupon="PLANT-ABCDEF", discount=round(sub / 2) / 100)
    got = found(sim, took, "coupons_used_only_when_seen")
    assert got and got[0].seq == order.seq + 1 and "never saw" in got[0].message


def test_coupon_seen_needs_a_message_she_read(flows):
    sim, events = flows
    i = next(k for k, e in enumerate(events) if e.type == E.COUPON_ISSUED)
    issued = events[i]
    seen = Event(0, issued.t, E.COUPON_SEEN, issued.shopper, {"coupon": issued.data["coupon"], "via": "opened"})
    j = max(k for k, e in enumerate(events) if e.t <= issued.t)
    got = found(sim, insert(events, j + 1, seen), "coupons_used_only_when_seen")
    assert got and "without her reading a message carrying it" in got[0].message


# --- engagement and attribution -----------------------------------------------------------------------

def test_attribution_valid_catches_an_order_attributed_to_a_message_never_clicked(busy):
    sim, events = busy
    o = at(events, E.ORDER_PLACED)
    order = events[o]
    one(sim, replaced(events, o, attributed_to=f"{order.shopper}-n99"), "attribution_valid", order.seq,
        f"{order.data['order']} is attributed to {order.shopper}-n99", "no marketing or ad click")


def test_engagement_follows_delivery_catches_a_click_before_an_open(busy):
    sim, events = busy
    i = at(events, E.NOTIFICATION_DELIVERED)
    d = events[i].data
    click = Event(0, events[i].t, E.NOTIFICATION_CLICKED, events[i].shopper,
                  {"id": d["id"], "category": d["category"], "channel": d["channel"]})
    one(sim, insert(events, i + 1, click), "engagement_follows_delivery", events[i].seq + 1,
        f"{d['id']} clicked before it was opened")


def test_engagement_follows_delivery_catches_an_unsubscribe_that_changed_nothing(busy):
    sim, events = busy
    answered = {e.data["id"] for e in events if e.type in (E.NOTIFICATION_OPENED, E.NOTIFICATION_CLICKED,
                                                           E.NOTIFICATION_DISMISSED, E.NOTIFICATION_UNSUBSCRIBED)
                and e.data.get("source") != "proxy"}
    i = next(k for k, e in enumerate(events) if e.type == E.NOTIFICATION_DELIVERED
             and e.data["category"] == "order_updates" and e.data["id"] not in answered)
    d, sid = events[i].data, events[i].shopper
    opened = Event(0, events[i].t, E.NOTIFICATION_OPENED, sid, {**_ids(d), "source": "shopper"})
    unsub = Event(0, events[i].t, E.NOTIFICATION_UNSUBSCRIBED, sid, _ids(d))
    got = found(sim, insert(insert(events, i + 1, opened), i + 2, unsub), "engagement_follows_delivery")
    assert [v.seq for v in got] == [events[i].seq + 2] * 2
    assert "only marketing messages" in got[0].message and "does not follow at once" in got[1].message


def _ids(d: dict) -> dict:
    return {"id": d["id"], "category": d["category"], "channel": d["channel"]}


# --- ads ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ads():
    return play(tiny_scenario(size=30, duration="3d", seed=4, population=REACHABLE,
                              ads={"enabled": True, "per_day": 8, "cap": {"max": 2, "per": "24h"}, "click": 0.0}))


def test_ads_need_personalization(ads):
    sim, events = ads
    i = at(events, E.AD_IMPRESSION)
    ad = events[i]
    s = events[at(events, E.SHOPPER_CREATED) + int(ad.shopper[1:]) - 1].data["settings"]
    no = Event(0, ad.t, E.SETTINGS_CHANGED, ad.shopper, {"settings": {**s, "personalization": False},
                                                         "source": "user"})
    one(sim, insert(events, i, no), "ads_need_personalization", ad.seq + 1,
        f"ad {ad.data['ad']} shown to {ad.shopper}, who does not consent to personalization")


def test_ads_under_cap(ads):
    sim, events = ads
    i = at(events, E.AD_IMPRESSION)
    ad = events[i]
    more = [ad._replace(data={**ad.data, "ad": f"{ad.shopper}-a{90 + k}"}) for k in range(2)]
    planted = _renumber(events[:i + 1] + more + events[i + 1:])
    one(sim, planted, "ads_under_cap", ad.seq + 2, f"{ad.shopper} was shown 3 ads within 1d",
        "the ads cap allows 2")


# --- the checker itself -------------------------------------------------------------------------------

def test_every_invariant_has_a_snake_case_name_and_a_one_line_description():
    assert len(INVARIANTS) >= 17
    for name, text in INVARIANTS.items():
        assert name.isidentifier() and name == name.lower(), name
        assert text and "\n" not in text, name


def test_an_unknown_name_is_refused_with_a_suggestion(busy):
    sim, _ = busy
    with pytest.raises(ValueError, match="unknown invariant 'caps_respect'; did you mean 'caps_respected'"):
        InvariantChecker(sim, ["log_well_formed", "caps_respect"])


def test_batches_of_any_size_give_the_same_answer_and_limit_keeps_the_first(busy):
    sim, events = busy
    planted = list(events)
    for i, e in enumerate(events):
        if e.type == E.PAYMENT_CONFIRMED:
            planted[i] = e._replace(data={**e.data, "amount": e.data["amount"] + 1})
    whole = InvariantChecker(sim, limit=3)
    whole(planted)
    one_by_one = InvariantChecker(sim, limit=3)
    for ev in planted:
        one_by_one([ev])
    assert whole.finish() == one_by_one.finish() and whole.totals == one_by_one.totals
    n = sum(e.type == E.PAYMENT_CONFIRMED for e in events)
    assert n > 3 and whole.totals["order_lifecycle"] == n and len(whole.finish()["order_lifecycle"]) == 3
    assert [v.seq for v in whole.finish()["order_lifecycle"]] == sorted(v.seq for v in whole.finish()["order_lifecycle"])
    assert {k for k, v in whole.totals.items() if v} == {"order_lifecycle"}
    assert list(whole.finish()) == list(INVARIANTS)


def test_a_malformed_line_is_reported_not_raised(busy):
    sim, events = busy
    i = at(events, E.NOTIFICATION_DELIVERED)
    broken = list(events)
    broken[i] = events[i]._replace(data={k: v for k, v in events[i].data.items() if k != "channel"})
    checker = InvariantChecker(sim, ["one_outcome_per_request"])
    checker(broken)
    v = checker.finish()["one_outcome_per_request"][0]  # then: the unread line left its request without outcome
    assert v.seq == events[i].seq and "cannot read notification.delivered" in v.message, v


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_keep_every_invariant(path):
    """Their first two days (as `replay --until 2d` would play them), checked live as the run goes."""
    sim = Simulation(load_scenario(path), keep_messages=False)
    checker = InvariantChecker(sim, limit=3)
    sim.subscribe(checker)
    sim.run_until(2 * DAY)
    sim.finish()
    result = checker.finish()
    assert checker.ok, {k: v for k, v in result.items() if v}


def test_the_checks_import_no_front_end_or_test_tool():
    code = ("import sys, shopsim.qa.invariants; "
            "print(sorted(m for m in ('textual', 'pytest', 'hypothesis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]"
