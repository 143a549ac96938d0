"""Published figures a realistic scenario should land near: the calibration anchors.

This is the one place their values, tolerances, sources and definitions live. docs/calibration.md shows
them as a table (tests/calibrate/test_calibrate.py checks that the two agree), and `shopsim calibrate` compares a
scenario's mean over seeds with each.

Each anchor reads one number from a `Metrics.result()` dictionary (`measure`). It returns None when the
run has nothing to measure (no carts, no such channel, no experiment with the right arms): an anchor
applies to a scenario when its measure finds a number on the scenario's first seed.

Rates and percentage-point differences are fractions (0.7019 is 70.19%, a 12.58 pp gap is 0.1258);
ratios are plain numbers (3.6 is 3.6×)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Unit = Literal["rate", "pp", "ratio"]
Measure = Callable[[dict[str, Any]], "float | None"]


@dataclass(frozen=True)
class Source:
    publisher: str
    title: str
    year: str

    @property
    def short(self) -> str:
        return f"{self.publisher} {self.year}"

    @property
    def full(self) -> str:
        return f"{self.publisher}, \"{self.title}\", {self.year}"


@dataclass(frozen=True)
class Anchor:
    id: str
    label: str
    unit: Unit
    published: float | tuple[float, float]  # a value, or a published range (low, high)
    band: tuple[float, float]               # inside when band[0] <= mean <= band[1]
    tolerance: float | None                 # for a value: the band is published ± tolerance
    source: Source
    definition: str                         # what the published figure measures, and what shopsim reads
    needs: str                              # what a scenario must have for the anchor to apply
    measure: Measure = field(compare=False, repr=False)

    @property
    def is_range(self) -> bool:
        return isinstance(self.published, tuple)

    def inside(self, x: float) -> bool:
        return self.band[0] <= x <= self.band[1]


def _point(id: str, label: str, unit: Unit, value: float, tolerance: float, source: Source, definition: str,
           needs: str, measure: Measure) -> Anchor:
    band = (round(value - tolerance, 12), round(value + tolerance, 12))
    return Anchor(id, label, unit, value, band, tolerance, source, definition, needs, measure)


def _range(id: str, label: str, unit: Unit, published: tuple[float, float], source: Source, definition: str,
           needs: str, measure: Measure, band: tuple[float, float] | None = None) -> Anchor:
    return Anchor(id, label, unit, published, band or published, None, source, definition, needs, measure)


# --- reading a Metrics.result() ----------------------------------------------------------------------------

def number(x: Any) -> float | None:
    """x as a float when it is a finite number (not a bool), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _at(*keys: str) -> Measure:
    return lambda result: number(_get(result, *keys))


def _reason_share(name: str) -> Measure:
    def measure(result: dict[str, Any]) -> float | None:
        shares = _get(result, "commerce", "checkout_reason_shares")
        if not isinstance(shares, dict) or not shares:
            return None
        return number(shares.get(name, 0.0))
    return measure


def _device_gap(result: dict[str, Any]) -> float | None:
    by_device = _get(result, "commerce", "by_device")
    mobile = number(_get(by_device, "mobile_web", "abandonment_rate"))
    desktop = number(_get(by_device, "desktop", "abandonment_rate"))
    return None if mobile is None or desktop is None else mobile - desktop


def _reminder_timing(result: dict[str, Any]) -> float | None:
    """Cart reminders' order rate in arm "1h" over arm "24h", in the first experiment that has both arms."""
    experiments = result.get("experiments")
    if not isinstance(experiments, dict):
        return None
    for experiment in experiments.values():
        arms = _get(experiment, "variants")
        if isinstance(arms, dict) and "1h" in arms and "24h" in arms:
            early = number(_get(arms["1h"], "categories", "cart_reminders", "order_rate"))
            late = number(_get(arms["24h"], "categories", "cart_reminders", "order_rate"))
            return None if early is None or not late else early / late
    return None


# --- the anchors -------------------------------------------------------------------------------------------

BAYMARD_RATE = Source("Baymard Institute", "Cart Abandonment Rate Statistics", "2024")
BAYMARD_REASONS = Source("Baymard Institute via Statista", "Main reasons why consumers abandon their orders "
                         "during the checkout process in the United States in 2024", "2024")
KLAVIYO_2024 = Source("Klaviyo", "2024 Benchmark Report", "2024")
KLAVIYO_2017 = Source("Klaviyo", "study of 9.3 million abandoned-cart emails", "2017")
AIRSHIP = Source("Airship via Business of Apps", "Push Notifications Statistics (Airship's push notification "
                 "benchmarks)", "2024")
BARILLIANCE = Source("Barilliance", "Cart abandonment rate statistics: cart abandonment by device", "2015")
TIMING = Source("SaleCycle; SmarterHQ", "SaleCycle's study of 500 brands' cart-abandonment emails; "
                "SmarterHQ's A/B tests of reminder timing", "2017")

