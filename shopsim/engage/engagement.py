"""How shoppers respond to what they receive: open, click, dismiss, unsubscribe, complain, come back and buy.

Each delivered message draws its response from its own random stream (seed, notification id), so a
shopper's response to one message never depends on how many others were sent.

- Fatigue is a load that grows by one with each marketing message delivered and halves with every
  `fatigue.half_life` of quiet. Over `fatigue.free` it lowers opens and clicks towards a floor (never to
  zero: some messages always get read) and raises unsubscribes and complaints.
- Some shoppers leave without opening: the unsubscribe button of their mail app, push turned off in the
  phone's settings, a spam complaint.
- A privacy proxy (Apple Mail Privacy Protection) opens every email it fetches: a machine open
  (`source: proxy`) that email platforms count as an open; the shopper's own open, if she reads it, is
  another line.
- A click may bring the shopper back to the shop at once; the click is remembered for attribution
  (`order.placed.attributed_to`). A click on a cart reminder brings her back to her cart; how likely she
  clicks and then buys follows the cart's purchase intent, which decays after she left it (sim/commerce.py).
- Reading a message that carries a coupon (opening it herself, or clicking it) lets her use the coupon.
"""

from __future__ import annotations

from math import exp
from typing import TYPE_CHECKING

from shopsim.contract.ids import index_of
from shopsim.contract.taxonomy import CART_REMINDERS, CATEGORY_CLASS, MARKETING, MARKETING_CATEGORIES
from shopsim.contract import events as E
from shopsim.contract.clock import HOUR
from shopsim.contract.rng import stream

if TYPE_CHECKING:
    from shopsim.marketing.coupons import Coupons
    from shopsim.notify.notifier import Notifier
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.commerce import Commerce
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.settings_change import SettingsChanges
    from shopsim.contract.events import Event
    from shopsim.sim.population import Shopper

PROXY_FETCH_MS = (1_000, 60_000)  # a proxy fetches a delivered email within seconds to a minute
SEEN_LATER = ("email", "in_app")  # channels that wait to be read; push and SMS are seen (or not) as they arrive
QUIET_FACTOR = 0.5                # an hour whose open factor is below this is part of her night


