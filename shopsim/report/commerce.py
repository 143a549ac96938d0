"""The report's sections about the run, the shoppers and the carts: the funnel and recovery, devices, why
carts were abandoned (and what the exit survey says), time to recovery.

Each function takes a `Metrics.result()` and returns a `Section`. Keys the KPIs do not give (an older
result) read as missing ("—") rather than failing."""

from __future__ import annotations

from typing import Any

from shopsim.report import svg
from shopsim.report.funnel import (MAIN, OPEN, carts_abandoned_at_checkout, cart_funnel, headline_recovery,
                                    recovery_split)
from shopsim.report.labels import LABELS, PLATFORMS, REASONS, SURVEY_CHANNELS, device_words, pp, pp_range, reason_words
from shopsim.report.changes import change_markers
from shopsim.report.model import (Block, Chart, Lines, Section, Table, count, day_labels,
                                  human_duration, money, rate, run_period, share)
from shopsim.contract.taxonomy import BROWSE_STAGE_REASONS

__all__ = ["run_section", "shoppers_section", "funnel_section", "device_section", "reasons_section",
           "recovery_time_section", "incremental_text"]


def run_section(result: dict[str, Any], source: str) -> Section:
    run = result["run"]
    rows = [["scenario", str(run.get("scenario"))], ["seed", str(run.get("seed"))],
            ["period", run_period(run)], ["shoppers", count(run.get("shoppers"))],
            ["events", count(run.get("events"))],
            ["complete", "yes" if run.get("complete") else "no: the log has no run.finished line"],
            ["shopsim version", str(run.get("version"))]]
    if source:
        rows.insert(0, ["run file", source])
    return Section("Run", [Table("", ["", ""], rows, align="ll")])


def _count_and_share(v: Any, whole: int) -> list[str]:
    """[shoppers, share] for a figure the KPIs give as a count (an int) or a share of `whole` (a float)."""
    if v is None or isinstance(v, bool):
        return ["—", "—"]
    if isinstance(v, float):
        return [count(round(v * whole)) if whole else "—", rate(v)]
    return [count(v), share(v, whole)]


def shoppers_section(result: dict[str, Any]) -> Section | None:
    s = result.get("shoppers")
    if not s:
        return None
    n = s.get("count") or 0
    rows = [["shoppers", count(n), ""]]
    rows += [[f"on {PLATFORMS.get(p, p)}", *_count_and_share(k, n)] for p, k in (s.get("platforms") or {}).items()]
    rows.append(["have the app", *_count_and_share(s.get("app"), n)])
    rows += [[f"push allowed (of {PLATFORMS.get(p, p)} app owners)", "", rate(v)]
             for p, v in (s.get("push_opt_in") or {}).items()]
    rows.append(["marketing consent", *_count_and_share(s.get("marketing_consent"), n)])
    rows.append(["email read through a privacy proxy", *_count_and_share(s.get("mail_proxy"), n)])
    return Section("Shoppers", [Table("", ["", "shoppers", "share"], rows, align="lrr",
                                      note="Shares of all shoppers, except push: of the app owners on that "
                                           "platform. As created (settings may change during the run). A privacy "
                                           "proxy opens every email it fetches: a machine open, not a person.")])


def incremental_text(c: dict[str, Any]) -> tuple[str, str]:
    """Incremental recovery in percentage points, and its 95% interval (or why there is none)."""
    inc = c.get("incremental_recovery_rate")
    if inc is None:
        return "—", "no holdout arm in this run"
    low, high = c.get("incremental_recovery_low"), c.get("incremental_recovery_high")
    return pp(inc), "95% interval " + pp_range(low, high) if low is not None and high is not None else ""


def _headline(c: dict[str, Any]) -> Table:
    rows = [[LABELS["abandonment_rate"], rate(c.get("abandonment_rate")),
             f"{count(c.get('carts'))} carts created, {count(c.get('carts_ordered', c.get('orders')))} ordered"],
            [LABELS["checkout_abandonment_rate"], rate(c.get("checkout_abandonment_rate")),
             f"of the {count(c.get('checkouts'))} carts that reached checkout"]]
    words = {"attributed": "Attributed recovery ★", "organic": "Organic recovery",
             "incremental": "Incremental recovery (pp)"}
    for name, value, how in headline_recovery(c):
        if name == "incremental":
            shown, ci = incremental_text(c)
            rows.append([words[name], shown, f"{how}; {ci}" if ci else how])
        else:
            rows.append([words[name], rate(value), f"of carts abandoned: {how}"])
    rows += [[LABELS["recovery_rate"], rate(c.get("recovery_rate")), "of carts abandoned, whatever brought them"],
             [LABELS["conversion_rate"], rate(c.get("conversion_rate")), f"{count(c.get('visits'))} visits"],
             [LABELS["abandoned_at_least_once_rate"], rate(c.get("abandoned_at_least_once_rate")),
              "the older measure: a recovered cart counts as abandoned"]]
    return Table("Headline", ["", "value", "what it is"], rows, align="lrl", wrap=(2,),
                 note="★ the headline recovery: carts ordered after a click on a cart-reminder message, of the "
                      "carts abandoned. Incremental: in percentage points (pp).")


