"""The order lifecycle: payment, processing, shipping, delivery, disputes and refunds.

At placement the whole lifecycle is drawn from the order's own random stream and kept as a plan; the
queue holds only the order's next step. Drawing per order keeps orders independent of each other and
of how many other events the shopper had.
"""

from __future__ import annotations

from bisect import bisect
from typing import TYPE_CHECKING, Any, Callable, Protocol

from shopsim.contract import events as E
from shopsim.contract.money import amount
from shopsim.contract.rng import stream

if TYPE_CHECKING:
    from shopsim.scenario.catalogue import ProductDef
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.population import Shopper


class OrderCoupons(Protocol):
    """What an order asks of the shopper's coupons (marketing/coupons.py)."""

    def best(self, sh: Shopper, subtotal: int, shipping: int) -> tuple[Any, int]: ...

    def redeem(self, sh: Shopper, c: Any, order: str, discount: int) -> None: ...


class Order:
    __slots__ = ("id", "shopper", "plan", "status")

    def __init__(self, oid: str, shopper: str, plan: list[tuple[int, str, dict[str, Any]]]):
        self.id, self.shopper, self.plan, self.status = oid, shopper, plan, "placed"


class Orders:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, price: Callable[[int], int]):
        self.kernel = kernel
        self.cs = cs
        self.price = price  # a product's price now, in cents (commerce's, after any price drop)
        self.coupons: OrderCoupons | None = None
        # Told each order's id once its last event has been emitted (the notifier then forgets the order).
        self.finished: Callable[[str], None] | None = None
        self.k_stage = kernel.register(self._stage)

    def place(self, sh: Shopper, cart_id: str, items: list[tuple[ProductDef, int]]) -> Order:
        cs, k = self.cs, self.kernel
        sh.order_n += 1
        oid = f"{sh.id}-o{sh.order_n}"
        price = self.price
        subtotal = sum(price(p.index) * q for p, q in items)
        shipping = 0 if subtotal >= cs.free_shipping_over else cs.shipping_fee
        coupon, discount = self.coupons.best(sh, subtotal, shipping) if sh.coupons else (None, 0)
        total = subtotal + shipping - discount
        click = sh.last_click
        attributed = click[0] if click is not None and k.now - click[1] <= cs.attribution_window else None
        sh.last_click = None  # one order per click: the next order needs a click of its own
        k.emit(E.ORDER_PLACED, sh.id, {
            "order": oid, "cart": cart_id, "currency": cs.currency, "coupon": coupon.code if coupon else None,
            "items": [{"product": p.id, "qty": q, "price": amount(price(p.index))} for p, q in items],
            "subtotal": amount(subtotal), "shipping": amount(shipping), "discount": amount(discount),
            "total": amount(total), "attributed_to": attributed, "device": sh.device,
        })
        if coupon is not None:
            self.coupons.redeem(sh, coupon, oid, discount)
        order = Order(oid, sh.id, self._plan(oid, k.now, total))
        if order.plan:
            k.schedule(order.plan[0][0], self.k_stage, sh.index, (order, 0))
        return order

    def _plan(self, oid: str, t: int, total: int) -> list[tuple[int, str, dict[str, Any]]]:
        cs, o = self.cs, self.cs.orders
        rng = stream(cs.seed, oid, "order")
        plan: list[tuple[int, str, dict[str, Any]]] = []
        ref = {"order": oid}
        t += cs.payment_delay(rng)
        attempt = 1
        if rng.random() < o.payment.failure:
            plan.append((t, E.PAYMENT_FAILED, {**ref, "attempt": 1, "reason": "card_declined"}))
            if rng.random() >= o.payment.retry:
                plan.append((t + cs.cancel_after, E.ORDER_CANCELLED, {**ref, "reason": "payment_failed"}))
                return plan
            t += cs.retry_after(rng)
            attempt = 2
        plan.append((t, E.PAYMENT_CONFIRMED, {**ref, "attempt": attempt, "amount": amount(total)}))
        t += cs.processing(rng)
        plan.append((t, E.ORDER_PROCESSING, dict(ref)))
        carrier = cs.carriers[min(len(cs.carriers) - 1, bisect(cs.carrier_cum, rng.random() * cs.carrier_cum[-1]))]
        track = {**ref, "carrier": carrier.name,
                 "tracking": f"{carrier.prefix}{rng.randrange(10**8, 10**9)}CN"}
        t += cs.handling(rng)
        plan.append((t, E.ORDER_SHIPPED, track))
        t += carrier.in_transit_after(rng)
        plan.append((t, E.SHIPMENT_IN_TRANSIT, dict(track)))
        t += carrier.transit(rng)
        plan.append((t, E.SHIPMENT_OUT_FOR_DELIVERY, dict(track)))
        t += carrier.last_mile(rng)
        plan.append((t, E.ORDER_DELIVERED, dict(track)))
        d = o.disputes
        if rng.random() < d.rate:
            did = f"{oid}-d1"
            reason = cs.dispute_reasons[min(len(cs.dispute_reasons) - 1,
                                            bisect(cs.dispute_cum, rng.random() * cs.dispute_cum[-1]))]
            t += cs.dispute_after(rng)
            plan.append((t, E.DISPUTE_OPENED, {**ref, "dispute": did, "reason": reason}))
            if rng.random() < d.refund:
                refund = total // 2 if rng.random() < d.partial_refund else total
                t += cs.refund_after(rng)
                plan.append((t, E.REFUND_ISSUED, {**ref, "dispute": did, "amount": amount(refund)}))
        return plan

    def _stage(self, sh: Shopper, payload: tuple[Order, int]) -> None:
        order, i = payload
        _, type_, data = order.plan[i]
        order.status = type_
        self.kernel.emit(type_, sh.id, data)
        if i + 1 < len(order.plan):
            self.kernel.schedule(order.plan[i + 1][0], self.k_stage, sh.index, (order, i + 1))
        elif self.finished is not None:
            self.finished(order.id)
