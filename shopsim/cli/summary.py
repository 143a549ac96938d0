"""The short summary `shopsim replay` prints after a run."""

from __future__ import annotations

from pathlib import Path

import click

from shopsim.sim import events as E
from shopsim.sim.engine import Simulation


class Tally:
    """Observer collecting the few figures the summary needs beyond event counts."""

    def __init__(self) -> None:
        self.reasons: dict[str, int] = {}
        self.revenue = 0.0
        self.refunded = 0.0
        self.discount = 0.0
        self.attributed = 0
        self.suppressed: dict[str, int] = {}

    def __call__(self, batch) -> None:
        for ev in batch:
            if ev.type == E.CART_ABANDONED:
                self.reasons[ev.data["reason"]] = self.reasons.get(ev.data["reason"], 0) + 1
            elif ev.type == E.PAYMENT_CONFIRMED:
                self.revenue += ev.data["amount"]
            elif ev.type == E.REFUND_ISSUED:
                self.refunded += ev.data["amount"]
            elif ev.type == E.NOTIFICATION_SUPPRESSED:
                self.suppressed[ev.data["reason"]] = self.suppressed.get(ev.data["reason"], 0) + 1
            elif ev.type == E.ORDER_PLACED:
                self.discount += ev.data["discount"]
                self.attributed += ev.data["attributed_to"] is not None


def print_summary(sim: Simulation, tally: Tally, log_path: Path | None, db: str | None, db_path: Path | None,
                  wall_s: float, to_stderr: bool) -> None:
    c = sim.counts.get
    out = lambda s="": click.echo(s, err=to_stderr)  # noqa: E731
    cs = sim.scenario
    abandoned, placed = c(E.CART_ABANDONED, 0), c(E.ORDER_PLACED, 0)
    decided = abandoned + placed
    out(f"{cs.name} (seed {cs.seed}): {len(sim.shoppers):,} shoppers, {sim.iso(0)[:10]} to {sim.iso()[:16]}Z")
    out(f"  visits {c(E.SESSION_STARTED, 0):,}   product views {c(E.PRODUCT_VIEWED, 0):,}   "
        f"items added to carts {c(E.CART_ITEM_ADDED, 0):,}")
    if decided:
        out(f"  cart abandonments {abandoned:,} ({abandoned / decided:.0%} of cart decisions)   orders {placed:,}")
    if tally.reasons:
        top = sorted(tally.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        out("  abandonment reasons: " + ", ".join(f"{r} {n / abandoned:.0%}" for r, n in top))
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
            out("  suppressed because: " + ", ".join(f"{r} {n:,}" for r, n in top))
        out(f"  opened {c(E.NOTIFICATION_OPENED, 0):,}   clicked {c(E.NOTIFICATION_CLICKED, 0):,}   "
            f"unsubscribed {c(E.NOTIFICATION_UNSUBSCRIBED, 0):,}   orders attributed to a click {tally.attributed:,}")
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
