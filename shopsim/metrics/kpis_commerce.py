"""Commerce KPIs: visits, carts, abandonment, orders, recovery, money, coupons, the exit survey, devices.

A mixin of `Metrics` (kpis.py): the handlers of the commerce events and the reading of their counters.
Definitions: docs/metrics.md, sections Commerce, Recovery, Devices, Exit survey and Time to recovery."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shopsim.metrics import stats
from shopsim.metrics.kpis_base import (ABANDONED, COUPON_SEEN, DEVICES, ORDERED, RECOVERED,
                                       RECOVERY_BINS, SURVEY_ANSWERED, by_count, cents, declare, flag_count, grow,
                                       kpi, ordered, ratio, share_left)
from shopsim.contract import events as E
from shopsim.contract.clock import HOUR
from shopsim.contract.ids import is_ad
from shopsim.contract.taxonomy import CART_REMINDERS


# The commerce KPIs by name (what `expect:` checks, `report` prints, `diff` compares): section, kind, definition.
COMMERCE_KPIS = declare({
    "visits": kpi("commerce", "count", "visits (sessions started)"),
    "product_views": kpi("commerce", "count", "products viewed"),
    "carts": kpi("commerce", "count", "carts that had an item added"),
    "checkouts": kpi("commerce", "count", "carts that reached checkout"),
    "carts_abandoned": kpi("commerce", "count", "carts abandoned at least once"),
    "abandonments": kpi("commerce", "count", "abandonments (a cart can be abandoned more than once)"),
    "carts_ordered": kpi("commerce", "count", "carts (that had an item added) later ordered"),
    "carts_open": kpi("commerce", "count", "carts neither ordered nor abandoned yet (being filled or in checkout)"),
    "abandonment_rate": kpi("commerce", "rate", "1 − carts ordered / carts created (Baymard's cart abandonment rate)"),
    "abandoned_at_least_once_rate": kpi("commerce", "rate", "carts abandoned at least once / carts"),
    "checkout_abandonment_rate": kpi("commerce", "rate", "1 − carts ordered / carts that reached checkout"),
    "orders": kpi("commerce", "count", "orders placed"),
    "paid_orders": kpi("commerce", "count", "orders paid"),
    "conversion_rate": kpi("commerce", "rate", "orders / visits"),
    "shopper_conversion_rate": kpi("commerce", "rate", "shoppers who ordered / shoppers"),
    "carts_recovered": kpi("commerce", "count", "abandoned carts later ordered"),
    "recovery_rate": kpi("commerce", "rate", "abandoned carts later ordered / carts abandoned"),
    "recovered_attributed": kpi("commerce", "count", "recovered carts ordered through a click on a cart reminder"),
    "recovered_organic": kpi("commerce", "count", "recovered carts ordered with no click to credit"),
    "recovered_other": kpi("commerce", "count", "recovered carts credited to an ad or to a message that is not a "
                                               "cart reminder"),
    "attributed_recovery_rate": kpi("commerce", "rate", "recovered carts ordered through a click on a cart reminder / "
                                                       "carts abandoned"),
    "organic_recovery_rate": kpi("commerce", "rate", "recovered carts with no click to credit / carts abandoned"),
    "incremental_recovery_rate": kpi("commerce", "pp", "cart recovery rate of the treated arms minus the holdout's "
                                                      "(first experiment with a holdout)"),
    "incremental_recovery_low": kpi("commerce", "pp", "lower end of the incremental recovery's 95% interval"),
    "incremental_recovery_high": kpi("commerce", "pp", "upper end of the incremental recovery's 95% interval"),
    "recovered_by_notification": kpi("commerce", "count", "recovered carts attributed to a message click"),
    "recovered_by_ad": kpi("commerce", "count", "recovered carts attributed to an ad click"),
    "recovered_unattributed": kpi("commerce", "count", "recovered carts with no click to credit"),
    "attributed_orders": kpi("commerce", "count", "orders attributed to a message or ad click (with channel or "
                                                 "category: to a message of it)"),
    "coupon_orders": kpi("commerce", "count", "orders placed with a coupon"),
    "revenue": kpi("commerce", "money", "payments confirmed"),
    "recovered_revenue": kpi("commerce", "money", "payments for orders of recovered carts"),
    "discount_cost": kpi("commerce", "money", "coupon discounts granted on orders"),
    "refunded": kpi("commerce", "money", "refunds issued"),
    "coupons_issued": kpi("commerce", "count", "coupons issued"),
    "coupons_seen": kpi("commerce", "count", "coupons whose code the shopper learned (coupon.seen)"),
    "coupons_redeemed": kpi("commerce", "count", "coupons redeemed"),
})


# The exit survey's KPIs.
SURVEY_KPIS = declare({
    "survey_responses": kpi("survey", "count", "exit-survey answers", "responses"),
    "survey_response_rate": kpi("survey", "rate", "exit-survey answers / carts abandoned", "response_rate"),
})


# Time from a cart's first abandonment to its order.
RECOVERY_TIME_KPIS = declare({
    "time_to_recovery_p25": kpi("recovery_time", "duration", "25th percentile of first abandonment → order", "p25_ms"),
    "time_to_recovery_p50": kpi("recovery_time", "duration", "median of first abandonment → order", "p50_ms"),
    "time_to_recovery_p75": kpi("recovery_time", "duration", "75th percentile of first abandonment → order", "p75_ms"),
    "time_to_recovery_p90": kpi("recovery_time", "duration", "90th percentile of first abandonment → order", "p90_ms"),
})


# Retargeting ads.
AD_KPIS = declare({
    "ad_impressions": kpi("ads", "count", "retargeting ad impressions", "impressions"),
    "ad_clicks": kpi("ads", "count", "retargeting ad clicks", "clicks"),
    "ad_click_rate": kpi("ads", "rate", "ad clicks / impressions", "click_rate"),
    "ad_orders": kpi("ads", "count", "orders attributed to an ad click", "orders"),
})


class CommerceKPIs:
    """The commerce half of `Metrics`."""

    def _init_commerce(self) -> None:
        self.cart_seen: set[str] = set()
        self.checkout: set[str] = set()
        self.ordered_carts: set[str] = set()       # distinct cart of order.placed
        self.carts_ordered = 0                      # ... of those, carts that had an item added
        self.ordered_unabandoned = 0                # ... of those, carts never abandoned before the order
        self.checkouts_ordered = 0                  # ... of those, carts that reached checkout
        self.abandoned_at: dict[str, int] = {}     # cart -> first abandonment (ms)
        self.last_reason: dict[str, str] = {}      # cart -> reason of its latest abandonment
        self.checkout_abandoned: set[str] = set()  # carts abandoned at stage checkout at least once
        self.recovered: set[str] = set()           # carts abandoned, then ordered
        self.recovered_orders: set[str] = set()
        self.reasons: Counter[str] = Counter()           # every abandonment
        self.first_reasons: Counter[str] = Counter()     # each abandoned cart's first
        self.checkout_reasons: Counter[str] = Counter()  # each cart's first checkout-stage abandonment
        self.stages: Counter[str] = Counter()
        self.recovery_ms: list[int] = []
        self.recovered_by: Counter[str] = Counter()      # notification / ad / none
        self.recovered_as: Counter[str] = Counter()      # attributed / organic / other
        self.cents: Counter[str] = Counter()             # revenue, refunded, discount, recovered_revenue
        self.orders_attributed = 0
        self.coupon_orders = 0                      # order.placed with a coupon
        self.currency: str | None = None           # order.placed.currency (the catalogue's)
        self.cart_device: dict[str, str] = {}      # cart -> device of its first cart.item_added
        self.devices: Counter[tuple[str, str]] = Counter()  # (visits|carts|checkouts|orders|placed, device)
        self.survey_answers: Counter[str] = Counter()
        self.survey_real: Counter[str] = Counter()
        self.survey_channels: Counter[str] = Counter()
        self.survey_agree = 0
        self.ads: Counter[str] = Counter()

    # --- handlers ----------------------------------------------------------------------------------------

    # Those with `n` may be handed n events at once that differ in nothing they read (kpis_log.BULK): each
    # of them reads t only for its hour, and counts nothing that depends on the order of events.

    def _session(self, t, d, sid, n: int = 1) -> None:
        col, h = self._hourly_visits, t // HOUR
        try:
            col[h] += n
        except IndexError:
            grow(col, h, n)
        device = d.get("device")
        if device is not None:
            self.devices["visits", device] += n

    def _item_added(self, t, d, sid) -> None:
        cart = d["cart"]
        if cart not in self.cart_seen:  # the cart is created: its device is this session's
            self.cart_seen.add(cart)
            device = d.get("device")
            if device is not None:
                self.cart_device[cart] = device
                self.devices["carts", device] += 1

    def _checkout(self, t, d, sid) -> None:
        cart = d["cart"]
        if cart not in self.checkout:
            self.checkout.add(cart)
            device = self.cart_device.get(cart)
            if device is not None:
                self.devices["checkouts", device] += 1

    def _abandoned(self, t, d, sid) -> None:
        cart, reason, stage = d["cart"], d["reason"], d.get("stage") or "cart"
        self.reasons[reason] += 1
        self.stages[stage] += 1
        if cart not in self.abandoned_at:
            self.abandoned_at[cart] = t
            self.first_reasons[reason] += 1
            self._bump("carts_abandoned", t)
        if stage == "checkout" and cart not in self.checkout_abandoned:
            self.checkout_abandoned.add(cart)
            self.checkout_reasons[reason] += 1
        self.last_reason[cart] = reason
        self.flags[sid] |= ABANDONED

    def _order(self, t, d, sid) -> None:
        self._bump("orders", t)
        self.flags[sid] |= ORDERED
        self.cents["discount"] += cents(d["discount"])
        self.currency = d.get("currency") or self.currency
        if d.get("coupon") is not None:
            self.coupon_orders += 1
        if d.get("device") is not None:
            self.devices["placed", d["device"]] += 1
        cart = d["cart"]
        if cart not in self.ordered_carts:
            self.ordered_carts.add(cart)
            self.carts_ordered += cart in self.cart_seen
            self.ordered_unabandoned += cart in self.cart_seen and cart not in self.abandoned_at
            self.checkouts_ordered += cart in self.checkout
            device = self.cart_device.get(cart)
            if device is not None:
                self.devices["orders", device] += 1
        by = d.get("attributed_to")
        hit = self.clicked.get(by) if by is not None else None
        if by is not None:
            self.orders_attributed += 1
            if hit is not None:
                self._credit_order(*hit)
            elif is_ad(by):
                self.ads["orders"] += 1
        at = self.abandoned_at.get(cart)
        if at is not None and cart not in self.recovered:
            self.recovered.add(cart)
            self.recovered_orders.add(d["order"])
            self.recovery_ms.append(t - at)
            self.recovered_by["none" if by is None else "ad" if is_ad(by) else "notification"] += 1
            self.recovered_as["organic" if by is None else
                              "attributed" if hit is not None and hit[1] == CART_REMINDERS else "other"] += 1
            self._bump("recovered", t)
            self._bump("recovered_cohort", at)
            self.flags[sid] |= RECOVERED

    def _paid(self, t, d, sid) -> None:
        c = cents(d["amount"])
        self.cents["revenue"] += c
        self.revenue_of[sid] += c
        self._bump("revenue", t, c)
        if d["order"] in self.recovered_orders:
            self.cents["recovered_revenue"] += c

    def _refund(self, t, d, sid) -> None:
        self.cents["refunded"] += cents(d["amount"])

    def _survey(self, t, d, sid) -> None:
        answer = d["answer"]
        self.survey_answers[answer] += 1
        self.survey_channels[d.get("channel") or "on_site"] += 1
        real = self.last_reason.get(d["cart"])
        if real is not None:
            self.survey_real[real] += 1
            self.survey_agree += real == answer

    # The two ad handlers read no field (kpis.BARE): from a log their events come without data.
    def _ad_impression(self, t, d, sid, n: int = 1) -> None:
        self.ads["impressions"] += n
        col, h = self._hourly_ads, t // HOUR
        try:
            col[h] += n
        except IndexError:
            grow(col, h, n)

    def _ad_clicked(self, t, d, sid, n: int = 1) -> None:
        self.ads["clicks"] += n
        self._bump("ad_clicks", t, n)

    # --- reading -----------------------------------------------------------------------------------------

    def _commerce(self) -> dict[str, Any]:
        c = self.counts
        carts, abandoned, orders = len(self.cart_seen), len(self.abandoned_at), c[E.ORDER_PLACED]
        recovered, visits = len(self.recovered), c[E.SESSION_STARTED]
        rec_as = self.recovered_as
        incremental, low, high, basis = self._incremental()
        checkout_total = sum(self.checkout_reasons.values())
        return {
            "visits": visits, "product_views": c[E.PRODUCT_VIEWED], "carts": carts,
            "checkouts": len(self.checkout), "carts_ordered": self.carts_ordered,
            "carts_abandoned": abandoned, "abandonments": c[E.CART_ABANDONED],
            # Neither ordered nor abandoned yet: still being filled, or in checkout. Baymard's rate counts them
            # as not ordered, so early in a run (and in the last minutes of one) they are worth showing.
            "carts_open": carts - self.ordered_unabandoned - abandoned,
            "abandonment_rate": share_left(self.carts_ordered, carts),
            "abandoned_at_least_once_rate": ratio(abandoned, carts),
            "checkout_abandonment_rate": share_left(self.checkouts_ordered, len(self.checkout)),
            "abandonment_reasons": by_count(self.reasons),
            "abandonment_stages": dict(sorted(self.stages.items())),
            "first_reasons": by_count(self.first_reasons),
            "checkout_reasons": by_count(self.checkout_reasons),
            "checkout_reason_shares": {r: n / checkout_total for r, n in by_count(self.checkout_reasons).items()},
            "orders": orders, "paid_orders": c[E.PAYMENT_CONFIRMED],
            "conversion_rate": ratio(orders, visits),
            "shopper_conversion_rate": ratio(flag_count(self.flags, ORDERED), self.shoppers),
            "carts_recovered": recovered, "recovery_rate": ratio(recovered, abandoned),
            "recovered_attributed": rec_as["attributed"], "recovered_organic": rec_as["organic"],
            "recovered_other": rec_as["other"],
            "attributed_recovery_rate": ratio(rec_as["attributed"], abandoned),
            "organic_recovery_rate": ratio(rec_as["organic"], abandoned),
            "incremental_recovery_rate": incremental, "incremental_recovery_low": low,
            "incremental_recovery_high": high, "incremental_recovery_counts": basis,
            "recovered_by_notification": self.recovered_by["notification"],
            "recovered_by_ad": self.recovered_by["ad"], "recovered_unattributed": self.recovered_by["none"],
            "attributed_orders": self.orders_attributed, "coupon_orders": self.coupon_orders,
            "revenue": self.cents["revenue"] / 100, "recovered_revenue": self.cents["recovered_revenue"] / 100,
            "discount_cost": self.cents["discount"] / 100, "refunded": self.cents["refunded"] / 100,
            "coupons_issued": c[E.COUPON_ISSUED], "coupons_seen": c[COUPON_SEEN],
            "coupons_redeemed": c[E.COUPON_REDEEMED], "currency": self.currency,
            "by_device": self._by_device(),
        }

    def _incremental(self) -> tuple[float | None, float | None, float | None, dict[str, Any] | None]:
        """Recovery rate of the treated arms' carts minus the holdout's, with a Wald 95% interval, for the
        first experiment in the log that has a holdout arm."""
        for name, spec in self.experiment_defs.items():
            holdout = {v["name"] for v in spec.get("variants", ()) if v.get("holdout")}
            if not holdout:
                continue
            x = {True: 0, False: 0}
            n = {True: 0, False: 0}
            for (exp, variant), arm in self.arms.items():
                if exp == name:
                    x[variant in holdout] += len(arm.recovered)
                    n[variant in holdout] += len(arm.abandoned_at)
            cmp = stats.two_proportions(x[True], n[True], x[False], n[False])
            basis = {"experiment": name, "treated_recovered": x[False], "treated_abandoned": n[False],
                     "holdout_recovered": x[True], "holdout_abandoned": n[True]}
            return cmp["diff"], cmp["low"], cmp["high"], basis
        return None, None, None, None

    def _by_device(self) -> dict[str, dict[str, Any]]:
        out = {}
        for device in ordered({dev for _, dev in self.devices}, DEVICES):
            get = lambda what: self.devices[what, device]  # noqa: E731
            carts, visits = get("carts"), get("visits")
            out[device] = {"visits": visits, "carts": carts, "checkouts": get("checkouts"), "orders": get("orders"),
                           "abandonment_rate": share_left(get("orders"), carts),
                           "conversion_rate": ratio(get("placed"), visits)}
        return out

    def _survey_result(self) -> dict[str, Any]:
        responses = self.counts[SURVEY_ANSWERED]
        matched = sum(self.survey_real.values())
        return {"responses": responses, "answers": by_count(self.survey_answers), "real": by_count(self.survey_real),
                "real_all": by_count(self.first_reasons), "channels": by_count(self.survey_channels),
                "response_rate": ratio(responses, len(self.abandoned_at)),
                "agreement": ratio(self.survey_agree, matched)}

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
                "click_rate": ratio(a["clicks"], a["impressions"]), "orders": a["orders"],
                "order_rate": ratio(a["orders"], a["clicks"])}
