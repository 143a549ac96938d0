"""Experiment results: KPIs per arm, each arm against the control and every other pair of arms on
shopper-level outcomes, Holm-adjusted p-values over all of them, and the sample-ratio-mismatch check.

The unit is the shopper (assignment is per shopper), so every test here is on per-shopper outcomes:
carts of one shopper are not independent, and counting them as if they were would make intervals too
narrow.

`comparisons` holds each arm against the control (what `expect:` and the live screen read); `pairs` every
other pair of arms, the scenario's named ones (`compare:`) first, each named pair as written (variant
against baseline), the others later arm against earlier. The Holm family is every row of both lists: all
pairs of arms x the four metrics."""

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
    "p_value_holm": kpi("experiment", "number", "the uplift's p-value adjusted by Holm's method for every "
                                               "comparison of the experiment", "p_holm"),
    "sample_ratio_p": kpi("experiment", "number", "p-value of the sample-ratio check: the arms' sizes against "
                                                 "their weights (chi-square); below 0.001 is a mismatch", "srm_p"),
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
        # Each arm's tallies, counted once: with k arms every arm is in k - 1 pairs.
        tallies: dict[str, dict[str, Any]] = {}
        for v in variants:
            arm = m.arms.get((name, v))
            if arm is None:
                arms[v] = {"shoppers": 0, "holdout": v in holdouts}
                tallies[v] = {**{key: (0, 0) for key in OUTCOMES}, "revenue": (0, 0.0, 0.0)}
                continue
            arm.end_t = m.end_t
            commerce = arm._commerce()
            row: dict[str, Any] = {"shoppers": arm.shoppers, "holdout": v in holdouts}
            row.update({k: commerce[k] for k in ARM_KPIS})
            msgs = arm.total.as_dict(arm.shoppers, arm.days)
            row.update(messages_delivered=msgs["delivered"], messages_per_shopper_per_day=msgs["per_shopper_per_day"],
                       open_rate=msgs["open_rate"], human_open_rate=msgs["human_open_rate"],
                       click_rate=msgs["click_rate"], unsubscribe_rate=msgs["unsubscribe_rate"])
            tally: dict[str, Any] = {}
            for key, (_, success, among) in OUTCOMES.items():
                x, n = tally[key] = _outcome(arm, success, among)
                row[f"{key}_shoppers"], row[f"{key}_of"] = x, n
            n, s, ss = tally["revenue"] = _revenue(arm)
            tallies[v] = tally
            row["revenue_per_shopper"] = s / n if n else None
            row["coupon"] = None if v == control else coupon_roi(arm, m.arms.get((name, control)))
            arms[v] = row
        named = [(c["variant"], c["against"]) for c in spec.get("compare") or ()]
        comparisons = [row for v in variants if v != control for row in _compare(tallies, control, v, metric)]
        pairs = [row for v, base in _pairs(variants, control, named) for row in _compare(tallies, base, v, metric)]
        for row in comparisons + pairs:
            row["named"] = (row["variant"], row["control_name"]) in named
        family = comparisons + pairs
        for row, adjusted in zip(family, stats.holm([r["p"] for r in family])):
            row["p_holm"] = adjusted
            row["significant_holm"] = adjusted is not None and row["enough"] and adjusted < 0.05
        weights = {v["name"]: v.get("weight", 1.0) for v in spec.get("variants", ())}
        srm = _srm(arms, weights)
        for row in family:  # so that `expect:` can read the check on any arm's row
            row["srm_p"] = srm["p"] if srm else None
        out[name] = {"metric": metric, "control": control, "variants": arms, "named": [list(p) for p in named],
                     "comparisons": comparisons, "pairs": pairs,
                     "holm": {"family": sum(1 for r in family if r["p"] is not None), "alpha": 0.05},
                     "srm": srm}
    return out


def _pairs(variants: list[str], control: str, named: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(variant, baseline) for every pair of arms not involving the control: the named ones first, as named,
    then the rest, later arm against earlier. A named pair with the control is among the comparisons."""
    out = [(v, b) for v, b in named if control not in (v, b) and v in variants and b in variants]
    seen = {frozenset(p) for p in out}
    others = [v for v in variants if v != control]
    for i, base in enumerate(others):
        for v in others[i + 1:]:
            if frozenset((v, base)) not in seen:
                out.append((v, base))
    return out


def _srm(arms: dict[str, dict[str, Any]], weights: dict[str, float]) -> dict[str, Any] | None:
    """The arms' shopper counts against the weights the experiment declared; None without declared weights
    (a log written before experiment.started carried them has nothing to check against)."""
    names = [v for v in arms if v in weights]
    if len(names) < 2 or len(names) != len(arms):
        return None
    out = stats.srm_test([arms[v].get("shoppers", 0) for v in names], [weights[v] for v in names])
    out["arms"] = names
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


def _compare(tallies: dict[str, dict[str, Any]], control: str, v: str, primary: str) -> list[dict[str, Any]]:
    """Arm `v` against arm `control` (the experiment's control, or the baseline of a pair) on every metric,
    the experiment's own first, from each arm's tallies: (x, n) per outcome, (n, sum, sum of squares) of
    revenue."""
    ctl, arm = tallies[control], tallies[v]
    rows = []
    for key in (primary, *(k for k in EXPERIMENT_METRICS if k != primary)):
        if key in OUTCOMES:
            short = OUTCOMES[key][0].split(" (")[0]
            cmp = stats.two_proportions(*ctl[key], *arm[key])
        else:
            short = MEANS[key]
            cmp = stats.two_means(*ctl["revenue"], *arm["revenue"])
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
