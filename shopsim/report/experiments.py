"""The report's section for one experiment: its arms side by side, each arm against the control (uplifts
in percentage points for shopper rates), the verdicts, and what the arms' coupons bought."""

from __future__ import annotations

import re
from typing import Any

from shopsim.metrics.variants import MEANS, OUTCOMES
from shopsim.report import svg
from shopsim.report.labels import LABELS, pp, pp_range, signed
from shopsim.report.model import Block, Chart, Lines, Section, Table, count, money, number, rate

__all__ = ["experiment_section", "metric_words", "arm_value", "comparison_value", "clean_zero"]

_OUTCOME_WORDS = {k: words.split(" (")[0] for k, (words, _, _) in OUTCOMES.items()}


def metric_words(key: str) -> str:
    return _OUTCOME_WORDS.get(key) or MEANS.get(key) or key.replace("_", " ")


def clean_zero(text: str) -> str:
    """A sentence with no signed zero: "-0.0 pp" and "+0.0 pp" become "0.0 pp"."""
    return re.sub(r"[-+−](0(?:\.0+)?)(?![\d.])", r"\1", text)


def arm_value(arm: dict[str, Any], key: str) -> float | None:
    """An arm's value on an experiment metric: a shopper-level rate, or revenue per shopper."""
    if key in OUTCOMES:
        n = arm.get(f"{key}_of")
        return arm.get(f"{key}_shoppers", 0) / n if n else None
    return arm.get(key)


def comparison_value(key: str, v: float | None, currency: str | None, signed_: bool = False) -> str:
    if v is None:
        return "—"
    if key in OUTCOMES:
        return pp(v) if signed_ else rate(v)
    return signed(v, ",.2f", currency or "") if signed_ else f"{v:,.2f}" + (f" {currency}" if currency else "")


def _verdict_word(cmp: dict[str, Any]) -> str:
    if cmp["diff"] is None or not cmp["enough"]:
        return "too few"
    if cmp["significant"]:
        return "higher" if cmp["diff"] > 0 else "lower"
    return "no difference"


def _interval(key: str, cmp: dict[str, Any], currency: str | None) -> str:
    if cmp["low"] is None:
        return "—"
    if key in OUTCOMES:
        return pp_range(cmp["low"], cmp["high"])
    return f"{signed(cmp['low'])} to {signed(cmp['high'])}"  # the uplift beside it names the currency


_ARM_RATES = (("abandonment_rate", LABELS["abandonment_rate"]),
              ("checkout_abandonment_rate", LABELS["checkout_abandonment_rate"]),
              ("attributed_recovery_rate", "Attributed recovery (of carts abandoned)"),
              ("organic_recovery_rate", "Organic recovery (of carts abandoned)"),
              ("recovery_rate", "Recovery, any way (of carts abandoned)"),
              ("conversion_rate", "Conversion (orders ÷ visits)"))


def _arms_table(exp: dict[str, Any], cur: str | None) -> Table:
    variants: dict[str, dict[str, Any]] = exp["variants"]
    arms = list(variants)
    heads = [f"{v} (control)" if v == exp["control"] else f"{v} (holdout)" if variants[v].get("holdout") else v
             for v in arms]

    def row(label: str, fn) -> list[str]:
        return [label, *(fn(variants[v]) if variants[v].get("shoppers") else "—" for v in arms)]

    def outcome(key: str):
        def fmt(a: dict[str, Any]) -> str:
            n = a.get(f"{key}_of", 0)
            return f"{count(a.get(f'{key}_shoppers', 0))} / {count(n)} ({rate(arm_value(a, key))})"
        return fmt

    rows = [["shoppers", *(count(variants[v].get("shoppers", 0)) for v in arms)],
            row("Recovery: shoppers", outcome("recovery")),
            row("Conversion: shoppers", outcome("conversion")),
            row("Unsubscribe: shoppers", outcome("unsubscribe")),
            row("Revenue per shopper", lambda a: money(a.get("revenue_per_shopper"), cur))]
    rows += [row(label, lambda a, k=k: rate(a.get(k))) for k, label in _ARM_RATES if any(k in variants[v]
                                                                                         for v in arms)]
    rows += [row("Revenue", lambda a: money(a.get("revenue"), cur)),
             row("Revenue of recovered carts", lambda a: money(a.get("recovered_revenue"), cur)),
             row("Discount cost (coupons)", lambda a: money(a.get("discount_cost"), cur)),
             row("Messages delivered", lambda a: count(a.get("messages_delivered"))),
             row("Messages per shopper per day", lambda a: number(a.get("messages_per_shopper_per_day"), 3)),
             row("Open rate, reported (of delivered)", lambda a: rate(a.get("open_rate")))]
    if any("human_open_rate" in variants[v] for v in arms):
        rows.append(row("Open rate, people only (of delivered)", lambda a: rate(a.get("human_open_rate"))))
    rows += [row("Click rate (of delivered)", lambda a: rate(a.get("click_rate"))),
             row("Unsubscribe rate (of delivered)", lambda a: rate(a.get("unsubscribe_rate")))]
    return Table("Arms", ["", *heads], rows, wrap=(0,),
                 note="Shopper outcomes (x / n): recovery among shoppers who abandoned a cart; conversion and "
                      "unsubscribe among all the arm's shoppers.")


