"""Every KPI by name: what `expect:` checks, `report` prints and `diff` compares.

A name maps to where its value sits in `Metrics.result()`; each module that computes KPIs declares its own
(`kpis_commerce.py`, `kpis_shoppers.py`, `kpis_messages.py`, `variants.py`), and this one gathers them. Message metrics can be narrowed to one channel
or one category; any metric can be read for one arm of an experiment."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from shopsim.contract.units import parse_duration
from shopsim.metrics.kpis_base import MetricDef
from shopsim.metrics.kpis_commerce import AD_KPIS, COMMERCE_KPIS, RECOVERY_TIME_KPIS, SURVEY_KPIS
from shopsim.metrics.kpis_messages import MESSAGE_KPIS
from shopsim.metrics.kpis_shoppers import SHOPPER_KPIS
from shopsim.metrics.variants import EXPERIMENT_KPIS


# Declared beside the code that computes them; gathered here in the order `report --metrics` lists them.
METRICS: dict[str, MetricDef] = {**COMMERCE_KPIS, **SHOPPER_KPIS, **SURVEY_KPIS, **RECOVERY_TIME_KPIS, **MESSAGE_KPIS,
                                 **AD_KPIS, **EXPERIMENT_KPIS}


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
