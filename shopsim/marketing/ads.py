"""Retargeting ads: display impressions of a shopper's abandoned cart or viewed products, elsewhere on the web.

After an abandonment (a cart, or a browse without a cart) the shopper is retargetable for `ads.window`.
Ad opportunities come as a Poisson process at `ads.per_day`; one becomes an `ad.impression` only if she
consents to personalization at that instant and the ads' own frequency cap allows it. An impression may
be clicked (`ad.clicked`), which can bring her back like a clicked message and counts for attribution.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Protocol

from shopsim.contract.ids import index_of
from shopsim.contract.units import parse_duration
from shopsim.contract import events as E
from shopsim.contract.clock import DAY
from shopsim.contract.rng import stream

if TYPE_CHECKING:
    from shopsim.marketing.experiments import Experiments
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.kernel import Kernel
    from shopsim.contract.events import Event
    from shopsim.sim.population import Shopper


class AdClicks(Protocol):
    """What an ad's click asks of the shopper's engagement (engage/engagement.py, the layer above)."""

    def visit_from_click(self, sh: Shopper, ref: str, to_cart: bool, comes_back: bool) -> None: ...


class Ads:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, experiments: Experiments):
        self.kernel = kernel
        self.cs = cs
        self.experiments = experiments
        self.engagement: AdClicks | None = None  # built after: how a click brings her back
        self.m = cs.model.ads
        self.window = parse_duration(self.m.window)
        self.cap_per = parse_duration(self.m.cap.per)
        self.rate = self.m.per_day / DAY
        self.k_chance = kernel.register(self._chance)
        self.n: dict[int, int] = {}             # shopper index -> ads shown so far (ids)
        self.chances: dict[int, int] = {}       # shopper index -> ad opportunities drawn so far
        self.shown: dict[int, list[int]] = {}   # shopper index -> recent impression times (the cap)
        self.target: dict[int, tuple] = {}      # shopper index -> (until, reason, ref, product ids)
        if self.m.enabled and self.rate > 0:
            kernel.on(E.CART_ABANDONED, self._cart)
            kernel.on(E.BROWSE_ABANDONED, self._browse)
            kernel.on(E.ORDER_PLACED, self._stop)

    def _cart(self, ev: Event) -> None:
        sh = self.kernel.shoppers[index_of(ev.shopper)]
        ids = [self.cs.products[i].id for i in (sh.cart or ())][:3]
        self._retarget(sh, "cart", ev.data["cart"], ids)

    def _browse(self, ev: Event) -> None:
        sh = self.kernel.shoppers[index_of(ev.shopper)]
        self._retarget(sh, "browse", ev.data["session"], ev.data["products"][:3])

    def _stop(self, ev: Event) -> None:
        idx = index_of(ev.shopper)
        t = self.target.get(idx)
        if t is not None and t[1] == "cart" and t[2] == ev.data["cart"]:
            del self.target[idx]

    def _retarget(self, sh: Shopper, reason: str, ref: str, products: list[str]) -> None:
        if not self.experiments.allows(sh, "ads"):
            return
        now = self.kernel.now
        fresh = sh.index not in self.target
        self.target[sh.index] = (now + self.window, reason, ref, products)
        if fresh:  # one chain of opportunities per shopper; a new abandonment only extends and refocuses it
            self._next(sh, now)

    def _next(self, sh: Shopper, t: int) -> None:
        # Each opportunity has its own stream, numbered per shopper: the queue holds a number, not a generator.
        n = self.chances[sh.index] = self.chances.get(sh.index, 0) + 1
        rng = stream(self.cs.seed, f"{sh.id}-c{n}", "ads")
        gap = rng.expovariate(self.rate)
        clicked = rng.random() < self.m.click
        comes_back = clicked and rng.random() < self.cs.model.engagement.recovery.visit
        if gap > self.kernel.end:  # past the run's end whenever it starts; may be inf for a vanishing rate
            return
        self.kernel.schedule(t + int(gap) + 1, self.k_chance, sh.index, (clicked, comes_back))

    def _chance(self, sh: Shopper, drawn: tuple[bool, bool]) -> None:
        now = self.kernel.now
        target = self.target.get(sh.index)
        if target is None or target[0] < now:
            self.target.pop(sh.index, None)
            return
        _, reason, ref, products = target
        self._next(sh, now)
        clicked, comes_back = drawn
        if not sh.settings["personalization"]:
            return
        times = self.shown.setdefault(sh.index, [])
        del times[:bisect_right(times, now - self.cap_per)]
        if len(times) >= self.m.cap.max:
            return
        times.append(now)
        n = self.n[sh.index] = self.n.get(sh.index, 0) + 1
        ad = f"{sh.id}-a{n}"
        self.kernel.emit(E.AD_IMPRESSION, sh.id, {"ad": ad, "reason": reason, "ref": ref, "products": products})
        if clicked:
            self.kernel.emit(E.AD_CLICKED, sh.id, {"ad": ad, "reason": reason, "ref": ref})
            self.engagement.visit_from_click(sh, ad, reason == "cart", comes_back)