def _coupon_table(exp: dict[str, Any], cur: str | None) -> Block | None:
    roi = {v: a.get("coupon") for v, a in exp["variants"].items() if a.get("coupon")}
    if not roi:
        return None
    if not any(r.get("redeemed_orders") for r in roi.values()):
        return Lines(["Coupons: no order used a coupon in any arm."])
    control = exp["control"]
    arms = list(roi)

    def row(label: str, key: str, fmt) -> list[str]:
        return [label, *(fmt(roi[v].get(key)) for v in arms)]

    def per_order(v: float | None) -> str:
        return "— (no order gained)" if v is None else money(v, cur)

    return Table(f"Coupons: what the discount bought, against {control}", ["", *arms], [
        row("Orders that used a coupon", "redeemed_orders", count),
        row("Discount given", "discount_cost", lambda v: money(v, cur)),
        row(f"Orders gained over {control} (scaled to the arm's size)", "incremental_orders",
            lambda v: "—" if v is None else signed(v, ",.1f")),
        row("Discount on orders that would have happened anyway", "discount_on_baseline_orders",
            lambda v: money(v, cur)),
        row("Discount that bought an order", "discount_buying_orders", lambda v: money(v, cur)),
        row("Cost per incremental order", "cost_per_incremental_order", per_order),
    ], wrap=(0,), note="Orders gained: the arm's orders minus the control's, scaled to the arm's number of "
                       "shoppers. Coupon orders beyond the gained ones would have happened anyway.")


def experiment_section(name: str, exp: dict[str, Any], result: dict[str, Any], charts: bool) -> Section:
    cur = result["commerce"].get("currency")
    variants: dict[str, dict[str, Any]] = exp["variants"]
    comps = exp["comparisons"]
    control_name = exp["control"]
    control = variants.get(control_name, {})
    blocks: list[Block] = [Lines([f"metric: {metric_words(exp['metric'])}; control: {control_name}"])]
    primary = [c for c in comps if c.get("primary")]
    if charts and primary:
        key = exp["metric"]
        blocks.append(Chart(svg.interval_chart(
            f"Uplift on {metric_words(key)} against {control_name}"
            + (" (percentage points)" if key in OUTCOMES else "") + ", with 95% intervals",
            [(f"{c['variant']} vs {control_name}", c["diff"], c["low"], c["high"]) for c in primary],
            percent=key in OUTCOMES)))
    blocks.append(_arms_table(exp, cur))
    for v in dict.fromkeys(c["variant"] for c in comps):
        rows, verdicts = [], []
        for cmp in (c for c in comps if c["variant"] == v):
            key = cmp["metric"]
            rows.append([metric_words(key) + (" ★" if cmp.get("primary") else ""),
                         comparison_value(key, arm_value(control, key), cur),
                         comparison_value(key, arm_value(variants.get(v, {}), key), cur),
                         comparison_value(key, cmp["diff"], cur, True), _interval(key, cmp, cur),
                         "—" if cmp["p"] is None else ("< 0.001" if cmp["p"] < 0.001 else f"{cmp['p']:.3f}"),
                         _verdict_word(cmp)])
            verdicts.append(clean_zero(cmp["verdict"]))
        blocks.append(Table(f"{v} (variant) against {control_name} (control)",
                            ["metric", "control", "variant", "uplift", "95% interval", "p", "verdict"], rows,
                            align="lrrrrrl"))
        blocks.append(Lines(verdicts, bullets=True))
    coupons = _coupon_table(exp, cur)
    if coupons is not None:
        blocks.append(coupons)
    blocks.append(Lines(["★ the experiment's metric. Uplift: variant minus control, in percentage points (pp) "
                         "for shopper rates. 95% intervals: unpooled Wald; p: pooled two-proportion z-test; "
                         "revenue per shopper: Welch's normal approximation. Definitions: docs/metrics.md."]))
    return Section(f"Experiment: {name}", blocks)
