"""Experiment results: KPIs per arm, and each arm against the control on shopper-level outcomes.

The unit is the shopper (assignment is per shopper), so every test here is on per-shopper outcomes:
carts of one shopper are not independent, and counting them as if they were would make intervals too
narrow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from shopsim.metrics import stats
from shopsim.metrics.kpis_base import ABANDONED, ORDERED, RECOVERED, UNSUBSCRIBED, cents, declare, kpi
from shopsim.contract import events as E


# An arm against the control, on the experiment's metric, by name: `expect:` gives the experiment and the variant.
EXPERIMENT_KPIS = declare({
    "uplift": kpi("experiment", "rate", "variant minus control on the experiment's metric", "diff"),
    "uplift_low": kpi("experiment", "rate", "lower end of the uplift's 95% interval", "low"),
    "uplift_high": kpi("experiment", "rate", "upper end of the uplift's 95% interval", "high"),
    "p_value": kpi("experiment", "number", "two-sided p-value of the uplift", "p"),
})


class ArmKPIs(Protocol):
    """What the comparisons read of a run's KPIs or of one arm's: kpis.Metrics, which calls them, is one.
    Described here, not imported, so the arrow runs from kpis to variants only."""

    end_t: int
    flags: Mapping[str, int]
    revenue_of: Mapping[str, int]
    counts: Mapping[str, int]
    cents: Mapping[str, int]
    coupon_orders: int
    total: Any  # kpis_messages' per-channel counters, read through as_dict(shoppers, days)
    experiment_defs: Mapping[str, dict[str, Any]]
    arms: Mapping[tuple[str, str], ArmKPIs]

    @property
    def shoppers(self) -> int: ...

    @property
    def days(self) -> float: ...

    def _commerce(self) -> dict[str, Any]: ...

# name -> (plain words, flag that counts as a success, flag that puts a shopper in the denominator or 0 for all)
OUTCOMES: dict[str, tuple[str, int, int]] = {
    "recovery": ("recovery (shoppers who ordered a cart they had abandoned, of those who abandoned one)",
                 RECOVERED, ABANDONED),
    "conversion": ("conversion (shoppers who ordered)", ORDERED, 0),
    "unsubscribe": ("unsubscribe (shoppers who unsubscribed from something)", UNSUBSCRIBED, 0),
}
MEANS = {"revenue_per_shopper": "revenue per shopper"}
EXPERIMENT_METRICS = (*OUTCOMES, *MEANS)
ARM_KPIS = ("abandonment_rate", "abandoned_at_least_once_rate", "checkout_abandonment_rate", "recovery_rate",
            "attributed_recovery_rate", "organic_recovery_rate", "conversion_rate", "revenue", "recovered_revenue",
            "discount_cost")


def _outcome(arm: ArmKPIs, success: int, among: int) -> tuple[int, int]:
    n = arm.shoppers if not among else sum(1 for f in arm.flags.values() if f & among)
    x = sum(1 for f in arm.flags.values() if f & success and (not among or f & among))
    return x, n


def _revenue(arm: ArmKPIs) -> tuple[int, float, float]:
    vals = [c / 100 for c in arm.revenue_of.values()]  # shoppers without revenue add 0 to both sums
    return arm.shoppers, sum(vals), sum(v * v for v in vals)


def experiments_result(m: ArmKPIs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = list(m.experiment_defs) + sorted({e for e, _ in m.arms} - set(m.experiment_defs))
    for name in names:
        spec = m.experiment_defs.get(name, {})
        declared = [v["name"] for v in spec.get("variants", ())]
        seen = sorted(v for e, v in m.arms if e == name)
        variants = declared + [v for v in seen if v not in declared]
        control = spec.get("control") or variants[0]
        metric = spec.get("metric") or "recovery"
        holdouts = {v["name"] for v in spec.get("variants", ()) if v.get("holdout")}
        arms = {}
        for v in variants:
            arm = m.arms.get((name, v))
            if arm is None:
                arms[v] = {"shoppers": 0, "holdout": v in holdouts}
                continue
            arm.end_t = m.end_t
            commerce = arm._commerce()
            row: dict[str, Any] = {"shoppers": arm.shoppers, "holdout": v in holdouts}
            row.update({k: commerce[k] for k in ARM_KPIS})
            msgs = arm.total.as_dict(arm.shoppers, arm.days)
            row.update(messages_delivered=msgs["delivered"], messages_per_shopper_per_day=msgs["per_shopper_per_day"],
                       open_rate=msgs["open_rate"], human_open_rate=msgs["human_open_rate"],
                       click_rate=msgs["click_rate"], unsubscribe_rate=msgs["unsubscribe_rate"])
            for key, (_, success, among) in OUTCOMES.items():
                x, n = _outcome(arm, success, among)
                row[f"{key}_shoppers"], row[f"{key}_of"] = x, n
            n, s, _ = _revenue(arm)
            row["revenue_per_shopper"] = s / n if n else None
            row["coupon"] = None if v == control else coupon_roi(arm, m.arms.get((name, control)))
            arms[v] = row
        out[name] = {"metric": metric, "control": control, "variants": arms,
                     "comparisons": _compare(m, name, control, [v for v in variants if v != control], metric)}
    return out


def coupon_roi(arm: ArmKPIs, control: ArmKPIs | None) -> dict[str, Any]:
    """What an arm's coupons cost against the orders it gained over the control (orders scaled to the arm's size).

    Coupons redeemed on orders beyond the incremental ones are taken to have gone on orders that would have
    happened anyway (docs/metrics.md, "Coupon cost per incremental order")."""
    redeemed, cost = arm.coupon_orders, arm.cents["discount"]
    out: dict[str, Any] = {"redeemed_orders": redeemed, "discount_cost": cost / 100, "incremental_orders": None,
                           "discount_on_baseline_orders": None, "discount_buying_orders": None,
                           "cost_per_incremental_order": None}
    if control is None or not control.shoppers:
        return out
    incremental = arm.counts[E.ORDER_PLACED] - control.counts[E.ORDER_PLACED] * arm.shoppers / control.shoppers
    baseline = cents(cost / 100 * max(0.0, redeemed - max(0.0, incremental)) / redeemed) if redeemed else 0
    out.update(incremental_orders=incremental, discount_on_baseline_orders=baseline / 100,
               discount_buying_orders=(cost - baseline) / 100,
               cost_per_incremental_order=cost / 100 / incremental if incremental > 0 else None)
    return out


def _compare(m: ArmKPIs, name: str, control: str, others: list[str], primary: str) -> list[dict[str, Any]]:
    ctl = m.arms.get((name, control))
    rows = []
    for v in others:
        arm = m.arms.get((name, v))
        for key in (primary, *(k for k in EXPERIMENT_METRICS if k != primary)):
            if key in OUTCOMES:
                words, success, among = OUTCOMES[key]
                xc, nc = _outcome(ctl, success, among) if ctl else (0, 0)
                xv, nv = _outcome(arm, success, among) if arm else (0, 0)
                cmp = stats.two_proportions(xc, nc, xv, nv)
                short = words.split(" (")[0]
            else:
                short = MEANS[key]
                cmp = stats.two_means(*(_revenue(ctl) if ctl else (0, 0.0, 0.0)),
                                      *(_revenue(arm) if arm else (0, 0.0, 0.0)))
                cmp["control_x"] = cmp["variant_x"] = None
            cmp.update(variant=v, control_name=control, metric=key, primary=key == primary)
            cmp["significant"] = (cmp["diff"] is not None and cmp["enough"]
                                  and (cmp["low"] > 0 or cmp["high"] < 0))
            cmp["verdict"] = (stats.verdict(cmp, short, v, control) if key in OUTCOMES
                              else _mean_verdict(cmp, short, v, control))
            rows.append(cmp)
    return rows


def _mean_verdict(cmp: dict[str, Any], what: str, variant: str, control: str) -> str:
    if cmp["diff"] is None or not cmp["enough"]:
        return (f"Too few shoppers to compare {what} (need 30 per arm; have {cmp['variant_n']:,} and "
                f"{cmp['control_n']:,}).")
    interval = f"95% CI {stats.signed(cmp['low'], 2)} to {stats.signed(cmp['high'], 2)}"
    if cmp["low"] > 0 or cmp["high"] < 0:
        return f"{variant}'s {what} differs from {control}'s by {stats.signed(cmp['diff'], 2)} ({interval})."
    return f"No detectable difference in {what} between {variant} and {control} ({interval})."
