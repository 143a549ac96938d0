"""Words for what a reader sees: every key of `Metrics.result()` a front end shows, and signed differences.

Reports, `diff` and the terminal app print `words(key)`, never a key: a key with no entry here is still
turned into words ("foo_bar" → "foo bar"), so no snake_case reaches a reader. Differences of rates are
percentage points, written "+1.2 pp" (`pp`); a difference that rounds to zero is written without a sign,
so no output ever says "-0.0"."""

from __future__ import annotations

from typing import Any

from shopsim.metrics.catalog import format_pp

__all__ = ["LABELS", "REASONS", "DEVICES", "PLATFORMS", "CHANNELS", "CATEGORIES", "UNSUB_METHODS", "words",
           "metric_label", "reason_words", "device_words", "channel_words", "category_words", "pp", "pp_range", "signed",
           "relative", "RATE_OF", "DECISIONS", "UNREACHABLE", "AD_REASONS", "decision_words", "ad_reason_words"]

# A metric of Metrics.result() (or of the catalogue, by its catalogue name) -> how a reader sees it.
LABELS: dict[str, str] = {
    # commerce
    "visits": "Visits",
    "product_views": "Product views",
    "carts": "Carts created",
    "checkouts": "Carts that reached checkout",
    "carts_ordered": "Carts ordered",
    "carts_abandoned": "Carts abandoned",
    "abandonments": "Abandonments (a cart can be abandoned more than once)",
    "abandonment_rate": "Cart abandonment (Baymard: 1 − orders ÷ carts)",
    "abandoned_at_least_once_rate": "Carts abandoned at least once ÷ carts",
    "checkout_abandonment_rate": "Checkout abandonment (1 − ordered ÷ reached checkout)",
    "orders": "Orders",
    "paid_orders": "Paid orders",
    "conversion_rate": "Conversion (orders ÷ visits)",
    "shopper_conversion_rate": "Shoppers who ordered ÷ shoppers",
    "carts_recovered": "Carts recovered (abandoned, then ordered)",
    "recovery_rate": "Recovery, any way (carts recovered ÷ carts abandoned)",
    "recovered_attributed": "Recovered after a reminder click (attributed)",
    "recovered_organic": "Recovered on their own (organic)",
    "recovered_other": "Recovered through another message or an ad",
    "recovered_by_notification": "Recovered after a message click",
    "recovered_by_ad": "Recovered after an ad click",
    "recovered_unattributed": "Recovered with no click to credit",
    "attributed_recovery_rate": "Attributed recovery (after a reminder click ÷ carts abandoned)",
    "organic_recovery_rate": "Organic recovery (no click ÷ carts abandoned)",
    "incremental_recovery_rate": "Incremental recovery (treated arms − holdout)",
    "attributed_orders": "Orders attributed to a click",
    "revenue": "Revenue (payments confirmed)",
    "recovered_revenue": "Revenue of recovered carts",
    "discount_cost": "Discount cost (coupons)",
    "refunded": "Refunded",
    "coupons_issued": "Coupons issued",
    "coupons_seen": "Coupons seen by their shopper",
    "coupons_redeemed": "Coupons redeemed",
    # time to recovery
    "time_to_recovery_p25": "Time to recovery, 25th percentile",
    "time_to_recovery_p50": "Time to recovery, median",
    "time_to_recovery_p75": "Time to recovery, 75th percentile",
    "time_to_recovery_p90": "Time to recovery, 90th percentile",
    # messages
    "requested": "Messages requested",
    "delivered": "Messages delivered",
    "deferred": "Messages deferred",
    "digested": "Messages put in a digest",
    "suppressed": "Messages suppressed",
    "opened": "Messages opened (reported: people and privacy proxies)",
    "human_opened": "Messages opened by a person",
    "machine_opened": "Messages opened by a privacy proxy",
    "clicked": "Messages clicked",
    "dismissed": "Pushes dismissed unopened",
    "unsubscribed": "Unsubscribes",
    "complained": "Spam complaints",
    "recipients": "Recipients (shoppers sent at least one message)",
    "delivery_rate": "Delivery rate (of requested)",
    "suppression_rate": "Suppression rate (of requested)",
    "deferral_rate": "Deferral rate (of requested)",
    "digest_rate": "Digest rate (of requested)",
    "open_rate": "Open rate, reported (of delivered)",
    "human_open_rate": "Open rate, people only (of delivered)",
    "recipient_open_rate": "Recipients who opened (of recipients)",
    "recipient_click_rate": "Recipients who clicked (of recipients)",
    "click_rate": "Click rate (of delivered)",
    "click_to_open_rate": "Clicks ÷ opens",
    "order_rate": "Orders per delivered message",
    "unsubscribe_rate": "Unsubscribe rate (of delivered)",
    "complaint_rate": "Complaint rate (of delivered)",
    "messages_per_shopper_per_day": "Messages per shopper per day",
    "per_shopper_per_day": "Messages per shopper per day",
    # ads
    "ad_impressions": "Ad impressions",
    "ad_clicks": "Ad clicks",
    "ad_click_rate": "Ad click rate (of impressions)",
    "ad_orders": "Orders after an ad click",
    "incremental_recovery_low": "Incremental recovery, lower end of the 95% interval",
    "incremental_recovery_high": "Incremental recovery, upper end of the 95% interval",
    "coupon_orders": "Orders that used a coupon",
    "recipients_opened": "Recipients who opened at least one",
    "recipients_clicked": "Recipients who clicked at least one",
    # shoppers and survey
    "shoppers_created": "Shoppers created",
    "app_shoppers": "Shoppers with the app",
    "push_opt_in_ios": "Push allowed (of iOS app owners)",
    "push_opt_in_android": "Push allowed (of Android app owners)",
    "marketing_consent_rate": "Marketing consent (of shoppers)",
    "mail_proxy_rate": "Email read through a privacy proxy (of shoppers)",
    "survey_responses": "Survey answers",
    "survey_response_rate": "Survey response rate (of carts abandoned)",
    "push_opt_in": "Push allowed",
    "marketing_consent": "Marketing consent",
    "mail_proxy": "Email read through a privacy proxy",
    "response_rate": "Survey response rate (of carts abandoned)",
    # experiments
    "uplift": "Uplift",
    "uplift_low": "Uplift, lower end of the 95% interval",
    "uplift_high": "Uplift, upper end of the 95% interval",
    "p_value": "p-value",
}