def _funnel_rows(c: dict[str, Any]) -> list:
    """The funnel as a finished run's report shows it: carts still open only when there are some."""
    return [r for r in cart_funnel(c) if r.kind != OPEN or r.value]


def funnel_table(c: dict[str, Any]) -> Table:
    rows = []
    for r in _funnel_rows(c):
        label = r.label if r.kind == MAIN else r.label.capitalize() if r.kind == OPEN else f"  ↳ {r.label}"
        rows.append([label, count(r.value), rate(r.share), r.of.removeprefix("of ")])
    return Table("Cart funnel", ["", "carts", "share", "of"], rows, align="lrrl",
                 note="The path only narrows: created → reached checkout → ordered (recovered carts included). "
                      "A cart abandoned both before and at checkout counts at checkout; one abandoned before "
                      "checkout may reach it later." + (" Still open: neither ordered nor abandoned when the log "
                                                         "ends." if c.get("carts_open") else ""))


def split_table(c: dict[str, Any]) -> Table:
    rows = [[f"  {r.label}", count(r.value), rate(r.share)] for r in recovery_split(c)]
    return Table(f"What became of the {count(c.get('carts_abandoned'))} carts abandoned", ["", "carts", "share"],
                 rows, align="lrr", note="Shares of the carts abandoned; the four rows add up to them.")


def funnel_section(result: dict[str, Any], charts: bool) -> Section:
    c = result["commerce"]
    cur = c.get("currency")
    blocks: list[Block] = [_headline(c)]
    if charts:
        rows = [(r.label.capitalize() if r.kind in (MAIN, OPEN) else r.label, r.value,
                 f"{rate(r.share)} {r.of}" if r.key != "carts" else "", r.kind) for r in _funnel_rows(c)]
        rows.append((f"What became of the {count(c.get('carts_abandoned'))} carts abandoned", None, "", ""))
        rows += [(r.label, r.value, f"{rate(r.share)} {r.of}", r.kind) for r in recovery_split(c)]
        blocks.append(Chart(svg.funnel_chart("Cart funnel: created → reached checkout → ordered", rows)))
    blocks += [funnel_table(c), split_table(c)]
    money_rows = [
        ["revenue (payments confirmed)", money(c.get("revenue"), cur), ""],
        ["revenue of recovered carts", money(c.get("recovered_revenue"), cur),
         share(c.get("recovered_revenue"), c.get("revenue")) + " of revenue"],
        ["discount cost (coupons)", money(c.get("discount_cost"), cur),
         share(c.get("discount_cost"), c.get("revenue")) + " of revenue"],
        ["refunded", money(c.get("refunded"), cur), share(c.get("refunded"), c.get("revenue")) + " of revenue"],
        ["orders attributed to a click", count(c.get("attributed_orders")),
         share(c.get("attributed_orders"), c.get("orders")) + " of orders"],
        ["shoppers who ordered", rate(c.get("shopper_conversion_rate")), "of shoppers"],
        ["coupons issued", count(c.get("coupons_issued")), ""],
        ["coupons seen by their shopper", count(c.get("coupons_seen")),
         share(c.get("coupons_seen"), c.get("coupons_issued")) + " of issued"],
        ["coupons redeemed", count(c.get("coupons_redeemed")),
         share(c.get("coupons_redeemed"), c.get("coupons_issued")) + " of issued"],
    ]
    blocks.append(Table("Money and coupons", ["", "value", "share"], money_rows, align="lrl"))
    if charts:
        blocks.append(_recovery_over_time(result))
    return Section("Cart funnel and recovery", blocks)


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
    return Chart(svg.line_chart("Recovery (any way) by day of abandonment: recovered by the run's end ÷ "
                                "abandoned that day", day_labels(result["run"], n),
                                {"that day's carts": daily, "all carts so far": cumulative}, percent=True,
                                markers=change_markers(result)))


