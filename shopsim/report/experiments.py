"""The report's section for one experiment: the answers to the comparisons the scenario names, the
sample-ratio check, its arms side by side, every pair of arms (each against the control, then the others;
uplifts in percentage points for shopper rates) with p-values adjusted by Holm's method across all of them,
the verdicts, and what the arms' coupons bought."""

from __future__ import annotations

import re
from typing import Any

from shopsim.metrics.variants import MEANS, OUTCOMES
from shopsim.report import svg
from shopsim.report.labels import LABELS, pp, pp_range, signed
from shopsim.report.model import Block, Chart, Lines, Section, Table, count, money, number, rate

__all__ = ["experiment_section", "metric_words", "arm_value", "comparison_value", "clean_zero", "answer",
           "srm_words", "holm_words"]

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


def _p(p: float | None) -> str:
    return "—" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def _verdict_after_holm(cmp: dict[str, Any]) -> str:
    """The verdict word once every comparison of the experiment is accounted for: a difference whose interval
    excludes zero but whose Holm-adjusted p is 0.05 or more is "not after Holm"."""
    word = _verdict_word(cmp)
    if word in ("higher", "lower") and cmp.get("p_holm") is not None and not cmp.get("significant_holm"):
        return "not after Holm"
    return word


def _pair_table(title: str, rows_of: list[dict[str, Any]], variants: dict[str, dict[str, Any]],
                cur: str | None, base_head: str) -> Table:
    base, arm = rows_of[0]["control_name"], rows_of[0]["variant"]
    rows = []
    for cmp in rows_of:
        key = cmp["metric"]
        rows.append([metric_words(key) + (" ★" if cmp.get("primary") else ""),
                     comparison_value(key, arm_value(variants.get(base, {}), key), cur),
                     comparison_value(key, arm_value(variants.get(arm, {}), key), cur),
                     comparison_value(key, cmp["diff"], cur, True), _interval(key, cmp, cur), _p(cmp["p"]),
                     _p(cmp.get("p_holm")), _verdict_after_holm(cmp)])
    return Table(title, ["metric", base_head, "variant", "uplift", "95% interval", "p", "Holm p", "verdict"],
                 rows, align="lrrrrrrl", wrap=(0,))


def _by_pair(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in rows:
        groups.setdefault((c["variant"], c["control_name"]), []).append(c)
    return list(groups.values())


def answer(cmp: dict[str, Any], family: int) -> str:
    """A named comparison's answer on the experiment's metric, with what Holm's correction makes of it."""
    text = clean_zero(cmp["verdict"])
    if cmp.get("p_holm") is None or cmp["diff"] is None or not cmp["enough"]:
        return text
    shown = _p(cmp["p_holm"])
    adjusted = f"Holm-adjusted p {shown if shown.startswith('<') else '= ' + shown}"
    if cmp.get("significant_holm"):
        return f"{text} It holds across all {family} comparisons of the experiment ({adjusted})."
    if cmp["significant"]:
        return (f"{text} It does not hold once all {family} comparisons of the experiment are accounted for "
                f"({adjusted}): treat it as a lead, not a finding.")
    return f"{text} ({adjusted} across the {family} comparisons.)"


def srm_words(srm: dict[str, Any] | None) -> str | None:
    """The sample-ratio check in one sentence (None for a log that carries no weights)."""
    if not srm:
        return None
    counts = ", ".join(f"{v} {count(n)} (expected {e:,.0f})" for v, n, e in zip(srm["arms"], srm["counts"],
                                                                                  srm["expected"]))
    stat = f"chi-square {srm['chi2']:.2f} on {srm['df']} degree{'s' if srm['df'] != 1 else ''} of freedom, p {_p(srm['p'])}"
    if srm["mismatch"]:
        return (f"Sample-ratio mismatch: the arms' sizes do not match their weights ({counts}; {stat}, below "
                f"{srm['alpha']}). Assignment or logging is broken somewhere: do not trust the comparisons below.")
    return f"Arm sizes match their weights ({counts}; {stat}; a mismatch is flagged below p {srm['alpha']})."


def holm_words(exp: dict[str, Any]) -> str:
    family = (exp.get("holm") or {}).get("family")
    if not family:
        return ""
    arms = len(exp["variants"])
    return (f"p (Holm): each p-value adjusted by Holm's step-down method for the {family} comparisons this "
            f"section reports (every pair of the {arms} arms on each metric), so that the chance of any false "
            "call among them stays at most 5%. \"not after Holm\": the 95% interval excludes zero, but the "
            "difference does not stand once they are all accounted for.")


def experiment_section(name: str, exp: dict[str, Any], result: dict[str, Any], charts: bool) -> Section:
    cur = result["commerce"].get("currency")
    variants: dict[str, dict[str, Any]] = exp["variants"]
    comps = exp["comparisons"]
    pairs = exp.get("pairs") or []
    control_name = exp["control"]
    family = (exp.get("holm") or {}).get("family") or 0
    blocks: list[Block] = [Lines([f"metric: {metric_words(exp['metric'])}; control: {control_name}"])]
    named = [c for c in comps + pairs if c.get("named")]
    answers = [answer(c, family) for c in named if c.get("primary")]
    if answers:
        blocks.append(Lines([f"The question{'s' if len(answers) > 1 else ''} the scenario names "
                             f"(compare:), on {metric_words(exp['metric'])}:"]))
        blocks.append(Lines(answers, bullets=True))
    srm = srm_words(exp.get("srm"))
    if srm:
        blocks.append(Lines([srm], style="warn" if exp["srm"]["mismatch"] else ""))
    primary = [c for c in comps if c.get("primary")]
    if charts and primary:
        key = exp["metric"]
        blocks.append(Chart(svg.interval_chart(
            f"Uplift on {metric_words(key)} against {control_name}"
            + (" (percentage points)" if key in OUTCOMES else "") + ", with 95% intervals",
            [(f"{c['variant']} vs {control_name}", c["diff"], c["low"], c["high"]) for c in primary],
            percent=key in OUTCOMES)))
    blocks.append(_arms_table(exp, cur))
    for rows in _by_pair([c for c in named] + [c for c in comps if not c.get("named")]
                         + [c for c in pairs if not c.get("named")]):
        v, base = rows[0]["variant"], rows[0]["control_name"]
        title = (f"{v} (variant) against {base} (control)" if base == control_name
                 else f"{v} against {base}")
        if rows[0].get("named"):
            title += ": named in the scenario"
        blocks.append(_pair_table(title, rows, variants, cur, "control" if base == control_name else "against"))
        blocks.append(Lines([clean_zero(c["verdict"]) for c in rows], bullets=True))
    coupons = _coupon_table(exp, cur)
    if coupons is not None:
        blocks.append(coupons)
    blocks.append(Lines(["★ the experiment's metric. Uplift: variant minus control (or the second arm named), in "
                         "percentage points (pp) for shopper rates. 95% intervals: unpooled Wald; p: pooled "
                         "two-proportion z-test; revenue per shopper: Welch's normal approximation. "
                         + holm_words(exp) + " Definitions: docs/metrics.md."]))
    return Section(f"Experiment: {name}", blocks)