REASONS: dict[str, str] = {
    "extra_costs": "Extra costs too high (shipping, tax, fees)",
    "account_required": "Had to create an account",
    "payment_trust": "Did not trust the site with card details",
    "slow_delivery": "Delivery too slow",
    "long_checkout": "Checkout too long or complicated",
    "total_cost_unclear": "Could not see the total cost up front",
    "returns_policy": "Returns policy not good enough",
    "site_error": "The site had errors or crashed",
    "payment_methods": "Not enough payment methods",
    "card_declined": "Card declined",
    "just_browsing": "Just browsing",
    "comparison_shopping": "Comparing prices elsewhere",
}
DEVICES = {"app": "App", "mobile_web": "Mobile web", "desktop": "Desktop", "web": "Web"}
PLATFORMS = {"ios": "iOS", "android": "Android", "web": "Web only"}
CHANNELS = {"email": "Email", "push": "Push", "sms": "SMS", "in_app": "In-app", "ads": "Ads"}
CATEGORIES = {"account_security": "Account security", "order_updates": "Order updates", "shipping": "Shipping",
              "customer_service": "Customer service", "cart_reminders": "Cart reminders",
              "promotions": "Promotions", "flash_sales": "Flash sales", "recommendations": "Recommendations",
              "new_product_alerts": "New product alerts", "digest": "Digests"}
UNSUB_METHODS = {"link": "footer link or STOP reply", "list_unsubscribe": "email header button",
                 "os_settings": "push turned off in the phone's settings"}