def device_section(result: dict[str, Any]) -> Section:
    devices = result["commerce"].get("by_device") or {}
    if not devices:
        return Section("By device", [Lines(["the run has no visits with a device"])])
    rows = [[device_words(d), count(v.get("visits")), count(v.get("carts")), count(v.get("checkouts")),
             count(v.get("orders")), rate(v.get("abandonment_rate")), rate(v.get("conversion_rate"))]
            for d, v in devices.items()]
    return Section("By device", [Table("", ["device", "visits", "carts", "reached\ncheckout", "carts\nordered",
                                            "cart abandonment\n(1 − ordered ÷ carts)",
                                            "conversion\n(orders ÷ visits)"], rows,
                                       note="A cart belongs to the device it was created on; conversion counts "
                                            "the orders placed on the device.")])


def reasons_section(result: dict[str, Any]) -> Section:
    c = result["commerce"]
    at_checkout = carts_abandoned_at_checkout(c)
    if not c.get("carts_abandoned"):
        return Section("Why carts were abandoned", [Lines(["no cart was abandoned"])])
    blocks: list[Block] = []
    if at_checkout is not None:
        reasons = c.get("checkout_reasons") or {}
        rows = [[reason_words(r), count(n), share(n, at_checkout)] for r, n in reasons.items()]
        blocks.append(Table(f"At checkout: the {count(at_checkout)} carts abandoned there", ["reason", "carts",
                                                                                            "share"], rows,
                            note="Each cart's first reason at checkout; shares of the carts abandoned at checkout."))
    else:  # an older result: every abandonment, by reason
        total = c.get("abandonments") or 0
        rows = [[reason_words(r), count(n), share(n, total)] for r, n in (c.get("abandonment_reasons") or {}).items()]
        blocks.append(Table("Every abandonment, by reason", ["reason", "abandonments", "share"], rows))
    first = c.get("first_reasons") or {}
    before = {r: n for r, n in first.items() if r in BROWSE_STAGE_REASONS}
    if before:
        items = ", ".join(f"{reason_words(r).lower()} {count(n)} ({share(n, c['carts_abandoned'])})"
                          for r, n in before.items())
        blocks.append(Lines([f"Before checkout (a cart's first reason, of the {count(c['carts_abandoned'])} carts "
                             f"abandoned): {items}."]))
    survey = result.get("survey") or {}
    if survey.get("responses"):
        blocks += _survey_blocks(survey, c)
    return Section("Why carts were abandoned", blocks)


def _survey_blocks(s: dict[str, Any], c: dict[str, Any]) -> list[Block]:
    answers, real, real_all = (s.get(k) or {} for k in ("answers", "real", "real_all"))
    n_ans, n_real, n_all = (sum(d.values()) for d in (answers, real, real_all))
    keys = list(dict.fromkeys([*real_all, *real, *answers]))
    order = {r: i for i, r in enumerate(REASONS)}
    keys.sort(key=lambda r: (-real_all.get(r, 0), order.get(r, 99), r))
    rows = [[reason_words(r), share(answers.get(r, 0), n_ans), share(real.get(r, 0), n_real),
             share(real_all.get(r, 0), n_all)] for r in keys]
    table = Table("What the survey says, and why they really left",
                  ["reason", "survey says\n(of answers)", "really left\n(the same carts)",
                   "really left\n(all carts abandoned)"], rows,
                  note="Really left: the simulated reason of the cart's latest abandonment before the answer; "
                       "for all carts, each cart's first reason.")
    channels = ", ".join(f"{count(n)} {SURVEY_CHANNELS.get(ch, ch)}" for ch, n in (s.get("channels") or {}).items())
    line = (f"{count(s['responses'])} answers ({rate(s.get('response_rate'))} of the "
            f"{count(c.get('carts_abandoned'))} carts abandoned)" + (f": {channels}" if channels else "") + ".")
    if s.get("agreement") is not None:
        line += f" The answer was the real reason for {rate(s['agreement'])} of them."
    return [table, Lines([line])]


def recovery_time_section(result: dict[str, Any], charts: bool) -> Section:
    r = result["recovery_time"]
    if not r["count"]:
        return Section("Time to recovery", [Lines(["no abandoned cart was recovered"])])
    pct = Table("From first abandonment to order", ["carts", "p25", "median", "p75", "p90", "mean"],
                [[count(r["count"]), *(human_duration(r[k]) for k in ("p25_ms", "p50_ms", "p75_ms", "p90_ms",
                                                                      "mean_ms"))]], align="rrrrrr")
    top = max((n for _, n in r["histogram"]), default=0)
    hist = Table("Histogram", ["time to recovery", "carts", "share", ""],
                 [[label, count(n), share(n, r["count"]), "█" * round(24 * n / top) if top else ""]
                  for label, n in r["histogram"]], align="lrrl")
    blocks: list[Block] = [pct]
    if charts:
        blocks.append(Chart(svg.bar_chart("Time to recovery", [label for label, _ in r["histogram"]],
                                          [n for _, n in r["histogram"]], unit="carts")))
    blocks.append(hist)
    return Section("Time to recovery", blocks)
