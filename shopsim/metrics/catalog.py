"""Every KPI by name: what `expect:` checks, `report` prints and `diff` compares.

A name maps to where its value sits in `Metrics.result()`. Message metrics can be narrowed to one channel
or one category; any metric can be read for one arm of an experiment."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any, NamedTuple

from shopsim.contract.units import parse_duration


class MetricDef(NamedTuple):
    section: str       # commerce, shoppers, survey, messages, recovery_time, ads, experiment
    key: str
    kind: str          # count, rate, pp (a difference of rates), money, duration, number
    text: str


def _m(section: str, kind: str, text: str, key: str | None = None) -> tuple[str, str, str, str | None]:
    return section, kind, text, key


_DEFS: dict[str, tuple[str, str, str, str | None]] = {
    # commerce
    "visits": _m("commerce", "count", "visits (sessions started)"),
    "product_views": _m("commerce", "count", "products viewed"),
    "carts": _m("commerce", "count", "carts that had an item added"),
    "checkouts": _m("commerce", "count", "carts that reached checkout"),
    "carts_abandoned": _m("commerce", "count", "carts abandoned at least once"),
    "abandonments": _m("commerce", "count", "abandonments (a cart can be abandoned more than once)"),
    "carts_ordered": _m("commerce", "count", "carts (that had an item added) later ordered"),
    "carts_open": _m("commerce", "count", "carts neither ordered nor abandoned yet (being filled or in checkout)"),
    "abandonment_rate": _m("commerce", "rate", "1 − carts ordered / carts created (Baymard's cart abandonment rate)"),
    "abandoned_at_least_once_rate": _m("commerce", "rate", "carts abandoned at least once / carts"),
    "checkout_abandonment_rate": _m("commerce", "rate", "1 − carts ordered / carts that reached checkout"),
    "orders": _m("commerce", "count", "orders placed"),
    "paid_orders": _m("commerce", "count", "orders paid"),
    "conversion_rate": _m("commerce", "rate", "orders / visits"),
    "shopper_conversion_rate": _m("commerce", "rate", "shoppers who ordered / shoppers"),
    "carts_recovered": _m("commerce", "count", "abandoned carts later ordered"),
    "recovery_rate": _m("commerce", "rate", "abandoned carts later ordered / carts abandoned"),
    "recovered_attributed": _m("commerce", "count", "recovered carts ordered through a click on a cart reminder"),
    "recovered_organic": _m("commerce", "count", "recovered carts ordered with no click to credit"),
    "recovered_other": _m("commerce", "count", "recovered carts credited to an ad or to a message that is not a "
                                               "cart reminder"),
    "attributed_recovery_rate": _m("commerce", "rate", "recovered carts ordered through a click on a cart reminder / "
                                                       "carts abandoned"),
    "organic_recovery_rate": _m("commerce", "rate", "recovered carts with no click to credit / carts abandoned"),
    "incremental_recovery_rate": _m("commerce", "pp", "cart recovery rate of the treated arms minus the holdout's "
                                                      "(first experiment with a holdout)"),
    "incremental_recovery_low": _m("commerce", "pp", "lower end of the incremental recovery's 95% interval"),
    "incremental_recovery_high": _m("commerce", "pp", "upper end of the incremental recovery's 95% interval"),
    "recovered_by_notification": _m("commerce", "count", "recovered carts attributed to a message click"),
    "recovered_by_ad": _m("commerce", "count", "recovered carts attributed to an ad click"),
    "recovered_unattributed": _m("commerce", "count", "recovered carts with no click to credit"),
    "attributed_orders": _m("commerce", "count", "orders attributed to a message or ad click (with channel or "
                                                 "category: to a message of it)"),
    "coupon_orders": _m("commerce", "count", "orders placed with a coupon"),
    "revenue": _m("commerce", "money", "payments confirmed"),
    "recovered_revenue": _m("commerce", "money", "payments for orders of recovered carts"),
    "discount_cost": _m("commerce", "money", "coupon discounts granted on orders"),
    "refunded": _m("commerce", "money", "refunds issued"),
    "coupons_issued": _m("commerce", "count", "coupons issued"),
    "coupons_seen": _m("commerce", "count", "coupons whose code the shopper learned (coupon.seen)"),
    "coupons_redeemed": _m("commerce", "count", "coupons redeemed"),
    # shoppers, as created
    "shoppers_created": _m("shoppers", "count", "shoppers created", "count"),
    "app_shoppers": _m("shoppers", "count", "shoppers who have the app", "app"),
    "push_opt_in_ios": _m("shoppers", "rate", "iOS app users whose phone allows push / iOS app users",
                          "push_opt_in.ios"),
    "push_opt_in_android": _m("shoppers", "rate", "Android app users whose phone allows push / Android app users",
                              "push_opt_in.android"),
    "marketing_consent_rate": _m("shoppers", "rate", "shoppers who consent to marketing / shoppers",
                                 "marketing_consent"),
    "mail_proxy_rate": _m("shoppers", "rate", "shoppers whose mail goes through a privacy proxy / shoppers",
                          "mail_proxy"),
    # exit survey
    "survey_responses": _m("survey", "count", "exit-survey answers", "responses"),
    "survey_response_rate": _m("survey", "rate", "exit-survey answers / carts abandoned", "response_rate"),
    # recovery time
    "time_to_recovery_p25": _m("recovery_time", "duration", "25th percentile of first abandonment → order", "p25_ms"),
    "time_to_recovery_p50": _m("recovery_time", "duration", "median of first abandonment → order", "p50_ms"),
    "time_to_recovery_p75": _m("recovery_time", "duration", "75th percentile of first abandonment → order", "p75_ms"),
    "time_to_recovery_p90": _m("recovery_time", "duration", "90th percentile of first abandonment → order", "p90_ms"),
    # messages (narrow with channel or category)
    "requested": _m("messages", "count", "notifications requested"),
    "delivered": _m("messages", "count", "notifications delivered (a digest counts once)"),
    "deferred": _m("messages", "count", "notifications deferred at least once"),
    "digested": _m("messages", "count", "notifications batched into a digest"),
    "suppressed": _m("messages", "count", "notifications suppressed"),
    "opened": _m("messages", "count", "delivered notifications opened, machine opens included (reported opens)"),
    "human_opened": _m("messages", "count", "delivered notifications opened by a person"),
    "machine_opened": _m("messages", "count", "delivered notifications opened by a mail privacy proxy"),
    "clicked": _m("messages", "count", "delivered notifications clicked"),
    "dismissed": _m("messages", "count", "pushes dismissed unopened"),
    "unsubscribed": _m("messages", "count", "unsubscribes from a message"),
    "complained": _m("messages", "count", "emails marked as spam"),
    "recipients": _m("messages", "count", "shoppers delivered at least one message"),
    "recipients_opened": _m("messages", "count", "recipients with at least one reported open"),
    "recipients_clicked": _m("messages", "count", "recipients with at least one click"),
    "delivery_rate": _m("messages", "rate", "delivered / requested"),
    "suppression_rate": _m("messages", "rate", "suppressed / requested"),
    "deferral_rate": _m("messages", "rate", "deferred / requested"),
    "digest_rate": _m("messages", "rate", "digested / requested"),
    "open_rate": _m("messages", "rate", "opened / delivered (reported: machine opens included)"),
    "human_open_rate": _m("messages", "rate", "opened by a person / delivered"),
    "click_rate": _m("messages", "rate", "clicked / delivered"),
    "click_to_open_rate": _m("messages", "rate", "clicked / opened"),
    "order_rate": _m("messages", "rate", "attributed orders / delivered"),
    "unsubscribe_rate": _m("messages", "rate", "unsubscribes / delivered"),
    "complaint_rate": _m("messages", "rate", "spam complaints / delivered"),
    "recipient_open_rate": _m("messages", "rate", "recipients with an open / recipients"),
    "recipient_click_rate": _m("messages", "rate", "recipients with a click / recipients"),
    "messages_per_shopper_per_day": _m("messages", "number", "delivered / shoppers / days", "per_shopper_per_day"),
    # ads
    "ad_impressions": _m("ads", "count", "retargeting ad impressions", "impressions"),
    "ad_clicks": _m("ads", "count", "retargeting ad clicks", "clicks"),
    "ad_click_rate": _m("ads", "rate", "ad clicks / impressions", "click_rate"),
    "ad_orders": _m("ads", "count", "orders attributed to an ad click", "orders"),
    # experiments (need experiment and variant; against the control, on the experiment's metric)
    "uplift": _m("experiment", "rate", "variant minus control on the experiment's metric", "diff"),
    "uplift_low": _m("experiment", "rate", "lower end of the uplift's 95% interval", "low"),
    "uplift_high": _m("experiment", "rate", "upper end of the uplift's 95% interval", "high"),
    "p_value": _m("experiment", "number", "two-sided p-value of the uplift", "p"),
}
METRICS: dict[str, MetricDef] = {name: MetricDef(sec, key or name, kind, text)
                                 for name, (sec, kind, text, key) in _DEFS.items()}


def suggest(name: str) -> str:
    close = get_close_matches(name, list(METRICS), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else "; `shopsim report --metrics` lists them"


def bound(value: float | int | str, kind: str) -> float:
    """A bound as written in `expect:`: a number, a percentage ('5%'), for durations '6h', for differences of
    rates '2pp' (0.02)."""
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    if text.endswith("%"):
        return float(text[:-1]) / 100
    if kind == "pp" and text.endswith("pp"):
        return float(text[:-2]) / 100
    if kind == "duration":
        return float(parse_duration(text))
    return float(text)


def lookup(result: dict[str, Any], name: str, channel: str | None = None, category: str | None = None) -> Any:
    """The value of one metric in a `Metrics.result()` (or an arm's), None when there is no data.

    A message metric can be narrowed to a channel, a category, or both (that category on that channel)."""
    d = METRICS[name]
    if d.section == "messages" or (name == "attributed_orders" and (channel or category)):
        key = "orders" if name == "attributed_orders" else d.key
        missing = 0 if d.kind == "count" else None
        if channel is not None and category is not None:
            return result.get("category_channels", {}).get(category, {}).get(channel, {}).get(key, missing)
        if channel is not None:
            return result["channels"].get(channel, {}).get(key, missing)
        if category is not None:
            return result["categories"].get(category, {}).get(key, missing)
        return result["messages"][key]
    value: Any = result[d.section]
    for part in d.key.split("."):
        value = value[part]
    return value


def format_value(value: Any, kind: str, currency: str = "") -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "pp":
        return format_pp(value)
    if kind == "money":
        return f"{value:,.2f}" + (f" {currency}" if currency else "")
    if kind == "duration":
        from shopsim.contract.units import format_duration
        return format_duration(int(value) // 1000 * 1000) if value >= 1000 else f"{int(value)}ms"
    if kind == "count":
        return f"{int(value):,}"
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


def format_pp(value: float | None, digits: int = 1) -> str:
    """A difference of two rates (fractions) in percentage points: 0.012 → '+1.2 pp', -0.05 → '-5.0 pp'.
    A value that rounds to zero prints '0.0 pp', never '+0.0 pp' or '-0.0 pp'."""
    if value is None:
        return "—"
    text = f"{value * 100:+.{digits}f}"
    if float(text) == 0:
        return f"{0:.{digits}f} pp"
    return f"{text} pp"
