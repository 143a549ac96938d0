"""Narration text with the run's numbers filled in.

A `narration:` step's title and text may quote the run through placeholders (`{abandonment_rate}`,
`{carts}`, `{shoppers}`; see shopsim/scenario/teaching.py, which parses and checks them). When the step
shows, each is replaced by that KPI of a `Metrics.result()` taken at that instant, formatted as the KPI
screen and `report` format it ("71.2%", "1,405"), or "—" while it has no value. So a narration never states
a number from some other run: the numbers it quotes are this run's, as they stand.

Pure: no Textual, no engine state. The terminal app calls `render` with its live `Metrics`."""

from __future__ import annotations

from typing import Any, Mapping

from shopsim.metrics.catalog import METRICS, format_value, lookup
from shopsim.scenario.teaching import SHOPPERS, Placeholder, placeholder_problem, split_text

NO_VALUE = "—"


def value_text(name: str, result: Mapping[str, Any], currency: str = "") -> str:
    """One placeholder's text: the KPI `name` (or shoppers) of `result`, formatted for its kind."""
    if name == SHOPPERS:
        return format_value(result.get("run", {}).get("shoppers"), "count")
    problem = placeholder_problem(name)
    if problem is not None:
        raise KeyError(problem)
    try:
        value = lookup(dict(result), name)
    except (KeyError, TypeError, IndexError):  # a section the run has nothing in yet
        return NO_VALUE
    return format_value(value, METRICS[name].kind, currency)


def render(text: str, result: Mapping[str, Any], currency: str = "") -> str:
    """`text` with each `{name}` replaced by its value in `result` (a `Metrics.result()`), `{{`/`}}` unescaped.

    Raises ValueError for unbalanced braces and KeyError for a name that is not a placeholder: a validated
    scenario has neither."""
    return "".join(value_text(p, result, currency) if isinstance(p, Placeholder) else p for p in split_text(text))
