"""Campaigns: scheduled broadcasts to an audience, at one instant or at a local time in each shopper's zone.

Kinds and what they carry: promotions and flash sales (an offer, maybe a coupon; a flash sale ends, and
its coupons with it, and may have limited stock), recommendations (products from the categories the
shopper viewed or carted; the pipeline's consent step requires personalization), new products, price drops
and back in stock (the campaign's products; with `audience.viewed`, only shoppers who viewed one of them).
Every message goes through the policy pipeline like any other.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from shopsim.notify.windows import reach
from shopsim.scenario.marketing import CAMPAIGN_CATEGORY
from shopsim.scenario.compiled import at_ms
from shopsim.contract.units import parse_clock, parse_duration
from shopsim.contract import events as E
from shopsim.contract.clock import local_label
from shopsim.contract.money import amount
from shopsim.sim.kernel import PRIO_SCRIPT
from shopsim.contract.rng import stream

if TYPE_CHECKING:
    from shopsim.scenario.marketing import Campaign
    from shopsim.marketing.coupons import Coupons
    from shopsim.marketing.experiments import Experiments
    from shopsim.notify.notifier import Notifier
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.commerce import Commerce
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.population import Shopper

VIEWS_KEPT = 12  # recent product views remembered per shopper, for recommendations and "viewed" audiences


class Campaigns:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, commerce: Commerce, coupons: Coupons,
                 experiments: Experiments, notify: Notifier):
        self.kernel = kernel
        self.cs = cs
        self.commerce, self.coupons, self.experiments, self.notify = commerce, coupons, experiments, notify
        self.defs: dict[str, Campaign] = dict(cs.model.campaigns)
        self.k_send = kernel.register(self._send)
        self.k_price = kernel.register(self._price_drop)
        self.by_id = {p.id: p for p in cs.products} if self.defs else {}
        # Recommendations and "viewed" audiences need each shopper's recent views.
        self.needs_views = any(c.kind == "recommendations" or c.audience.viewed for c in self.defs.values())

    def start(self) -> None:
        k, epoch = self.kernel, self.cs.start_epoch
        for name, c in self.defs.items():
            t = at_ms(c.at, epoch)  # the same reading of `at` as scripted events
            if c.stock is not None:
                self.coupons.set_stock(f"campaign:{name}", c.stock)
            if c.kind == "price_drop":  # the price changes at `at`, before any message announces it
                k.schedule(t, self.k_price, -1, name, prio=PRIO_SCRIPT)
            if c.local_time is None:
                k.schedule(t, self.k_send, -1, (name, t))
                continue
            minute = parse_clock(c.local_time)
            # `at` names the day (its UTC date): "1d at 12:00" is Tuesday noon in every zone, even where
            # Tuesday 00:00 UTC is still Monday evening. The local time is reached as a digest time is: in a
            # DST gap at the jump (02:30 on a spring-forward night goes at 03:00), in a fold the first time.
            local_day = datetime.fromtimestamp((epoch + t) / 1000, timezone.utc).date()
            by_zone: dict[str, int] = {}
            for sh in k.members:
                when = by_zone.get(sh.tz)
                if when is None:
                    when = by_zone[sh.tz] = reach(ZoneInfo(sh.tz), local_day, minute) - epoch
                if when >= 0:
                    k.schedule(when, self.k_send, sh.index, (name, t))

    def _price_drop(self, _sh: None, name: str) -> None:
        c = self.defs[name]
        for pid in c.products:
            p = self.by_id[pid]
            old = self.commerce.price(p.index)
            new = max(1, round(p.price_cents * (1 - c.discount / 100)))
            self.commerce.prices[p.index] = new
            self.kernel.emit(E.PRODUCT_PRICE_CHANGED, None, {"product": p.id, "price": amount(new), "old_price": amount(old),
                                                          "source": f"campaign:{name}"})

    def _send(self, sh: Shopper | None, payload: tuple[str, int]) -> None:
        name, t0 = payload
        c = self.defs[name]
        allows = self.experiments.allows
        for target in self.kernel.members if sh is None else (sh,):
            if allows(target, "campaigns", name) and self._in_audience(target, c):
                self._request(target, name, c, t0)

    def _in_audience(self, sh: Shopper, c: Campaign) -> bool:
        a = c.audience
        if a.segments is not None and sh.segment.name not in a.segments:
            return False
        if a.countries is not None and sh.country not in a.countries:
            return False
        if a.viewed:
            viewed = sh.viewed or ()
            if c.products:
                ids = {self.by_id[p].index for p in c.products if p in self.by_id}
                return any(i in ids for i in viewed)
            return bool(viewed)
        if c.kind == "recommendations":
            return bool(sh.viewed)
        return True

    def _products(self, sh: Shopper, name: str, c: Campaign) -> list[dict[str, Any]] | None:
        products = self.cs.products
        if c.kind == "recommendations":
            cats = list(dict.fromkeys(products[i].category for i in reversed(sh.viewed or ())))
            seen = set(sh.viewed or ())
            rng = stream(self.cs.seed, f"{sh.id}-{name}", "recommend")
            picks: list[int] = []
            for cat in cats[:3]:
                pool = [i for i in self.cs.category_products[cat][0] if i not in seen and i not in picks]
                if pool:
                    picks.append(pool[int(rng.random() * len(pool))])
            return [self._product(products[i], None) for i in picks] or None
        if not c.products:
            return None
        out = []
        for pid in c.products:
            p = self.by_id[pid]
            if c.kind == "price_drop" and c.discount:
                out.append(self._product(p, p.price, amount(self.commerce.price(p.index))))
            else:
                out.append(self._product(p, None))
        return out

    @staticmethod
    def _product(p, old_price: float | None, price: float | None = None) -> dict[str, Any]:
        return {"name": p.name, "price": p.price if price is None else price, "old_price": old_price,
                "category": p.category}

    def _request(self, sh: Shopper, name: str, c: Campaign, t0: int) -> None:
        k, coupons = self.kernel, self.coupons
        source = f"campaign:{name}"
        lasts = parse_duration(c.ends) if c.ends else None
        offer = {"title": c.title, "text": c.text or c.title, "code": None, "ends_local": None}
        data = {"offer": offer, "cart": None, "products": self._products(sh, name, c)}
        pool = source if c.stock is not None else None

        def on_delivery() -> dict[str, Any]:
            # The offer lasts from the moment the message reaches the shopper: a flash sale held overnight by
            # her quiet hours still gives her its full time (and its coupon never expires before it exists).
            more: dict[str, Any] = {}
            ends = k.now + lasts if lasts is not None else None
            if ends is not None:
                more["offer"] = dict(offer, ends_local=local_label(self.cs.start_epoch + ends, sh.tz))
            if c.incentive is not None:
                coupon = coupons.issue(sh, c.incentive, source, expires=ends, pool=pool)
                more.update(coupon=coupons.context(sh, coupon), coupon_code=coupon.code)
            return more

        extra = on_delivery if c.incentive is not None or lasts is not None else None
        self.notify.request(sh, CAMPAIGN_CATEGORY[c.kind], list(c.channels), "campaign", source, None, data,
                           key=source, extra=extra)
