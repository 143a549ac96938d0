"""Shopper behaviour: visits by local hour and device, product views, carts, checkout and abandonment.

A visit is a chain of queue items, one per product view; a cart decision at the end of the visit either
starts checkout (an order minutes later) or abandons the cart for a reason. Abandonment is recorded when
the platform would notice it, after `detect_after` of inactivity, and a new visit in between voids it.

Reasons compete (docs/sources.md, "Reasons for abandonment"): each fits some carts (extra costs need a
cost added at checkout), the chance to abandon is the scenario's rate times the share of the full hazard
that fits this cart on this device, and the reason is drawn among those that fit. An abandoned cart keeps
a purchase intent that halves every half-life: it sets how likely she comes back to it on her own and how
likely a reminder's click ends in an order, which is why a reminder sent sooner recovers more.

Randomness comes from one stream per visit: organic visit k draws the time of visit k+1 first, then its
own views and decisions. So organic visit times never depend on what happened in a visit (common random
numbers across policies), and no generator state is kept between visits.
"""

from __future__ import annotations

from bisect import bisect
from math import exp, log
from heapq import heappush
from typing import TYPE_CHECKING, Protocol

from shopsim.scenario.compiled import abandon_probability
from shopsim.contract import events as E
from shopsim.contract.money import amount
from shopsim.sim.kernel import PRIO_NORMAL, PRIO_SHIFT, SEQ_BITS, T_SHIFT
from shopsim.sim.population import Visit
from shopsim.contract.rng import cumulative, stream

if TYPE_CHECKING:
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.orders import Orders
    from shopsim.sim.population import Shopper


_NORMAL = PRIO_NORMAL << PRIO_SHIFT


class BrowseFlows(Protocol):
    def browse_abandoned(self, sh: Shopper, session: str, viewed: list[int]) -> None: ...


class ShippingCoupons(Protocol):
    def covers_shipping(self, sh: Shopper, subtotal: int) -> bool: ...


