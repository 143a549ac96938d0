"""Every check of a scenario file, from its shape to the names it borrows from the layers above.

The scenario package checks what it can know on its own: the schema, shares, references between its
sections, times inside the run, the size of the run. What a scenario names from the layers above it is
judged here, where those layers are in sight: the templates it overrides (notify), the KPIs and invariants
its `expect:` claims (metrics, qa), the placeholders its narration quotes (qa) and the calibration anchors it
picks (calibrate). The command line, the terminal app and the calibration load scenarios through
`load_scenario`, so a file is judged the same everywhere, with every problem in one round at its line and
column."""

from __future__ import annotations

import os
from typing import Any, Sequence

from shopsim.metrics.catalog import METRICS, bound, suggest
from shopsim.qa.narration import narration_problems
from shopsim.scenario.checker import Checker, LayerCheck
from shopsim.scenario.checks_qa import categories
from shopsim.scenario.loader import read_scenario, read_scenario_text
from shopsim.scenario.overrides import Override, read_text_with, read_with
from shopsim.scenario.problems import Path, Problem, did_you_mean, format_path
from shopsim.scenario.schema import Scenario

__all__ = ["CHECKS", "load_scenario", "load_scenario_text"]


def load_scenario(path: str | os.PathLike[str], overrides: Sequence[Override] = ()) -> Scenario:
    """Load a scenario file and run every check on it; raises ScenarioError listing every problem.
    `overrides` (`--set`) change the file's data before it is checked."""
    if overrides:
        return read_with(path, overrides, checks=CHECKS)
    return read_scenario(path, checks=CHECKS)


def load_scenario_text(text: str, filename: str = "<string>", overrides: Sequence[Override] = ()) -> Scenario:
    """Every check of scenario YAML given as text; `filename` is only used in problem reports."""
    if overrides:
        return read_text_with(text, filename, overrides, checks=CHECKS)
    return read_scenario_text(text, filename, checks=CHECKS)


def _templates(c: Checker, s: Any) -> None:
    """The templates a scenario overrides, compiled as the notification layer compiles them; a problem on a
    line of a template is placed on that line of the file."""
    if not s.policies.templates:
        return
    from shopsim.notify.template_checks import check_templates  # Jinja loads only when a scenario has templates
    from shopsim.scenario.yamlpos import TEXT

    for path, tline, message in check_templates(s.policies.templates):
        base = c.positions.get(path + (TEXT,))
        if tline is not None and base is not None:
            c.problems.append(Problem(c.filename, base[0] + tline - 1, base[1], format_path(path),
                                      f"template line {tline}: {message}"))
        else:
            c.report(path, message)


def _expectations(c: Checker, s: Scenario) -> None:
    """The KPIs and invariants `expect:` names (its counts and deliveries are the scenario's own to check)."""
    known = categories()
    for i, ex in enumerate(s.expect):
        at = ("expect", i)
        if ex.metric is not None:
            d = METRICS.get(ex.metric)
            if d is None:
                c.report(at + ("metric",), f"unknown metric {ex.metric!r}" + suggest(ex.metric))
                continue
            narrow = d.section == "messages" or ex.metric == "attributed_orders"
            if ex.channel is not None and ex.category is not None:
                c.report(at, "give channel or category, not both")
            elif (ex.channel or ex.category) and not narrow:
                c.report(at + ("channel" if ex.channel else "category",),
                         f"{ex.metric} is not a message metric; only message metrics take a channel or category")
            if ex.category is not None and ex.category not in known:
                c.report(at + ("category",), f"unknown category {ex.category!r}" + did_you_mean(ex.category, known))
            _arm_reference(c, s, at, ex, d.section == "experiment")
            for side in ("min", "max"):
                value = getattr(ex, side)
                if value is not None:
                    try:
                        bound(value, d.kind)
                    except ValueError:
                        c.report(at + (side,), f"{value!r} is not a number" + (
                            " or a duration" if d.kind == "duration" else "") + ", e.g. 0.25 or 25%")
        elif ex.invariant is not None:
            from shopsim.qa.invariants import INVARIANTS  # the checks themselves load only when one is named

            if ex.invariant not in INVARIANTS:
                c.report(at + ("invariant",), f"unknown invariant {ex.invariant!r}" + did_you_mean(ex.invariant, INVARIANTS))


def _arm_reference(c: Checker, s: Scenario, at: Path, ex: Any, needs_variant: bool) -> None:
    if ex.experiment is None and ex.variant is None:
        if needs_variant:
            c.report(at + ("metric",), f"{ex.metric} compares an arm with its control: give variant (and "
                                       "experiment when there are several)")
        return
    names = list(s.experiments)
    if ex.experiment is not None and ex.experiment not in s.experiments:
        c.report(at + ("experiment",), f"unknown experiment {ex.experiment!r}" + did_you_mean(ex.experiment, names))
        return
    if ex.experiment is None and len(names) != 1:
        c.report(at + ("variant",), "several experiments (or none) in this scenario: say which with experiment")
        return
    exp = s.experiments[ex.experiment or names[0]]
    if ex.variant is None:
        c.report(at + ("experiment",), "give the variant too")
    elif ex.variant not in exp.variants:
        c.report(at + ("variant",), f"unknown variant {ex.variant!r}" + did_you_mean(ex.variant, exp.variants))


def _narration(c: Checker, s: Scenario) -> None:
    """Placeholders such as {abandonment_rate} in `narration:` steps: each must name a run-wide KPI."""
    for path, message in narration_problems(s.narration):
        c.report(path, message)


def _calibration(c: Checker, s: Scenario) -> None:
    if not s.calibration:
        return
    import fnmatch

    from shopsim.calibrate.anchors import ANCHORS  # the anchors' own module owns their names

    ids = [a.id for a in ANCHORS]
    for i, name in enumerate(s.calibration):
        if not fnmatch.filter(ids, name):
            c.report(("calibration", i), f"unknown anchor {name!r}" + did_you_mean(name, ids))


# The templates need only a well-formed `policies:`, so a file with other problems still has them checked.
CHECKS: tuple[LayerCheck, ...] = (LayerCheck(_templates, needs=("policies",)), LayerCheck(_expectations),
                                  LayerCheck(_narration), LayerCheck(_calibration))
