"""How shoppers respond to what they receive: open, click, dismiss, unsubscribe, come back and buy.

Each delivered message draws its response from its own random stream (seed, notification id), so a
shopper's response to one message never depends on how many others were sent. Marketing fatigue (many
recent marketing messages) lowers opens and clicks and raises unsubscribes. A click may bring the
shopper back to the shop at once; the click is remembered for attribution (`order.placed.attributed_to`),
and a click on a cart reminder brings her back to her cart, less likely to abandon it again, even less
with a valid coupon. Unsubscribing goes through `Simulation.apply_settings_change` (source unsubscribe).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from shopsim.scenario.taxonomy import CATEGORY_CLASS, MARKETING
from shopsim.sim import events as E
from shopsim.sim.rng import stream

if TYPE_CHECKING:
    from shopsim.sim.engine import Simulation
    from shopsim.sim.events import Event
    from shopsim.sim.population import Shopper


class Engagement:
    def __init__(self, sim: Simulation):
        self.sim = sim
        self.cs = cs = sim.scenario
        self.m = cs.model.engagement
        self.k_open = sim.register(self._open)
        self.k_click = sim.register(self._click)
        self.k_dismiss = sim.register(self._dismiss)
        if self.m.enabled:
            sim.on(E.NOTIFICATION_DELIVERED, self._delivered)

    def fatigue(self, sh: Shopper, now: int) -> int:
        """Marketing messages delivered to the shopper in the fatigue window, over the free allowance."""
        times = sh.seen_marketing
        if not times:
            return 0
        recent = len(times) - bisect_right(times, now - self.cs.fatigue_window)
        return max(0, recent - self.m.fatigue.free)

    def _delivered(self, ev: Event) -> None:
        d = ev.data
        sh = self.sim.shoppers[int(ev.shopper[1:]) - 1]
        category, channel, now = d["category"], d["channel"], self.sim.now
        marketing = category == "digest" or CATEGORY_CLASS[category] == MARKETING
        if marketing:
            times = sh.seen_marketing
            if times is None:
                times = sh.seen_marketing = []
            times.append(now)
            cut = bisect_right(times, now - self.cs.fatigue_window)
            if cut:
                del times[:cut]
        m = self.m
        # Every response is drawn now, from the message's own stream; the queue then holds small tuples,
        # not generators (a broadcast to 100k shoppers leaves 100k responses waiting).
        rng = stream(self.cs.seed, d["id"], "engage")
        over = self.fatigue(sh, now) if marketing else 0
        segment = m.segments.get(sh.segment.name, 1.0)
        p_open = getattr(m.open, channel) * m.by_local_hour[sh.clock.hour(now)] * segment * m.fatigue.open_factor ** over
        opened = rng.random() < p_open
        at = now + self.cs.open_delay(rng)
        if not opened:
            if channel == "push":
                self.sim.schedule(at, self.k_dismiss, sh.index, (d["id"], category, channel))
            return
        p_click = getattr(m.click, channel) * segment * m.fatigue.open_factor ** over
        if d.get("coupon") is not None:
            p_click *= m.incentive_factor
        then = None
        if rng.random() < p_click:
            then = ("click", self.cs.click_delay(rng), rng.random() < m.recovery.visit)
        elif marketing and rng.random() < getattr(m.unsubscribe, channel) * m.fatigue.unsubscribe_factor ** over:
            then = ("unsubscribe",)
        self.sim.schedule(at, self.k_open, sh.index, (d["id"], category, channel, marketing, then))

    def _dismiss(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel = payload
        self.sim.emit(E.NOTIFICATION_DISMISSED, sh.id, {"id": nid, "category": category, "channel": channel})

    def _open(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel, marketing, then = payload
        self.sim.open_message(nid, sh, category, channel, source="shopper")
        if then is None:
            return
        if then[0] == "click":
            _, delay, comes_back = then
            self.sim.schedule(self.sim.now + delay, self.k_click, sh.index,
                              (nid, category, channel, marketing, comes_back))
        else:
            self._unsubscribe(sh, nid, category, channel)

    def _unsubscribe(self, sh: Shopper, nid: str, category: str, channel: str) -> None:
        self.sim.emit(E.NOTIFICATION_UNSUBSCRIBED, sh.id, {"id": nid, "category": category, "channel": channel})
        # The message's own footer link: this category on this channel (a digest's: all it can carry).
        cats = [c for c, k in CATEGORY_CLASS.items() if k == MARKETING] if category == "digest" else [category]
        self.sim.apply_settings_change(sh.id, {"categories": {c: {channel: False} for c in cats}}, source="unsubscribe")

    def _click(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel, marketing, comes_back = payload
        self.sim.emit(E.NOTIFICATION_CLICKED, sh.id, {"id": nid, "category": category, "channel": channel})
        self.visit_from_click(sh, nid, category == "cart_reminders", comes_back, attribute=marketing)

    def visit_from_click(self, sh: Shopper, ref: str, to_cart: bool, comes_back: bool, attribute: bool = True) -> None:
        """A click (on a message or an ad) may bring the shopper back now (`comes_back`, drawn by the caller
        with chance `recovery.visit`); a cart reminder, to her cart. Marketing clicks and ad clicks are
        remembered for attribution; order and shipping updates are not."""
        if attribute:
            sh.last_click = (ref, self.sim.now)
        if not comes_back or sh.session is not None or sh.cart_state == "checkout":
            return  # not now, or she is already in the shop: the click changes nothing about this visit
        r = self.m.recovery
        if to_cart and sh.cart is not None:
            factor = r.abandon_factor
            if sh.coupons and any(c.state == "issued" and c.expires > self.sim.now for c in sh.coupons):
                factor *= r.incentive_factor
            sh.boost = (factor, r.resume_cart)
        self.sim.commerce.start_visit(sh, f"click:{ref}", stream(self.cs.seed, ref, "visit"))
