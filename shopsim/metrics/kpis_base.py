"""What the KPI modules share: constants, event types, and small helpers (no state).

`kpis.py` (the `Metrics` observer), its parts (`kpis_commerce.py`, `kpis_messages.py`, `kpis_shoppers.py`)
and `variants.py` all import from here, so none of them imports another in a circle."""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from shopsim.contract.taxonomy import CHANNELS
from shopsim.contract import events as E
from shopsim.contract.clock import DAY, HOUR

# Event types of the trustworthy-answers log (docs/event-log.md); spelled out here too, so that logs with
# them can be read whether or not the engine at hand defines the constants yet.
NOTIFICATION_COMPLAINED = getattr(E, "NOTIFICATION_COMPLAINED", "notification.complained")
COUPON_SEEN = getattr(E, "COUPON_SEEN", "coupon.seen")
SURVEY_ANSWERED = getattr(E, "SURVEY_ANSWERED", "survey.answered")

ADS = "ads"
DEVICES = ("app", "mobile_web", "desktop")
PLATFORMS = ("ios", "android", "web")
HUMAN_SOURCES = ("shopper", "user")  # notification.opened.source of an open by a person
PROXY = "proxy"                      # ... and of a machine open (a mail privacy proxy)

# Time series per hour (and per day, summed from the hours): what the plots draw.
# `recovered_cohort` counts a recovered cart at the hour it was first abandoned: divided by `carts_abandoned`
# it gives the recovery rate of each day's abandonments, which later recoveries do not distort.
SERIES = ("visits", "carts_abandoned", "orders", "recovered", "recovered_cohort", "revenue", "requested", "delivered",
          "suppressed", "deferred", "digested", "opened", "clicked", "unsubscribed", "ad_impressions",
          "ad_clicks", *(f"delivered_{c}" for c in CHANNELS))
# Time-to-recovery histogram edges, in ms (the last bin is open).
RECOVERY_BINS = ((HOUR, "< 1h"), (4 * HOUR, "1h–4h"), (DAY, "4h–24h"), (3 * DAY, "1d–3d"),
                 (7 * DAY, "3d–7d"), (None, "≥ 7d"))

# Per-shopper flags, for experiments whose unit is the shopper.
ORDERED, ABANDONED, RECOVERED, UNSUBSCRIBED = 1, 2, 4, 8


def grow(col: list[int], h: int, n: int) -> None:
    """Add n at hour h of a series that does not reach it yet (a series is as long as its last busy hour)."""
    col.extend([0] * (h + 1 - len(col)))
    col[h] += n


def cents(x: float) -> int:
    return round(x * 100)


def ratio(a: float, b: float) -> float | None:
    """a / b, or None when there is nothing to divide by."""
    return a / b if b else None


def share_left(part: int, whole: int) -> float | None:
    """1 − part / whole, computed as (whole − part) / whole so that it is exactly 0.0 when part == whole."""
    return (whole - part) / whole if whole else None


def by_count(counts: dict[str, int]) -> dict[str, int]:
    """Most frequent first, ties by name."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def ordered(have: Iterable[str], first: tuple[str, ...]) -> list[str]:
    """The names in `have`: those of `first` in its order, then the others sorted."""
    have = set(have)
    return [c for c in first if c in have] + sorted(c for c in have if c not in first)


def flag_count(flags: dict[Any, int], flag: int) -> int:
    return sum(1 for f in flags.values() if f & flag)


class MetricDef(NamedTuple):
    """One KPI by name: where its value sits in `Metrics.result()` and how to read and print it."""

    section: str       # commerce, shoppers, survey, messages, recovery_time, ads, experiment
    key: str           # its key in the section, dotted for a nested one; the name itself when not given
    kind: str          # count, rate, pp (a difference of rates), money, duration, number
    text: str          # its definition, in words


def kpi(section: str, kind: str, text: str, key: str | None = None) -> tuple[str, str, str, str | None]:
    return section, kind, text, key


def declare(defs: dict[str, tuple[str, str, str, str | None]]) -> dict[str, MetricDef]:
    """KPIs by name, from `kpi(...)` entries."""
    return {name: MetricDef(sec, key or name, kind, text) for name, (sec, kind, text, key) in defs.items()}
