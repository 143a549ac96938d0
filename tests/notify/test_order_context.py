"""The order a message is about, as templates see it: the notifier makes it once, at `order.placed`, and forgets
it once the order's last event is past, so a long run does not hold every order it ever saw; a message still
held (quiet hours) keeps its own copy and goes out naming the order all the same."""

from __future__ import annotations

from helpers.scenarios import QUIET_SHOP, tiny_scenario
from shopsim.contract import events as E
from shopsim.contract.clock import HOUR
from shopsim.contract.money import amount
from shopsim.scenario.schema import Scenario
from shopsim.simulation import Simulation

S1 = "s000001"


def _one_shopper_in_berlin() -> Scenario:
    """One shopper reachable by push with quiet hours 22:00-08:00; shipping updates go to push."""
    return Scenario.model_validate({
        "schema_version": 1,
        "run": {"name": "order-context", "seed": 3, "start": "2026-03-02T00:00:00Z", "duration": "2d"},
        "population": {
            "size": 1, "locales": {"de_DE": {"share": 1.0, "time_zones": {"Europe/Berlin": 1.0}}},
            "platforms": {"ios": 1.0}, "reach": {"email_verified": 1.0, "phone": 1.0},
            "consent": {"marketing_consent": 1.0, "personalization": 1.0, "sms_opt_in": 1.0,
                        "push_os_permission": {"ios": 1.0}},
            "settings": {"quiet_hours": {"start": "22:00", "end": "08:00"}},
        },
        **QUIET_SHOP,
        "policies": {"transactional": {"order.placed": [], "order.shipped": ["push"]}},
    })


def test_a_message_held_past_its_orders_end_still_names_the_order():
    sim = Simulation(_one_shopper_in_berlin())
    events: list = []
    sim.subscribe(events.extend)
    sim.run_until(21 * HOUR + HOUR // 2)  # 22:30 in Berlin (UTC+1)
    p = sim.scenario.products[0]
    price = amount(p.price_cents)
    sim.kernel.emit(E.ORDER_PLACED, S1, {
        "order": "o-1", "cart": "c-1", "currency": sim.scenario.currency, "coupon": None,
        "items": [{"product": p.id, "qty": 1, "price": price}], "subtotal": price, "shipping": 0.0,
        "discount": 0.0, "total": price, "attributed_to": None, "device": "app"})
    sim.run_until(22 * HOUR)  # 23:00: the shipping push waits for the end of her quiet hours
    sim.kernel.emit(E.ORDER_SHIPPED, S1, {"order": "o-1", "carrier": "Only Post", "tracking": "OP123"})
    sim.flush()
    nid = next(e.data["id"] for e in events if e.type == E.NOTIFICATION_REQUESTED and e.data["ref"] == "o-1")
    assert any(e.type == E.NOTIFICATION_DEFERRED and e.data["id"] == nid for e in events)
    sim.orders.finished("o-1")  # as the orders process says once the order's last event is out
    assert "o-1" not in sim.notify.placed
    sim.run()
    body = next(e.data["body"] for e in events if e.type == E.NOTIFICATION_DELIVERED and e.data["id"] == nid)
    assert body.startswith(p.name[:20]) and "shipped" in body, body


def test_orders_whose_last_event_is_past_are_forgotten():
    sim = Simulation(tiny_scenario(size=40, duration="30d"), keep_messages=False)
    over: list[str] = []
    forget = sim.orders.finished
    sim.orders.finished = lambda oid: (over.append(oid), forget(oid))
    placed: list[str] = []
    sim.subscribe(lambda batch: placed.extend(e.data["order"] for e in batch if e.type == E.ORDER_PLACED))
    sim.run()
    assert over, "no order ended in 30 days: the test needs one"
    assert not set(over) & set(sim.notify.placed)
    assert set(over) | set(sim.notify.placed) == set(placed)
