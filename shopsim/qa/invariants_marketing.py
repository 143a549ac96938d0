"""Invariants of marketing's own promises: coupons (issued with a delivery, redeemed once before they expire,
the best one applied) and scripted messages (asked for once per shopper and channel, at their instant)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from shopsim.contract.ids import shopper_id
from shopsim.contract.money import cents_text
from shopsim.qa.invariants_base import DIGEST, Check, RunState, cents
from shopsim.contract.units import parse_duration
from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.contract.events import Event

ONCE = "coupons_redeemed_once_before_expiry"
BEST = "best_coupon_applied"
SEEN = "coupons_used_only_when_seen"


class _Coupon:
    __slots__ = ("code", "shopper", "t", "seq", "expires", "kind", "value", "min_cents", "pool", "claimed", "auto",
                 "seen")

    def __init__(self, ev: Event, expires: int, pool: str | None):
        d = ev.data
        self.code, self.shopper, self.t, self.seq, self.expires, self.pool = \
            d["coupon"], ev.shopper, ev.t, ev.seq, expires, pool
        self.kind = d["kind"]
        self.value = d["value"] if self.kind == "percent" else cents(d["value"] or 0)  # percent, or cents off
        self.min_cents = cents(d["min_order"])
        self.claimed = False
        self.auto = bool(d.get("auto_apply"))
        self.seen = False

    def discount(self, subtotal: int, shipping: int) -> int:
        """Cents it takes off an order (docs/notifications.md#coupons)."""
        if subtotal < self.min_cents:
            return 0
        if self.kind == "percent":
            return round(subtotal * self.value / 100)
        if self.kind == "fixed":
            return min(self.value, subtotal)
        return shipping


class Coupons(Check):
    INVARIANTS = {
        ONCE: "each coupon comes from an offer with an incentive and with the delivery that carries it, and is "
              "redeemed at most once, by its holder, before it expires (within the offer's stock), or expires "
              "unused exactly when it said",
        BEST: "an order takes the holder's usable coupon that saves most (the earliest issued on a tie), and its "
              "discount is what that coupon saves",
        SEEN: "a coupon is seen only by reading (opening herself, or clicking) a message that carried it, and is "
              "redeemed only once seen, unless the platform applies it by itself (auto_apply)",
    }

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        model = state.cs.model
        self.flows, self.campaigns = model.flows, model.campaigns
        self.stock = {f"campaign:{n}": c.stock for n, c in model.campaigns.items() if c.stock is not None}
        self.live: dict[str, _Coupon] = {}          # issued, neither redeemed nor expired
        self.held: dict[str, list[_Coupon]] = {}    # shopper -> her live coupons, in issue order
        self.done: dict[str, str] = {}              # code -> redeemed | expired
        self.unclaimed: list[_Coupon] = []          # issued at this instant, waiting for the delivery naming it
        self.unredeemed: list[tuple[Event, str]] = []   # orders at this instant that took a coupon
        self.carried: dict[str, tuple[str, ...]] = {}   # delivered message id -> the coupon codes it carried
        self.readable: set[str] = set()                 # codes in a message its holder has read

    def routes(self):
        return {E.COUPON_ISSUED: self.issued, E.COUPON_REDEEMED: self.redeemed, E.COUPON_EXPIRED: self.expired,
                E.NOTIFICATION_DELIVERED: self.delivered, E.ORDER_PLACED: self.order, E.COUPON_SEEN: self.seen,
                E.NOTIFICATION_OPENED: self.read, E.NOTIFICATION_CLICKED: self.read}

    def read(self, ev: Event) -> None:
        if ev.data.get("source") == "proxy":
            return  # a machine fetched it: nobody read the code
        self.readable.update(self.carried.pop(ev.data["id"], ()))

    def seen(self, ev: Event) -> None:
        code = ev.data["coupon"]
        c = self.live.get(code)
        if c is None or c.shopper != ev.shopper:
            return self.report(SEEN, ev.seq, f"coupon {code} seen by {ev.shopper}, who holds no such live coupon")
        if code not in self.readable:
            self.report(SEEN, ev.seq, f"coupon {code} seen by {ev.shopper} without her reading a message carrying it")
        if c.seen:
            self.report(SEEN, ev.seq, f"coupon {code} seen twice")
        c.seen = True

    def offer(self, source: str) -> tuple[Any, int | None]:
        """The incentive a source offers (None if it offers none) and, for a sale, how long it lasts."""
        m = re.fullmatch(r"flow:(.+):(\d+)", source)
        if m is not None:
            flow = self.flows.get(m.group(1))
            k = int(m.group(2))
            return (flow.steps[k - 1].incentive if flow is not None and 0 < k <= len(flow.steps) else None), None
        if source.startswith("campaign:"):
            c = self.campaigns.get(source[9:])
            if c is not None:
                return c.incentive, parse_duration(c.ends) if c.ends else None
        return None, None

    def issued(self, ev: Event) -> None:
        d, code = ev.data, ev.data["coupon"]
        if code in self.live or code in self.done:
            return self.report(ONCE, ev.seq, f"coupon {code} issued a second time")
        inc, ends = self.offer(d["source"])
        expires = self.state.instant(d["expires"])
        if inc is None:
            self.report(ONCE, ev.seq, f"coupon {code} issued by {d['source']}, which offers no coupon")
        else:
            if d["kind"] != inc.type or not code.startswith(f"{inc.prefix}-"):
                self.report(ONCE, ev.seq, f"coupon {code} ({d['kind']}) does not match {d['source']}'s incentive "
                                          f"({inc.type}, prefix {inc.prefix})")
            if ends is None and expires != ev.t + parse_duration(inc.valid):
                self.report(ONCE, ev.seq, f"coupon {code} expires {d['expires']}, not {inc.valid} after it was issued")
            elif ends is not None and expires > ev.t + ends:
                self.report(ONCE, ev.seq, f"coupon {code} expires {d['expires']}, after its sale ends")
        pool = d["source"] if d["source"] in self.stock else None
        c = self.live[code] = _Coupon(ev, expires, pool)
        self.held.setdefault(ev.shopper, []).append(c)
        self.unclaimed.append(c)

    def delivered(self, ev: Event) -> None:
        d = ev.data
        code = d.get("coupon")
        codes = (code,) if code is not None else tuple(d.get("coupons") or ())
        if codes:
            self.carried[d["id"]] = codes
        if code is not None:
            c = self.live.get(code)
            if c is None or c.shopper != ev.shopper or c.t != ev.t or c.seq > ev.seq:
                self.report(ONCE, ev.seq, f"{d['id']} carries coupon {code}, which was not issued to {ev.shopper} "
                                          "as it was delivered")
            elif c.claimed:
                self.report(ONCE, ev.seq, f"{d['id']} carries coupon {code}, which another message carried already")
            if c is not None:
                c.claimed = True
        elif d["category"] == DIGEST:  # a digested step's coupon is issued as the digest carrying it goes out
            for c in self.unclaimed:
                if c.shopper == ev.shopper and c.t == ev.t:
                    c.claimed = True

    def order(self, ev: Event) -> None:
        d = ev.data
        sub, ship, disc = cents(d["subtotal"]), cents(d["shipping"]), cents(d["discount"])
        valid = [c for c in self.held.get(ev.shopper, ()) if c.expires > ev.t
                 and (c.pool is None or self.stock[c.pool] > 0) and (c.seen or c.auto)]
        best = max(valid, key=lambda c: c.discount(sub, ship), default=None)   # max keeps the first on a tie
        saves = best.discount(sub, ship) if best is not None else 0
        code = d["coupon"]
        if code is None:
            if disc != 0:
                self.report(BEST, ev.seq, f"{d['order']} has a discount of {cents_text(disc)} without a coupon")
            if saves > 0:
                self.report(BEST, ev.seq, f"{d['order']} took no coupon, though {ev.shopper}'s {best.code} saves "
                                          f"{cents_text(saves)}")
            return
        self.unredeemed.append((ev, code))
        c = next((c for c in valid if c.code == code), None)
        if c is None:
            unseen = self.live.get(code)
            if unseen is not None and not (unseen.seen or unseen.auto) and unseen.shopper == ev.shopper:
                return self.report(SEEN, ev.seq, f"{d['order']} took coupon {code}, which {ev.shopper} never saw")
            why = self.done.get(code) or ("not valid then" if code in self.live else "never issued")
            return self.report(ONCE, ev.seq, f"{d['order']} took coupon {code}, which is not {ev.shopper}'s to use "
                                             f"({why})")
        if c.discount(sub, ship) != disc or disc <= 0:
            self.report(BEST, ev.seq, f"{d['order']} took {cents_text(disc)} off with {code}, which saves "
                                      f"{cents_text(c.discount(sub, ship))} on it")
        mine = c.discount(sub, ship)
        if best is not c and saves >= mine:
            other = "issued earlier, saves as much" if saves == mine else f"also valid, saves {cents_text(saves)}"
            self.report(BEST, ev.seq, f"{d['order']} took {code} (saves {cents_text(mine)}), but {best.code}, {other}")

    def redeemed(self, ev: Event) -> None:
        d, code = ev.data, ev.data["coupon"]
        match = next((o for o, c in self.unredeemed if c == code), None)
        if match is None or match.data["order"] != d["order"] or match.shopper != ev.shopper:
            self.report(ONCE, ev.seq, f"coupon {code} redeemed for {d['order']}, which did not just take it")
        else:
            self.unredeemed = [(o, c) for o, c in self.unredeemed if c != code]
            if cents(match.data["discount"]) != cents(d["discount"]):
                self.report(ONCE, ev.seq, f"coupon {code} redeemed for {d['discount']}; {d['order']} took "
                                          f"{match.data['discount']} off")
        c = self.live.pop(code, None)
        if c is None:
            why = f"after it was {self.done[code]}" if code in self.done else "but never issued"
            return self.report(ONCE, ev.seq, f"coupon {code} redeemed {why}")
        self.drop(c, "redeemed")
        if c.shopper != ev.shopper:
            self.report(ONCE, ev.seq, f"coupon {code} of {c.shopper} redeemed by {ev.shopper}")
        if ev.t >= c.expires:
            self.report(ONCE, ev.seq, f"coupon {code} redeemed at {self.state.iso(ev.t)}; it expired at "
                                      f"{self.state.iso(c.expires)}")
        if c.pool is not None:
            if self.stock[c.pool] <= 0:
                self.report(ONCE, ev.seq, f"coupon {code} redeemed after {c.pool}'s stock ran out")
            self.stock[c.pool] -= 1

    def expired(self, ev: Event) -> None:
        code = ev.data["coupon"]
        c = self.live.pop(code, None)
        if c is None:
            why = f"after it was {self.done[code]}" if code in self.done else "but never issued"
            return self.report(ONCE, ev.seq, f"coupon {code} expired {why}")
        self.drop(c, "expired")
        if c.shopper != ev.shopper or ev.t != c.expires:
            self.report(ONCE, ev.seq, f"coupon {code} of {c.shopper} expired for {ev.shopper} at "
                                      f"{self.state.iso(ev.t)}; it said {self.state.iso(c.expires)}")

    def drop(self, c: _Coupon, why: str) -> None:
        self.done[c.code] = why
        mine = self.held.get(c.shopper)
        if mine is not None:
            mine.remove(c)
            if not mine:
                del self.held[c.shopper]

    def tick(self, t: int) -> None:
        for c in self.unclaimed:
            if not c.claimed:
                self.report(ONCE, c.seq, f"coupon {c.code} issued to {c.shopper} with no delivery carrying it")
        self.unclaimed = []
        for o, code in self.unredeemed:
            self.report(ONCE, o.seq, f"{o.data['order']} took coupon {code}, which was never redeemed")
        self.unredeemed = []

    def finish(self) -> None:
        self.tick(self.state.end + 1)
        for c in self.live.values():
            if c.expires <= self.state.end:
                self.report(ONCE, c.seq, f"coupon {c.code} of {c.shopper} was due to expire at "
                                         f"{self.state.iso(c.expires)}, unused, and never did")


class ScriptedMessages(Check):
    INVARIANTS = {
        "scripted_messages_requested": "each scripted message is requested once for every shopper it targets on "
                                       "every channel it names, at its instant, whatever their settings",
    }
    NAME = "scripted_messages_requested"

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        cs = state.cs
        self.defs = {s.index: s for s in cs.scripted if s.notify is not None}
        self.count: dict[int, int] = {}
        self.now: set[tuple[int, str, str]] = set()   # what was asked for at this instant: one of each

    def routes(self):
        return {E.NOTIFICATION_REQUESTED: self.requested}

    def requested(self, ev: Event) -> None:
        d = ev.data
        m = re.fullmatch(r"scenario:events\[(\d+)\]", d["source"])
        if m is None:
            return
        i = int(m.group(1))
        s = self.defs.get(i)
        if s is None:
            return self.report(self.NAME, ev.seq, f"{d['id']} requested by {d['source']}, which sends no message")
        target = shopper_id(s.shopper) if s.shopper >= 0 else None
        if ev.t != s.t or (target is not None and ev.shopper != target) or d["channel"] not in s.notify.channels:
            self.report(self.NAME, ev.seq, f"{d['id']} requested by {d['source']} for {ev.shopper} on {d['channel']} "
                                           f"at {self.state.iso(ev.t)}; the message goes to {target or 'everyone'} "
                                           f"on {', '.join(s.notify.channels)} at {self.state.iso(s.t)}")
        key = (i, ev.shopper, d["channel"])
        if key in self.now:
            self.report(self.NAME, ev.seq, f"{d['source']} requested twice for {ev.shopper} on {d['channel']}")
        self.now.add(key)
        self.count[i] = self.count.get(i, 0) + 1

    def tick(self, t: int) -> None:
        if self.now:
            self.now = set()

    def finish(self) -> None:
        size = self.state.cs.size
        for i, s in self.defs.items():
            if s.t > self.state.end:
                continue
            want, got = (1 if s.shopper >= 0 else size) * len(s.notify.channels), self.count.get(i, 0)
            if got != want:
                self.report(self.NAME, None, f"scenario:events[{i}] requested {got} notification{'s' * (got != 1)} "
                                             f"at {self.state.iso(s.t)}; it should request {want}")
