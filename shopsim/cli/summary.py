"""The short summary `shopsim replay` prints after a run."""

from __future__ import annotations

from pathlib import Path

import click

from shopsim.report.labels import reason_words
from shopsim.contract import events as E
from shopsim.contract.taxonomy import CART_REMINDERS
from shopsim.simulation import Simulation


class Tally:
    """Observer collecting the few figures the summary needs beyond event counts (definitions as in
    docs/metrics.md, counted cheaply: a replay of millions of events pays for this on every line)."""

    def __init__(self) -> None:
        self.reasons: dict[str, int] = {}          # each abandoned cart's first reason
        self.revenue = 0.0
        self.refunded = 0.0
        self.discount = 0.0
        self.attributed = 0
        self.suppressed: dict[str, int] = {}
        self.carts: set[str] = set()
        self.ordered = 0                             # carts ordered (an order empties its cart)
        self.abandoned: set[str] = set()
        self.reminded: set[str] = set()              # cart reminders clicked
        self.recovered = {"attributed": 0, "organic": 0, "other": 0}
        self.machine_opens = 0                       # opens by a privacy proxy, not by the shopper

    def __call__(self, batch) -> None:
        for ev in batch:
            typ, d = ev.type, ev.data
            if typ == E.CART_ITEM_ADDED:
                self.carts.add(d["cart"])
            elif typ == E.CART_ABANDONED:
                if d["cart"] not in self.abandoned:
                    self.abandoned.add(d["cart"])
                    self.reasons[d["reason"]] = self.reasons.get(d["reason"], 0) + 1
            elif typ == E.PAYMENT_CONFIRMED:
                self.revenue += d["amount"]
            elif typ == E.REFUND_ISSUED:
                self.refunded += d["amount"]
            elif typ == E.NOTIFICATION_SUPPRESSED:
                self.suppressed[d["reason"]] = self.suppressed.get(d["reason"], 0) + 1
            elif typ == E.NOTIFICATION_OPENED and d["source"] == "proxy":
                self.machine_opens += 1
            elif typ == E.NOTIFICATION_CLICKED and d["category"] == CART_REMINDERS:
                self.reminded.add(d["id"])
            elif typ == E.ORDER_PLACED:
                self.discount += d["discount"]
                by = d["attributed_to"]
                self.attributed += by is not None
                if d["cart"] in self.carts:
                    self.ordered += 1
                if d["cart"] in self.abandoned:
                    how = "organic" if by is None else "attributed" if by in self.reminded else "other"
                    self.recovered[how] += 1


def print_summary(sim: Simulation, tally: Tally, log_path: Path | None, db: str | None, db_path: Path | None,
                  wall_s: float, to_stderr: bool) -> None:
    c = sim.counts.get
    out = lambda s="": click.echo(s, err=to_stderr)  # noqa: E731
    cs = sim.scenario
    out(f"{cs.name} (seed {cs.seed}): {sim.scenario.size:,} shoppers, {sim.iso(0)[:10]} to {sim.iso()[:16]}Z")
    out(f"  visits {c(E.SESSION_STARTED, 0):,}   product views {c(E.PRODUCT_VIEWED, 0):,}   "
        f"items added to carts {c(E.CART_ITEM_ADDED, 0):,}")
    carts, abandoned = len(tally.carts), len(tally.abandoned)
    if carts:
        out(f"  carts {carts:,}, ordered {tally.ordered:,}: cart abandonment {1 - tally.ordered / carts:.1%} "
            f"(Baymard's measure: 1 − carts ordered ÷ carts)")
    if abandoned:
        r = tally.recovered
        other = f", through another message or an ad {r['other'] / abandoned:.1%}" if r["other"] else ""
        out(f"  abandoned carts {abandoned:,}: recovered after a reminder click {r['attributed'] / abandoned:.1%}, "
            f"on their own {r['organic'] / abandoned:.1%}{other}")
        top = sorted(tally.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        for i in range(0, min(len(top), 6), 2):  # two reasons a line, the six most frequent
            out(("  why they were left: " if i == 0 else "    ")
                + ", ".join(f"{reason_words(k).lower()} {n / abandoned:.0%}" for k, n in top[i:i + 2]))
    out(f"  paid {c(E.PAYMENT_CONFIRMED, 0):,}   shipped {c(E.ORDER_SHIPPED, 0):,}   "
        f"delivered {c(E.ORDER_DELIVERED, 0):,}   disputes {c(E.DISPUTE_OPENED, 0):,}   "
        f"refunds {c(E.REFUND_ISSUED, 0):,}")
    out(f"  revenue {tally.revenue:,.2f} {cs.currency}, refunded {tally.refunded:,.2f} {cs.currency}")
    requested = c(E.NOTIFICATION_REQUESTED, 0)
    if requested:
        out(f"  notifications {requested:,}: delivered {c(E.NOTIFICATION_DELIVERED, 0):,}, "
            f"digested {c(E.NOTIFICATION_DIGESTED, 0):,}, suppressed {c(E.NOTIFICATION_SUPPRESSED, 0):,}, "
            f"deferred on the way {c(E.NOTIFICATION_DEFERRED, 0):,}")
        top = sorted(tally.suppressed.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
        if top:
            out("  suppressed because: " + ", ".join(f"{r.replace('_', ' ')} {n:,}" for r, n in top))
        out(f"  opened {c(E.NOTIFICATION_OPENED, 0) - tally.machine_opens:,} (and {tally.machine_opens:,} by a mail "
            f"privacy proxy)   clicked {c(E.NOTIFICATION_CLICKED, 0):,}   unsubscribed "
            f"{c(E.NOTIFICATION_UNSUBSCRIBED, 0):,}")
        out(f"  orders attributed to a click {tally.attributed:,}")
    if c(E.COUPON_ISSUED, 0):
        out(f"  coupons issued {c(E.COUPON_ISSUED, 0):,}, redeemed {c(E.COUPON_REDEEMED, 0):,}, "
            f"discounts {tally.discount:,.2f} {cs.currency}")
    if c(E.AD_IMPRESSION, 0):
        out(f"  ad impressions {c(E.AD_IMPRESSION, 0):,}, clicks {c(E.AD_CLICKED, 0):,}")
    out(f"  {sim.emitted:,} events in {wall_s:.1f}s")
    if log_path is not None:
        out(f"  event log: {log_path}")
    if db is not None or db_path is not None:
        out(f"  database:  {db_path if db_path is not None else db}")