class Engagement:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, commerce: Commerce, coupons: Coupons, notify: Notifier,
                 settings: SettingsChanges):
        self.kernel = kernel
        self.cs = cs
        self.commerce, self.coupons, self.notify, self.settings = commerce, coupons, notify, settings
        self.m = cs.model.engagement
        self.k_open = kernel.register(self._open)
        self.k_click = kernel.register(self._click)
        self.k_dismiss = kernel.register(self._dismiss)
        self.k_proxy = kernel.register(self._proxy_open)
        self.k_leave = kernel.register(self._leave)
        if self.m.enabled:
            kernel.on(E.NOTIFICATION_DELIVERED, self._delivered)

    def load(self, sh: Shopper, now: int) -> float:
        """Her marketing load now: messages delivered, each worth less the longer ago it came."""
        if sh.fatigue <= 0.0:
            return 0.0
        return sh.fatigue * 0.5 ** ((now - sh.fatigue_t) / self.cs.fatigue_half_life)

    def fatigue_factor(self, sh: Shopper, now: int) -> float:
        """Multiplies her rested open and click chances: 1 when rested, towards `floor` when saturated."""
        f = self.m.fatigue
        excess = max(0.0, self.load(sh, now) - f.free)
        return f.floor + (1.0 - f.floor) * exp(-f.per_message * excess)

    def _delivered(self, ev: Event) -> None:
        d = ev.data
        k = self.kernel
        sh = k.shoppers[index_of(ev.shopper)]
        category, channel, now, nid = d["category"], d["channel"], k.now, d["id"]
        m = self.m
        marketing = category == "digest" or CATEGORY_CLASS[category] == MARKETING
        factor, growth = 1.0, 1.0
        if marketing:
            sh.fatigue = self.load(sh, now) + 1.0  # this message counts
            sh.fatigue_t = now
            excess = max(0.0, sh.fatigue - m.fatigue.free)
            factor = m.fatigue.floor + (1.0 - m.fatigue.floor) * exp(-m.fatigue.per_message * excess)
            growth = 1.0 + m.fatigue.unsubscribe_growth * excess
        # Every response is drawn now, from the message's own stream; the queue then holds small tuples,
        # not generators (a broadcast to 100k shoppers leaves 100k responses waiting).
        rng = stream(self.cs.seed, nid, "engage")
        if channel == "email" and sh.mail_proxy:
            lo, hi = PROXY_FETCH_MS
            k.schedule(now + lo + int(rng.random() * (hi - lo)), self.k_proxy, sh.index, (nid, category, channel))
        at = now + self.cs.open_delay(rng)
        if marketing:
            r = rng.random()
            complaint = m.complaint * growth if channel == "email" else 0.0
            unopened = getattr(m.unsubscribe_unopened, channel, 0.0) * growth
            if r < complaint:
                return k.schedule(at, self.k_leave, sh.index, (nid, category, channel, "complaint"))
            if r < complaint + unopened:
                method = "os_settings" if channel == "push" else "list_unsubscribe"
                return k.schedule(at, self.k_leave, sh.index, (nid, category, channel, method))
        hours, hour = m.by_local_hour, sh.clock.hour
        if channel in SEEN_LATER:
            # Mail and the message centre wait: what arrives in her night is read, if at all, in the morning.
            for _ in range(12):
                if hours[hour(at)] >= QUIET_FACTOR:
                    break
                at += HOUR
        segment = m.segments.get(sh.segment.name, 1.0)
        p_open = getattr(m.open, channel) * hours[hour(at if channel in SEEN_LATER else now)] * segment * factor
        if rng.random() >= p_open:
            if channel == "push":
                k.schedule(at, self.k_dismiss, sh.index, (nid, category, channel))
            return
        p_click = getattr(m.click, channel) * segment * factor
        codes = [d["coupon"]] if d.get("coupon") is not None else d.get("coupons") or []
        if codes:
            p_click *= m.incentive_factor
        if category == CART_REMINDERS:  # a fresher cart draws more clicks
            w = self.cs.click_weight
            p_click *= (1.0 - w) + w * self.commerce.intent(sh)
        then = None
        if rng.random() < p_click:
            then = ("click", self.cs.click_delay(rng), rng.random() < m.recovery.visit)
        elif marketing and rng.random() < getattr(m.unsubscribe, channel) * growth:
            then = ("unsubscribe",)
        k.schedule(at, self.k_open, sh.index, (nid, category, channel, marketing, then, tuple(codes)))

    def _proxy_open(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel = payload
        # The sender sees an open; nobody read anything: the inbox stays unread and no coupon becomes known.
        self.kernel.emit(E.NOTIFICATION_OPENED, sh.id, {"id": nid, "category": category, "channel": channel,
                                                     "source": "proxy"})

    def _dismiss(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel = payload
        self.kernel.emit(E.NOTIFICATION_DISMISSED, sh.id, {"id": nid, "category": category, "channel": channel})

    def _open(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel, marketing, then, codes = payload
        self.notify.open(nid, sh, category, channel, "shopper")
        for code in codes:
            self.coupons.mark_seen(sh, code, "in_app" if channel == "in_app" else "opened")
        if then is None:
            return
        if then[0] == "click":
            _, delay, comes_back = then
            self.kernel.schedule(self.kernel.now + delay, self.k_click, sh.index,
                              (nid, category, channel, marketing, comes_back, codes))
        else:
            self._unsubscribe(sh, nid, category, channel, "link")

    def _leave(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel, method = payload
        if method == "complaint":
            if not any(_on(sh, c, "email") for c in MARKETING_CATEGORIES):
                return  # nothing left to stop: she no longer gets marketing email
            # A spam complaint: the sender stops all marketing email to her.
            self.kernel.emit(E.NOTIFICATION_COMPLAINED, sh.id, {"id": nid, "category": category, "channel": channel})
            self.settings.change(sh, {"categories": {c: {"email": False} for c in MARKETING_CATEGORIES}}, "unsubscribe")
        elif method == "os_settings":
            if not sh.settings.get("push_os_permission"):
                return  # already off
            self.kernel.emit(E.NOTIFICATION_UNSUBSCRIBED, sh.id, {"id": nid, "category": category, "channel": channel,
                                                               "method": method})
            self.settings.change(sh, {"push_os_permission": False}, "os_settings")
        else:
            self._unsubscribe(sh, nid, category, channel, method)

    def _unsubscribe(self, sh: Shopper, nid: str, category: str, channel: str, method: str) -> None:
        cats = MARKETING_CATEGORIES if category == "digest" else (category,)
        if not any(_on(sh, c, channel) for c in cats):
            return  # she already left this list (through another message meanwhile)
        self.kernel.emit(E.NOTIFICATION_UNSUBSCRIBED, sh.id, {"id": nid, "category": category, "channel": channel,
                                                           "method": method})
        # The message's own footer link: this category on this channel (a digest's: all it can carry).
        self.settings.change(sh, {"categories": {c: {channel: False} for c in cats}}, "unsubscribe")

    def _click(self, sh: Shopper, payload: tuple) -> None:
        nid, category, channel, marketing, comes_back, codes = payload
        self.kernel.emit(E.NOTIFICATION_CLICKED, sh.id, {"id": nid, "category": category, "channel": channel})
        for code in codes:
            self.coupons.mark_seen(sh, code, "clicked")
        self.visit_from_click(sh, nid, category == "cart_reminders", comes_back, attribute=marketing)

    def visit_from_click(self, sh: Shopper, ref: str, to_cart: bool, comes_back: bool, attribute: bool = True) -> None:
        """A click (on a message or an ad) may bring the shopper back now (`comes_back`, drawn by the caller
        with chance `recovery.visit`); a cart reminder, to her cart. Marketing clicks and ad clicks are
        remembered for attribution; order and shipping updates are not."""
        if attribute:
            sh.last_click = (ref, self.kernel.now)
        if not comes_back or sh.session is not None or sh.cart_state == "checkout":
            return  # not now, or she is already in the shop: the click changes nothing about this visit
        r = self.m.recovery
        if to_cart and sh.cart is not None:
            factor = r.abandon_factor
            if sh.coupons and self.coupons.usable(sh):
                factor *= r.incentive_factor
            sh.boost = (factor, r.resume_cart)
        self.commerce.start_visit(sh, f"click:{ref}", stream(self.cs.seed, ref, "visit"))


def _on(sh: Shopper, category: str, channel: str) -> bool:
    """Whether the category is switched on for the channel in her settings (not whether it can reach her)."""
    return sh.settings["categories"][category][channel] is not False