class Commerce:
    def __init__(self, kernel: Kernel, cs: CompiledScenario):
        self.kernel = kernel
        self.cs = cs
        self.prices: dict[int, int] = {}  # product index -> price in cents, where a price drop changed it
        self.k_arrival = kernel.register(self._arrival)
        self.k_step = kernel.register(self._step)
        self.k_abandon = kernel.register(self._abandon)
        self.k_place = kernel.register(self._place)
        self.flows: BrowseFlows | None = None
        self.coupons: ShippingCoupons | None = None
        self.orders: Orders | None = None
        self.track_views = False  # set by flows that start on a visit without a cart (browse abandonment)
        self.keep_views = False   # set by campaigns that need each shopper's recent views

    def wire(self, *, flows: BrowseFlows, coupons: ShippingCoupons, orders: Orders) -> None:
        """The collaborators built after commerce: browse abandonment, shipping coupons, placing orders."""
        self.flows, self.coupons, self.orders = flows, coupons, orders

    # --- visits -----------------------------------------------------------------------------------

    def start(self, sh: Shopper) -> None:
        t = self._next_arrival(sh, stream(self.cs.seed, sh.id, "arrival-0"), 0)
        if t is not None:
            self.kernel.schedule(t, self.k_arrival, sh.index, 1)

    def _next_arrival(self, sh: Shopper, rng, t: int) -> int | None:
        # Thinning: a Poisson process at the busiest hour's rate, kept with probability weight/max weight.
        rate, end = sh.segment.arrival_rate, self.kernel.end
        if rate <= 0:  # a rate so small that it rounded to nothing (per_day times activity under 1e-308)
            return None
        weights, wmax, hour = self.cs.hour_weights, self.cs.hour_max, sh.clock.hour
        random = rng.random
        while True:
            gap = -log(1.0 - random()) / rate  # rng.expovariate(rate), the same draw without its call
            if t + gap > end:  # gap may be inf for a vanishing rate: compare before int()
                return None
            t += int(gap) + 1
            if random() * wmax < weights[hour(t)]:
                return t

    def _arrival(self, sh: Shopper, k: int) -> None:
        rng = stream(self.cs.seed, sh.id, f"arrival-{k}")
        nxt = self._next_arrival(sh, rng, self.kernel.now)
        if nxt is not None:
            self.kernel.schedule(nxt, self.k_arrival, sh.index, k + 1)
        self.start_visit(sh, "organic", rng)

    def start_visit(self, sh: Shopper, source: str, rng=None) -> bool:
        """Start a visit now unless one is under way or the shopper is paying. Returns whether it started."""
        if sh.session is not None or sh.cart_state == "checkout":
            return False
        sh.session_n += 1
        if rng is None:
            rng = stream(self.cs.seed, sh.id, f"{source}-{sh.session_n}")
        sh.rng = rng
        sid = f"{sh.id}-v{sh.session_n}"
        cs = self.cs
        u = rng.random()  # one draw picks the device, so a device's share never shifts the visit's other draws
        if sh.has_app and u < cs.app_share:
            device = "app"
        else:
            if sh.has_app:
                u = (u - cs.app_share) / (1.0 - cs.app_share)
            device = cs.web_devices[min(len(cs.web_devices) - 1, bisect(cs.web_cum, u * cs.web_cum[-1]))]
        sh.device = device
        self.kernel.emit(E.SESSION_STARTED, sh.id, {"session": sid, "device": device, "source": source})
        touched = False
        boost = sh.boost
        if sh.cart is not None:
            sh.cart_token += 1  # the shopper is back: a pending abandonment no longer holds
            if boost is not None:  # back from a cart reminder: straight to the cart
                touched = rng.random() < boost[1]
            elif sh.cart_state == "abandoned" and rng.random() < cs.clear_cart:
                self.kernel.emit(E.CART_EMPTIED, sh.id, {"cart": sh.cart_id, "reason": "shopper"})
                self._reset_cart(sh)
            else:
                # On her own she goes back to a cart she left as often as its intent still holds.
                touched = sh.cart_state == "open" or rng.random() < cs.resume_cart * self.intent(sh)
        if not touched:
            sh.boost = None
        views = max(1, round(sh.segment.views(rng)))
        # The first view happens now: one more than the views left, stepped at once.
        sh.session = Visit(sid, views + 1, touched, [] if self.track_views else None)
        self._step(sh, sid)
        return True

    def _step(self, sh: Shopper, sid: str) -> None:
        # The engine's hottest handler: most events are product views. heappush is called directly.
        s = sh.session
        if s is None or s.id != sid:
            return
        if s.pending is not None:
            self._add(sh, s.pending)
            s.pending = None
            s.touched = True
        s.left -= 1
        if s.left <= 0:
            sh.session = None
            if s.touched and sh.cart:
                self._decide(sh)
            elif s.viewed and not s.touched:
                self.flows.browse_abandoned(sh, sid, s.viewed)
            sh.rng = None  # the visit's stream ends with the visit
            return
        cs, k, prices = self.cs, self.kernel, self.prices
        rng = sh.rng
        random = rng.random
        favourites = sh.favourites
        if favourites and random() < cs.favourite_share:
            ix, cum = cs.category_products[favourites[int(random() * len(favourites))]]
            p = cs.products[ix[min(len(ix) - 1, bisect(cum, random() * cum[-1]))]]
        else:
            cum = cs.product_cum
            p = cs.products[min(len(cum) - 1, bisect(cum, random() * cum[-1]))]
        pidx = p.index
        k.emit(E.PRODUCT_VIEWED, sh.id, {"session": sid, "product": p.id, "category": p.category,
                                           "price": amount(prices[pidx]) if prices and pidx in prices else p.price})
        if s.viewed is not None:
            s.viewed.append(pidx)
        if self.keep_views:
            viewed = sh.viewed
            if viewed is None:
                viewed = sh.viewed = []
            viewed.append(pidx)
            if len(viewed) > 12:
                del viewed[0]
        if random() < sh.segment.add_to_cart:
            s.pending = pidx
        t = k.now + cs.view_time(rng)
        if t <= k.end:
            k._qseq = qseq = k._qseq + 1
            key = (t << T_SHIFT) | _NORMAL | ((sh.index + 1) << SEQ_BITS) | qseq  # kernel.key(), inlined
            heappush(k._queue, key)
            k._items[key] = (self.k_step, sh.index, sid)

    # --- carts ------------------------------------------------------------------------------------

    def _add(self, sh: Shopper, pidx: int) -> None:
        if sh.cart is None:
            sh.cart_n += 1
            sh.cart_id = f"{sh.id}-c{sh.cart_n}"
            sh.cart = {}
            sh.cart_device = sh.device
        sh.cart[pidx] = sh.cart.get(pidx, 0) + 1
        sh.cart_state = "open"
        p = self.cs.products[pidx]
        self.kernel.emit(E.CART_ITEM_ADDED, sh.id, {
            "cart": sh.cart_id, "product": p.id, "price": amount(self.price(pidx)), "qty": 1,
            "items": sum(sh.cart.values()), "value": amount(self.cart_value(sh)), "device": sh.device,
        })

    def cart_context(self, sh: Shopper) -> dict | None:
        """The shopper's cart as message templates show it."""
        if not sh.cart:
            return None
        products = self.cs.products
        items = [{"name": products[i].name, "qty": q, "price": amount(self.price(i))}
                 for i, q in sh.cart.items()]
        return {"id": sh.cart_id, "items": items, "item_count": sum(sh.cart.values()),
                "first_item": items[0]["name"], "value": amount(self.cart_value(sh))}

    def cart_value(self, sh: Shopper) -> int:
        cart = sh.cart
        if not cart:
            return 0
        products, prices = self.cs.products, self.prices
        total = 0
        for i, q in cart.items():  # a loop, not sum() over a generator: asked at every cart step
            total += (prices[i] if prices and i in prices else products[i].price_cents) * q
        return total

    def price(self, index: int) -> int:
        """A product's price now, in cents: the catalogue's, unless a price drop changed it."""
        return self.prices.get(index, self.cs.products[index].price_cents)

    def intent(self, sh: Shopper) -> float:
        """The share of her purchase intent her cart still holds now (1 for a cart she never left)."""
        if sh.cart_aband_n == 0 or sh.cart_hl <= 0:
            return 1.0  # never left: adding to a cart she left does not renew it
        return 0.5 ** ((self.kernel.now - sh.cart_left) / sh.cart_hl)

    def _reset_cart(self, sh: Shopper) -> None:
        sh.cart, sh.cart_id, sh.cart_state = None, None, None
        sh.cart_device = sh.cart_reason1 = sh.cart_reason = None
        sh.cart_left = sh.cart_hl = sh.cart_aband_n = sh.cart_answered = 0
        sh.cart_token += 1

    def _decide(self, sh: Shopper) -> None:
        cs, rng, k = self.cs, sh.rng, self.kernel
        dev = cs.devices[sh.device]
        # A reason must fit the cart: the extra-cost reasons need a cost added at checkout.
        value = self.cart_value(sh)
        shipping = cs.shipping_fee if value < cs.free_shipping_over else 0
        if shipping and sh.coupons and self.coupons.covers_shipping(sh, value):
            shipping = 0  # a free-shipping coupon she can use takes the surprise away
        boost = sh.boost
        abandon_p, table = abandon_probability(cs, sh.segment, sh.device, shipping > 0,
                                               boost[0] if boost is not None else 1.0)
        if boost is not None:  # a reminder brought her back: less likely to leave, but she completes only
            sh.boost = None    # as far as the cart's purchase intent still holds
            abandon_p = 1.0 - (1.0 - abandon_p) * self.intent(sh)
        sh.cart_token += 1
        token = sh.cart_token
        if rng.random() < abandon_p:
            if table.reasons:
                reason = table.reasons[min(len(table.reasons) - 1, bisect(table.cum, rng.random() * table.cum[-1]))]
            else:  # no reason fits (all were extra costs, now shipped free): only a faded intent leaves it, and
                reason = "just_browsing"  # she leaves before checkout because she no longer wants the cart
            if reason in cs.browse_reasons:
                sh.cart_state = "open"
                k.schedule(k.now + cs.detect_after, self.k_abandon, sh.index, (token, reason, "cart", sh.device, shipping))
            else:
                self._checkout(sh)
                left = k.now + int(cs.checkout_time(rng) * dev.checkout_time) + cs.detect_after
                k.schedule(left, self.k_abandon, sh.index, (token, reason, "checkout", sh.device, shipping))
        else:
            self._checkout(sh)
            k.schedule(k.now + int(cs.checkout_time(rng) * dev.checkout_time), self.k_place, sh.index, token)

    def _checkout(self, sh: Shopper) -> None:
        sh.cart_state = "checkout"
        self.kernel.emit(E.CHECKOUT_STARTED, sh.id, {"cart": sh.cart_id, "items": sum(sh.cart.values()),
                                                  "value": amount(self.cart_value(sh)), "device": sh.device})

    def _abandon(self, sh: Shopper, payload) -> None:
        token, reason, stage, device, shipping = payload  # shipping: what the cart paid as she left it
        if token != sh.cart_token:
            return
        cs = self.cs
        sh.cart_state = "abandoned"
        sh.cart_left = self.kernel.now
        sh.cart_aband_n += 1
        # Shoppers differ: each abandoned cart draws its own half-life around the segment's and the reason's,
        # so intent fades fast for most carts and lingers for a few (a reminder days later still wins some).
        spread = cs.intent_spread
        jitter = exp(spread * stream(cs.seed, f"{sh.cart_id}-{sh.cart_aband_n}", "intent").gauss(0.0, 1.0)) \
            if spread > 0 else 1.0
        sh.cart_hl = max(1, round(sh.segment.half_life * cs.intent_factor.get(reason, 1.0) * jitter))
        if sh.cart_reason1 is None:
            sh.cart_reason1 = reason
        sh.cart_reason = reason
        self.kernel.emit(E.CART_ABANDONED, sh.id, {"cart": sh.cart_id, "reason": reason, "first_reason": sh.cart_reason1,
                                                "stage": stage, "device": device, "items": sum(sh.cart.values()),
                                                "value": amount(self.cart_value(sh)), "shipping": amount(shipping)})
        survey = cs.survey
        if survey is not None and survey.on_site and stage in survey.stages:
            self.survey(sh, "on_site")

    def survey(self, sh: Shopper, channel: str, asked_by: str = "on_site") -> None:
        """Ask her why she left her cart (`asked_by`: the prompt, or the message that asks): she may answer,
        once per abandonment (response rate and bias), and not always truly."""
        survey = self.cs.survey
        if survey is None or sh.cart_reason is None or sh.cart_answered == sh.cart_aband_n:
            return
        real = sh.cart_reason
        # Each asking draws on its own: two survey emails about one abandonment are two chances to answer.
        rng = stream(self.cs.seed, f"{sh.cart_id}-{sh.cart_aband_n}-{asked_by}", "survey")
        if rng.random() >= survey.response_rate * survey.response_bias.get(real, 1.0):
            return
        answer = real
        if rng.random() < survey.misreport and survey.misreport_to:
            names, weights = list(survey.misreport_to), cumulative(survey.misreport_to.values())
            answer = names[min(len(names) - 1, bisect(weights, rng.random() * weights[-1]))]
        sh.cart_answered = sh.cart_aband_n
        self.kernel.emit(E.SURVEY_ANSWERED, sh.id, {"cart": sh.cart_id, "answer": answer, "channel": channel})

    def _place(self, sh: Shopper, token: int) -> None:
        if token != sh.cart_token:
            return
        items = [(self.cs.products[i], q) for i, q in sh.cart.items()]
        cart_id = sh.cart_id
        self._reset_cart(sh)
        self.orders.place(sh, cart_id, items)

