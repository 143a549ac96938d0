"""KPIs computed from events, incrementally.

`Metrics` is an observer: subscribe it to a live `Simulation` (`sim.subscribe(m)`) or feed it a finished
run's events (`Metrics.of(open_run(path).events())`). Either way `m.result()` gives the same dictionary,
so the TUI, `replay --check`, `report` and `diff` all read one set of numbers. Definitions are in
docs/metrics.md; keep the two together.

Money is summed in cents, so a KPI never depends on the order float additions happened in."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable

from shopsim.scenario.taxonomy import CHANNELS
from shopsim.sim import events as E
from shopsim.sim.clock import DAY, HOUR
from shopsim.sim.events import Event

ADS = "ads"
NOTE_FIELDS = ("requested", "delivered", "deferred", "digested", "suppressed", "opened", "clicked",
               "dismissed", "unsubscribed", "orders")
# Time series per hour (and per day, summed from the hours): what the plots draw.
# `recovered_cohort` counts a recovered cart at the hour it was first abandoned: divided by `carts_abandoned`
# it gives the recovery rate of each day's abandonments, which later recoveries do not distort.
SERIES = ("visits", "carts_abandoned", "orders", "recovered", "recovered_cohort", "revenue", "requested", "delivered",
          "suppressed", "deferred", "digested", "opened", "clicked", "unsubscribed", "ad_impressions",
          "ad_clicks", *(f"delivered_{c}" for c in CHANNELS))
# Time-to-recovery histogram edges, in ms (the last bin is open).
RECOVERY_BINS = ((HOUR, "< 1h"), (4 * HOUR, "1h–4h"), (DAY, "4h–24h"), (3 * DAY, "1d–3d"),
                 (7 * DAY, "3d–7d"), (None, "≥ 7d"))

# Per-shopper flags, for experiments whose unit is the shopper.
ORDERED, ABANDONED, RECOVERED, UNSUBSCRIBED = 1, 2, 4, 8


def _cents(x: float) -> int:
    return round(x * 100)


class _Notes:
    """Counters of one channel or category."""
    __slots__ = NOTE_FIELDS + ("reasons",)

    def __init__(self) -> None:
        for f in NOTE_FIELDS:
            setattr(self, f, 0)
        self.reasons: Counter[str] = Counter()

    def as_dict(self, shoppers: int, days: float) -> dict[str, Any]:
        d: dict[str, Any] = {f: getattr(self, f) for f in NOTE_FIELDS}
        delivered, requested = self.delivered, self.requested
        d["suppressed_by_reason"] = dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        d["delivery_rate"] = _ratio(delivered, requested)
        d["suppression_rate"] = _ratio(self.suppressed, requested)
        d["deferral_rate"] = _ratio(self.deferred, requested)
        d["digest_rate"] = _ratio(self.digested, requested)
        d["open_rate"] = _ratio(self.opened, delivered)
        d["click_rate"] = _ratio(self.clicked, delivered)
        d["click_to_open_rate"] = _ratio(self.clicked, self.opened)
        d["order_rate"] = _ratio(self.orders, delivered)
        d["unsubscribe_rate"] = _ratio(self.unsubscribed, delivered)
        d["per_shopper_per_day"] = delivered / shoppers / days if shoppers and days else None
        return d


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


class Metrics:
    """Every KPI of one run (or of one experiment arm: `shoppers` limits it to those shoppers)."""

    def __init__(self, shoppers: set[str] | None = None) -> None:
        self.only = shoppers
        self.header: dict[str, Any] = {}
        self.end_t = 0
        self.complete = False
        self.events = 0
        self.counts: Counter[str] = Counter()
        self.shopper_ids: set[str] = set()
        self.cart_seen: set[str] = set()
        self.checkout: set[str] = set()
        self.abandoned_at: dict[str, int] = {}     # cart -> first abandonment (ms)
        self.recovered: set[str] = set()           # carts abandoned, then ordered
        self.recovered_orders: set[str] = set()
        self.reasons: Counter[str] = Counter()
        self.stages: Counter[str] = Counter()
        self.recovery_ms: list[int] = []
        self.recovered_by = Counter()               # notification / ad / none
        self.cents = Counter()                      # revenue, refunded, discount, recovered_revenue
        self.orders_attributed = 0
        self.currency: str | None = None           # order.placed.currency (the catalogue's)
        self.channels: dict[str, _Notes] = defaultdict(_Notes)
        self.categories: dict[str, _Notes] = defaultdict(_Notes)
        self.total = _Notes()
        self.deferred_ids: set[str] = set()
        self.opened_ids: set[str] = set()
        self.clicked: dict[str, tuple[str, str]] = {}  # notification id -> (channel, category)
        self.ads = Counter()
        self.hourly: dict[str, list[int]] = {name: [] for name in SERIES}
        self.flags: dict[str, int] = defaultdict(int)
        self.revenue_of: dict[str, int] = defaultdict(int)
        self.delivered_of: Counter[str] = Counter()
        # Experiments: (experiment, variant) -> a Metrics of that arm's shoppers.
        self.experiment_defs: dict[str, dict[str, Any]] = {}
        self.arms: dict[tuple[str, str], Metrics] = {}
        self.arm_of: dict[str, list[Metrics]] = defaultdict(list)

    @classmethod
    def of(cls, events: Iterable[Event]) -> "Metrics":
        m = cls()
        batch: list[Event] = []
        for ev in events:
            batch.append(ev)
            if len(batch) >= 4096:
                m(batch)
                batch = []
        m(batch)
        return m

    def __call__(self, batch: list[Event]) -> None:
        for ev in batch:
            self.add(ev)

    # --- feeding ---------------------------------------------------------------------------------------

    def _bump(self, series: str, t: int, n: int = 1) -> None:
        col = self.hourly[series]
        h = t // HOUR
        if h >= len(col):
            col.extend([0] * (h + 1 - len(col)))
        col[h] += n

    def add(self, ev: Event) -> None:
        typ, d, sid = ev.type, ev.data, ev.shopper
        if self.only is not None and sid not in self.only and typ not in (E.RUN_STARTED, E.RUN_FINISHED):
            return
        self.events += 1
        self.end_t = ev.t
        self.counts[typ] += 1
        handler = _HANDLERS.get(typ)
        if handler is not None:
            handler(self, ev, d, sid)
        if typ != E.EXPERIMENT_ASSIGNED:
            for arm in self.arm_of.get(sid, ()):  # type: ignore[arg-type]
                arm.add(ev)

    def _run_started(self, ev, d, sid) -> None:
        self.header = dict(d)

    def _run_finished(self, ev, d, sid) -> None:
        self.complete = True
        for arm in self.arms.values():
            arm.end_t, arm.complete = ev.t, True

    def _shopper(self, ev, d, sid) -> None:
        self.shopper_ids.add(sid)

    def _experiment(self, ev, d, sid) -> None:
        self.experiment_defs[d["experiment"]] = d

    def _assigned(self, ev, d, sid) -> None:
        key = (d["experiment"], d["variant"])
        arm = self.arms.get(key)
        if arm is None:
            arm = self.arms[key] = Metrics(shoppers=set())
            arm.header = dict(self.header)
        arm.only.add(sid)  # type: ignore[union-attr]
        arm.shopper_ids.add(sid)
        self.arm_of[sid].append(arm)

    def _session(self, ev, d, sid) -> None:
        self._bump("visits", ev.t)

    def _item_added(self, ev, d, sid) -> None:
        self.cart_seen.add(d["cart"])

    def _checkout(self, ev, d, sid) -> None:
        self.checkout.add(d["cart"])

    def _abandoned(self, ev, d, sid) -> None:
        self.reasons[d["reason"]] += 1
        self.stages[d.get("stage") or "cart"] += 1
        if d["cart"] not in self.abandoned_at:
            self.abandoned_at[d["cart"]] = ev.t
            self._bump("carts_abandoned", ev.t)
        self.flags[sid] |= ABANDONED

    def _order(self, ev, d, sid) -> None:
        self._bump("orders", ev.t)
        self.flags[sid] |= ORDERED
        self.cents["discount"] += _cents(d["discount"])
        self.currency = d.get("currency") or self.currency
        by = d.get("attributed_to")
        if by is not None:
            self.orders_attributed += 1
            hit = self.clicked.get(by)
            if hit is not None:
                channel, category = hit
                self.channels[channel].orders += 1
                self.categories[category].orders += 1
                self.total.orders += 1
            elif _is_ad(by):
                self.ads["orders"] += 1
        cart = d["cart"]
        at = self.abandoned_at.get(cart)
        if at is not None and cart not in self.recovered:
            self.recovered.add(cart)
            self.recovered_orders.add(d["order"])
            self.recovery_ms.append(ev.t - at)
            self.recovered_by["none" if by is None else "ad" if _is_ad(by) else "notification"] += 1
            self._bump("recovered", ev.t)
            self._bump("recovered_cohort", at)
            self.flags[sid] |= RECOVERED

    def _paid(self, ev, d, sid) -> None:
        c = _cents(d["amount"])
        self.cents["revenue"] += c
        self.revenue_of[sid] += c
        self._bump("revenue", ev.t, c)
        if d["order"] in self.recovered_orders:
            self.cents["recovered_revenue"] += c

    def _refund(self, ev, d, sid) -> None:
        self.cents["refunded"] += _cents(d["amount"])

    def _requested(self, ev, d, sid) -> None:
        self._count_note("requested", ev, d)

    def _count_note(self, field: str, ev, d) -> None:
        for notes in (self.channels[d["channel"]], self.categories[d["category"]], self.total):
            setattr(notes, field, getattr(notes, field) + 1)
        if field in self.hourly:
            self._bump(field, ev.t)

    def _delivered(self, ev, d, sid) -> None:
        moved = d.get("rerouted_from")
        if moved is not None:  # a critical message that went elsewhere counts as a request of where it went
            self.channels[moved].requested -= 1
            self.channels[d["channel"]].requested += 1
        self._count_note("delivered", ev, d)
        self._bump(f"delivered_{d['channel']}", ev.t)
        self.delivered_of[sid] += 1

    def _deferred(self, ev, d, sid) -> None:
        if d["id"] not in self.deferred_ids:  # a notification deferred twice counts once
            self.deferred_ids.add(d["id"])
            self._count_note("deferred", ev, d)

    def _suppressed(self, ev, d, sid) -> None:
        self._count_note("suppressed", ev, d)
        for notes in (self.channels[d["channel"]], self.categories[d["category"]], self.total):
            notes.reasons[d["reason"]] += 1

    def _opened(self, ev, d, sid) -> None:
        if d["id"] not in self.opened_ids:  # a front end may open a message the shopper opened already
            self.opened_ids.add(d["id"])
            self._count_note("opened", ev, d)

    def _clicked(self, ev, d, sid) -> None:
        if d["id"] not in self.clicked:
            self.clicked[d["id"]] = (d["channel"], d["category"])
            self._count_note("clicked", ev, d)

    def _unsubscribed(self, ev, d, sid) -> None:
        self._count_note("unsubscribed", ev, d)
        self.flags[sid] |= UNSUBSCRIBED

    def _ad_impression(self, ev, d, sid) -> None:
        self.ads["impressions"] += 1
        self._bump("ad_impressions", ev.t)

    def _ad_clicked(self, ev, d, sid) -> None:
        self.ads["clicks"] += 1
        self._bump("ad_clicks", ev.t)

    # --- reading ---------------------------------------------------------------------------------------

    @property
    def shoppers(self) -> int:
        if self.only is not None:
            return len(self.only)
        return self.header.get("shoppers") or len(self.shopper_ids)

    @property
    def days(self) -> float:
        return self.end_t / DAY

    def result(self) -> dict[str, Any]:
        """Every KPI as plain JSON-able data (docs/metrics.md)."""
        from shopsim.metrics.variants import experiments_result  # circular: variants reads Metrics

        shoppers, days = self.shoppers, self.days
        out = {"run": self._run_info(), "commerce": self._commerce(),
               "recovery_time": self._recovery_time(),
               "messages": self.total.as_dict(shoppers, days),
               "channels": {c: self.channels[c].as_dict(shoppers, days) for c in _ordered(self.channels, CHANNELS)},
               "categories": {c: n.as_dict(shoppers, days) for c, n in sorted(self.categories.items())},
               "ads": self._ads(), "series": self.series()}
        if self.arms:
            out["experiments"] = experiments_result(self)
        return out

    def _run_info(self) -> dict[str, Any]:
        h = self.header
        return {"scenario": h.get("scenario"), "description": h.get("description"), "seed": h.get("seed"),
                "version": h.get("version"), "start": h.get("start"), "duration": h.get("duration"),
                "elapsed_ms": self.end_t, "days": round(self.days, 6), "shoppers": self.shoppers,
                "events": self.events, "complete": self.complete}

    def _commerce(self) -> dict[str, Any]:
        c = self.counts
        carts, abandoned, orders = len(self.cart_seen), len(self.abandoned_at), c[E.ORDER_PLACED]
        recovered = len(self.recovered)
        ordering = sum(1 for f in self.flags.values() if f & ORDERED)
        return {
            "visits": c[E.SESSION_STARTED], "product_views": c[E.PRODUCT_VIEWED], "carts": carts,
            "checkouts": len(self.checkout), "carts_abandoned": abandoned, "abandonments": c[E.CART_ABANDONED],
            "abandonment_rate": _ratio(abandoned, carts),
            "abandonment_reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "abandonment_stages": dict(sorted(self.stages.items())),
            "orders": orders, "paid_orders": c[E.PAYMENT_CONFIRMED],
            "conversion_rate": _ratio(orders, c[E.SESSION_STARTED]),
            "shopper_conversion_rate": _ratio(ordering, self.shoppers),
            "carts_recovered": recovered, "recovery_rate": _ratio(recovered, abandoned),
            "recovered_by_notification": self.recovered_by["notification"],
            "recovered_by_ad": self.recovered_by["ad"], "recovered_unattributed": self.recovered_by["none"],
            "attributed_recovery_rate": _ratio(recovered - self.recovered_by["none"], abandoned),
            "attributed_orders": self.orders_attributed,
            "revenue": self.cents["revenue"] / 100, "recovered_revenue": self.cents["recovered_revenue"] / 100,
            "discount_cost": self.cents["discount"] / 100, "refunded": self.cents["refunded"] / 100,
            "coupons_issued": c[E.COUPON_ISSUED], "coupons_redeemed": c[E.COUPON_REDEEMED],
            "currency": self.currency,
        }

    def _recovery_time(self) -> dict[str, Any]:
        xs = sorted(self.recovery_ms)
        pct = (lambda q: xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None)  # nearest rank, lower
        bins, i = [], 0
        for edge, label in RECOVERY_BINS:
            n = 0
            while i < len(xs) and (edge is None or xs[i] < edge):
                n, i = n + 1, i + 1
            bins.append([label, n])
        return {"count": len(xs), "p25_ms": pct(0.25), "p50_ms": pct(0.5), "p75_ms": pct(0.75),
                "p90_ms": pct(0.9), "mean_ms": sum(xs) / len(xs) if xs else None, "histogram": bins}

    def _ads(self) -> dict[str, Any]:
        a = self.ads
        return {"impressions": a["impressions"], "clicks": a["clicks"],
                "click_rate": _ratio(a["clicks"], a["impressions"]), "orders": a["orders"],
                "order_rate": _ratio(a["orders"], a["clicks"])}

    def series(self) -> dict[str, Any]:
        """Per-hour and per-day counts from the run's start; revenue in currency units."""
        hours = max(1, -(-self.end_t // HOUR)) if self.end_t else 1
        hourly = {}
        for name, col in self.hourly.items():
            col = col + [0] * (hours - len(col))
            hourly[name] = [x / 100 for x in col] if name == "revenue" else col
        days = -(-hours // 24)
        daily = {name: [sum(col[d * 24:(d + 1) * 24]) for d in range(days)] for name, col in hourly.items()}
        for s in (hourly, daily):
            if "revenue" in s:
                s["revenue"] = [round(x, 2) for x in s["revenue"]]
        return {"hour": hourly, "day": daily}


def _is_ad(ref: str) -> bool:
    return ref.rsplit("-", 1)[-1].startswith("a")  # s000433-a2; notifications are s000001-n3


def _ordered(have: dict, first: tuple[str, ...]) -> list[str]:
    return [c for c in first if c in have] + sorted(c for c in have if c not in first)


_HANDLERS = {
    E.RUN_STARTED: Metrics._run_started, E.RUN_FINISHED: Metrics._run_finished,
    E.SHOPPER_CREATED: Metrics._shopper, E.EXPERIMENT_STARTED: Metrics._experiment,
    E.EXPERIMENT_ASSIGNED: Metrics._assigned,
    E.SESSION_STARTED: Metrics._session, E.CART_ITEM_ADDED: Metrics._item_added,
    E.CHECKOUT_STARTED: Metrics._checkout, E.CART_ABANDONED: Metrics._abandoned,
    E.ORDER_PLACED: Metrics._order, E.PAYMENT_CONFIRMED: Metrics._paid, E.REFUND_ISSUED: Metrics._refund,
    E.NOTIFICATION_REQUESTED: Metrics._requested, E.NOTIFICATION_DELIVERED: Metrics._delivered,
    E.NOTIFICATION_DEFERRED: Metrics._deferred, E.NOTIFICATION_SUPPRESSED: Metrics._suppressed,
    E.NOTIFICATION_DIGESTED: lambda m, ev, d, sid: m._count_note("digested", ev, d),
    E.NOTIFICATION_OPENED: Metrics._opened, E.NOTIFICATION_CLICKED: Metrics._clicked,
    E.NOTIFICATION_DISMISSED: lambda m, ev, d, sid: m._count_note("dismissed", ev, d),
    E.NOTIFICATION_UNSUBSCRIBED: Metrics._unsubscribed,
    E.AD_IMPRESSION: Metrics._ad_impression, E.AD_CLICKED: Metrics._ad_clicked,
}
