"""Narration text with the run's numbers filled in.

A `narration:` step's title and text may quote the run through placeholders (`{abandonment_rate}`,
`{carts}`, `{shoppers}`; shopsim/scenario/teaching.py parses them, and whether each names a KPI is judged
here, where the KPI catalogue is in sight). When the step shows, each is replaced by that KPI of a
`Metrics.result()` taken at that instant, formatted as the KPI screen and `report` format it ("71.2%",
"1,405"), or "—" while it has no value. So a narration never states a number from some other run: the
numbers it quotes are this run's, as they stand.

Pure: no Textual, no engine state. The terminal app calls `render` with its live `Metrics`."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any, Mapping

from shopsim.metrics.catalog import METRICS, format_value, lookup
from shopsim.scenario.teaching import SHOPPERS, NarrationStep, Placeholder, placeholders, split_text

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


def placeholder_problem(name: str) -> str | None:
    """Why `{name}` cannot be filled in, or None when it can: a run-wide KPI of the catalogue, or shoppers."""
    d = METRICS.get(name)
    if name == SHOPPERS or (d is not None and d.section != "experiment"):
        return None
    if d is not None:
        return (f"{{{name}}} compares an experiment's arm with its control; a narration quotes run-wide KPIs "
                "(e.g. {recovery_rate})")
    names = [SHOPPERS, *(k for k, v in METRICS.items() if v.section != "experiment")]
    close = get_close_matches(name.strip(), names, n=1, cutoff=0.6)
    hint = (f"; did you mean {{{close[0]}}}?" if close else
            "; a placeholder is a KPI name (`shopsim report --metrics` lists them) or shoppers; "
            "write {{ and }} for literal braces")
    return f"unknown placeholder {{{name}}}" + hint


def narration_problems(steps: list[NarrationStep]) -> list[tuple[tuple, str]]:
    """(path, message) for every placeholder of `narration:` that cannot be filled in, and unbalanced braces."""
    out: list[tuple[tuple, str]] = []
    for i, step in enumerate(steps):
        for field in ("title", "text"):
            path = ("narration", i, field)
            try:
                names = placeholders(getattr(step, field))
            except ValueError as err:
                out.append((path, str(err)))
                continue
            for name in dict.fromkeys(names):
                problem = placeholder_problem(name)
                if problem is not None:
                    out.append((path, problem))
    return out
