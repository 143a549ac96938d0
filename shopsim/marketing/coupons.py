"""Coupons: unique codes issued with a message, redeemed at most once at checkout, expiring unredeemed.

A code is drawn from its own random stream (seed, shopper, coupon number), so codes never depend on the
order other shoppers' coupons were issued in. A code works only once the shopper knows it: she opened or
clicked the message that carried it (`coupon.seen`), unless the incentive is `auto_apply` (the platform
applies it at checkout by itself). An order takes the shopper's best usable coupon; a coupon from a
limited offer (a flash sale's stock) is only redeemable while the offer's stock lasts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shopsim.contract.units import parse_duration
from shopsim.contract import events as E
from shopsim.contract.clock import iso, local_label
from shopsim.contract.money import amount
from shopsim.contract.rng import stream

if TYPE_CHECKING:
    from shopsim.scenario.marketing import Incentive
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.population import Shopper

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read off a phone


class Coupon:
    __slots__ = ("code", "type", "value", "min_cents", "issued", "expires", "source", "pool", "state", "auto", "seen")

    def __init__(self, code: str, inc: Incentive, issued: int, expires: int, source: str, pool: str | None):
        self.code, self.type, self.issued, self.expires, self.source, self.pool = \
            code, inc.type, issued, expires, source, pool
        self.value = inc.value if inc.type == "percent" else round(inc.value * 100)  # percent, or cents off
        self.min_cents = round(inc.min_order * 100)
        self.state = "issued"  # issued, redeemed, expired
        self.auto = inc.auto_apply
        self.seen = False

    def discount(self, subtotal: int, shipping: int) -> int:
        """Cents this coupon takes off an order, 0 if it does not apply."""
        if subtotal < self.min_cents:
            return 0
        if self.type == "percent":
            return round(subtotal * self.value / 100)
        if self.type == "fixed":
            return min(self.value, subtotal)
        return shipping


class Coupons:
    def __init__(self, kernel: Kernel, cs: CompiledScenario):
        self.kernel = kernel
        self.cs = cs
        self.k_expire = kernel.register(self._expire)
        self.stock: dict[str, int] = {}   # offer -> orders it can still serve
        self._valid: dict[str, int] = {}  # an incentive's `valid`, parsed once

    def set_stock(self, pool: str, stock: int) -> None:
        self.stock[pool] = stock

    def issue(self, sh: Shopper, inc: Incentive, source: str, expires: int | None = None,
              pool: str | None = None) -> Coupon:
        k, cs = self.kernel, self.cs
        sh.coupon_n += 1
        getrandbits = stream(cs.seed, f"{sh.id}-k{sh.coupon_n}", "coupon").getrandbits
        picks = []
        for _ in range(6):  # rng.choice(_ALPHABET) six times, as choice draws (32 letters: 6 bits, redrawn past 31)
            r = getrandbits(6)
            while r >= 32:
                r = getrandbits(6)
            picks.append(_ALPHABET[r])
        code = f"{inc.prefix}-" + "".join(picks)
        if expires is None:
            valid = self._valid.get(inc.valid)
            if valid is None:
                valid = self._valid[inc.valid] = parse_duration(inc.valid)
            until = k.now + valid
        else:
            until = expires
        c = Coupon(code, inc, k.now, until, source, pool)
        if sh.coupons is None:
            sh.coupons = []
        sh.coupons.append(c)
        k.emit(E.COUPON_ISSUED, sh.id, {
            "coupon": code, "kind": inc.type, "value": inc.value if inc.type == "percent" else amount(c.value),
            "min_order": amount(c.min_cents), "expires": iso(cs.start_epoch + until), "source": source,
            "auto_apply": c.auto})
        k.schedule(until, self.k_expire, sh.index, c)
        return c

    def context(self, sh: Shopper, c: Coupon) -> dict[str, Any]:
        """The coupon as templates see it."""
        return {"code": c.code, "type": c.type, "value": c.value if c.type == "percent" else c.value / 100,
                "min_order": c.min_cents / 100, "expires_local": local_label(self.cs.start_epoch + c.expires, sh.tz),
                "valid_hours": round((c.expires - c.issued) / 3_600_000)}

    def best(self, sh: Shopper, subtotal: int, shipping: int) -> tuple[Coupon | None, int]:
        """The valid coupon that saves the shopper most on this order, and how much (cents)."""
        best, saving = None, 0
        now = self.kernel.now
        for c in sh.coupons or ():
            if c.state != "issued" or c.expires <= now or (c.pool is not None and self.stock.get(c.pool, 0) <= 0):
                continue
            if not (c.seen or c.auto):
                continue  # a code she never saw cannot be typed in
            d = c.discount(subtotal, shipping)
            if d > saving:
                best, saving = c, d
        return best, saving

    def usable(self, sh: Shopper) -> bool:
        """Whether she holds a valid coupon she can use (seen, or applied by the platform)."""
        now = self.kernel.now
        return any(c.state == "issued" and c.expires > now and (c.seen or c.auto) for c in sh.coupons or ())

    def covers_shipping(self, sh: Shopper, subtotal: int) -> bool:
        """Whether a usable free-shipping coupon of hers applies to a cart worth `subtotal` cents."""
        now = self.kernel.now
        return any(c.type == "free_shipping" and c.state == "issued" and c.expires > now and (c.seen or c.auto)
                   and subtotal >= c.min_cents and (c.pool is None or self.stock.get(c.pool, 0) > 0)
                   for c in sh.coupons or ())

    def mark_seen(self, sh: Shopper, code: str, via: str) -> None:
        """She read the message that carried `code` (via: opened, clicked, in_app): from now on she can use it."""
        for c in sh.coupons or ():
            if c.code == code:
                if not c.seen and c.state == "issued":
                    c.seen = True
                    self.kernel.emit(E.COUPON_SEEN, sh.id, {"coupon": code, "via": via})
                return

    def redeem(self, sh: Shopper, c: Coupon, order: str, discount: int) -> None:
        c.state = "redeemed"
        if c.pool is not None:
            self.stock[c.pool] -= 1
        self.kernel.emit(E.COUPON_REDEEMED, sh.id, {"coupon": c.code, "order": order, "discount": amount(discount)})

    def _expire(self, sh: Shopper, c: Coupon) -> None:
        if c.state == "issued":
            c.state = "expired"
            self.kernel.emit(E.COUPON_EXPIRED, sh.id, {"coupon": c.code})
        if sh.coupons:
            sh.coupons = [x for x in sh.coupons if x.state == "issued"] or None
