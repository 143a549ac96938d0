"""Orders and carts follow their lifecycle, on a busy month with frequent failures, disputes and refunds."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from helpers.runs import play
from helpers.scenarios import tiny_scenario
from shopsim.contract import events as E
from shopsim.contract.events import ORDER_LIFECYCLE
from helpers.properties import assert_invariants

ORDER_TYPES = set(ORDER_LIFECYCLE) | {E.PAYMENT_FAILED, E.ORDER_CANCELLED, E.DISPUTE_OPENED, E.REFUND_ISSUED}


def check_orders(sim, events) -> Counter:
    """Every order follows its lifecycle (the library's order_lifecycle); returns how many orders reached
    each kind of event."""
    assert_invariants(sim, events, ["order_lifecycle"])
    reached: dict[str, set] = defaultdict(set)
    for ev in events:
        if ev.type in ORDER_TYPES:
            reached[ev.type].add(ev.data["order"])
    return Counter({t: len(orders) for t, orders in reached.items()})


def check_carts(sim, events) -> int:
    """Every cart follows its story (the library's cart_lifecycle); returns the number of carts ordered."""
    assert_invariants(sim, events, ["cart_lifecycle"])
    return len({e.data["cart"] for e in events if e.type == E.ORDER_PLACED})


@pytest.fixture(scope="module")
def busy_month():
    sc = tiny_scenario(
        size=300, duration="30d", seed=11,
        orders={"disputes": {"rate": 0.5, "refund": 1.0, "partial_refund": 0.4, "after": "1d"},
                "payment": {"failure": 0.3, "retry": 0.5}},
    )
    return play(sc)


def test_every_order_follows_its_lifecycle(busy_month):
    sim, events = busy_month
    seen = check_orders(sim, events)
    # The scenario is tuned so that every branch happens often enough to be tested.
    for t in ORDER_TYPES:
        assert seen[t] >= 10, f"only {seen[t]} orders reached {t}; the test scenario no longer exercises it"


def test_every_cart_follows_its_story(busy_month):
    sim, events = busy_month
    counts = Counter(e.type for e in events)
    ordered = check_carts(sim, events)
    assert ordered == counts[E.ORDER_PLACED] > 50
    assert counts[E.CART_ABANDONED] > 50 and counts[E.CART_EMPTIED] > 0


def test_abandonment_never_follows_the_order(busy_month):
    """The explicit form of one cart_lifecycle rule: no cart.abandoned for a cart once it was ordered."""
    _, events = busy_month
    ordered_at: dict[str, int] = {}
    for ev in events:
        if ev.type == E.ORDER_PLACED:
            ordered_at[ev.data["cart"]] = ev.seq
        elif ev.type == E.CART_ABANDONED:
            assert ev.data["cart"] not in ordered_at, ev
