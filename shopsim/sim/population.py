"""Shoppers: identity, traits, settings and the per-shopper state the engine mutates."""

from __future__ import annotations

import gc
import random
from bisect import bisect
from typing import Any, Sequence

from shopsim.contract.ids import shopper_id
from shopsim.scenario.compiled import CompiledScenario, SegmentDef
from shopsim.contract.clock import HOUR, LocalClock
from shopsim.sim.identity import make_identity, pools
from shopsim.contract.rng import stream


class Visit:
    """A visit under way: one product view per queue item until `left` runs out."""

    __slots__ = ("id", "left", "pending", "touched", "viewed")

    def __init__(self, vid: str, left: int, touched: bool, viewed: list[int] | None):
        self.id = vid
        self.left = left          # views still to come, this one included
        self.pending: int | None = None  # the product she adds to her cart at the next view (index)
        self.touched = touched    # she added to or went back to her cart in this visit
        self.viewed = viewed      # product indexes viewed, kept when a browse flow or ads may need them


class Shopper:
    __slots__ = (
        "index", "id", "name", "email", "phone", "city", "locale", "country", "tz", "clock", "segment",
        "platform", "has_app", "email_verified", "settings", "rng", "favourites", "first_name", "notes",
        "cart", "cart_id", "cart_n", "cart_token", "cart_state", "session", "session_n", "order_n",
        "coupons", "coupon_n", "last_click", "boost", "flows", "fatigue", "fatigue_t", "viewed", "mail_proxy",
        "device", "cart_device", "cart_reason1", "cart_reason", "cart_left", "cart_hl", "cart_aband_n",
        "cart_answered",
    )

    def __init__(self) -> None:
        self.cart: dict[int, int] | None = None   # product index -> quantity
        self.cart_id: str | None = None
        self.cart_n = 0
        self.cart_token = 0                       # bumped on every cart state change: voids pending timers
        self.cart_state: str | None = None        # open, checkout, abandoned
        self.session: Visit | None = None         # the visit under way (sim/commerce.py)
        self.session_n = 0
        self.order_n = 0
        self.rng = None                           # the current visit's random stream (commerce.py)
        self.notes = None                         # notification state, made on first use (notify/state.py)
        self.coupons = None                       # coupons held (marketing/coupons.py)
        self.coupon_n = 0
        self.last_click = None                    # (notification or ad id, virtual time) of the last click
        self.boost = None                         # (abandon factor, source) for a visit a click brought about
        self.flows = None                         # running flows by name (marketing/flows.py)
        self.fatigue = 0.0                        # marketing load, decaying with quiet time (engage/engagement.py)
        self.fatigue_t = 0                        # when the load was last brought up to date
        self.viewed = None                        # recent product views, when campaigns need them
        self.mail_proxy = False                   # her mail app fetches every email through a privacy proxy
        self.device: str | None = None            # the device of her current or last visit
        self.cart_device: str | None = None       # the device the cart was created on
        self.cart_reason1: str | None = None      # the cart's first abandonment reason
        self.cart_reason: str | None = None       # its latest abandonment reason
        self.cart_left = 0                        # when she last left it (ms): its intent decays from then
        self.cart_hl = 0                          # the half-life of its intent (ms)
        self.cart_aband_n = 0                     # how many times it was abandoned
        self.cart_answered = 0                    # the abandonment she answered a survey about (0: none)

    @property
    def reach(self) -> dict[str, bool]:
        return {"app": self.has_app, "email": self.email_verified, "phone": self.phone is not None}

    def describe(self) -> dict[str, Any]:
        """The `shopper.created` payload."""
        return {
            "name": self.name, "email": self.email, "phone": self.phone, "city": self.city,
            "country": self.country, "locale": self.locale, "tz": self.tz, "segment": self.segment.name,
            "platform": self.platform, "reach": self.reach, "favourites": list(self.favourites),
            "mail_proxy": self.mail_proxy, "settings": self.settings,
        }


def _pick(rng: random.Random, items, cum: list[float]):
    return items[min(len(items) - 1, bisect(cum, rng.random() * cum[-1]))]