# Baymard's answers, % of US online shoppers who abandoned an order during checkout in the past 3 months
# (several answers allowed): (shopsim reason, answer, % of respondents).
CHECKOUT_REASONS: tuple[tuple[str, str, int], ...] = (
    ("extra_costs", "extra costs too high (shipping, tax, fees)", 48),
    ("account_required", "the site wanted me to create an account", 26),
    ("payment_trust", "I didn't trust the site with my credit card information", 25),
    ("slow_delivery", "delivery was too slow", 23),
    ("long_checkout", "too long / complicated checkout process", 22),
    ("total_cost_unclear", "I couldn't see / calculate the total order cost up-front", 21),
    ("returns_policy", "returns policy wasn't satisfactory", 18),
    ("site_error", "website had errors / crashed", 17),
    ("payment_methods", "there weren't enough payment methods", 13),
    ("card_declined", "my credit card was declined", 9),
)
_ANSWERS = sum(pct for _, _, pct in CHECKOUT_REASONS)  # 222: the answers add up to more than 100%

PP3 = 0.03  # ±3 percentage points

ANCHORS: tuple[Anchor, ...] = (
    _point("cart_abandonment", "cart abandonment rate", "rate", 0.7019, PP3, BAYMARD_RATE,
           "1 − completed orders / shopping carts created: the average of the cart abandonment rates documented "
           "by 49 studies. shopsim: commerce.abandonment_rate.",
           "carts", _at("commerce", "abandonment_rate")),
    *(_point(f"reason_{name}", f"checkout reason: {name.replace('_', ' ')}", "rate", pct / _ANSWERS, PP3,
             BAYMARD_REASONS,
             f"\"{answer}\": {pct}% of US online shoppers who abandoned an order during checkout in the past "
             f"3 months (several answers allowed), so compared as its share of all answers, {pct}/{_ANSWERS}. "
             f"shopsim: the share of carts abandoned at checkout whose first checkout-stage reason is "
             f"{name} (commerce.checkout_reason_shares).",
             "carts abandoned at checkout", _reason_share(name))
      for name, answer, pct in CHECKOUT_REASONS),
    _point("email_open_rate", "cart reminder email: open rate", "rate", 0.505, PP3, KLAVIYO_2024,
           "Average open rate of abandoned cart flows, opens as email platforms report them (machine opens "
           "included). shopsim: category_channels.cart_reminders.email.open_rate.",
           "cart reminder emails", _at("category_channels", "cart_reminders", "email", "open_rate")),
    _point("email_click_rate", "cart reminder email: click rate", "rate", 0.0531, PP3, KLAVIYO_2024,
           "Average click rate of email flows: unique clicks / delivered. shopsim: "
           "category_channels.cart_reminders.email.click_rate.",
           "cart reminder emails", _at("category_channels", "cart_reminders", "email", "click_rate")),
    _point("email_placed_order_rate", "cart reminder email: placed order rate", "rate", 0.0333, PP3, KLAVIYO_2024,
           "Placed order rate of abandoned cart flows: orders attributed to the message / recipients. shopsim: "
           "category_channels.cart_reminders.email.order_rate.",
           "cart reminder emails", _at("category_channels", "cart_reminders", "email", "order_rate")),
    _range("attributed_recovery", "abandoned carts recovered by messages", "rate", (0.03, 0.15), KLAVIYO_2017,
           "Share of abandoned carts recovered by abandoned-cart messages: stores recover 3% (average order "
           "under $50) to 5% (orders of $100–500), and the top 10% of senders at least three times the "
           "average; the published range is 3%–15%. shopsim: commerce.attributed_recovery_rate.",
           "abandoned carts", _at("commerce", "attributed_recovery_rate")),
    _point("push_opt_in_android", "push opt-in, Android", "rate", 0.81, PP3, AIRSHIP,
           "Median app push notification opt-in rate on Android. shopsim: shoppers.push_opt_in.android.",
           "Android shoppers", _at("shoppers", "push_opt_in", "android")),
    _point("push_opt_in_ios", "push opt-in, iOS", "rate", 0.51, PP3, AIRSHIP,
           "Median app push notification opt-in rate on iOS. shopsim: shoppers.push_opt_in.ios.",
           "iOS shoppers", _at("shoppers", "push_opt_in", "ios")),
    _point("device_gap", "abandonment gap, mobile web − desktop", "pp", 0.1258, PP3, BARILLIANCE,
           "Cart abandonment on mobile (85.65%) minus desktop (73.07%); tablets 80.74%. shopsim: "
           "commerce.by_device.mobile_web.abandonment_rate − commerce.by_device.desktop.abandonment_rate.",
           "carts on mobile web and on desktop", _device_gap),
    _range("reminder_timing", "first reminder at 1 h vs 24 h: orders", "ratio", (3.6, 4.0), TIMING,
           "Orders brought by a first reminder sent 1 hour after abandonment, as a multiple of those sent "
           "24 hours after: SaleCycle (500 brands: 6.33% of emails sent about an hour after converted, 1.74% "
           "of those sent more than 24 hours later, 3.6×) and SmarterHQ's A/B tests (4× as many purchases at "
           "1 h as at 24 h); inside when the mean is within 2.5×–5.5×. shopsim: in an experiment with arms "
           "named 1h and 24h, the order rate of arm 1h's cart reminders / that of arm 24h's (each arm's own "
           "categories.cart_reminders.order_rate).",
           "an experiment with arms named 1h and 24h, and orders from arm 24h's cart reminders",
           _reminder_timing, band=(2.5, 5.5)),
)

BY_ID: dict[str, Anchor] = {a.id: a for a in ANCHORS}
assert len(BY_ID) == len(ANCHORS), "anchor ids must be unique"
