"""The content of `shopsim report`, independent of its format: sections of tables, lines and charts.

`build_report(result)` turns a `Metrics.result()` into a `Report`; shopsim.report.render prints it as text
(rich), Markdown or a self-contained HTML page. Every figure is formatted here, once, so the three formats
say the same thing. Charts are made only for HTML (`charts=True`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shopsim.metrics.catalog import format_value
from shopsim.metrics.variants import MEANS, OUTCOMES
from shopsim.report import svg

__all__ = ["Table", "Lines", "Chart", "Section", "Report", "build_report", "human_duration", "instant",
           "run_period"]


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    align: str = ""            # one letter per column, "l" or "r"; missing letters: "l" for the first, else "r"
    note: str = ""             # a line under the table
    total_last: bool = False   # the last row is a total (drawn apart in text)
    wrap: tuple[int, ...] = ()  # columns whose text may wrap in a terminal (the others never do)

    def alignment(self, i: int) -> str:
        return self.align[i] if i < len(self.align) else ("l" if i == 0 else "r")


@dataclass
class Lines:
    """Sentences: plain (`bullets` False) or a bulleted list; `style` "warn" for warnings."""
    items: list[str]
    bullets: bool = False
    style: str = ""


@dataclass
class Chart:
    svg: str


Block = Table | Lines | Chart


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    warnings: list[str]
    sections: list[Section]


# --- formatting ------------------------------------------------------------------------------------------

def count(v: Any) -> str:
    return format_value(v, "count")


def rate(v: Any) -> str:
    return format_value(v, "rate")


def money(v: Any, currency: str | None = None) -> str:
    return format_value(v, "money", currency or "")


def number(v: Any, digits: int = 2) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def human_duration(ms: float | None) -> str:
    """A duration in its two largest units, rounded down: '2d 19h', '5h 12m', '12m 30s', '40s'."""
    if ms is None:
        return "—"
    whole = int(ms) % 1000 == 0
    s = int(ms) // 1000
    if s < 60:
        return f"{s}s" if s or not ms else f"{int(ms)}ms"
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:  # "2d" is exactly two days; 2d 0h 23m is "2d 0h"
        return f"{d}d" if whole and not (h or m or s) else f"{d}d {h}h"
    if h:
        return f"{h}h" if whole and not (m or s) else f"{h}h {m}m"
    return f"{m}m" if whole and not s else f"{m}m {s}s"


def signed_duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    return ("+" if ms >= 0 else "-") + human_duration(abs(ms))


def _start(run: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(run.get("start")).replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def instant(run: dict[str, Any], ms: int) -> str:
    """A virtual time of the run as the log writes it: 2026-03-02T08:00:00.000Z."""
    start = _start(run)
    if start is None:
        return f"{ms} ms after the start"
    t = start + timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def run_period(run: dict[str, Any]) -> str:
    start = _start(run)
    if start is None:
        return "—"
    end = start + timedelta(milliseconds=run.get("elapsed_ms") or 0)
    span = human_duration(run.get("elapsed_ms") or 0)
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC ({span})"


def day_labels(run: dict[str, Any], n: int) -> list[str]:
    start = _start(run)
    if start is None:
        return [f"day {i + 1}" for i in range(n)]
    return [f"{(start + timedelta(days=i)):%b} {(start + timedelta(days=i)).day}" for i in range(n)]


def _share(part: float, whole: float) -> str:
    return rate(part / whole) if whole else "—"


def _label(key: str) -> str:
    return key.replace("_", " ")


# --- the report ------------------------------------------------------------------------------------------

def incomplete_warning(result: dict[str, Any]) -> str | None:
    run = result["run"]
    if run.get("complete"):
        return None
    return (f"incomplete run: figures cover up to {instant(run, run.get('elapsed_ms') or 0)} "
            "(the log has no run.finished line)")


def build_report(result: dict[str, Any], *, charts: bool = False, source: str = "") -> Report:
    run = result["run"]
    name = run.get("scenario") or "run"
    title = f"{name} (seed {run.get('seed')})"
    warn = incomplete_warning(result)
    sections = [
        _run_section(result, source),
        _commerce_section(result, charts),
        _abandonment_section(result),
        _recovery_time_section(result, charts),
        _messages_section(result, charts),
        _suppression_section(result, charts),
        _ads_section(result),
    ]
    for exp_name, exp in (result.get("experiments") or {}).items():
        sections.append(_experiment_section(exp_name, exp, result, charts))
    return Report(title=title, subtitle=run.get("description") or "", warnings=[warn] if warn else [],
                  sections=sections)


def _run_section(result: dict[str, Any], source: str) -> Section:
    run = result["run"]
    rows = [["scenario", str(run.get("scenario"))], ["seed", str(run.get("seed"))],
            ["period", run_period(run)], ["shoppers", count(run.get("shoppers"))],
            ["events", count(run.get("events"))],
            ["complete", "yes" if run.get("complete") else "no: the log has no run.finished line"],
            ["shopsim version", str(run.get("version"))]]
    if source:
        rows.insert(0, ["run file", source])
    return Section("Run", [Table("", ["", ""], rows, align="ll")])


def _commerce_section(result: dict[str, Any], charts: bool) -> Section:
    c = result["commerce"]
    cur = c.get("currency")
    funnel = Table("Funnel", ["step", "count", "rate", "of"], [
        ["visits", count(c["visits"]), "", ""],
        ["carts (an item added)", count(c["carts"]), "", ""],
        ["checkouts", count(c["checkouts"]), _share(c["checkouts"], c["carts"]), "carts"],
        ["carts abandoned", count(c["carts_abandoned"]), rate(c["abandonment_rate"]), "carts"],
        ["carts recovered", count(c["carts_recovered"]), rate(c["recovery_rate"]), "carts abandoned"],
        ["orders", count(c["orders"]), rate(c["conversion_rate"]), "visits"],
        ["paid orders", count(c["paid_orders"]), _share(c["paid_orders"], c["orders"]), "orders"],
    ], align="lrrl")
    recovered = c["carts_recovered"]
    recovery = Table("Recovery and money", ["", "value", "share"], [
        ["recovered after a message click", count(c["recovered_by_notification"]),
         _share(c["recovered_by_notification"], recovered)],
        ["recovered after an ad click", count(c["recovered_by_ad"]), _share(c["recovered_by_ad"], recovered)],
        ["recovered with no click to credit", count(c["recovered_unattributed"]),
         _share(c["recovered_unattributed"], recovered)],
        ["attributed recovery rate (of carts abandoned)", rate(c["attributed_recovery_rate"]), ""],
        ["orders attributed to a click", count(c["attributed_orders"]), _share(c["attributed_orders"], c["orders"])],
        ["shoppers who ordered", rate(c["shopper_conversion_rate"]), ""],
        ["revenue (payments confirmed)", money(c["revenue"], cur), ""],
        ["recovered revenue", money(c["recovered_revenue"], cur), _share(c["recovered_revenue"], c["revenue"])],
        ["discount cost", money(c["discount_cost"], cur), _share(c["discount_cost"], c["revenue"])],
        ["refunded", money(c["refunded"], cur), _share(c["refunded"], c["revenue"])],
        ["coupons issued", count(c["coupons_issued"]), ""],
        ["coupons redeemed", count(c["coupons_redeemed"]), _share(c["coupons_redeemed"], c["coupons_issued"])],
    ], align="lrr", note="shares: of carts recovered, of orders, of revenue, of coupons issued")
    blocks: list[Block] = []
    if charts:
        blocks.append(Chart(svg.bar_chart(
            "Cart funnel", ["carts", "checkouts", "abandoned", "recovered", "orders"],
            [c["carts"], c["checkouts"], c["carts_abandoned"], c["carts_recovered"], c["orders"]])))
    blocks += [funnel, recovery]
    if charts:
        blocks.append(_recovery_over_time(result))
    return Section("Commerce funnel and recovery", blocks)


def _recovery_over_time(result: dict[str, Any]) -> Chart:
    """Each day's abandoned carts and the share of them recovered by the end of the run (a cohort rate:
    a recovery counts on the day its cart was first abandoned), with the running total."""
    day = result["series"]["day"]
    rec, ab = day.get("recovered_cohort", []), day.get("carts_abandoned", [])
    n = max(len(rec), len(ab))
    rec, ab = rec + [0] * (n - len(rec)), ab + [0] * (n - len(ab))
    daily, cumulative, r_sum, a_sum = [], [], 0, 0
    for r, a in zip(rec, ab):
        r_sum, a_sum = r_sum + r, a_sum + a
        daily.append(r / a if a else None)
        cumulative.append(r_sum / a_sum if a_sum else None)
    return Chart(svg.line_chart("Recovery rate by day of abandonment (recovered by the run's end / abandoned "
                                "that day)", day_labels(result["run"], n),
                                {"that day's carts": daily, "all carts so far": cumulative}, percent=True))


def _abandonment_section(result: dict[str, Any]) -> Section:
    c = result["commerce"]
    total = c["abandonments"]
    reasons = Table("Reasons", ["reason", "abandonments", "share"],
                    [[_label(r), count(n), _share(n, total)] for r, n in c["abandonment_reasons"].items()])
    stages = ", ".join(f"at {_label(s)} {count(n)}" for s, n in c["abandonment_stages"].items())
    lines = Lines([f"{count(total)} abandonments of {count(c['carts_abandoned'])} carts (a cart can be abandoned "
                   f"more than once)" + (f"; {stages}." if stages else ".")])
    if not total:
        return Section("Abandonment", [Lines(["no cart was abandoned"])])
    return Section("Abandonment", [reasons, lines])


def _recovery_time_section(result: dict[str, Any], charts: bool) -> Section:
    r = result["recovery_time"]
    if not r["count"]:
        return Section("Time to recovery", [Lines(["no abandoned cart was recovered"])])
    pct = Table("From first abandonment to order", ["carts", "p25", "median", "p75", "p90", "mean"],
                [[count(r["count"]), *(human_duration(r[k]) for k in ("p25_ms", "p50_ms", "p75_ms", "p90_ms",
                                                                      "mean_ms"))]], align="rrrrrr")
    top = max((n for _, n in r["histogram"]), default=0)
    hist = Table("Histogram", ["time to recovery", "carts", "share", ""],
                 [[label, count(n), _share(n, r["count"]), "█" * round(24 * n / top) if top else ""]
                  for label, n in r["histogram"]], align="lrrl")
    blocks: list[Block] = [pct]
    if charts:
        blocks.append(Chart(svg.bar_chart("Time to recovery", [label for label, _ in r["histogram"]],
                                          [n for _, n in r["histogram"]], unit="carts")))
    blocks.append(hist)
    return Section("Time to recovery", blocks)


_DELIVERY = ("requested", "delivered", "deferred", "digested", "suppressed")


def _delivery_table(title: str, first: str, items: dict[str, dict[str, Any]], total: dict[str, Any] | None) -> Table:
    rows = []
    for key, n in [*items.items(), *((("all", total),) if total else ())]:
        rows.append([_label(key), *(count(n[f]) for f in _DELIVERY), rate(n["delivery_rate"]),
                     number(n["per_shopper_per_day"], 3)])
    return Table(title, [first, *_DELIVERY, "delivery\nrate", "per shopper\nper day"], rows,
                 total_last=total is not None)


def _engagement_table(title: str, first: str, items: dict[str, dict[str, Any]], total: dict[str, Any] | None) -> Table:
    rows = []
    for key, n in [*items.items(), *((("all", total),) if total else ())]:
        rows.append([_label(key), count(n["opened"]), rate(n["open_rate"]), count(n["clicked"]),
                     rate(n["click_rate"]), rate(n["click_to_open_rate"]), count(n["orders"]), rate(n["order_rate"]),
                     count(n["unsubscribed"]), rate(n["unsubscribe_rate"])])
    return Table(title, [first, "opened", "open\nrate", "clicked", "click\nrate", "click /\nopen", "orders",
                         "order\nrate", "unsub-\nscribed", "unsub\nrate"], rows, total_last=total is not None)


def _messages_section(result: dict[str, Any], charts: bool) -> Section:
    total = result["messages"]
    if not total["requested"]:
        return Section("Messages", [Lines(["no notification was requested in this run"])])
    channels, categories = result["channels"], result["categories"]
    blocks: list[Block] = []
    if charts:
        day = result["series"]["day"]
        series = {ch: day.get(f"delivered_{ch}", []) for ch in channels if any(day.get(f"delivered_{ch}", []))}
        if any(day.get("ad_impressions", [])):
            series["ads"] = day["ad_impressions"]
        n = max((len(v) for v in series.values()), default=0)
        blocks.append(Chart(svg.stacked_bars("Messages delivered per day, by channel (ads: impressions)",
                                             day_labels(result["run"], n), series)))
    blocks += [
        _delivery_table("Delivery by channel", "channel", channels, total),
        _engagement_table("Engagement by channel", "channel", channels, total),
        _delivery_table("Delivery by category", "category", categories, None),
        _engagement_table("Engagement by category", "category", categories, None),
        Lines(["Rates of requested: delivery. Rates of delivered: open, click, order, unsubscribe; click / open "
               "is clicked / opened. A rerouted critical message counts on the channel it went to; a digest "
               "is one delivery. Orders: orders attributed to a click on a message."]),
    ]
    return Section("Messages", blocks)


def _suppression_section(result: dict[str, Any], charts: bool, top: int = 10) -> Section:
    total = result["messages"]
    reasons = total["suppressed_by_reason"]
    if not reasons:
        return Section("Suppression reasons", [Lines(["no notification was suppressed"])])
    channels = [ch for ch, n in result["channels"].items() if n["suppressed"]]
    rows = []
    for reason, n in list(reasons.items())[:top]:
        rows.append([_label(reason), count(n), _share(n, total["suppressed"]),
                     *(count(result["channels"][ch]["suppressed_by_reason"].get(reason, 0)) for ch in channels)])
    table = Table(f"Top {min(top, len(reasons))} of {len(reasons)} reasons" if len(reasons) > top else "",
                  ["reason", "suppressed", "share", *(_label(ch) for ch in channels)], rows)
    blocks: list[Block] = []
    if charts:
        shown = list(reasons.items())[:top]
        blocks.append(Chart(svg.bar_chart("Suppressed notifications by reason", [r for r, _ in shown],
                                          [n for _, n in shown])))
    blocks.append(table)
    return Section("Suppression reasons", blocks)


def _ads_section(result: dict[str, Any]) -> Section:
    a, c = result["ads"], result["commerce"]
    if not a["impressions"]:
        return Section("Ads", [Lines(["no retargeting ad was shown in this run"])])
    return Section("Ads", [Table("", ["", "value"], [
        ["impressions", count(a["impressions"])],
        ["clicks", count(a["clicks"])],
        ["click rate (of impressions)", rate(a["click_rate"])],
        ["orders attributed to an ad click", count(a["orders"])],
        ["order rate (of clicks)", rate(a["order_rate"])],
        ["carts recovered after an ad click", count(c["recovered_by_ad"])],
    ], align="lr")])


# --- experiments -----------------------------------------------------------------------------------------

_OUTCOME_WORDS = {k: words.split(" (")[0] for k, (words, _, _) in OUTCOMES.items()}


def metric_words(key: str) -> str:
    return _OUTCOME_WORDS.get(key) or MEANS.get(key) or _label(key)


def arm_value(arm: dict[str, Any], key: str) -> float | None:
    """An arm's value on an experiment metric: a shopper-level rate, or revenue per shopper."""
    if key in OUTCOMES:
        n = arm.get(f"{key}_of")
        return arm.get(f"{key}_shoppers", 0) / n if n else None
    return arm.get(key)