SURVEY_CHANNELS = {"on_site": "on the site", "email": "by email"}
# Why a notification was suppressed or deferred: the `reason` of notification.suppressed / .deferred
# (docs/event-log.md); and what an ad retargets (the `reason` of ad.impression).
DECISIONS = {"unreachable": "unreachable", "no_marketing_consent": "no marketing consent",
             "no_personalization_consent": "no personalization consent", "channel_off": "channel switched off",
             "category_channel_off": "category switched off on this channel",
             "frequency_off": "category switched off", "flow_exited": "flow ended",
             "flow_condition": "flow condition not met", "duplicate": "duplicate",
             "superseded": "replaced by a newer message", "frequency_cap": "over a frequency cap",
             "digest_empty": "empty digest", "quiet_hours": "quiet hours", "send_window": "outside the send window"}
# An `unreachable` suppression's rule says what was missing.
UNREACHABLE = {"reach.app": "no app", "push_os_permission": "push not allowed on the phone",
               "reach.phone": "no phone number", "sms_opt_in": "no SMS opt-in", "reach.email": "email not verified"}
AD_REASONS = {"cart": "cart abandonment", "browse": "browse abandonment"}
# What a rate of the result is a share of (for a column heading or a note).
RATE_OF: dict[str, str] = {
    "abandonment_rate": "of carts created", "checkout_abandonment_rate": "of carts that reached checkout",
    "conversion_rate": "orders ÷ visits", "attributed_recovery_rate": "of carts abandoned",
    "organic_recovery_rate": "of carts abandoned", "recovery_rate": "of carts abandoned",
}
_ALL = {**LABELS, **REASONS, **DEVICES, **CHANNELS, **CATEGORIES}


def words(key: Any) -> str:
    """The words for a key; an unknown key with its underscores turned into spaces."""
    text = str(key)
    return _ALL.get(text) or text.replace("_", " ")


def metric_label(name: str) -> str:
    return LABELS.get(name) or words(name).capitalize()


def reason_words(key: str) -> str:
    return REASONS.get(key) or words(key).capitalize()


def device_words(key: str) -> str:
    return DEVICES.get(key) or words(key).capitalize()


def channel_words(key: str) -> str:
    return CHANNELS.get(key) or words(key).capitalize()


def category_words(key: str) -> str:
    return CATEGORIES.get(key) or words(key).capitalize()


def decision_words(key: str, rule: str | None = None) -> str:
    """Why a notification was suppressed or deferred, in lower case: "quiet_hours" → "quiet hours". With its
    `rule`, what the reason alone does not say: "unreachable: no app", "flow ended: order placed",
    "over a frequency cap: daily_push" (a cap's name, as the scenario spells it)."""
    text = DECISIONS.get(key) or words(key)
    if not rule:
        return text
    if key == "unreachable" and rule in UNREACHABLE:
        return f"{text}: {UNREACHABLE[rule]}"
    if key == "flow_exited" and rule.startswith("flow.exit."):
        return f"{text}: {words(rule[len('flow.exit.'):])}"
    if key == "frequency_cap" and not rule.startswith("caps"):  # unnamed caps are "caps[0]", "caps.push"
        return f"{text}: {rule}"
    return text


def ad_reason_words(key: str) -> str:
    return AD_REASONS.get(key) or words(key)


def signed(value: float | None, spec: str = ",.2f", unit: str = "") -> str:
    """`value` with its sign ("+1.20", "-3"), or unsigned when it rounds to zero ("0.00", never "-0.00")."""
    if value is None:
        return "—"
    text = format(value, "+" + spec)
    if not any(ch in "123456789" for ch in text):
        text = text[1:]
    return text + (f" {unit}" if unit else "")


def pp(diff: float | None, digits: int = 1) -> str:
    """A difference of two rates (fractions) in percentage points: "+1.2 pp", "-0.4 pp", "0.0 pp" (the
    catalogue's format_pp)."""
    return format_pp(diff, digits)


def pp_range(low: float | None, high: float | None, digits: int = 1) -> str:
    """An interval of rate differences: "-10.1 to +21.9 pp"."""
    if low is None or high is None:
        return "—"
    return f"{signed(low * 100, f'.{digits}f')} to {signed(high * 100, f'.{digits}f')} pp"


def relative(value: float | None) -> str:
    """A relative change: "+12.5%", "0.0%"."""
    return "—" if value is None else signed(value * 100, ".1f") + "%"
