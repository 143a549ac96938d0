"""Orders and carts follow their lifecycle, on a busy month with frequent failures, disputes and refunds."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from conftest import replay_events, tiny_scenario
from shopsim.sim import events as E
from shopsim.sim.events import ORDER_LIFECYCLE

ORDER_TYPES = set(ORDER_LIFECYCLE) | {E.PAYMENT_FAILED, E.ORDER_CANCELLED, E.DISPUTE_OPENED, E.REFUND_ISSUED}
CART_TYPES = {E.CART_ITEM_ADDED, E.CHECKOUT_STARTED, E.CART_ABANDONED, E.CART_EMPTIED}
STAGE = {t: i for i, t in enumerate(ORDER_LIFECYCLE)}


def cents(x: float) -> int:
    c = round(x * 100)
    assert abs(x * 100 - c) < 1e-6, f"{x} is not a whole number of cents"
    return c


def check_orders(events, shipping_fee: int | None = None, free_over: int | None = None) -> Counter:
    """Assert every order's lifecycle; returns how many orders reached each kind of event."""
    orders: dict[str, list] = defaultdict(list)
    for ev in events:
        if ev.type in ORDER_TYPES:
            orders[ev.data["order"]].append(ev)
    seen = Counter()
    for oid, evs in orders.items():
        types = [e.type for e in evs]
        seen.update(set(types))
        where = f"order {oid}: {types}"
        assert types[0] == E.ORDER_PLACED, where
        assert len({e.shopper for e in evs}) == 1 and oid.startswith(evs[0].shopper + "-"), where
        assert all(a.t <= b.t for a, b in zip(evs, evs[1:])), where
        assert all(a.seq < b.seq for a, b in zip(evs, evs[1:])), where
        for t, n in Counter(types).items():
            assert n == 1, f"{t} {n} times in {where}"
        stages = [t for t in types if t in STAGE]
        # The stages reached are a prefix of the lifecycle, in order (a run may end mid-way).
        assert stages == list(ORDER_LIFECYCLE[:len(stages)]), where
        pos = {t: i for i, t in enumerate(types)}
        placed = evs[0].data
        total = cents(placed["total"])
        if E.PAYMENT_FAILED in pos:
            failed = evs[pos[E.PAYMENT_FAILED]]
            assert failed.data["attempt"] == 1, where
            assert pos[E.PAYMENT_FAILED] == 1, where
            assert not (E.PAYMENT_CONFIRMED in pos and E.ORDER_CANCELLED in pos), where
            if E.PAYMENT_CONFIRMED in pos:
                assert evs[pos[E.PAYMENT_CONFIRMED]].data["attempt"] == 2, where
        elif E.PAYMENT_CONFIRMED in pos:
            assert evs[pos[E.PAYMENT_CONFIRMED]].data["attempt"] == 1, where
            assert pos[E.PAYMENT_CONFIRMED] == 1, where
        if E.PAYMENT_CONFIRMED in pos:
            assert cents(evs[pos[E.PAYMENT_CONFIRMED]].data["amount"]) == total, where
        if E.ORDER_CANCELLED in pos:
            assert E.PAYMENT_FAILED in pos, f"cancelled without a failed payment: {where}"
            assert types[-1] == E.ORDER_CANCELLED, f"events after order.cancelled: {where}"
            assert evs[pos[E.ORDER_CANCELLED]].t > evs[pos[E.PAYMENT_FAILED]].t, where
        if E.DISPUTE_OPENED in pos:
            assert E.ORDER_DELIVERED in pos and pos[E.DISPUTE_OPENED] > pos[E.ORDER_DELIVERED], where
        if E.REFUND_ISSUED in pos:
            r = pos[E.REFUND_ISSUED]
            assert E.PAYMENT_CONFIRMED in pos and r > pos[E.PAYMENT_CONFIRMED], where
            assert E.DISPUTE_OPENED in pos and r > pos[E.DISPUTE_OPENED], where
            refund = evs[r].data
            assert refund["dispute"] == evs[pos[E.DISPUTE_OPENED]].data["dispute"], where
            assert 0 < cents(refund["amount"]) <= total, where
            assert cents(refund["amount"]) in (total, total // 2), where
        tracking = {(e.data["carrier"], e.data["tracking"]) for e in evs
                    if e.type in (E.ORDER_SHIPPED, E.SHIPMENT_IN_TRANSIT, E.SHIPMENT_OUT_FOR_DELIVERY, E.ORDER_DELIVERED)}
        assert len(tracking) <= 1, f"carrier/tracking changed along {where}"
        # Money, to the cent.
        subtotal = sum(cents(i["price"]) * i["qty"] for i in placed["items"])
        assert cents(placed["subtotal"]) == subtotal, where
        assert total == subtotal + cents(placed["shipping"]), where
        if shipping_fee is not None:
            assert cents(placed["shipping"]) == (0 if subtotal >= free_over else shipping_fee), where
    return seen


def check_carts(events) -> int:
    """Assert every cart's story (adds, checkout, abandonment, order); returns the number of carts ordered."""
    carts: dict[str, list] = defaultdict(list)
    for ev in events:
        if ev.type in CART_TYPES or ev.type == E.ORDER_PLACED:
            carts[ev.data["cart"]].append(ev)
    ordered = 0
    for cid, evs in carts.items():
        types = [e.type for e in evs]
        where = f"cart {cid}: {types}"
        assert len({e.shopper for e in evs}) == 1 and cid.startswith(evs[0].shopper + "-"), where
        assert types[0] == E.CART_ITEM_ADDED, where
        for end in (E.ORDER_PLACED, E.CART_EMPTIED):
            if end in types:
                assert types.count(end) == 1 and types[-1] == end, f"cart events after {end}: {where}"
        qty: Counter = Counter()
        price: dict[str, int] = {}
        for e in evs:
            d = e.data
            if e.type == E.CART_ITEM_ADDED:
                qty[d["product"]] += d["qty"]
                assert price.setdefault(d["product"], cents(d["price"])) == cents(d["price"]), where
                assert d["items"] == sum(qty.values()), where
                assert cents(d["value"]) == sum(price[p] * q for p, q in qty.items()), where
            elif e.type in (E.CHECKOUT_STARTED, E.CART_ABANDONED):
                assert d["items"] == sum(qty.values()), where
                assert cents(d["value"]) == sum(price[p] * q for p, q in qty.items()), where
        if E.ORDER_PLACED in types:
            ordered += 1
            placed = evs[-1]
            assert types[-2] == E.CHECKOUT_STARTED, f"order placed without checkout: {where}"
            assert evs[-2].t <= placed.t
            assert {i["product"]: i["qty"] for i in placed.data["items"]} == dict(qty), where
            assert all(cents(i["price"]) == price[i["product"]] for i in placed.data["items"]), where
    return ordered


@pytest.fixture(scope="module")
def busy_month():
    sc = tiny_scenario(
        size=300, duration="30d", seed=11,
        orders={"disputes": {"rate": 0.5, "refund": 1.0, "partial_refund": 0.4, "after": "1d"},
                "payment": {"failure": 0.3, "retry": 0.5}},
    )
    return sc, replay_events(sc)


def test_every_order_follows_its_lifecycle(busy_month):
    sc, events = busy_month
    seen = check_orders(events, shipping_fee=round(sc.catalogue.shipping_fee * 100),
                        free_over=round(sc.catalogue.free_shipping_over * 100))
    # The scenario is tuned so that every branch happens often enough to be tested.
    for t in ORDER_TYPES:
        assert seen[t] >= 10, f"only {seen[t]} orders reached {t}; the test scenario no longer exercises it"


def test_every_cart_follows_its_story(busy_month):
    _, events = busy_month
    counts = Counter(e.type for e in events)
    ordered = check_carts(events)
    assert ordered == counts[E.ORDER_PLACED] > 50
    assert counts[E.CART_ABANDONED] > 50 and counts[E.CART_EMPTIED] > 0


def test_abandonment_never_follows_the_order(busy_month):
    """The explicit form of one check_carts rule: no cart.abandoned for a cart once it was ordered."""
    _, events = busy_month
    ordered_at: dict[str, int] = {}
    for ev in events:
        if ev.type == E.ORDER_PLACED:
            ordered_at[ev.data["cart"]] = ev.seq
        elif ev.type == E.CART_ABANDONED:
            assert ev.data["cart"] not in ordered_at, ev
