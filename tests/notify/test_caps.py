"""Frequency caps over rolling windows: the tightest rule decides, and no window ever holds more."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shopsim.notify.caps import CapTracker
from shopsim.scenario.compiled import CapRule
from shopsim.notify.policy import PASS, SUPPRESSED

H = 3_600_000


def send_all(tracker, shopper, channel, category, times):
    delivered = []
    for t in times:
        if tracker.check(shopper, channel, category, t).outcome == PASS:
            tracker.record(shopper, channel, category, t)
            delivered.append(t)
    return delivered


def test_one_push_per_four_hours():
    tracker = CapTracker([CapRule("push", 1, 4 * H, name="caps.push.4h")])
    assert send_all(tracker, 0, "push", "promotions", [0, H, 4 * H - 1, 4 * H, 5 * H]) == [0, 4 * H]
    v = tracker.check(0, "push", "promotions", 5 * H)
    assert (v.outcome, v.reason, v.rule, v.params["recent"]) == (SUPPRESSED, "frequency_cap", "caps.push.4h", 1)


def test_rules_combine_and_category_rules_count_only_their_category():
    tracker = CapTracker([CapRule("email", 3, 24 * H), CapRule("email", 1, 24 * H, category="flash_sales")])
    assert send_all(tracker, 0, "email", "flash_sales", [0, H]) == [0]
    assert send_all(tracker, 0, "email", "promotions", [2 * H, 3 * H, 4 * H]) == [2 * H, 3 * H]
    assert tracker.check(1, "email", "promotions", 4 * H).outcome == PASS  # another shopper
    assert tracker.check(0, "push", "promotions", 4 * H).outcome == PASS   # another channel


rules = st.lists(st.builds(CapRule, st.sampled_from(["push", "email"]), st.integers(1, 4),
                           st.integers(1, 48).map(lambda h: h * H),
                           st.sampled_from([None, "promotions", "flash_sales"])), min_size=1, max_size=4)
attempts = st.lists(st.tuples(st.integers(0, 10 * 24 * H), st.sampled_from(["push", "email"]),
                              st.sampled_from(["promotions", "flash_sales", "recommendations"])), max_size=80)


@settings(max_examples=200, deadline=None)
@given(rules, attempts)
def test_caps_are_never_exceeded_in_any_window(rules, attempts):
    tracker = CapTracker(rules)
    delivered = []
    for t, channel, category in sorted(attempts):
        if tracker.check(0, channel, category, t).outcome == PASS:
            tracker.record(0, channel, category, t)
            delivered.append((t, channel, category))
        else:  # and nothing is suppressed without cause: some rule's window is full
            assert any(sum(1 for d, ch, cat in delivered if rule.applies(ch, cat) and t - rule.per_ms < d <= t)
                       >= rule.max for rule in rules if rule.applies(channel, category))
    for rule in rules:
        counted = [t for t, ch, cat in delivered if rule.applies(ch, cat)]
        for end in counted:  # the fullest windows end at a delivery
            assert sum(1 for t in counted if end - rule.per_ms < t <= end) <= rule.max