def comparison_value(key: str, v: float | None, currency: str | None, signed: bool = False) -> str:
    if v is None:
        return "—"
    if key in OUTCOMES:
        return f"{v * 100:+.1f} pp" if signed else rate(v)
    return (f"{v:+,.2f}" if signed else f"{v:,.2f}") + (f" {currency}" if currency else "")


def _verdict_word(cmp: dict[str, Any]) -> str:
    if cmp["diff"] is None or not cmp["enough"]:
        return "too few"
    if cmp["significant"]:
        return "higher" if cmp["diff"] > 0 else "lower"
    return "no difference"


def _interval(key: str, cmp: dict[str, Any], currency: str | None) -> str:
    if cmp["low"] is None:
        return "—"
    unit = " pp" if key in OUTCOMES else f" {currency}" if currency else ""
    scale, digits = (100, 1) if key in OUTCOMES else (1, 2)
    return f"{cmp['low'] * scale:+,.{digits}f} to {cmp['high'] * scale:+,.{digits}f}{unit}"


def _experiment_section(name: str, exp: dict[str, Any], result: dict[str, Any], charts: bool) -> Section:
    cur = result["commerce"].get("currency")
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
            row("recovery: shoppers", outcome("recovery")),
            row("conversion: shoppers", outcome("conversion")),
            row("unsubscribe: shoppers", outcome("unsubscribe")),
            row("revenue per shopper", lambda a: money(a.get("revenue_per_shopper"), cur)),
            row("abandonment rate (carts)", lambda a: rate(a.get("abandonment_rate"))),
            row("recovery rate (carts)", lambda a: rate(a.get("recovery_rate"))),
            row("attributed recovery rate", lambda a: rate(a.get("attributed_recovery_rate"))),
            row("conversion rate (visits)", lambda a: rate(a.get("conversion_rate"))),
            row("revenue", lambda a: money(a.get("revenue"), cur)),
            row("recovered revenue", lambda a: money(a.get("recovered_revenue"), cur)),
            row("discount cost", lambda a: money(a.get("discount_cost"), cur)),
            row("messages delivered", lambda a: count(a.get("messages_delivered"))),
            row("messages per shopper per day", lambda a: number(a.get("messages_per_shopper_per_day"), 3)),
            row("open rate", lambda a: rate(a.get("open_rate"))),
            row("click rate", lambda a: rate(a.get("click_rate"))),
            row("unsubscribe rate", lambda a: rate(a.get("unsubscribe_rate")))]
    arms_table = Table("Arms", ["", *heads], rows,
                       note="Shopper outcomes (x / n): recovery among shoppers who abandoned a cart; conversion "
                            "and unsubscribe among all the arm's shoppers.")
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
    blocks.append(arms_table)
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
            verdicts.append(cmp["verdict"])
        blocks.append(Table(f"{v} (variant) against {control_name} (control)",
                            ["metric", "control", "variant", "uplift", "95% interval", "p", "verdict"], rows,
                            align="lrrrrrl"))
        blocks.append(Lines(verdicts, bullets=True))
    blocks.append(Lines(["★ the experiment's metric. Uplift: variant minus control, in percentage points (pp) "
                         "for shopper rates. 95% intervals: unpooled Wald; p: pooled two-proportion z-test; "
                         "revenue per shopper: Welch's normal approximation. Definitions: docs/metrics.md."]))
    return Section(f"Experiment: {name}", blocks)
