"""Invariants of commerce: every order follows its lifecycle, every cart its story, to the cent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shopsim.contract.money import cents_text
from shopsim.qa.invariants_base import Check, IdSet, RunState, cents, whole_cents
from shopsim.contract.taxonomy import BROWSE_STAGE_REASONS, EXTRA_COST_REASONS
from shopsim.contract import events as E
from shopsim.contract.events import ORDER_LIFECYCLE

if TYPE_CHECKING:
    from shopsim.contract.events import Event

ORDER_TYPES = (*ORDER_LIFECYCLE, E.PAYMENT_FAILED, E.ORDER_CANCELLED, E.DISPUTE_OPENED, E.REFUND_ISSUED)
STAGE = {t: i for i, t in enumerate(ORDER_LIFECYCLE)}
SHIPPING = (E.ORDER_SHIPPED, E.SHIPMENT_IN_TRANSIT, E.SHIPMENT_OUT_FOR_DELIVERY, E.ORDER_DELIVERED)


class _Order:
    __slots__ = ("shopper", "types", "stages", "total", "failed_t", "tracking", "dispute")

    def __init__(self, shopper: str, total: int):
        self.shopper, self.total = shopper, total
        self.types: list[str] = [E.ORDER_PLACED]
        self.stages = 1
        self.failed_t: int | None = None
        self.tracking: tuple | None = None
        self.dispute: str | None = None


class Orders(Check):
    INVARIANTS = {
        "order_lifecycle": "each order goes placed, paid, processing, shipped, in transit, out for delivery, "
                           "delivered, in that order and each once; a failed payment is retried once or "
                           "cancels the order; disputes follow delivery and refunds a dispute; the money adds up",
    }
    NAME = "order_lifecycle"

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        self.open: dict[str, _Order] = {}
        self.ended = IdSet()   # orders whose lifecycle is over: nothing may follow
        d = state.cs.orders.disputes
        # Where no dispute (or no refund) can follow, an order's story is over earlier: forget it then.
        self.last_type = E.ORDER_DELIVERED if d.rate == 0 else (E.DISPUTE_OPENED if d.refund == 0 else None)

    def routes(self):
        return {t: self.event for t in ORDER_TYPES}

    def bad(self, ev: Event, text: str) -> None:
        self.report(self.NAME, ev.seq, f"{ev.data['order']}: {text}")

    def amount(self, ev: Event, field: str) -> int:
        x = ev.data[field]
        if not whole_cents(x):
            self.bad(ev, f"{ev.type} {field} {x} is not a whole number of cents")
        return cents(x)

    def event(self, ev: Event) -> None:
        oid, t = ev.data["order"], ev.type
        o = self.open.get(oid)
        if t == E.ORDER_PLACED:
            if o is not None or oid in self.ended:
                return self.bad(ev, "placed twice")
            if not oid.startswith(f"{ev.shopper}-"):
                self.bad(ev, f"placed by {ev.shopper}, whose orders' ids start with {ev.shopper}-")
            self.open[oid] = _Order(ev.shopper, self.placed(ev))
            return
        if o is None:
            why = "after its lifecycle ended" if oid in self.ended else "without an order.placed before it"
            return self.bad(ev, f"{t} {why}")
        if ev.shopper != o.shopper:
            self.bad(ev, f"{t} for {ev.shopper}, but the order is {o.shopper}'s")
        if t in o.types:
            return self.bad(ev, f"{t} a second time")
        if t in STAGE:
            if STAGE[t] != o.stages:
                self.bad(ev, f"{t} after {o.types[-1]}: the lifecycle goes "
                             + " → ".join(s.split(".")[1] for s in ORDER_LIFECYCLE))
            o.stages = STAGE[t] + 1
        o.types.append(t)
        getattr(self, "on_" + t.replace(".", "_"), _nothing)(ev, o)
        if t == E.ORDER_CANCELLED or t == E.REFUND_ISSUED or t == self.last_type:
            del self.open[oid]
            self.ended.add(oid)

    def placed(self, ev: Event) -> int:
        d, cs = ev.data, self.state.cs
        subtotal = sum(cents(i["price"]) * i["qty"] for i in d["items"])
        sub, ship, disc, total = (self.amount(ev, f) for f in ("subtotal", "shipping", "discount", "total"))
        if sub != subtotal:
            self.bad(ev, f"subtotal {cents_text(sub)}, but its items add up to {cents_text(subtotal)}")
        if total != sub + ship - disc:
            self.bad(ev, f"total {cents_text(total)} is not subtotal {cents_text(sub)} + shipping {cents_text(ship)} "
                         f"- discount {cents_text(disc)}")
        if not 0 <= disc <= sub + ship:
            self.bad(ev, f"discount {cents_text(disc)} outside 0 to {cents_text(sub + ship)}")
        fee = 0 if sub >= cs.free_shipping_over else cs.shipping_fee
        if ship != fee:
            self.bad(ev, f"shipping {cents_text(ship)} on a subtotal of {cents_text(sub)}; the catalogue charges {cents_text(fee)} "
                         f"(free from {cents_text(cs.free_shipping_over)})")
        return total

    def on_payment_failed(self, ev: Event, o: _Order) -> None:
        if ev.data["attempt"] != 1 or o.types[:-1] != [E.ORDER_PLACED]:
            self.bad(ev, f"payment.failed (attempt {ev.data['attempt']}) after {o.types[-2]}: only the first "
                         "payment attempt, right after the order, can fail")
        o.failed_t = ev.t

    def on_payment_confirmed(self, ev: Event, o: _Order) -> None:
        retried = E.PAYMENT_FAILED in o.types
        want = 2 if retried else 1
        if ev.data["attempt"] != want:
            self.bad(ev, f"payment confirmed on attempt {ev.data['attempt']}, expected {want}")
        if not retried and o.types[:-1] != [E.ORDER_PLACED]:
            self.bad(ev, f"payment.confirmed after {o.types[-2]}")
        if E.ORDER_CANCELLED in o.types:
            self.bad(ev, "paid after it was cancelled")
        paid = self.amount(ev, "amount")
        if paid != o.total:
            self.bad(ev, f"payment.confirmed for {cents_text(paid)}, the order's total is {cents_text(o.total)}")

    def on_order_cancelled(self, ev: Event, o: _Order) -> None:
        if o.failed_t is None:
            self.bad(ev, "cancelled without a failed payment")
        elif ev.t <= o.failed_t:
            self.bad(ev, "cancelled at the instant its payment failed, not after")
        if E.PAYMENT_CONFIRMED in o.types:
            self.bad(ev, "cancelled though its payment was confirmed")

    def on_dispute_opened(self, ev: Event, o: _Order) -> None:
        if E.ORDER_DELIVERED not in o.types:
            self.bad(ev, f"dispute {ev.data['dispute']} opened before the order was delivered")
        o.dispute = ev.data["dispute"]

    def on_refund_issued(self, ev: Event, o: _Order) -> None:
        if E.PAYMENT_CONFIRMED not in o.types:
            self.bad(ev, "refunded though it was never paid")
        if o.dispute is None:
            self.bad(ev, "refunded without a dispute")
        elif ev.data["dispute"] != o.dispute:
            self.bad(ev, f"refund names dispute {ev.data['dispute']}, the order's is {o.dispute}")
        amount = self.amount(ev, "amount")
        if amount not in (o.total, o.total // 2) or amount <= 0:
            self.bad(ev, f"refund of {cents_text(amount)}: a refund is the total {cents_text(o.total)} or half of it")

    def _shipping(self, ev: Event, o: _Order) -> None:
        track = (ev.data["carrier"], ev.data["tracking"])
        if o.tracking is None:
            o.tracking = track
        elif track != o.tracking:
            self.bad(ev, f"{ev.type} with {track[0]} {track[1]}; it shipped with {o.tracking[0]} {o.tracking[1]}")

    on_order_shipped = on_shipment_in_transit = on_shipment_out_for_delivery = on_order_delivered = _shipping


def _nothing(ev: Event, o: Any) -> None:
    pass


class _Cart:
    __slots__ = ("shopper", "qty", "last", "last_t", "first")

    def __init__(self, shopper: str):
        self.shopper = shopper
        self.qty: dict[str, int] = {}
        self.last, self.last_t = E.CART_ITEM_ADDED, 0
        self.first: str | None = None   # its first abandonment reason


class Carts(Check):
    INVARIANTS = {
        "cart_lifecycle": "each cart starts with an item added, its items and value add up at current prices at "
                          "every step, and it ends once, ordered right after checkout or emptied, with "
                          "nothing after",
        "reasons_fit_the_cart": "a cart is abandoned for a reason that fits it: extra costs (or a total she could "
                                "not see) only when it pays shipping, checkout reasons only after checkout "
                                "started, and first_reason is the cart's first abandonment reason",
    }
    NAME = "cart_lifecycle"

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        self.open: dict[str, _Cart] = {}
        self.ended = IdSet()
        self.fee = state.cs.shipping_fee
        # Current prices: the catalogue's until a price drop changes them.
        self.price: dict[str, int] = {p.id: p.price_cents for p in state.cs.products}

    def routes(self):
        return {t: self.event for t in (E.CART_ITEM_ADDED, E.CHECKOUT_STARTED, E.CART_ABANDONED, E.CART_EMPTIED,
                                        E.ORDER_PLACED)} | {E.PRODUCT_PRICE_CHANGED: self.price_changed}

    def price_changed(self, ev: Event) -> None:
        self.price[ev.data["product"]] = cents(ev.data["price"])

    def bad(self, ev: Event, text: str) -> None:
        self.report(self.NAME, ev.seq, f"{ev.data['cart']}: {text}")

    def event(self, ev: Event) -> None:
        cid, t, d = ev.data["cart"], ev.type, ev.data
        c = self.open.get(cid)
        if c is None:
            if cid in self.ended:
                return self.bad(ev, f"{t} after the cart was ordered or emptied")
            if t != E.CART_ITEM_ADDED:
                return self.bad(ev, f"{t} for a cart that no item was added to")
            if not cid.startswith(f"{ev.shopper}-"):
                self.bad(ev, f"opened by {ev.shopper}, whose carts' ids start with {ev.shopper}-")
            c = self.open[cid] = _Cart(ev.shopper)
        elif ev.shopper != c.shopper:
            self.bad(ev, f"{t} by {ev.shopper}, but the cart is {c.shopper}'s")
        if t == E.CART_ITEM_ADDED:
            p = d["product"]
            now = self.price.get(p)
            if cents(d["price"]) != now:
                self.bad(ev, f"{p} added at {d['price']}; its price is {cents_text(now) if now is not None else 'unknown'}")
            c.qty[p] = c.qty.get(p, 0) + d["qty"]
        if t in (E.CART_ITEM_ADDED, E.CHECKOUT_STARTED, E.CART_ABANDONED):
            self.totals(ev, c)
        if t == E.CART_ABANDONED:
            self.fits(ev, c)
        elif t == E.ORDER_PLACED:
            if c.last != E.CHECKOUT_STARTED or c.last_t > ev.t:
                self.bad(ev, f"ordered as {d['order']} after {c.last}, without checkout.started just before")
            items = {i["product"]: i["qty"] for i in d["items"]}
            if items != c.qty:
                self.bad(ev, f"{d['order']} has {_items(items)}; the cart holds {_items(c.qty)}")
            for i in d["items"]:
                if cents(i["price"]) != self.price.get(i["product"]):
                    self.bad(ev, f"{d['order']} charges {i['price']} for {i['product']}; its price is "
                                 f"{cents_text(self.price.get(i['product'], 0))}")
        c.last, c.last_t = t, ev.t
        if t in (E.ORDER_PLACED, E.CART_EMPTIED):
            del self.open[cid]
            self.ended.add(cid)

    def fits(self, ev: Event, c: _Cart) -> None:
        d, n = ev.data, "reasons_fit_the_cart"
        reason, shipping = d["reason"], cents(d.get("shipping", 0))
        if shipping not in (0, self.fee):
            self.report(n, ev.seq, f"{d['cart']}: abandoned paying {d.get('shipping')} shipping; the fee is "
                                   f"{cents_text(self.fee)} or nothing")
        if reason in EXTRA_COST_REASONS and shipping == 0:
            self.report(n, ev.seq, f"{d['cart']}: abandoned for {reason}, but it paid no shipping")
        checkout = d.get("stage") == "checkout"
        if checkout != (reason not in BROWSE_STAGE_REASONS) or (checkout and c.last != E.CHECKOUT_STARTED):
            self.report(n, ev.seq, f"{d['cart']}: abandoned at stage {d.get('stage')} for {reason} after {c.last}")
        c.first = c.first or reason
        if d.get("first_reason") != c.first:
            self.report(n, ev.seq, f"{d['cart']}: first_reason {d.get('first_reason')}; its first abandonment was "
                                   f"for {c.first}")

    def totals(self, ev: Event, c: _Cart) -> None:
        d = ev.data
        items = sum(c.qty.values())
        value = sum(self.price.get(p, 0) * q for p, q in c.qty.items())
        if d["items"] != items or cents(d["value"]) != value:
            self.bad(ev, f"{ev.type} says {d['items']} items worth {d['value']}; the cart holds {items} worth "
                         f"{cents_text(value)}")


def _items(qty: dict[str, int]) -> str:
    return ", ".join(f"{q} × {p}" for p, q in sorted(qty.items())) or "nothing"
