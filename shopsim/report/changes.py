"""Policy changes (`policy.changed`) in a report: a dashed line on every day chart and a sentence each, so
what a run did before and after a change can be read apart."""

from __future__ import annotations

from typing import Any

from shopsim.contract.clock import DAY
from shopsim.report.model import Lines, instant

__all__ = ["change_markers", "change_lines"]


def _label(c: dict[str, Any]) -> str:
    preset = f", preset {c['preset']}" if c.get("preset") else ""
    return f"{c['policy']} sets {' and '.join(c.get('changed') or ())}{preset}"


def change_markers(result: dict[str, Any]) -> list[tuple[float, str]]:
    """(day from the start, label) for each change: the x of a day chart's marker (7.0: the start of day 8)."""
    return [(c["t"] / DAY, _label(c)) for c in result.get("policy_changes") or ()]


def change_lines(result: dict[str, Any]) -> Lines | None:
    changes = result.get("policy_changes") or ()
    if not changes:
        return None
    run = result["run"]
    return Lines([f"policy changed at {instant(run, c['t'])} (day {c['t'] // DAY + 1}, from {c['from']}): "
                  f"{_label(c)}; the day charts mark it with a dashed line" for c in changes], bullets=True)
