"""An experiment as the terminal app shows it: interim while the run plays, final once it has ended.

While the run plays, every comparison is an interim look (shopsim/metrics/sequential.py): its interval is
the always-valid one, which holds however often it is looked at, and nothing is called a win or a loss.
The fixed-horizon 95% interval and its verdict (✓ / ✗) appear only when the run has reached its planned
end: read every day, they would "find" a difference between two identical arms in about one run in four.
Pure logic (no Textual): the KPI screen and its experiment chart call it."""

from __future__ import annotations

from typing import Any, Mapping

from shopsim.metrics import sequential
from shopsim.metrics.variants import MEANS, OUTCOMES
from shopsim.report.labels import signed

__all__ = ["is_final", "as_shown", "interim_sentence", "interim_word"]


def is_final(result: Mapping[str, Any], end_ms: int) -> bool:
    """Whether a `Metrics.result()` is of a run that has reached its planned end (run.finished seen there)."""
    run = result.get("run") or {}
    return bool(run.get("complete")) and (run.get("elapsed_ms") or 0) >= end_ms


def as_shown(experiment: Mapping[str, Any], final: bool) -> dict[str, Any]:
    """The experiment as it is to be shown: unchanged at the end, an interim look before it."""
    return dict(experiment) if final else sequential.interim_experiment(experiment)


def _what(metric: str) -> str:
    return OUTCOMES[metric][0].split(" (")[0] if metric in OUTCOMES else MEANS.get(metric, metric)


def _amount(x: float, metric: str, currency: str | None) -> str:
    if metric in OUTCOMES:
        return signed(x * 100, ",.1f", "pp")
    return signed(x, ",.2f", currency or "")


def interim_sentence(cmp: Mapping[str, Any], when: str, currency: str | None = None) -> str:
    """One interim comparison in words: "Interim look, day 3/14: reminder's recovery is +2.1 pp against
    holdout's (always-valid 95% interval -1.0 pp to +5.2 pp). No verdict before the run ends." """
    what, variant, control = _what(cmp["metric"]), cmp["variant"], cmp.get("control_name")
    head = f"Interim look, {when}:"
    if cmp.get("diff") is None or not cmp.get("enough"):
        return f"{head} too few shoppers yet to compare {what} between {variant} and {control}."
    m = cmp["metric"]
    interval = f"always-valid 95% interval {_amount(cmp['low'], m, currency)} to {_amount(cmp['high'], m, currency)}"
    if cmp.get("significant"):
        direction = "above" if cmp["diff"] > 0 else "below"
        return (f"{head} {variant}'s {what} is {_amount(cmp['diff'], m, currency)} {direction} {control}'s so "
                f"far, and even the {interval} leaves out 0. The verdict comes when the run ends.")
    return (f"{head} {variant}'s {what} is {_amount(cmp['diff'], m, currency)} against {control}'s ({interval}). "
            "No verdict before the run ends.")


def interim_word(cmp: Mapping[str, Any]) -> str:
    """One word or two for an interim row, never a verdict: too few, interim, or which side of 0 the
    always-valid interval lies on so far."""
    if cmp.get("diff") is None or not cmp.get("enough"):
        return "too few"
    if cmp.get("significant"):
        return "above so far" if cmp["diff"] > 0 else "below so far"
    return "interim"