def sorted_sample(rng: random.Random, items: Sequence, k: int) -> tuple:
    """`tuple(sorted(rng.sample(items, k)))`, with the same draws and the stream left where they leave it.

    For k <= 5 of at most 21 items `random.sample` takes, k times, `_randbelow` of the items left (getrandbits of
    its bit length, again while out of range) from a list it shrinks by moving the last item into the gap; that
    is done here on getrandbits directly, a third of the cost. Other sizes are left to `rng.sample`."""
    n = len(items)
    if k > 5 or n > 21:
        return tuple(sorted(rng.sample(items, k)))
    bits, pool, out = rng.getrandbits, list(items), []
    for left in range(n, n - k, -1):
        width = left.bit_length()
        j = bits(width)
        while j >= left:
            j = bits(width)
        out.append(pool[j])
        pool[j] = pool[left - 1]
    return tuple(sorted(out))


class PopulationBuilder:
    """Builds shopper i from (seed, i) alone, so populations grow without disturbing existing shoppers."""

    def __init__(self, cs: CompiledScenario):
        self.cs = cs
        hours = cs.duration // HOUR + 2
        self._clocks = {tz: LocalClock(tz, cs.start_epoch, hours) for z, _ in cs.zones.values() for tz in z}
        # Settings dicts are shared and treated as immutable: shoppers with the same consent draws share one.
        self._settings: dict[tuple, dict[str, Any]] = {}
        self._locales: dict[str, tuple] = {}  # locale -> (country, zones, their weights, identity pools)

    def _locale(self, locale: str) -> tuple:
        """What a shopper of `locale` is drawn from, looked up once per locale rather than once per shopper."""
        found = self._locales.get(locale)
        if found is None:
            tzs, tz_cum = self.cs.zones[locale]
            country = locale.split("_")[-1] if "_" in locale else ""
            found = self._locales[locale] = (country, tzs, tz_cum, pools(self.cs.seed, locale))
        return found

    def _settings_for(self, key: tuple) -> dict[str, Any]:
        s = self._settings.get(key)
        if s is None:
            seg, marketing, personalization, push, sms = key
            s = dict(self.cs.segments[seg].settings, marketing_consent=marketing, personalization=personalization,
                     push_os_permission=push, sms_opt_in=sms)
            self._settings[key] = s
        return s

    def build(self, index: int) -> Shopper:
        cs = self.cs
        sh = Shopper()
        sh.index = index
        sh.id = shopper_id(index)
        idr = stream(cs.seed, sh.id, "identity")
        sh.locale = _pick(idr, cs.locales, cs.locale_cum)
        sh.country, tzs, tz_cum, identities = self._locale(sh.locale)
        sh.tz = _pick(idr, tzs, tz_cum)
        sh.clock = self._clocks[sh.tz]
        seg: SegmentDef = _pick(idr, cs.segments, cs.segment_cum)
        sh.segment = seg
        sh.platform = _pick(idr, cs.platforms, cs.platform_cum)
        sh.has_app = sh.platform != "web"
        sh.email_verified = idr.random() < cs.email_verified
        has_phone = idr.random() < cs.phone
        sh.name, sh.email, sh.phone, sh.city, sh.first_name = make_identity(identities, idr, has_phone)
        c = seg.consent
        push = sh.has_app and idr.random() < c["push_os_permission"].get(sh.platform, 0.0)
        sh.settings = self._settings_for((
            seg.index,
            idr.random() < c.get("marketing_consent", 1.0),
            idr.random() < c.get("personalization", 1.0),
            push,
            has_phone and idr.random() < c.get("sms_opt_in", 0.0),
        ))
        cats = cs.categories
        k = min(cs.favourite_categories, len(cats))
        sh.favourites = sorted_sample(idr, cats, k) if k else ()
        # Drawn last, so the draws above stay what they were before the field existed.
        sh.mail_proxy = sh.email_verified and idr.random() < cs.mail_proxy.get(sh.platform, 0.0)
        return sh

    def build_all(self) -> list[Shopper]:
        # Every shopper is kept and none is part of a cycle: the collector's passes over the growing population
        # (a sixth of the build) would find nothing to free.
        was_on = gc.isenabled()
        gc.disable()
        try:
            return [self.build(i) for i in range(self.cs.size)]
        finally:
            if was_on:
                gc.enable()
